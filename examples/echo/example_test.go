package main

import (
	"context"
	"log/slog"
	"os"
)

// The embedded default: simulated users talk to the bot on a fake Telegram.
func Example_demo() {
	_ = demo(context.Background(), slog.New(slog.DiscardHandler), os.Stdout)
	// Output:
	// echo is running on its embedded default: a fake Telegram in process, simulated users, no token.
	// Ada → bot: /start
	//   bot → Ada: Hi Ada! Send me anything and I will echo it. The menu button opens the Mini App.
	// Grace → bot: /start
	//   bot → Grace: Hi Grace! Send me anything and I will echo it. The menu button opens the Mini App.
	// Ada → bot: Hello, bot!
	//   bot → Ada: Hello, bot!
	// Alan → bot: Can you hear me?
	//   bot → Alan: Can you hear me?
	// Grace → bot: Echo this, please 🙂
	//   bot → Grace: Echo this, please 🙂
	// menu button: {"type":"web_app","text":"Open app","web_app":{"url":"https://example.org/app"}}
	// Set TELEGRAM_BOT_TOKEN (and PUBLIC_URL) to run it as your own bot.
}
