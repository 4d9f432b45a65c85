package botapitest

import (
	"math"
	"time"
)

// Telegram's published flood limits.
// Telegram docs: https://core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this
// and https://core.telegram.org/bots/api#sendmessage (allow_paid_broadcast).
const (
	perChatLimit    = 1 // messages per chat ...
	perChatWindow   = time.Second
	perGroupLimit   = 20 // messages per group ...
	perGroupWindow  = time.Minute
	globalLimit     = 30 // messages in all chats ...
	paidGlobalLimit = 1000
	globalWindow    = time.Second
)

// window is a strict sliding window over span d; callers give the limit.
type window struct {
	d     time.Duration
	times []time.Time // accepted events, oldest first
}

func (w *window) prune(now time.Time) {
	i := 0
	for i < len(w.times) && !w.times[i].After(now.Add(-w.d)) {
		i++
	}
	w.times = w.times[i:]
}

// wait is how long until one more event fits under limit n (0: now).
func (w *window) wait(now time.Time, n int) time.Duration {
	w.prune(now)
	if len(w.times) < n {
		return 0
	}
	return w.times[len(w.times)-n].Add(w.d).Sub(now)
}

// expired reports whether the window holds no event inside its span at now:
// dropping it then changes no later decision.
func (w *window) expired(now time.Time) bool {
	return len(w.times) == 0 || !w.times[len(w.times)-1].After(now.Add(-w.d))
}

// minSweep is the map size under which the limits model never sweeps.
const minSweep = 64

// windows is a map of windows by chat kept bounded by the live ones: an
// amortised sweep drops every expired window and rebuilds the map (Go maps
// do not give memory back on delete), so memory follows the chats sent to
// within the last span, not every chat ever sent to.
type windows struct {
	m         map[int64]*window
	next      int       // sweep once the map holds this many windows
	lastSweep time.Time // or once a span has passed since this
}

func newWindows() windows { return windows{m: map[int64]*window{}, next: minSweep} }

// get returns chat's window, creating one over span d, after sweeping
// when due. A sweep costs O(len) and runs only after the map doubled since
// the last one (amortised O(1) per new chat) or once per span (so expired
// windows go even when no new chat comes).
func (ws *windows) get(chatID int64, d time.Duration, now time.Time) *window {
	if len(ws.m) >= ws.next || (len(ws.m) > 0 && !now.Before(ws.lastSweep.Add(d))) {
		ws.sweep(now)
	}
	w := ws.m[chatID]
	if w == nil {
		w = &window{d: d}
		ws.m[chatID] = w
	}
	return w
}

// sweep drops the windows expired at now and rebuilds the map.
func (ws *windows) sweep(now time.Time) {
	live := make(map[int64]*window, len(ws.m)/4)
	for id, w := range ws.m {
		if !w.expired(now) {
			live[id] = w
		}
	}
	ws.m = live
	ws.next = max(minSweep, 2*len(live))
	ws.lastSweep = now
}

// limits is the flood-control model: per chat, per group, bot-wide.
type limits struct {
	scale  float64
	chats  windows
	groups windows
	global window
}

func newLimits(scale float64) *limits {
	return &limits{
		scale:  scale,
		chats:  newWindows(),
		groups: newWindows(),
		global: window{d: scaled(globalWindow, scale)},
	}
}

func scaled(d time.Duration, scale float64) time.Duration {
	return time.Duration(float64(d) / scale)
}

// admit decides whether a message to chatID may go now; on refusal it
// returns Telegram's retry_after in whole seconds (at least 1).
func (l *limits) admit(chatID int64, paid bool, now time.Time) (retryAfter int, ok bool) {
	chat := l.chats.get(chatID, scaled(perChatWindow, l.scale), now)
	var group *window
	if chatID < 0 {
		group = l.groups.get(chatID, scaled(perGroupWindow, l.scale), now)
	}
	gl := globalLimit
	if paid {
		gl = paidGlobalLimit
	}
	wait := max(chat.wait(now, perChatLimit), l.global.wait(now, gl))
	if group != nil {
		wait = max(wait, group.wait(now, perGroupLimit))
	}
	if wait > 0 {
		return max(1, int(math.Ceil(wait.Seconds()))), false
	}
	chat.times = append(chat.times, now)
	l.global.times = append(l.global.times, now)
	if group != nil {
		group.times = append(group.times, now)
	}
	return 0, true
}
