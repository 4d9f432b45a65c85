package ratelimit

import (
	"fmt"
	"time"
)

// Telegram's published limits. Telegram docs: https://core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this
// and the allow_paid_broadcast parameter: https://core.telegram.org/bots/api#sendmessage
var (
	// ChatLimit is about one message per second to one chat.
	ChatLimit = Limit{N: 1, Window: time.Second}
	// GroupLimit is 20 messages per minute to one group, supergroup or channel.
	GroupLimit = Limit{N: 20, Window: time.Minute}
	// GlobalLimit is about 30 messages per second for bulk sends, bot-wide.
	GlobalLimit = Limit{N: 30, Window: time.Second}
	// PaidLimit is the bot-wide ceiling of 1000 messages per second for
	// messages sent with allow_paid_broadcast (0.1 Star per message above
	// the free limit).
	PaidLimit = Limit{N: 1000, Window: time.Second}
)

// A Limit allows N events in any window of length Window, as a strict
// sliding window: no interval of length Window, however placed, holds more
// than N events. Burst is how many of the N may go back to back (0 means 1);
// the rest are spaced evenly, so a larger Burst lowers the sustained rate
// (N-Burst+1 events per Window). Burst 1, the default, gives the highest
// sustained rate.
//
// A token bucket with burst b lets b + rate×Window through in its worst
// window (at 20/min, burst 20 lets 39 through); Limit is enforced with the
// generic cell rate algorithm (GCRA) with its interval chosen so that never
// happens.
type Limit struct {
	N      int
	Window time.Duration
	Burst  int
}

// String formats l as "N/Window".
func (l Limit) String() string {
	if l.Burst > 1 {
		return fmt.Sprintf("%d/%v (burst %d)", l.N, l.Window, l.Burst)
	}
	return fmt.Sprintf("%d/%v", l.N, l.Window)
}

// valid reports whether l can be enforced.
func (l Limit) valid() error {
	b := max(l.Burst, 1)
	if l.N <= 0 || l.Window <= 0 || b > l.N {
		return fmt.Errorf("ratelimit: invalid limit %v: need N > 0, Window > 0, Burst <= N", l)
	}
	return nil
}

// gcra is one limit in GCRA form: the emission interval and the tolerance,
// in nanoseconds.
type gcra struct {
	interval  int64
	tolerance int64
}

// cell turns l into GCRA parameters. The interval is
// floor(Window/(N-Burst+1)) + 1 ns, so that Window/interval < N-Burst+1 and
// a closed window of length Window holds at most N conforming events.
func (l Limit) cell() gcra {
	b := int64(max(l.Burst, 1))
	iv := int64(l.Window)/(int64(l.N)-b+1) + 1
	return gcra{interval: iv, tolerance: (b - 1) * iv}
}

// take applies one GCRA decision at now to the theoretical arrival time
// tat. It returns the new tat and 0 when the event conforms, or the
// unchanged tat and the wait until it would conform.
func (g gcra) take(tat, now int64) (newTAT, wait int64) {
	t := max(tat, now)
	if start := t - g.tolerance; start > now {
		return tat, start - now
	}
	return t + g.interval, 0
}

// peek is take without the change.
func (g gcra) peek(tat, now int64) (wait int64) {
	t := max(tat, now)
	return max(t-g.tolerance-now, 0)
}
