package webhook

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"time"

	"github.com/miniappkit/miniappkit/botapi"
)

// Observer receives what the webhook did with each update and each request
// it refused. Set it with [WithObserver]; the otel module
// (github.com/miniappkit/miniappkit/otel) turns the events into
// OpenTelemetry metrics and spans.
//
// Calls are synchronous, on the goroutine serving the request (or the
// [Worker]'s): an implementation must be safe for concurrent use and return
// quickly (count, record, hand off; never block on I/O). A handler or
// worker without an observer does no observation work and allocates nothing
// for it.
type Observer interface {
	// StartUpdate is called once an update is decoded, before its
	// update_id is claimed. The context it returns is the one the
	// [UpdateHandler] runs with (a tracing observer puts the update's span
	// in it, so the Bot API calls the handler makes are its children), and
	// the one ObserveUpdate receives. It must return ctx or a context
	// derived from it.
	StartUpdate(ctx context.Context, e UpdateStart) context.Context
	// ObserveUpdate is called once per StartUpdate, when the update's
	// delivery (or the worker's attempt) is answered.
	ObserveUpdate(ctx context.Context, e UpdateEvent)
	// ObserveRejected is called for a request refused before any update was
	// decoded: a failed authentication, or a body that is too long or not
	// an update.
	ObserveRejected(ctx context.Context, e Rejection)
}

// WithObserver makes [NewHandler], [NewWorker] and [VerifyMiddleware]
// report to o (see [Observer]). The default is no observer; nil is an
// error.
func WithObserver(o Observer) Option {
	return func(opts *handlerOptions) {
		if o == nil {
			opts.fail("nil Observer")
			return
		}
		opts.observer = o
	}
}

// UpdateStart is what is known of an update when it arrives.
type UpdateStart struct {
	UpdateID int64
	// Kind is the name of the update's field that is set ("message",
	// "callback_query", "pre_checkout_query", ...), "unknown" when none
	// this package knows is.
	Kind string
	// Source is "webhook" for a delivery, "worker" for a [Worker]'s attempt.
	Source string
	// Attempt is the worker's attempt (1, 2, ...); 1 for a delivery.
	Attempt int
	// Start is when the update was decoded (or popped).
	Start time.Time
}

// UpdateEvent is the outcome of one delivery or worker attempt.
type UpdateEvent struct {
	UpdateStart
	// Duration runs from Start to the answer.
	Duration time.Duration
	// Dedupe is the outcome of the update_id's claim.
	Dedupe Dedupe
	// HandlerDuration is how long the [UpdateHandler] ran, 0 if it did not.
	HandlerDuration time.Duration
	// Result is what became of the update.
	Result Result
	// Status is the HTTP status answered (0 for a worker).
	Status int
	// Err is the handler's error (or the store's, the queue's), nil if none.
	Err error
}

// Dedupe is the outcome of claiming an update_id.
type Dedupe string

// The outcomes of a claim.
const (
	DedupeNew        Dedupe = "new"         // claimed: the handler runs
	DedupeDuplicate  Dedupe = "duplicate"   // already processed: acknowledged, handler not run
	DedupeInFlight   Dedupe = "in_flight"   // another delivery holds it past the wait: 503 (or retried later)
	DedupeStoreError Dedupe = "store_error" // the Store failed: 503, handler not run
	DedupeCanceled   Dedupe = "canceled"    // the request ended while waiting
	DedupeSkipped    Dedupe = "skipped"     // not claimed here: queued for a Worker (WithAsync)
)

// Result is what became of an update.
type Result string

// The results of an update.
const (
	ResultOK      Result = "ok"      // the handler returned nil (or a duplicate was acknowledged)
	ResultError   Result = "error"   // the handler returned an error: Telegram (or the worker) retries
	ResultPanic   Result = "panic"   // the handler panicked: as ResultError
	ResultRetry   Result = "retry"   // not processed now (in flight, store or queue failure): retried later
	ResultQueued  Result = "queued"  // stored in the queue for a Worker (WithAsync)
	ResultDead    Result = "dead"    // the worker gave up on it (a DeadLetter)
	ResultDropped Result = "dropped" // never processed and acknowledged anyway
)

// Rejection is a request the webhook refused before decoding an update.
type Rejection struct {
	// Scheme names the check: "telegram" (the secret-token header),
	// "ip" (the allow-list), "standard", "stripe", "github", "custom"
	// (another [Verifier]), or "body" for a body that was too long or not
	// an update.
	Scheme string
	// Reason is a short class: "missing_header", "invalid_header",
	// "no_matching_signature", "timestamp_too_old", "timestamp_too_new",
	// "secret_mismatch", "ip_not_allowed", "too_large", "undecodable",
	// "other". It never holds request data.
	Reason string
	// Status is the HTTP status answered.
	Status int
}

// The schemes of a [Rejection].
const (
	schemeTelegram = "telegram"
	schemeIP       = "ip"
	schemeBody     = "body"
)

// verifierScheme names the scheme of v for a [Rejection].
func verifierScheme(v Verifier) string {
	switch v.(type) {
	case *Standard:
		return "standard"
	case *Stripe:
		return "stripe"
	case *GitHub:
		return "github"
	}
	return "custom"
}

