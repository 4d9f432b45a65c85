package ratelimit

import (
	"context"
	"errors"
	"time"
)

// Observer receives what a [Telegram] scheduler did: each wait it made a
// send go through and each 429 reported to it. Set it with [WithObserver];
// the otel module (github.com/miniappkit/miniappkit/otel) turns the events
// into OpenTelemetry metrics. Keyed limiters and the Middleware do not
// report to it.
//
// Calls are synchronous, on the goroutine of the Wait or Backoff: an
// implementation must be safe for concurrent use and return quickly
// (count, record, hand off; never block on I/O; never call the scheduler).
// A scheduler without an observer does no observation work and allocates
// nothing for it.
type Observer interface {
	// ObserveWait is called when a Wait returns.
	ObserveWait(ctx context.Context, e WaitEvent)
	// ObserveBackoff is called for each 429 reported (Backoff). ctx is
	// context.Background(): Backoff takes none.
	ObserveBackoff(ctx context.Context, e BackoffEvent)
}

// WithObserver makes a [Telegram] scheduler report its waits and backoffs
// to o (see [Observer]). The default (and nil) is no observer.
func WithObserver(o Observer) Option {
	return func(opts *options) { opts.observer = o }
}

// WaitEvent is one [Telegram.Wait].
type WaitEvent struct {
	// Lane is the lane of the send.
	Lane Lane
	// Chat is the kind of chat: "private" (positive id), "group"
	// (negative id) or "none" (0, a call not tied to a chat).
	Chat string
	// Waiting is the number of Waits in progress when this one began, it
	// excluded: the scheduler's queue depth.
	Waiting int64
	// Duration is how long the Wait took.
	Duration time.Duration
	// Err is the Wait's error: nil when the send may go, else
	// [ErrLimitExceeded], [ErrStore], or the context's error.
	Err error
}

// BackoffEvent is one 429 reported to [Telegram.Backoff].
type BackoffEvent struct {
	// Chat is the kind of chat, as in [WaitEvent].
	Chat string
	// RetryAfter is Telegram's retry_after (at least one second).
	RetryAfter time.Duration
	// Paused is true when the 429 paused the whole bot (a call not tied to
	// a chat, or 429s on several chats at once: see [WithFloodEvidence]).
	Paused bool
	// Margin is the safety margin every window is stretched by after this
	// 429 (see [WithMargin]).
	Margin time.Duration
}

// chatKind names the kind of chatID for an event.
func chatKind(chatID int64) string {
	switch {
	case chatID > 0:
		return "private"
	case chatID < 0:
		return "group"
	}
	return "none"
}

// waitStart is what observeWait needs from the start of a Wait.
type waitStart struct {
	at      time.Time
	waiting int64
}

// enterWait counts a Wait in; only with an observer.
func (s *Telegram) enterWait() waitStart {
	return waitStart{at: time.Now(), waiting: s.waiting.Add(1) - 1}
}

// observeWait counts a Wait out and reports it; deferred, only with an
// observer.
func (s *Telegram) observeWait(ctx context.Context, chatID int64, st waitStart, err *error) {
	s.waiting.Add(-1)
	s.observer.ObserveWait(ctx, WaitEvent{
		Lane: laneOf(ctx), Chat: chatKind(chatID), Waiting: st.waiting,
		Duration: time.Since(st.at), Err: *err,
	})
}

// observeBackoff reports a Backoff; only with an observer.
func (s *Telegram) observeBackoff(chatID int64, retryAfter time.Duration, paused bool) {
	if s.observer == nil {
		return
	}
	s.observer.ObserveBackoff(context.Background(), BackoffEvent{
		Chat: chatKind(chatID), RetryAfter: retryAfter, Paused: paused, Margin: s.cs.Load().margin,
	})
}

// WaitClass returns a short class of a Wait's error for metrics: "" for
// nil, "limit_exceeded", "store", "canceled", "timeout" or "other".
func WaitClass(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrLimitExceeded):
		return "limit_exceeded"
	case errors.Is(err, ErrStore):
		return "store"
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	}
	return "other"
}
