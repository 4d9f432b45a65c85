// Command echo is the shortest useful Telegram bot built with miniappkit:
// it long-polls getUpdates, sets a web_app menu button that opens a Mini
// App, and answers every message by echoing it back as a reply.
//
// With no configuration it runs on its embedded default: a fake Telegram
// ([github.com/miniappkit/miniappkit/botapi/botapitest]) in process, where a
// few simulated users talk to the bot; it prints the conversation and exits.
//
//	go run ./examples/echo
//
// With a token it serves a real bot until Ctrl-C:
//
//	TELEGRAM_BOT_TOKEN=123456:ABC... PUBLIC_URL=https://your.app/ go run ./examples/echo
//
// PUBLIC_URL (an https URL) is what the menu button opens; without it the
// bot keeps Telegram's default menu button.
package main