// rejectReason classifies a verification error for a [Rejection].
func rejectReason(err error) string {
	switch {
	case errors.Is(err, ErrMissingHeader):
		return "missing_header"
	case errors.Is(err, ErrInvalidHeader):
		return "invalid_header"
	case errors.Is(err, ErrNoMatchingSignature):
		return "no_matching_signature"
	case errors.Is(err, ErrTimestampTooOld):
		return "timestamp_too_old"
	case errors.Is(err, ErrTimestampTooNew):
		return "timestamp_too_new"
	}
	return "other"
}

// updateKinds lists, for each optional pointer field of botapi.Update, its
// index and JSON name, in declaration order.
var updateKinds = func() (kinds []struct {
	index int
	name  string
}) {
	t := reflect.TypeFor[botapi.Update]()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.Type.Kind() != reflect.Pointer || !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name != "" && name != "-" {
			kinds = append(kinds, struct {
				index int
				name  string
			}{i, name})
		}
	}
	return kinds
}()

// UpdateKind returns the JSON name of u's first field that is set
// ("message", "callback_query", ...), or "unknown".
func UpdateKind(u *botapi.Update) string {
	if u == nil {
		return "unknown"
	}
	v := reflect.ValueOf(u).Elem()
	for _, k := range updateKinds {
		if !v.Field(k.index).IsNil() {
			return k.name
		}
	}
	return "unknown"
}

// startUpdate calls the observer's StartUpdate; only with an observer.
func startUpdate(ctx context.Context, o Observer, u *botapi.Update, source string, attempt int) (context.Context, UpdateEvent) {
	e := UpdateEvent{UpdateStart: UpdateStart{
		UpdateID: u.UpdateID, Kind: UpdateKind(u), Source: source, Attempt: attempt, Start: time.Now(),
	}}
	return o.StartUpdate(ctx, e.UpdateStart), e
}

// observed is the per-update record a handler fills while it processes an
// update with an observer; nil without one, so every method is a no-op.
type observed struct {
	o   Observer
	ctx context.Context
	e   UpdateEvent
}

func (ob *observed) dedupe(d Dedupe) {
	if ob != nil {
		ob.e.Dedupe = d
	}
}

func (ob *observed) handler(start time.Time, err error) {
	if ob != nil {
		ob.e.HandlerDuration = time.Since(start)
		ob.e.Err = err
		ob.e.Result = ResultOK
		if errors.Is(err, errPanicked) {
			ob.e.Result = ResultPanic
		} else if err != nil {
			ob.e.Result = ResultError
		}
	}
}

// done reports the update with its result and HTTP status. A result
// already set by handler is kept unless r is not empty.
func (ob *observed) done(r Result, status int, err error) {
	if ob == nil {
		return
	}
	if r != "" {
		ob.e.Result = r
	} else if ob.e.Result == "" {
		ob.e.Result = ResultRetry
	}
	if err != nil && ob.e.Err == nil {
		ob.e.Err = err
	}
	ob.e.Status = status
	ob.e.Duration = time.Since(ob.e.Start)
	ob.o.ObserveUpdate(ob.ctx, ob.e)
}

// reject reports a refused request; only with an observer.
func reject(ctx context.Context, o Observer, scheme, reason string, status int) {
	if o != nil {
		o.ObserveRejected(ctx, Rejection{Scheme: scheme, Reason: reason, Status: status})
	}
}

// Sources of an [UpdateStart].
const (
	sourceWebhook = "webhook"
	sourceWorker  = "worker"
)

// observeStart starts observing u: it returns the context to run the
// handler with and the record to finish, or (ctx, nil) without an observer.
func observeStart(ctx context.Context, o Observer, u *botapi.Update, source string, attempt int) (context.Context, *observed) {
	if o == nil {
		return ctx, nil
	}
	ob := &observed{o: o}
	ob.ctx, ob.e = startUpdate(ctx, o, u, source, attempt)
	ob.e.Dedupe = DedupeSkipped
	return ob.ctx, ob
}

// now is time.Now with an observer, the zero time without one.
func (ob *observed) now() time.Time {
	if ob == nil {
		return time.Time{}
	}
	return time.Now()
}

// claimDedupe maps a claim's outcome to its [Dedupe].
func claimDedupe(c claimOutcome) Dedupe {
	switch c {
	case claimOwned:
		return DedupeNew
	case claimDone:
		return DedupeDuplicate
	case claimBusy:
		return DedupeInFlight
	case claimFailed:
		return DedupeStoreError
	}
	return DedupeCanceled
}

// secretReason classifies a failed secret-token check.
func secretReason(h http.Header) string {
	if headerValue(h, HeaderSecretToken) == "" {
		return "missing_header"
	}
	return "secret_mismatch"
}

// middlewareObserver returns the observer among opts, for the middleware
// constructors (which take no other option), or the options' error.
func middlewareObserver(opts []Option) (Observer, error) {
	var o handlerOptions
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	if err := errors.Join(o.errs...); err != nil {
		return nil, err
	}
	return o.observer, nil
}
