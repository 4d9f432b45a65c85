package main

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/miniappkit/miniappkit/botapi"
	"github.com/miniappkit/miniappkit/botapi/botapitest"
)

// setup starts the bot on a fake Telegram; each answer is sent to the
// returned channel.
func setup(t *testing.T) (*botapitest.Server, <-chan string) {
	t.Helper()
	fake := botapitest.NewServer()
	t.Cleanup(fake.Close)
	log := slog.New(slog.DiscardHandler)
	bot := newBot(fake.Token(), log, botapi.WithBaseURL(fake.URL()), botapi.WithHTTPClient(fake.HTTPClient()))
	ctx, cancel := context.WithCancel(t.Context())
	answers := make(chan string, 16)
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, bot, "https://app.example/", log, func(_ *botapi.Message, a string) { answers <- a })
	}()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
	return fake, answers
}

func TestEchoRepliesToTheMessage(t *testing.T) {
	fake, answers := setup(t)
	ada := fake.NewUser("Ada")
	msgID := fake.SendUserMessage(ada, "Hello, bot!")
	require.Equal(t, "Hello, bot!", <-answers)

	reqs := fake.Requests("sendMessage")
	require.Len(t, reqs, 1)
	var rp botapi.ReplyParameters
	require.NoError(t, reqs[0].JSON("reply_parameters", &rp))
	require.Equal(t, msgID, rp.MessageID, "the echo is a reply to the user's message")
	sent := fake.Sent()
	require.Len(t, sent, 1)
	require.Equal(t, ada.ID, sent[0].ChatID)
	require.Equal(t, "Hello, bot!", sent[0].Text)
}

func TestEchoGreetsOnStart(t *testing.T) {
	fake, answers := setup(t)
	tests := []struct{ name, text string }{
		{"plain", "/start"},
		{"addressed", "/start@test_bot"},
		{"deep link", "/start ref42"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake.SendUserMessage(fake.NewUser("Grace"), tt.text)
			require.True(t, strings.HasPrefix(<-answers, "Hi Grace!"))
		})
	}
}

func TestEchoLeavesOtherBotsCommands(t *testing.T) {
	fake, answers := setup(t)
	fake.SendUserMessage(fake.NewUser("Grace"), "/start@other_bot")
	require.Equal(t, "/start@other_bot", <-answers, "another bot's /start is echoed, not taken as ours")
}

func TestEchoSetsTheMenuButton(t *testing.T) {
	fake, answers := setup(t)
	// Once a message is answered, serve has long set the menu button.
	fake.SendUserMessage(fake.NewUser("Alan"), "ping")
	<-answers
	require.JSONEq(t, `{"type":"web_app","text":"Open app","web_app":{"url":"https://app.example/"}}`, string(fake.MenuButton(0)))
}

func TestEchoSkipsMessagesWithoutText(t *testing.T) {
	r := routes(nil, "test_bot", nil) // a nil client: any send would panic
	require.NoError(t, r.HandleUpdate(t.Context(), &botapi.Update{UpdateID: 1, Message: &botapi.Message{MessageID: 1}}))
	require.NoError(t, r.HandleUpdate(t.Context(), &botapi.Update{UpdateID: 2}))
}

func TestDemo(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, demo(t.Context(), slog.New(slog.DiscardHandler), &out))
	got := out.String()
	for _, line := range demoScript {
		require.Contains(t, got, line.user+" → bot: "+line.text)
	}
	require.Contains(t, got, "bot → Ada: Hello, bot!")
	require.Contains(t, got, "bot → Grace: Hi Grace!")
	require.Contains(t, got, demoWebAppURL)
}
