package ratelimit

import "context"

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
