package ratelimit

import (
	"context"
	"sync/atomic"
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
	// slot (1/30 s) beyond their own chat's limit.
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
	chat int64
	used atomic.Bool
}

// WithAdmission returns a copy of ctx saying that a send to chatID was
// already admitted by a [Telegram.Wait] the caller made itself: the first
// Wait for chatID with the returned context (or one derived from it)
// returns at once without counting a send; any later one (a retry after a
// 429 is a new send) waits as usual.
//
// It lets a caller wait with a context it may cancel, then make the call
// that waits again (a botapi client with this scheduler) with a context it
// does not cancel, so a cancellation never interrupts a request that may
// already have reached Telegram. The broadcast package works this way.
func WithAdmission(ctx context.Context, chatID int64) context.Context {
	return context.WithValue(ctx, admissionKey, &admission{chat: chatID})
}

// admitted consumes ctx's admission for chatID, if any.
func admitted(ctx context.Context, chatID int64) bool {
	a, ok := ctx.Value(admissionKey).(*admission)
	return ok && a.chat == chatID && a.used.CompareAndSwap(false, true)
}
