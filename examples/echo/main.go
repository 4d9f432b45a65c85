package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/miniappkit/miniappkit/botapi"
	"github.com/miniappkit/miniappkit/botapi/botapitest"
	"github.com/miniappkit/miniappkit/botapi/router"
	"github.com/miniappkit/miniappkit/ratelimit"
)

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	if token := os.Getenv("TELEGRAM_BOT_TOKEN"); token != "" {
		err = serve(ctx, newBot(token, log), os.Getenv("PUBLIC_URL"), log, nil)
	} else {
		err = demo(ctx, log, os.Stdout)
	}
	if err != nil {
		log.Error("echo stopped", "err", err)
		os.Exit(1)
	}
}

// newBot returns a client whose sends wait on Telegram's limits.
func newBot(token string, log *slog.Logger, opts ...botapi.Option) *botapi.Client {
	sched, err := ratelimit.NewTelegram()
	if err != nil {
		panic(err) // the default limits are valid
	}
	return botapi.New(token, append([]botapi.Option{botapi.WithLogger(log), botapi.WithLimiter(sched)}, opts...)...)
}

// serve runs the bot until ctx ends: the menu button, then long polling.
// replied, if not nil, is called after each answer.
func serve(ctx context.Context, bot *botapi.Client, webAppURL string, log *slog.Logger, replied func(to *botapi.Message, answer string)) error {
	me, err := bot.GetMe(ctx)
	if err != nil {
		return fmt.Errorf("getMe (is TELEGRAM_BOT_TOKEN right?): %w", err)
	}
	if webAppURL != "" {
		if err := bot.SetWebAppMenuButton(ctx, 0, "Open app", webAppURL); err != nil {
			return fmt.Errorf("menu button (PUBLIC_URL must be https): %w", err)
		}
	}
	// Long polling needs no webhook: remove one a previous run may have set.
	if err := bot.DeleteWebhook(ctx, &botapi.DeleteWebhookParams{}); err != nil {
		return err
	}
	log.Info("echo bot running", "bot", me.Username)
	r := routes(bot, me.Username, replied)
	for u, err := range bot.Updates(ctx, &botapi.UpdatesOptions{AllowedUpdates: []string{"message"}}) {
		if err != nil {
			log.Warn("getUpdates", "err", err)
			continue
		}
		if err := r.HandleUpdate(ctx, u); err != nil {
			log.Warn("reply failed", "update", u.UpdateID, "err", err)
		}
	}
	return nil
}

// routes answers messages: a greeting for /start (also "/start@<bot>" and
// "/start <payload>"), the text itself for any other text; messages
// without text go to the router's fallback, which ignores them. replied,
// if not nil, is called after each answer.
func routes(bot *botapi.Client, username string, replied func(to *botapi.Message, answer string)) *router.Router {
	answer := func(ctx context.Context, m *botapi.Message, text string) error {
		_, err := bot.SendMessage(ctx, &botapi.SendMessageParams{
			ChatID:          botapi.ChatID{ID: m.Chat.ID},
			Text:            text,
			ReplyParameters: &botapi.ReplyParameters{MessageID: m.MessageID},
		})
		if err == nil && replied != nil {
			replied(m, text)
		}
		return err
	}
	r := router.New(router.WithBotUsername(username))
	r.HandleCommand("start", func(ctx context.Context, u *botapi.Update) error {
		name := "there"
		if from := u.EffectiveUser(); from != nil {
			name = from.FirstName
		}
		return answer(ctx, u.Message, "Hi "+name+"! Send me anything and I will echo it. The menu button opens the Mini App.")
	})
	r.HandleFunc(router.TextPrefix(""), func(ctx context.Context, u *botapi.Update) error {
		return answer(ctx, u.Message, u.Message.Text)
	})
	return r
}

// demoWebAppURL is the Mini App the demo's menu button opens.
const demoWebAppURL = "https://example.org/app"

// demoScript is what the simulated users say, in order.
var demoScript = []struct{ user, text string }{
	{"Ada", "/start"},
	{"Grace", "/start"},
	{"Ada", "Hello, bot!"},
	{"Alan", "Can you hear me?"},
	{"Grace", "Echo this, please 🙂"},
}

// demo runs the bot on a fake Telegram where simulated users talk to it,
// prints the conversation to out, and returns once every message is
// answered (or ctx ends).
func demo(ctx context.Context, log *slog.Logger, out io.Writer) error {
	fake := botapitest.NewServer(botapitest.WithBotUsername("echo_demo_bot"))
	defer fake.Close()
	bot := newBot(fake.Token(), log, botapi.WithBaseURL(fake.URL()), botapi.WithHTTPClient(fake.HTTPClient()))
	fmt.Fprintln(out, "echo is running on its embedded default: a fake Telegram in process, simulated users, no token.")

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	answers := make(chan string, len(demoScript))
	served := make(chan error, 1)
	go func() {
		served <- serve(ctx, bot, demoWebAppURL, log, func(to *botapi.Message, answer string) {
			answers <- fmt.Sprintf("  bot → %s: %s", to.From.FirstName, answer)
		})
	}()

	users := map[string]botapi.User{}
	for _, line := range demoScript {
		u, ok := users[line.user]
		if !ok {
			u = fake.NewUser(line.user)
			users[line.user] = u
		}
		fmt.Fprintf(out, "%s → bot: %s\n", line.user, line.text)
		fake.SendUserMessage(u, line.text)
		select {
		case a := <-answers:
			fmt.Fprintln(out, a)
		case err := <-served:
			return fmt.Errorf("the bot stopped early: %w", err)
		case <-ctx.Done():
			return nil
		}
	}
	fmt.Fprintf(out, "menu button: %s\n", fake.MenuButton(0))
	fmt.Fprintln(out, "Set TELEGRAM_BOT_TOKEN (and PUBLIC_URL) to run it as your own bot.")
	cancel()
	return <-served
}
