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
//			if r.Outcome == broadcast.Permanent { markInactive(r.ChatID) }
//		}))
//
// # Outcomes
//
// Every entry of the list ends in exactly one [Outcome]: [Delivered];
// [Permanent] (403 blocked or deactivated, 400 chat not found); [Migrated]
// (the group became a supergroup: resent once to the new id and delivered);
// [Unknown] (a 5xx, a proxy's 502 page, a connection reset after the
// request was written: never resent, because a resend may deliver twice).
// A 429 is not an outcome: the scheduler blocks the chat (or the bot) and
// the entry is sent again.
//
// # Throughput
//
// Several sends are in flight at once ([WithConcurrency]): with one at a
// time a broadcast gets one send per round trip. Sends go in the bulk lane
// (or the paid lane, [WithLane]), so replies to users keep their priority
// while a broadcast runs. A chat listed several times gets its sends one at
// a time, so it never holds up the rest of the list.
//
// # Resuming and cancelling
//
// Cancelling the context stops the run at once: waits end and no new send
// starts; sends whose request may already be on its way finish, so their
// outcome is known. The [Summary] and every [Progress] carry a [Cursor];
// [WithCursor] resumes from it, after a cancel or a crash, without gaps or
// repeats (a crash loses at most the outcomes of the sends in flight since
// the cursor was saved, which are then sent again).
//
// Telegram docs: https://core.telegram.org/bots/faq#how-can-i-message-all-of-my-bot-39s-subscribers-at-once
package broadcast
