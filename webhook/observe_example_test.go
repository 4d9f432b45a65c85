package webhook_test

import (
	"context"
	"fmt"

	"github.com/miniappkit/miniappkit/botapi"
	"github.com/miniappkit/miniappkit/webhook"
)

// updatePrinter is an Observer that prints what happens to each update and
// each refused request.
type updatePrinter struct{}

func (updatePrinter) StartUpdate(ctx context.Context, _ webhook.UpdateStart) context.Context {
	return ctx // a tracing observer returns ctx with the update's span
}

func (updatePrinter) ObserveUpdate(_ context.Context, e webhook.UpdateEvent) {
	fmt.Printf("update %d (%s): %s, %s, HTTP %d\n", e.UpdateID, e.Kind, e.Dedupe, e.Result, e.Status)
}

func (updatePrinter) ObserveRejected(_ context.Context, e webhook.Rejection) {
	fmt.Printf("refused: %s %s, HTTP %d\n", e.Scheme, e.Reason, e.Status)
}

func ExampleWithObserver() {
	h, err := webhook.NewHandler("s3cr3t_token", webhook.UpdateHandlerFunc(func(context.Context, *botapi.Update) error {
		return nil
	}), webhook.WithObserver(updatePrinter{}))
	if err != nil {
		panic(err)
	}

	update := `{"update_id":7,"message":{"message_id":1,"date":1700000000,"chat":{"id":42,"type":"private"},"text":"hi"}}`
	deliver(h, "s3cr3t_token", update)
	deliver(h, "s3cr3t_token", update) // Telegram redelivers
	deliver(h, "guess", update)
	// Output:
	// update 7 (message): new, ok, HTTP 200
	// update 7 (message): duplicate, ok, HTTP 200
	// refused: telegram secret_mismatch, HTTP 401
}
