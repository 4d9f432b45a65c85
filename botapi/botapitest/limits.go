package botapitest

import (
	"math"
	"time"
)

// Telegram's published flood limits, with the bursts the fake allows.
// Telegram's FAQ gives the rates ("avoid sending more than one message per
// second" to a chat, "not able to send more than 20 messages per minute"
// to a group, "not more than 30 messages per second or so" in all) and says
// short bursts over the per-chat rate are allowed; it publishes no burst
// sizes, so those are the fake's choice: 3 messages back to back to a chat,
// a minute's worth (20) to a group, a second's worth (30, or 1000 with
// allow_paid_broadcast) bot-wide.
// Telegram docs: https://core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this
// and https://core.telegram.org/bots/api#sendmessage (allow_paid_broadcast).
const (
	perChatLimit    = 1 // messages per chat ...
	perChatWindow   = time.Second
	perChatBurst    = 3
	perGroupLimit   = 20 // messages per group ...
	perGroupWindow  = time.Minute
	perGroupBurst   = perGroupLimit
	globalLimit     = 30 // messages in all chats ...
	paidGlobalLimit = 1000
	globalWindow    = time.Second
	globalBurst     = globalLimit
	paidGlobalBurst = paidGlobalLimit
)

// bucket is one limit as the generic cell rate algorithm (GCRA, a token
// bucket told by its theoretical arrival time): a send at now fits when
// now >= tat - tolerance, and moves tat to max(tat, now) + interval. It
// allows burst sends back to back, then one per interval; unlike a strict
// sliding window it forgives a send that comes a little early after a
// quiet spell, as network jitter makes them.
type bucket struct {
	interval  time.Duration // window / limit
	tolerance time.Duration // (burst - 1) * interval
}

func newBucket(limit int, window time.Duration, burst int, scale float64) bucket {
	iv := scaled(window, scale) / time.Duration(limit)
	return bucket{interval: iv, tolerance: time.Duration(burst-1) * iv}
}

// wait is how long until a send fits the bucket whose arrival time is tat.
func (b bucket) wait(tat, now time.Time) time.Duration {
	return max(tat.Add(-b.tolerance).Sub(now), 0)
}

// take records a send at now and returns the new arrival time.
func (b bucket) take(tat, now time.Time) time.Time {
	if tat.Before(now) {
		tat = now
	}
	return tat.Add(b.interval)
}

// minSweep is the map size under which the limits model never sweeps.
const minSweep = 64

// tats is a map of arrival times by chat kept bounded by the live ones: an
// amortised sweep drops every bucket that is full again (its tat has
// passed: dropping it changes no later decision) and rebuilds the map (Go
// maps do not give memory back on delete), so memory follows the chats
// sent to recently, not every chat ever sent to.
type tats struct {
	m         map[int64]time.Time
	next      int       // sweep once the map holds this many entries
	lastSweep time.Time // or once span has passed since this
	span      time.Duration
}

func newTats(span time.Duration) tats {
	return tats{m: map[int64]time.Time{}, next: minSweep, span: span}
}

// get returns chat's arrival time (zero for none), after sweeping when
// due. A sweep costs O(len) and runs only after the map doubled since the
// last one (amortised O(1) per new chat) or once per span.
func (t *tats) get(chatID int64, now time.Time) time.Time {
	if len(t.m) >= t.next || (len(t.m) > 0 && !now.Before(t.lastSweep.Add(t.span))) {
		t.sweep(now)
	}
	return t.m[chatID]
}

// sweep drops the entries whose bucket is full at now and rebuilds the map.
func (t *tats) sweep(now time.Time) {
	live := make(map[int64]time.Time, len(t.m)/4)
	for id, tat := range t.m {
		if tat.After(now) {
			live[id] = tat
		}
	}
	t.m = live
	t.next = max(minSweep, 2*len(live))
	t.lastSweep = now
}

// limits is the flood-control model: per chat, per group, bot-wide. Every
// send counts against the chat's bucket (and the group's, for a negative
// chat id) and the paid ceiling of 1000/s; a send without
// allow_paid_broadcast also against the bot-wide 30/s.
type limits struct {
	scale              float64
	chat, group        bucket
	global, paid       bucket
	chats, groups      tats
	globalTAT, paidTAT time.Time
}

func newLimits(scale float64) *limits {
	l := &limits{
		scale:  scale,
		chat:   newBucket(perChatLimit, perChatWindow, perChatBurst, scale),
		group:  newBucket(perGroupLimit, perGroupWindow, perGroupBurst, scale),
		global: newBucket(globalLimit, globalWindow, globalBurst, scale),
		paid:   newBucket(paidGlobalLimit, globalWindow, paidGlobalBurst, scale),
	}
	// An arrival time runs at most burst intervals ahead of the send that
	// set it: past that span every entry of a map is full again.
	l.chats = newTats(l.chat.interval + l.chat.tolerance)
	l.groups = newTats(l.group.interval + l.group.tolerance)
	return l
}

func scaled(d time.Duration, scale float64) time.Duration {
	return time.Duration(float64(d) / scale)
}

// admit decides whether a message to chatID may go now; on refusal it
// returns Telegram's retry_after: whole seconds, rounded up, at least 1
// (Telegram sends an integer; see Query::set_retry_after_error in
// tdlib/telegram-bot-api telegram-bot-api/Query.cpp).
func (l *limits) admit(chatID int64, paid bool, now time.Time) (retryAfter int, ok bool) {
	chatTAT := l.chats.get(chatID, now)
	wait := max(l.chat.wait(chatTAT, now), l.paid.wait(l.paidTAT, now))
	var groupTAT time.Time
	if chatID < 0 {
		groupTAT = l.groups.get(chatID, now)
		wait = max(wait, l.group.wait(groupTAT, now))
	}
	if !paid {
		wait = max(wait, l.global.wait(l.globalTAT, now))
	}
	if wait > 0 {
		return max(1, int(math.Ceil(wait.Seconds()))), false
	}
	l.chats.m[chatID] = l.chat.take(chatTAT, now)
	l.paidTAT = l.paid.take(l.paidTAT, now)
	if chatID < 0 {
		l.groups.m[chatID] = l.group.take(groupTAT, now)
	}
	if !paid {
		l.globalTAT = l.global.take(l.globalTAT, now)
	}
	return 0, true
}
