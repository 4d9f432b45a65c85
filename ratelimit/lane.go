package ratelimit

import (
	"context"
	"errors"
	"sync/atomic"
	"time"
)

// A Lane is the priority class of a send. The lane travels in the context
// given to [Telegram.Wait] (and, through botapi.WithLimiter, to every send
// of a botapi client): set it with [WithLane].
type Lane uint8

const (
	// Interactive is for answers to a user's own action: replies to a
	// message or a button press, edits of the message a user pressed. It
	// is the default of a context with no lane. Interactive sends take the
	// next bot-wide slot before any bulk send, so they wait at most one
	// slot (1/30 s) beyond their own chat's limit; on a [RemoteStore],
	// plus the ReserveAhead of the bulk sends already holding slots.
	Interactive Lane = iota
	// Bulk is for sends nobody is waiting for right now: notifications,
	// broadcasts. Bulk gets the bot-wide slots interactive sends leave.
	Bulk
	// Paid is for bulk sends made with allow_paid_broadcast: they draw on
	// the paid ceiling (1000/s) instead of the free 30/s.
	Paid
)

// String returns the lane's name.
func (l Lane) String() string {
	switch l {
	case Interactive:
		return "interactive"
	case Bulk:
		return "bulk"
	case Paid:
		return "paid"
	}
	return "unknown"
}

// contextKey is the type of this package's context keys.
type contextKey struct{ name string }

func (k *contextKey) String() string { return "ratelimit " + k.name }

var laneKey = &contextKey{"lane"}

// WithLane returns a copy of ctx carrying lane.
func WithLane(ctx context.Context, lane Lane) context.Context {
	return context.WithValue(ctx, laneKey, lane)
}

// LaneFromContext returns the lane ctx carries, and whether it carries one.
// Without one, [Telegram.Wait] uses [Interactive].
func LaneFromContext(ctx context.Context) (Lane, bool) {
	l, ok := ctx.Value(laneKey).(Lane)
	return l, ok
}

var admissionKey = &contextKey{"admission"}

// admission is a send already admitted by a Wait for chat.
type admission struct {
	chat   int64
	used   atomic.Bool
	once   bool                    // from Admit: a later Wait is refused
	cancel context.CancelCauseFunc // from Admit: Backoff for chat cancels
	start  time.Time               // from Admit: when the send began
	lane   Lane                    // from Admit: the lane of the send

	// From Admit, guarded by Telegram.admitMu: the timer that holds
	// bot-wide room while the send is overdue and a window after
	// (margin.go), whether it is overdue, whether it ended, and until when
	// it holds room once ended.
	timer *time.Timer
	late  bool
	ended bool
	until time.Time

	released atomic.Bool // from Admit: its release was called
	notSent  atomic.Bool // from Admit: NotSent was called
	cut      atomic.Bool // from Admit: a Backoff for its chat cancelled it
}

// NotSent tells the scheduler that the send ctx admitted (a context from
// [Telegram.Admit], or one derived from it) was not made: a circuit
// breaker refused it (botapi.ErrCircuitOpen), say. Its release then
// learns no round trip from it (an answer that took no time would make
// every real send look overdue) and holds no room for a late arrival.
// The slot its Wait took stays taken. Without such a context, NotSent does
// nothing.
func NotSent(ctx context.Context) {
	if a, ok := ctx.Value(admissionKey).(*admission); ok && a.once {
		a.notSent.Store(true)
	}
}

// ErrAdmissionUsed is returned by [Telegram.Wait] with a context from
// [Telegram.Admit] whose one send was made: the caller, not the client,
// decides about a retry.
var ErrAdmissionUsed = errors.New("ratelimit: the admitted send was made; its retry goes back to the caller")

// ErrBackoff is the cause (see context.Cause) with which
// [Telegram.Backoff] cancels the send contexts from [Telegram.Admit] of
// its chat.
var ErrBackoff = errors.New("ratelimit: Telegram answered 429 for the chat")

// WithAdmission returns a copy of ctx saying that a send to chatID was
// already admitted by a [Telegram.Wait] the caller made itself: the first
// Wait for chatID with the returned context (or one derived from it)
// returns at once without counting a send; any later one (a retry after a
// 429 is a new send) waits as usual.
//
// It lets a caller wait with a context it may cancel, then make the call
// that waits again (a botapi client with this scheduler) with a context it
// does not cancel, so a cancellation never interrupts a request that may
// already have reached Telegram. [Telegram.Admit] does more for a caller
// that handles retries itself.
func WithAdmission(ctx context.Context, chatID int64) context.Context {
	return context.WithValue(ctx, admissionKey, &admission{chat: chatID})
}

// Admit returns the context for one send to chatID that the caller's own
// [Telegram.Wait] admitted, and a release to call when the send is over.
// The context keeps ctx's values (the lane) but not its cancellation, so
// a cancellation never cuts a request that may have reached Telegram; and:
//   - the first Wait for chatID with it returns at once without counting a
//     send; any later one (a botapi client's retry) fails at once with
//     [ErrAdmissionUsed], so exactly one request is made and no new
//     request starts once the caller has stopped;
//   - a 429 for chatID reported to [Telegram.Backoff] while it is live
//     cancels it (cause [ErrBackoff]), so a client returns the 429 at once
//     instead of sleeping its retry_after inside the send;
//   - release tells the scheduler how long the send took: a slow one is
//     counted against its chat's limits from its end (see [WithMargin]).
//
// The broadcast package sends this way: a 429 hands the entry back to its
// scheduling, and the worker moves on.
func (s *Telegram) Admit(ctx context.Context, chatID int64) (context.Context, context.CancelFunc) {
	cctx, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	start := s.clock()
	a := &admission{chat: chatID, once: true, cancel: cancel, start: start, lane: min(laneOf(ctx), Paid)}
	s.admitMu.Lock()
	m := s.admits[chatID]
	if m == nil {
		m = map[*admission]struct{}{}
		s.admits[chatID] = m
	}
	m[a] = struct{}{}
	a.timer = time.AfterFunc(s.overdue(s.cs.Load()), func() { s.onLate(a) })
	s.admitMu.Unlock()
	return context.WithValue(cctx, admissionKey, a), func() {
		if !a.released.CompareAndSwap(false, true) {
			return
		}
		s.admitMu.Lock()
		if m := s.admits[chatID]; m != nil {
			delete(m, a)
			if len(m) == 0 {
				delete(s.admits, chatID)
			}
		}
		s.admitMu.Unlock()
		cancel(nil)
		s.ended(a)
	}
}

// cancelAdmitted cancels the live send contexts of chat from Admit.
func (s *Telegram) cancelAdmitted(chat int64) {
	if chat == 0 {
		return
	}
	s.admitMu.Lock()
	for a := range s.admits[chat] {
		a.cut.Store(true)
		a.cancel(ErrBackoff)
	}
	s.admitMu.Unlock()
}

// admitted consumes ctx's admission for chatID, if any; a used admission
// from Admit fails.
func admitted(ctx context.Context, chatID int64) (bool, error) {
	a, ok := ctx.Value(admissionKey).(*admission)
	if !ok || a.chat != chatID {
		return false, nil
	}
	if a.used.CompareAndSwap(false, true) {
		return true, nil
	}
	if a.once {
		return false, ErrAdmissionUsed
	}
	return false, nil
}
