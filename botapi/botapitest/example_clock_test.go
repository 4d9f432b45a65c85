package botapitest_test

import (
	"context"
	"fmt"
	"time"

	"github.com/miniappkit/miniappkit/botapi"
	"github.com/miniappkit/miniappkit/botapi/botapitest"
)

// A network of 40 ms ± 20 ms with 1 % of calls at 500 ms, on a virtual
// clock: the test moves time, nothing sleeps.
func ExampleWithLatency() {
	clock := botapitest.NewVirtualClock(time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC))
	srv := botapitest.NewServer(botapitest.WithVirtualClock(clock), botapitest.WithLatency(botapitest.Latency{
		Base: 40 * time.Millisecond, Jitter: 20 * time.Millisecond, Slow: 0.01, SlowDelay: 500 * time.Millisecond,
	}))
	defer srv.Close()
	bot := srv.Client()
	ctx := context.Background()

	done := make(chan error, 1)
	go func() { _, err := bot.GetMe(ctx); done <- err }()
	// The call waits twice: the request's half of the delay, then the
	// answer's. Move the clock to each once the server waits on it.
	for range 2 {
		_ = clock.BlockUntil(ctx, 1)
		clock.AdvanceToNext()
	}
	err := <-done
	arrived := srv.Requests("getMe")[0].At.Sub(time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC))
	fmt.Println(err, arrived >= 10*time.Millisecond && arrived <= 250*time.Millisecond)
	// Output: <nil> true
}

// WaitSent lets a test wait for the bot under test instead of polling.
func ExampleServer_WaitSent() {
	srv := botapitest.NewServer()
	defer srv.Close()
	ann := srv.NewUser("Ann")
	bot := srv.Client()
	go func() {
		_, _ = bot.SendMessage(context.Background(), &botapi.SendMessageParams{ChatID: botapi.ChatID{ID: ann.ID}, Text: "<b>Welcome</b>", ParseMode: "HTML"})
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sent, err := srv.WaitSent(ctx, 1)
	fmt.Println(err, sent[0].Text, srv.Messages(ann.ID)[0].Entities[0].Type)
	// Output: <nil> Welcome bold
}
