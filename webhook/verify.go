package webhook

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// DefaultTolerance is how far a signed timestamp may lie from the current
// time before [Standard] rejects it (in both directions) and before [Stripe]
// rejects it as too old. Change it with [WithTolerance].
const DefaultTolerance = 5 * time.Minute

// DefaultMaxBodyBytes bounds the body that [NewHandler] and
// [VerifyMiddleware] read (1 MiB). Change it with [WithMaxBodyBytes] (for
// [NewHandler]) or [WithVerifyMaxBodyBytes] (for a verifier).
const DefaultMaxBodyBytes = 1 << 20

// Verifier checks that a request's raw body and headers carry a valid
// signature. [Standard], [Stripe] and [GitHub] satisfy it. Implementations
// must be safe for concurrent use and must not keep h or body.
type Verifier interface {
	// Verify returns nil when h and body are authentic, or an error that
	// wraps one of the package's sentinels.
	Verify(h http.Header, body []byte) error
}

// VerifyOption configures a verifier built by [NewStandard],
// [NewStandardPublicKey] or [NewStripe].
type VerifyOption func(*verifyOptions) error

type verifyOptions struct {
	tolerance   time.Duration
	now         func() time.Time
	maxBody     int64
	maxInFlight int64
	timeSet     bool // WithTolerance or WithClock given (GitHub refuses them)
}

func defaultVerifyOptions() verifyOptions {
	return verifyOptions{tolerance: DefaultTolerance, now: time.Now, maxBody: DefaultMaxBodyBytes, maxInFlight: DefaultMaxInFlightBytes}
}

func applyVerifyOptions(opts []VerifyOption, maxBody int64) (verifyOptions, error) {
	o := defaultVerifyOptions()
	o.maxBody = maxBody
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(&o); err != nil {
			return o, err
		}
	}
	if o.maxInFlight < o.maxBody {
		return o, fmt.Errorf("webhook: max in-flight bytes (%d) below the max body bytes (%d)", o.maxInFlight, o.maxBody)
	}
	return o, nil
}

// WithTolerance sets how far a signed timestamp may lie from the clock's
// current time, to the nanosecond (signed timestamps are whole seconds).
// The default is [DefaultTolerance] (5 minutes). A d that is not positive
// makes the constructor fail.
func WithTolerance(d time.Duration) VerifyOption {
	return func(o *verifyOptions) error {
		if d <= 0 {
			return fmt.Errorf("webhook: tolerance must be positive, got %v", d)
		}
		o.tolerance, o.timeSet = d, true
		return nil
	}
}

// WithClock sets the clock that timestamps are checked against. The default
// is [time.Now]; tests pass a fixed time. A nil now makes the constructor fail.
func WithClock(now func() time.Time) VerifyOption {
	return func(o *verifyOptions) error {
		if now == nil {
			return errors.New("webhook: nil clock")
		}
		o.now, o.timeSet = now, true
		return nil
	}
}

// WithVerifyMaxBodyBytes sets the largest body [VerifyMiddleware] reads for
// this verifier; a longer body is answered 413 without being verified. The
// default is [DefaultMaxBodyBytes] (1 MiB; 25 MB for [NewGitHub]). An n
// that is not positive makes the constructor fail.
func WithVerifyMaxBodyBytes(n int64) VerifyOption {
	return func(o *verifyOptions) error {
		if n <= 0 {
			return fmt.Errorf("webhook: max body bytes must be positive, got %d", n)
		}
		o.maxBody = n
		return nil
	}
}

// WithVerifyMaxInFlightBytes bounds the memory that the bodies
// [VerifyMiddleware] reads at once for this verifier may hold together
// (default [DefaultMaxInFlightBytes], 32 MiB): a request that would pass it
// is answered 503 with Retry-After. An n that is not positive, or below the
// max body bytes, makes the constructor fail.
func WithVerifyMaxInFlightBytes(n int64) VerifyOption {
	return func(o *verifyOptions) error {
		if n <= 0 {
			return fmt.Errorf("webhook: max in-flight bytes must be positive, got %d", n)
		}
		o.maxInFlight = n
		return nil
	}
}

// verifierLimits is implemented by the package's verifiers: their body
// bound and the budget their bodies in flight share.
type verifierLimits interface {
	limits() (maxBody int64, budget *bodyBudget)
}

// inPlaceVerifier is implemented by a verifier that signs a prefix and the
// body as one message ([Standard] with a public key): VerifyMiddleware
// reads the body with prefixRoom free bytes in front of it, counted in the
// budget, and verifyInPlace builds the message there instead of copying.
type inPlaceVerifier interface {
	prefixRoom() int
	verifyInPlace(h http.Header, buf []byte, room int) error
}

