// Package broadcast sends one message to a list of chats as fast as
// Telegram allows, never faster, and says what happened to each send.
//
// # Usage
//
// Build one [ratelimit.Telegram] scheduler, give it to the botapi client,
// and give both to [Run]:
//
//	sched, _ := ratelimit.NewTelegram()
//	client := botapi.New(token, botapi.WithLimiter(sched))
//	sum, err := broadcast.Run(ctx, sched, chatIDs,
//		broadcast.Message(client, botapi.SendMessageParams{Text: "Sale today!"}),
//		broadcast.WithProgress(func(p broadcast.Progress) { save(p.Cursor()) }),
//		broadcast.WithResult(func(r broadcast.Result) {
//			if errors.Is(r.Err, botapi.ErrForbidden) { markInactive(r.ChatID) }
//		}))
//
// # Outcomes
//
// Every entry of the list ends in exactly one [Outcome]: [Delivered];
// [Permanent] (403 blocked or deactivated, 400 chat not found, and a 400
// for the message itself, such as bad Markdown or an empty text, which
// every entry then gets: tell them apart by [Result.Err], and mark a chat
// inactive only on botapi.ErrForbidden or a chat-level 400); [Migrated]
// (the group became a supergroup: resent once to the new id and delivered);
// [Unknown] (a 5xx, a proxy's 502 page, a connection reset after the
// request was written: never resent, because a resend may deliver twice).
// A 429 or a failed connect is not an outcome (nothing was delivered):
// the scheduler blocks the chat (or the bot), the entry goes back to the
// scheduling, the worker moves on to other chats, and the entry is sent
// again when its chat's wait is over. Nor is a 401 or 404 (a wrong or
// revoked token) or botapi.ErrConfig (a client built with an invalid
// option): the bot cannot send at all, and [Run] stops with the error, the
// entry unfinished, to be sent by a run resumed once the token or the
// client is fixed.
//
// # Circuit breaking
//
// Nor is a call the client's circuit breaker refused (botapi.WithBreaker,
// an error matching botapi.ErrCircuitOpen): nothing left the process, so
// the entry is not marked, no attempt is spent, and the whole run pauses
// for botapi.BreakerPollInterval before it tries again, once a second for
// as long as the circuit stays open. Through a 30 s outage (502 from
// Telegram's front, a breaker opening after 5 failures for 5 s) a 3 000-chat
// broadcast delivered every entry except the 10 whose request reached
// Telegram during the outage and got a 502 (those before the breaker
// opened, then its probes; each [Unknown]), and nothing twice
// (TestBroadcastThroughOutage).
//
// # Throughput
//
// Several sends are in flight at once ([WithConcurrency]): with one at a
// time a broadcast gets one send per round trip. The scheduler paces for
// latency (a safety margin per window, a spare send for the late ones,
// see ratelimit.WithMargin), so Telegram sees no 429 even when some
// requests take much longer than others. Sends go in the bulk lane
// (or the paid lane, [WithLane]), so replies to users keep their priority
// while a broadcast runs. A chat listed several times gets its sends one at
// a time, so it never holds up the rest of the list.
//
// # Resuming and cancelling
//
// Cancelling the context stops the run at once: waits end and no new
// request starts, the client's own retries included; requests already on
// their way finish, so their outcome is known. The [Summary] and every
// [Progress] carry a [Cursor] (cheap to save on every call: a handful of
// runs of entries); [WithCursor] resumes from it after a cancel, without
// gaps or repeats. The cursor names its chat list ([Fingerprint]):
// resuming another list fails with [ErrCursorMismatch].
//
// # Crashes
//
// A cursor saved now and then cannot say which sends were on their way
// when the process died. A [Log] can ([WithLog]): each entry is marked in
// flight before its request and finished after it, durably; a run resumed
// on the same log sends every entry not started, reports each one left in
// flight [Unknown] with [ErrInterrupted] (never resent silently), and so
// never sends an entry twice. [MemoryLog] is the in-memory one; the store
// modules implement it on SQLite, Postgres and Redis.
//
// # One run per broadcast
//
// A log alone cannot stop two live runs of one broadcast id (an old pod
// still sending during a rolling restart, a second replica started by
// mistake): each would send the entries the other has not marked yet. So
// a run owns its id. [Log.Open] takes a lease on the id for the run (a
// random token [Run] makes), on the engine's clock (SQL now(), Redis
// TIME), and fails with [ErrRunning] while another run's lease is live;
// [Run] renews the lease every third of it ([WithLease], default
// [DefaultLease]) and releases it when it returns. Every write is the
// holder's only: [Log.Start] checks that the run still holds the id in
// the same atomic step that marks the entry, so a run that lost its
// lease (paused past it, and another run took the id) marks nothing more,
// sends nothing more, and stops with [ErrLeaseLost]; an entry it marked
// before the takeover is in flight for the new run, which reports it
// [Unknown]. A killed run cannot release: its broadcast resumes once its
// lease has expired, at most the lease after its last renewal.
//
// Why a lease on the run rather than a claim per entry: per-entry claims
// would also keep two runs from sending one entry, but each run would
// then report the other's in-flight entries as its own [Unknown], and two
// progress bars would count one broadcast. With one holder, the entries
// in flight at [Log.Open] are exactly those of a run that is gone, and a
// second process learns at once, by a named error, that it should wait
// (the example waits and retries; another caller may give up).
//
// Telegram docs: https://core.telegram.org/bots/faq#how-can-i-message-all-of-my-bot-39s-subscribers-at-once
package broadcast
