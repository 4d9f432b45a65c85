package botapi

import (
	"context"
	"errors"
	"time"
)

// Breaker is a circuit breaker the client asks before each HTTP attempt.
// Allow returns an error when the circuit is open (the attempt is not
// made), or a done function that the client calls exactly once with the
// attempt's outcome: nil for a success, the attempt's error for a failure.
// Its shape is that of sony/gobreaker/v2's TwoStepCircuitBreaker (v2.4.0
// and later, whose done takes an error; v2.0-v2.3's took a bool), which
// satisfies it as it is. Implementations must be safe for concurrent use.
//
// What the client reports as a failure: a network error (no answer, a
// connection broken mid-answer), a 5xx answer, and a timeout (the call's
// context deadline passing while it waits on Telegram). Everything else is
// reported as a success, done(nil): any 2xx, 4xx answers (they concern one
// call, not Telegram's health), 429 (flow control, which goes to the
// [Limiter]), and a call the caller cancelled (context.Canceled says
// nothing about Telegram). When no request follows Allow (the [Limiter]
// wait after it failed), done gets an error matching [ErrNotAttempted],
// which is neither: see there.
type Breaker interface {
	Allow() (done func(err error), err error)
}

// ErrCircuitOpen matches the error of a call, or of one attempt of it, that
// the [Breaker] refused: no request was sent. The error also matches
// [ErrNetwork] (Telegram is taken to be unreachable) and wraps the
// breaker's own error (gobreaker.ErrOpenState, gobreaker.ErrTooManyRequests).
var ErrCircuitOpen = errors.New("botapi: circuit open")

// ErrNotAttempted matches the outcome the client reports to a [Breaker]'s
// done when no request followed Allow: the call waited on its [Limiter]
// after the breaker let it through (the breaker is asked first, so that an
// open circuit fails the call at once without waiting for a slot), and the
// wait failed, because the call's context ended or the limiter itself
// failed. The reported error wraps the wait's error.
//
// Such an outcome says nothing about Telegram: it is neither a success
// (reporting nil would let a half-open breaker close on a probe that was
// never sent) nor a failure. A breaker that can ignore an outcome should:
// with gobreaker, set Settings.IsExcluded to
//
//	func(err error) bool { return errors.Is(err, botapi.ErrNotAttempted) }
//
// which also frees the half-open probe slot. A breaker that cannot counts
// it as a failure (gobreaker's default): the safe side in the half-open
// state (the circuit opens again for one more cooldown rather than closing
// blind), but in the closed state callers whose deadlines pass while they
// wait on the limiter (a chat held back by a 429) then count towards
// tripping the circuit.
var ErrNotAttempted = errors.New("botapi: no request made")

// BreakerPollInterval is how often [Client.Updates] asks an open
// [Breaker] again. Asking costs nothing while the circuit is open: no
// request is sent.
const BreakerPollInterval = time.Second

// WithBreaker makes the client ask b before each HTTP attempt (the first
// and each retry, before any [Limiter] wait, so that a refused call
// neither waits for a slot nor uses one) and report the attempt's outcome
// to it; see [Breaker] for what counts as a failure. While b
// refuses, calls fail at once with an error matching [ErrCircuitOpen] and
// [ErrNetwork], and [Client.Updates] waits for it (see there). nil means
// none.
//
// The default is no breaker. The failure that decided it: Telegram's
// failures are mostly partial (one data centre, file uploads, one slow
// method), and one breaker per client sees them all as one; a default
// threshold that opens on a burst of upload timeouts would stop every
// sendMessage and answerCallbackQuery of the bot for a whole cooldown,
// turning a partial failure into a total one. Retries with backoff already
// keep one bot's load on a failing Telegram small. A breaker pays when the
// caller's own resources are at stake (webhook handlers piling up behind
// retries during a long outage); then pick thresholds for your traffic,
// e.g. gobreaker with ReadyToTrip after 5 consecutive failures and a 10 s
// Timeout.
func WithBreaker(b Breaker) Option {
	return func(o *options) { o.breaker = b }
}

// circuitError is a call the breaker refused.
type circuitError struct {
	method string
	err    error // the breaker's
}

func (e *circuitError) Error() string {
	msg := "botapi: " + e.method + ": circuit open"
	if e.err != nil {
		msg += ": " + e.err.Error()
	}
	return msg
}

func (e *circuitError) Is(target error) bool { return target == ErrCircuitOpen || target == ErrNetwork }

func (e *circuitError) Unwrap() error { return e.err }

// breakerOutcome is what the client reports to the breaker for an
// attempt that returned err: err when it is a failure, nil otherwise (see
// [Breaker]).
func breakerOutcome(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	var apiErr *Error
	if errors.As(err, &apiErr) {
		if apiErr.Code >= 500 && apiErr.Code <= 599 {
			return err
		}
		return nil
	}
	var ne *netError
	if errors.As(err, &ne) && !errors.Is(ctx.Err(), context.Canceled) {
		return err
	}
	return nil
}
