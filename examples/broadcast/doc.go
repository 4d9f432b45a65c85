// Command broadcast sends one message to a list of chats through the
// ratelimit scheduler, as fast as Telegram allows and never faster, with a
// progress bar on the terminal (rate, sent, failed, ETA). Ctrl-C stops it;
// running the same command again resumes where it stopped, without gaps or
// repeats. At the end it lists the users who blocked the bot.
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
// ids.txt holds one chat id per line. The cursor is saved in the data
// directory (-data, or BROADCAST_DATA_DIR; by default miniappkit-broadcast
// in the user's cache directory), one file per broadcast, while the
// broadcast runs, and removed when it completes. After a resume the summary
// gives this run's counts and the whole broadcast's.
package main
