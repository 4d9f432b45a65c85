package botapi_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/miniappkit/miniappkit/botapi"
	"github.com/miniappkit/miniappkit/botapi/botapitest"
)

// callPrinter is an Observer that prints each call; a real one counts or
// records (the otel module's does both), quickly and without blocking.
type callPrinter struct{}

func (callPrinter) ObserveAttempt(context.Context, botapi.AttemptEvent) {}

func (callPrinter) ObserveCall(_ context.Context, e botapi.CallEvent) {
	fmt.Printf("%s: attempts %d, status %d, class %q\n", e.Method, e.Attempts, e.Status, e.Class)
}

func ExampleWithObserver() {
	srv := botapitest.NewServer(botapitest.WithoutListener())
	defer srv.Close()
	alice, bob := srv.NewUser("Alice"), srv.NewUser("Bob")
	srv.BlockBot(bob)
	client := srv.Client(botapi.WithObserver(callPrinter{}))

	ctx := context.Background()
	_, _ = client.SendMessage(ctx, &botapi.SendMessageParams{ChatID: botapi.ChatID{ID: alice.ID}, Text: "hi"})
	_, err := client.SendMessage(ctx, &botapi.SendMessageParams{ChatID: botapi.ChatID{ID: bob.ID}, Text: "hi"})
	fmt.Println(errors.Is(err, botapi.ErrForbidden), botapi.Classify(err))
	// Output:
	// sendMessage: attempts 1, status 200, class ""
	// sendMessage: attempts 1, status 403, class "forbidden"
	// true forbidden
}
