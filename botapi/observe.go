package botapi

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Observer receives what the client did: one [CallEvent] per call (a
// generated method, [Client.Call] or a getUpdates poll of [Client.Updates])
// and one [AttemptEvent] per HTTP request that call made. Set it with
// [WithObserver]; the otel module (github.com/miniappkit/miniappkit/otel)
// turns the events into OpenTelemetry metrics and spans.
//
// The client calls the observer synchronously, on the goroutine making the
// call, after the fact: an implementation must be safe for concurrent use,
// return quickly (count, record, hand off; never block on I/O) and must not
// call the client. ctx is the call's context, so an observer can parent
// what it records on the caller's trace. A client without an observer does
// no observation work and allocates nothing for it.
type Observer interface {
	// ObserveAttempt is called after each HTTP request, before the client
	// decides whether to retry.
	ObserveAttempt(ctx context.Context, e AttemptEvent)
	// ObserveCall is called once when a call returns, with its outcome.
	ObserveCall(ctx context.Context, e CallEvent)
}

// WithObserver makes the client report each call and each HTTP attempt to
// o (see [Observer]). The default (and nil) is no observer.
func WithObserver(o Observer) Option {
	return func(opts *options) { opts.observer = o }
}

// CallEvent describes one call, from its start to its return, retries and
// waits included.
type CallEvent struct {
	// Method is the Bot API method, e.g. "sendMessage".
	Method string
	// Start is when the call began; Duration how long it took in all.
	Start    time.Time
	Duration time.Duration
	// Attempts is the number of HTTP requests made: 0 when the call
	// failed before the first (a configuration error, a parameter that
	// does not encode, the limiter's wait cut short).
	Attempts int
	// Status is the HTTP status of the last answer, 0 when there was none.
	Status int
	// Class is [ClassOK] on success, else the kind of failure returned.
	Class ErrorClass
	// Err is the error returned to the caller, nil on success. It holds
	// no token; its text may hold Telegram's description.
	Err error
	// RateLimited is the number of 429 answers the call received, and
	// RetryAfterWait the time it slept on their retry_after before trying
	// again.
	RateLimited    int
	RetryAfterWait time.Duration
	// LimiterWait is the time spent waiting on the [Limiter] (0 without one).
	LimiterWait time.Duration
}

// AttemptEvent describes one HTTP request of a call.
type AttemptEvent struct {
	// Method is the Bot API method; Attempt is 1 for the first request of
	// the call, 2 for the first retry, ...
	Method  string
	Attempt int
	// Start is when the request was sent; Duration runs until its answer
	// was decoded (or the request failed).
	Start    time.Time
	Duration time.Duration
	// Status is the HTTP status, 0 when no answer came.
	Status int
	// Class is [ClassOK] when the answer was a result, else the failure.
	Class ErrorClass
	// RetryAfter is the retry_after of a 429 answer, 0 otherwise.
	RetryAfter time.Duration
	// ServerAddress and ServerPort name the Bot API server (the host and
	// port of [WithBaseURL]; never the token).
	ServerAddress string
	ServerPort    int
}

// ErrorClass is the kind of a call's outcome, a short, stable label for
// metrics (OpenTelemetry's error.type): one of the Class constants.
type ErrorClass string

// The outcomes a [CallEvent] or [AttemptEvent] reports. An answer with an
// error code not listed below is ClassClient (4xx) or ClassServer (5xx).
const (
	ClassOK              ErrorClass = ""                  // a result
	ClassBadRequest      ErrorClass = "bad_request"       // 400
	ClassUnauthorized    ErrorClass = "unauthorized"      // 401
	ClassForbidden       ErrorClass = "forbidden"         // 403
	ClassNotFound        ErrorClass = "not_found"         // 404
	ClassConflict        ErrorClass = "conflict"          // 409
	ClassTooManyRequests ErrorClass = "too_many_requests" // 429
	ClassClient          ErrorClass = "client_error"      // another 4xx
	ClassServer          ErrorClass = "server_error"      // 5xx
	ClassInvalidResponse ErrorClass = "invalid_response"  // not Bot API JSON
	ClassNetwork         ErrorClass = "network"           // no answer: DNS, connect, TLS, reset
	ClassTimeout         ErrorClass = "timeout"           // a deadline passed
	ClassCanceled        ErrorClass = "canceled"          // the caller's context was canceled
	ClassConfig          ErrorClass = "config"            // ErrConfig
	ClassCircuitOpen     ErrorClass = "circuit_open"      // ErrCircuitOpen: the Breaker refused the call
	ClassOther           ErrorClass = "other"             // anything else (a limiter error, an upload that failed to read)
)

// Classify returns the [ErrorClass] of an error returned by the client
// ([ClassOK] for nil).
func Classify(err error) ErrorClass {
	if err == nil {
		return ClassOK
	}
	var apiErr *Error
	if errors.As(err, &apiErr) {
		switch c := apiErr.Code; {
		case errors.Is(apiErr, ErrInvalidResponse):
			return ClassInvalidResponse
		case c == http.StatusBadRequest:
			return ClassBadRequest
		case c == http.StatusUnauthorized:
			return ClassUnauthorized
		case c == http.StatusForbidden:
			return ClassForbidden
		case c == http.StatusNotFound:
			return ClassNotFound
		case c == http.StatusConflict:
			return ClassConflict
		case c == http.StatusTooManyRequests:
			return ClassTooManyRequests
		case c >= 500 && c <= 599:
			return ClassServer
		case c >= 400 && c <= 499:
			return ClassClient
		}
		return ClassInvalidResponse
	}
	switch {
	case errors.Is(err, ErrCircuitOpen):
		return ClassCircuitOpen
	case errors.Is(err, context.Canceled):
		return ClassCanceled
	case errors.Is(err, context.DeadlineExceeded):
		return ClassTimeout
	case errors.Is(err, ErrConfig):
		return ClassConfig
	}
	if errors.Is(err, ErrNetwork) {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return ClassTimeout
		}
		return ClassNetwork
	}
	return ClassOther
}

