package ratelimit

import (
	"net/http"
	"time"
)

// An Option configures a [Telegram] scheduler, a [Keyed] limiter or a
// [Middleware]. Each option's doc says which it applies to; the others
// ignore it.
type Option func(*options)

type options struct {
	clock          func() time.Time
	customClock    bool // WithClock was given a clock
	store          Store
	chat, group    Limit
	global, paid   Limit
	evidenceChats  int
	evidenceWithin time.Duration
	sweepEvery     time.Duration
	deny           http.Handler
	margin         time.Duration
	maxMargin      time.Duration
	spare          int
	observer       Observer
}

func newOptions(opts []Option) options {
	o := options{
		clock:          time.Now,
		chat:           ChatLimit,
		group:          GroupLimit,
		global:         GlobalLimit,
		paid:           PaidLimit,
		evidenceChats:  DefaultFloodEvidence,
		evidenceWithin: time.Second,
		margin:         DefaultMargin,
		maxMargin:      DefaultMaxMargin,
		spare:          DefaultSpare,
	}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// DefaultFloodEvidence is how many distinct chats must report a 429 within
// one second before [Telegram] pauses the whole bot (see
// [WithFloodEvidence]).
const DefaultFloodEvidence = 5

// WithClock sets the clock (both [Telegram] and [Keyed]). The default is
// [time.Now]. Waits sleep with the time package's timers, so a test of a
// wait runs in a testing/synctest bubble (whose fake time drives both the
// clock and the timers); other tests use the methods taking a time.
func WithClock(now func() time.Time) Option {
	return func(o *options) {
		if now != nil {
			o.clock, o.customClock = now, true
		}
	}
}

// WithStore makes a [Telegram] keep its state in s, so that schedulers
// sharing s share the limits. The default is a fresh [MemoryStore].
func WithStore(s Store) Option {
	return func(o *options) {
		if s != nil {
			o.store = s
		}
	}
}

// WithChatLimit sets the [Telegram] limit per chat; the default is
// [ChatLimit].
func WithChatLimit(l Limit) Option { return func(o *options) { o.chat = l } }

// WithGroupLimit sets the [Telegram] limit per group, supergroup or channel
// (negative chat ids), on top of the chat limit; the default is
// [GroupLimit].
func WithGroupLimit(l Limit) Option { return func(o *options) { o.group = l } }

// WithGlobalLimit sets the [Telegram] bot-wide limit of the interactive and
// bulk lanes; the default is [GlobalLimit].
func WithGlobalLimit(l Limit) Option { return func(o *options) { o.global = l } }

// WithPaidLimit sets the [Telegram] bot-wide ceiling that every send counts
// against and that the paid lane draws on; the default is [PaidLimit].
func WithPaidLimit(l Limit) Option { return func(o *options) { o.paid = l } }

// WithFloodEvidence sets when a [Telegram] takes 429s on single chats as
// evidence of a bot-wide flood wait: when chats distinct chats report one
// within the duration within. The default is [DefaultFloodEvidence] chats
// within one second. A 429 on a call not tied to a chat (chat id 0) always
// pauses the bot.
func WithFloodEvidence(chats int, within time.Duration) Option {
	return func(o *options) { o.evidenceChats, o.evidenceWithin = chats, within }
}
