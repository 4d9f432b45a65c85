// Package ratelimit sends to Telegram as fast as it allows, never faster,
// and protects your own endpoints from floods.
//
// # Outbound: the Telegram scheduler
//
// [Telegram] turns Telegram's published limits into a scheduler: about one
// message per second per chat ([ChatLimit]), 20 per minute per group
// ([GroupLimit]), about 30 per second bot-wide ([GlobalLimit]) and up to
// 1000 per second with allow_paid_broadcast ([PaidLimit]). Each is a strict
// sliding window (no window of Telegram's size ever holds more than the
// limit, see [Limit]), checked with one timestamp per key (GCRA) in a
// [Store]. Give it to a botapi client and every method that posts to a chat
// waits on it:
//
//	sched, err := ratelimit.NewTelegram()
//	if err != nil { ... }
//	client := botapi.New(token, botapi.WithLimiter(sched))
//
// [Telegram.Wait] blocks until a send to the chat is allowed by every limit.
// A waiter joins the bot-wide queue only once its own chat allows it, so a
// busy chat never slows the others, and no goroutine is started per
// waiter.
//
// # Shared limits
//
// Schedulers given one [Store] share the limits ([WithStore]); the
// store/redis module's RateStore shares them between processes, deciding
// on the server's clock. Such a store is a round trip away (a
// [RemoteStore]): the scheduler reserves each send's slot in it shortly
// before its time ([Store.Reserve]), so a send costs one call and no slot
// waits for a waiter's wake-up and its call. [Telegram.Reserve] hands the
// [Slot] to a caller with other work meanwhile; [Slot.Wait] gives up a
// slot it woke too late for rather than crowd the sends after it.
//
// # Lanes
//
// The lane travels in the context ([WithLane]). [Interactive], the default,
// is for answers to a user's own action; [Bulk] for notifications and
// broadcasts, which get the bot-wide slots interactive sends leave; [Paid]
// for sends with allow_paid_broadcast. Methods that do not post to a chat
// (answerCallbackQuery, answerPreCheckoutQuery, answerInlineQuery, getters)
// never wait on the scheduler at all, so a pre-checkout answer is never
// queued behind bulk. Edits of a message post to its chat: the botapi client
// decides whether they wait (see its documentation); when they do, they go
// in the context's lane, Interactive unless you say otherwise.
//
// # 429 feedback
//
// Telegram answers a flood with 429 and retry_after, and does not say
// whether the wait is per chat or bot-wide. [Telegram.Backoff] (called by
// the botapi client on every 429, before its retry) blocks that chat until
// the deadline while the others keep going, and pauses the whole bot only
// on evidence: a 429 on a call not tied to a chat, or 429s on several
// distinct chats at once ([WithFloodEvidence]).
//
// # Latency
//
// Telegram counts a send when it arrives, not when it was sent. The
// scheduler stretches every window by a safety margin ([WithMargin]),
// keeps a spare send in each bot-wide window for one that arrives late
// ([WithSpare]), and, for sends made through [Telegram.Admit], holds one
// more in the store (so every scheduler sharing it keeps the room) while a
// send that is overdue may still arrive, and paces its chat from its
// answer. A send a circuit breaker refused is reported with [NotSent]. 429s raise the margin; calm brings it back.
//
// # Broadcasts
//
// The broadcast package sends one message to many chats on a Telegram
// scheduler: several sends in flight, one outcome per chat, a resumable
// cursor, a durable outcome log. It waits with [Telegram.Wait] itself, so
// a cancellation stops it at once, and sends with a context from
// [Telegram.Admit]: the client's own wait does not count the send twice,
// the client makes exactly one request (a 429 or a failed connect comes
// back to the broadcast, which sends again when the chat allows), and a
// 429 for the chat cancels the client's sleep at once.
//
// # Inbound: Keyed and Middleware
//
// [Keyed] is a token bucket per key (user id, IP), exact per key, sharded,
// with idle keys dropped by a background sweep so memory tracks the live
// keys; it has the methods x/time/rate users expect (AllowN, WaitN, a
// cancellable [Reservation], SetLimit). [Middleware] answers a request
// over its key's limit with 429 (RFC 9457 problem+json, or your
// [WithDenyHandler]) and Retry-After, and every request with the IETF
// draft's RateLimit-Limit, RateLimit-Remaining and RateLimit-Reset
// headers; [KeyByIP] and [KeyByUser] are ready key functions. The
// request's path through them allocates nothing (see [Middleware] for the
// bounds).
//
// # Time
//
// Every type takes a clock ([WithClock]) and has explicit-time methods
// (AllowAt, DelayAt, BackoffAt, ...), the test seam, as in
// golang.org/x/time/rate. Waits sleep on the time package's timers, so
// tests of waits run in a testing/synctest bubble.
//
// Telegram docs: https://core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this
package ratelimit
