// Command broadcast sends one message to a list of chats through the
// ratelimit scheduler, as fast as Telegram allows and never faster, with a
// progress bar on the terminal (rate, sent, failed, ETA). Every send is
// recorded in a durable outcome log (broadcast.Log on SQLite, from the
// store/sqlite module) before and after its request, so stopping it by
// Ctrl-C, a crash or SIGKILL and running the same command again resumes
// where it stopped: it sends every chat not sent yet, never one twice,
// and reports the few whose request was on its way at a kill as unknown
// (they may have been delivered; they are not resent). At the end it
// lists the users who blocked the bot.
//
// With no token it runs on its embedded default: a fake Telegram
// ([github.com/miniappkit/miniappkit/botapi/botapitest]) in process, enforcing
// Telegram's limits, with a few thousand simulated users, some of whom
// blocked the bot. The fake's clock is real, so its limits are sped up
// (-speed, default 10: 300 messages a second instead of 30) and the
// scheduler's with them; the summary shows the 429s the fake answered:
// zero.
//
//	go run ./examples/broadcast
//	go run ./examples/broadcast -users 5000 -speed 20
//
// With a token it broadcasts for real, at Telegram's own limits:
//
//	TELEGRAM_BOT_TOKEN=123456:ABC... go run ./examples/broadcast -chats ids.txt -text "Sale today!"
//
// ids.txt holds one chat id per line. -api (or TELEGRAM_API_URL) points
// the client at a local Bot API server instead of Telegram's; with -api,
// -speed scales the scheduler for a test server with faster limits.
//
// The log is one SQLite file, broadcast.db, in the data directory (-data,
// or BROADCAST_DATA_DIR; by default miniappkit-broadcast in the user's
// cache directory), beside the example's own two tables (runs per
// broadcast, and the chats that did not simply get the message, saved as
// each is reported). A broadcast is named by -id, by default one derived
// from the chat list and the text: the same command after a complete
// broadcast sends nothing (give another -id to send again). After a
// resume the summary gives this run's counts and the whole broadcast's.
//
// One run at a time owns a broadcast: a second process with the same id
// (an old one still running during a deploy) waits until the first ends;
// after a kill, the next run waits for the killed one's lease (-lease,
// default 30 s) to expire. The proof is TestBroadcastSIGKILL: this
// program, killed again and again during a 10 000-chat broadcast against
// the fake Telegram with latency, sends no chat twice.
package main