// headerChecker is implemented by the package's verifiers: it checks,
// before the body is read, that the headers the scheme needs are present,
// well formed, within their size bounds and (where signed) on time.
type headerChecker interface {
	checkHeaders(h http.Header) error
}

// VerifyMiddleware returns middleware that verifies a request's raw body
// with v before anything decodes it, and on success restores the body so
// the next handler reads the same bytes.
//
// For the package's verifiers it first checks the headers, before reading
// anything: a request without the scheme's headers, with malformed or
// oversized ones, or (where signed) with a timestamp out of tolerance is
// answered 401 at once. The body is then read into a buffer that grows with
// the data (never to a declared Content-Length up front), bounded by the
// verifier's limit ([DefaultMaxBodyBytes] unless set with
// [WithVerifyMaxBodyBytes]; 25 MB for [GitHub]) and, across the requests in
// flight, by [WithVerifyMaxInFlightBytes]. A body over the limit is answered
// 413, one that would pass the in-flight budget 503 with Retry-After, a
// failed verification 401; bodies are short and give no hint of the cause.
// Of opts only [WithObserver] applies: each refused request is reported as
// a [Rejection] naming v's scheme. Panics if v is nil or an option is
// invalid: both can only come from code (the verifier constructors return
// an error, never a nil verifier), like http.Handle's panics.
func VerifyMiddleware(v Verifier, opts ...Option) func(http.Handler) http.Handler {
	if v == nil {
		panic("webhook: VerifyMiddleware with a nil Verifier")
	}
	obs, err := middlewareObserver(opts)
	if err != nil {
		panic("webhook: VerifyMiddleware: " + err.Error())
	}
	scheme := verifierScheme(v)
	limit := int64(DefaultMaxBodyBytes)
	budget := newBodyBudget(DefaultMaxInFlightBytes)
	if vl, ok := v.(verifierLimits); ok {
		limit, budget = vl.limits()
	}
	hc, _ := v.(headerChecker)
	ipv, _ := v.(inPlaceVerifier)
	room := 0
	if ipv != nil {
		room = ipv.prefixRoom()
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if hc != nil {
				if err := hc.checkHeaders(r.Header); err != nil {
					reject(r.Context(), obs, scheme, rejectReason(err), http.StatusUnauthorized)
					writeProblem(w, http.StatusUnauthorized, "Unauthorized", "")
					return
				}
			}
			buf, held, err := readBodyRoom(r, limit, budget, room)
			defer budget.give(held)
			if err != nil {
				if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
					reject(r.Context(), obs, scheme, "too_large", http.StatusRequestEntityTooLarge)
				}
				writeBodyError(w, err)
				return
			}
			body := buf[room:]
			if ipv != nil {
				err = ipv.verifyInPlace(r.Header, buf, room)
			} else {
				err = v.Verify(r.Header, body)
			}
			if err != nil {
				reject(r.Context(), obs, scheme, rejectReason(err), http.StatusUnauthorized)
				writeProblem(w, http.StatusUnauthorized, "Unauthorized", "")
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			r.ContentLength = int64(len(body))
			next.ServeHTTP(w, r)
		})
	}
}

// writeBodyError answers a failed body read: 413 over the limit, 503 over
// the in-flight budget, 400 when the peer went away mid-body.
func writeBodyError(w http.ResponseWriter, err error) {
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		writeProblem(w, http.StatusRequestEntityTooLarge, "Request body too large", "")
	case errors.Is(err, errBodyBudget):
		w.Header().Set("Retry-After", "1")
		writeProblem(w, http.StatusServiceUnavailable, "Try again later", "")
	default:
		writeProblem(w, http.StatusBadRequest, "Request body unreadable", "")
	}
}

// parseUnixSeconds parses a decimal Unix time in seconds: ASCII digits only,
// at most 18 of them (no sign, no spaces, no exponent).
func parseUnixSeconds(s string) (int64, bool) {
	if len(s) == 0 || len(s) > 18 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// checkTimestamp compares a signed timestamp (Unix seconds) with now under
// tolerance tol, to the nanosecond. Too new is only checked when checkNew
// is set.
func checkTimestamp(ts int64, now time.Time, tol time.Duration, checkNew bool) error {
	d := now.Sub(time.Unix(ts, 0)) // saturates, never overflows
	if d > tol {
		return ErrTimestampTooOld
	}
	if checkNew && d < -tol {
		return ErrTimestampTooNew
	}
	return nil
}

// Each verifier satisfies Verifier.
var (
	_ Verifier = (*Standard)(nil)
	_ Verifier = (*Stripe)(nil)
	_ Verifier = (*GitHub)(nil)
)
