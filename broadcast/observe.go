package broadcast

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/miniappkit/miniappkit/botapi"
	"github.com/miniappkit/miniappkit/ratelimit"
)

// Observer receives each send a broadcast makes. Set it with
// [WithObserver]; the otel module (github.com/miniappkit/miniappkit/otel)
// turns the events into OpenTelemetry metrics.
//
// Calls are synchronous, on the worker that made the send: an
// implementation must be safe for concurrent use and return quickly
// (count, record, hand off; never block on I/O). A run without an observer
// does no observation work and allocates nothing for it.
type Observer interface {
	ObserveSend(ctx context.Context, e SendEvent)
}

// WithObserver makes [Run] report each send to o (see [Observer]). The
// default (and nil) is no observer.
func WithObserver(o Observer) Option { return func(opts *options) { opts.observer = o } }

// SendEvent is one send of a broadcast: an entry finished with an
// [Outcome], or postponed (a 429, a request that never left, a group that
// migrated) to be sent again.
type SendEvent struct {
	// Lane is the run's lane.
	Lane ratelimit.Lane
	// Index and ChatID name the entry of the chat list (keep them out of
	// metric attributes: one value per chat).
	Index  int
	ChatID int64
	// Outcome is the entry's outcome, 0 when it was postponed.
	Outcome Outcome
	// Postponed says why the entry goes back to the scheduling, when
	// Outcome is 0: [PostponedRateLimited], [PostponedNotSent],
	// [PostponedMigrated] or [PostponedCircuitOpen].
	Postponed string
	// Wait is how long the send waited for the scheduler; Duration how
	// long the request took.
	Wait, Duration time.Duration
	// Pending is the number of entries not finished once this send is
	// (the broadcast's queue depth).
	Pending int
	// Err is the send's error, nil when delivered.
	Err error
}

// Why a send was postponed (see [SendEvent.Postponed]).
const (
	PostponedRateLimited = "rate_limited" // a 429: sent again after its retry_after
	PostponedNotSent     = "not_sent"     // the request never left (a failed connect)
	PostponedMigrated    = "migrated"     // the group became a supergroup: sent to it next
	PostponedCircuitOpen = "circuit_open" // the client's circuit breaker refused it: the run pauses
)

// obsNow is time.Now with an observer, the zero time without one.
func (r *run) obsNow() time.Time {
	if r.o.observer == nil {
		return time.Time{}
	}
	return time.Now()
}

// observeSend reports one send; only with an observer. res.Err holds the
// send's error (deliver sets it for every send).
func (r *run) observeSend(ctx context.Context, res Result, finished bool, waitStart, sendStart time.Time) {
	if r.o.observer == nil {
		return
	}
	e := SendEvent{Lane: r.o.lane, Index: res.Index, ChatID: res.ChatID, Wait: sendStart.Sub(waitStart), Duration: time.Since(sendStart), Err: res.Err}
	if finished {
		e.Outcome = res.Outcome
	} else {
		var apiErr *botapi.Error
		switch {
		case errors.As(res.Err, &apiErr) && apiErr.Code == http.StatusTooManyRequests:
			e.Postponed = PostponedRateLimited
		case errors.As(res.Err, &apiErr) && apiErr.MigrateToChatID != 0:
			e.Postponed = PostponedMigrated
		case errors.Is(res.Err, botapi.ErrCircuitOpen):
			e.Postponed = PostponedCircuitOpen
		default:
			e.Postponed = PostponedNotSent
		}
	}
	r.mu.Lock()
	e.Pending = len(r.chats) - r.doneCount
	r.mu.Unlock()
	r.o.observer.ObserveSend(ctx, e)
}
