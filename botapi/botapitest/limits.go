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

// limits is the flood-control model: per chat, per group, bot-wide.
type limits struct {
	scale  float64
	chats  map[int64]*window
	groups map[int64]*window
	global window
}

func newLimits(scale float64) *limits {
	return &limits{
		scale:  scale,
		chats:  map[int64]*window{},
		groups: map[int64]*window{},
		global: window{d: scaled(globalWindow, scale)},
	}
}

func scaled(d time.Duration, scale float64) time.Duration {
	return time.Duration(float64(d) / scale)
}

// admit decides whether a message to chatID may go now; on refusal it
// returns Telegram's retry_after in whole seconds (at least 1).
func (l *limits) admit(chatID int64, paid bool, now time.Time) (retryAfter int, ok bool) {
	chat := l.chats[chatID]
	if chat == nil {
		chat = &window{d: scaled(perChatWindow, l.scale)}
		l.chats[chatID] = chat
	}
	var group *window
	if chatID < 0 {
		group = l.groups[chatID]
		if group == nil {
			group = &window{d: scaled(perGroupWindow, l.scale)}
			l.groups[chatID] = group
		}
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