// callStats is what the retry loop notes for the observer. Its updates are
// a few stores on the stack, made whether or not an observer is set.
type callStats struct {
	attempts    int
	status      int
	limited     int
	retryWait   time.Duration
	limiterWait time.Duration
}

// observeCall reports a finished call. Called (deferred) only when the
// client has an observer.
func (c *Client) observeCall(ctx context.Context, method string, start time.Time, st *callStats, err *error) {
	c.obs.ObserveCall(ctx, CallEvent{
		Method:         method,
		Start:          start,
		Duration:       time.Since(start),
		Attempts:       st.attempts,
		Status:         st.status,
		Class:          Classify(*err),
		Err:            *err,
		RateLimited:    st.limited,
		RetryAfterWait: st.retryWait,
		LimiterWait:    st.limiterWait,
	})
}

// observeAttempt reports one HTTP request and notes it in st. Called only
// when the client has an observer.
func (c *Client) observeAttempt(ctx context.Context, method string, attempt int, start time.Time, status int, err error) {
	e := AttemptEvent{
		Method:        method,
		Attempt:       attempt,
		Start:         start,
		Duration:      time.Since(start),
		Status:        status,
		Class:         Classify(err),
		ServerAddress: c.obsHost,
		ServerPort:    c.obsPort,
	}
	var apiErr *Error
	if e.Class == ClassTooManyRequests && errors.As(err, &apiErr) {
		e.RetryAfter = apiErr.RetryAfter
	}
	c.obs.ObserveAttempt(ctx, e)
}

// clock is time.Now with an observer, the zero time without one (then
// waited notes nothing).
func (st *callStats) clock(o Observer) time.Time {
	if o == nil {
		return time.Time{}
	}
	return time.Now()
}

// waited adds the limiter wait that began at start.
func (st *callStats) waited(start time.Time) {
	if !start.IsZero() {
		st.limiterWait += time.Since(start)
	}
}

// noteRetry records in st a failed attempt and the client's decision on it.
func (st *callStats) noteRetry(err error, wait time.Duration, retry bool) {
	var apiErr *Error
	if errors.As(err, &apiErr) && apiErr.Code == http.StatusTooManyRequests {
		st.limited++
		if retry {
			st.retryWait += wait
		}
	}
}

// setObserver keeps o and the server's address for the events.
func (c *Client) setObserver(o Observer, base string) {
	if o == nil {
		return
	}
	c.obs = o
	u, err := url.Parse(base)
	if err != nil {
		return
	}
	c.obsHost = u.Hostname()
	if p, err := strconv.Atoi(u.Port()); err == nil {
		c.obsPort = p
	} else if u.Scheme == "https" {
		c.obsPort = 443
	} else {
		c.obsPort = 80
	}
}
