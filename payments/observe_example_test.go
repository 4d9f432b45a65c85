package payments_test

import (
	"context"
	"fmt"
	"time"

	"github.com/miniappkit/miniappkit/botapi"
	"github.com/miniappkit/miniappkit/payments"
)

// stepPrinter is an Observer that prints each payment step.
type stepPrinter struct{}

func (stepPrinter) ObservePayment(_ context.Context, e payments.PaymentEvent) {
	fmt.Println(e.Step, e.Outcome, e.Reason, e.Amount, e.Currency)
}

// noAPI accepts every call, standing in for a *botapi.Client.
type noAPI struct{}

func (noAPI) AnswerPreCheckoutQuery(context.Context, *botapi.AnswerPreCheckoutQueryParams) error {
	return nil
}
func (noAPI) AnswerShippingQuery(context.Context, *botapi.AnswerShippingQueryParams) error {
	return nil
}
func (noAPI) RefundStarPayment(context.Context, *botapi.RefundStarPaymentParams) error { return nil }
func (noAPI) EditUserStarSubscription(context.Context, *botapi.EditUserStarSubscriptionParams) error {
	return nil
}
func (noAPI) GetStarTransactions(context.Context, *botapi.GetStarTransactionsParams) (*botapi.StarTransactions, error) {
	return &botapi.StarTransactions{}, nil
}

func ExampleWithObserver() {
	codec, _ := payments.NewCodec(payments.Key{ID: 1, Secret: []byte("a 32-byte secret from your vault")})
	h, err := payments.NewHandler(noAPI{}, codec, payments.NewMemoryLedger(),
		func(context.Context, payments.Tx, payments.Payment, payments.Order) error { return nil },
		payments.WithObserver(stepPrinter{}))
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	payload, _ := codec.Encode(payments.Order{Ref: "order-7", Currency: payments.XTR, Amount: 50, Expires: time.Now().Add(time.Hour)})
	_ = h.HandlePreCheckoutQuery(ctx, &botapi.PreCheckoutQuery{ID: "q1", From: botapi.User{ID: 42}, Currency: payments.XTR, TotalAmount: 50, InvoicePayload: payload})
	_ = h.HandlePreCheckoutQuery(ctx, &botapi.PreCheckoutQuery{ID: "q2", From: botapi.User{ID: 42}, Currency: payments.XTR, TotalAmount: 5, InvoicePayload: payload})
	paid := &botapi.SuccessfulPayment{Currency: payments.XTR, TotalAmount: 50, InvoicePayload: payload, TelegramPaymentChargeID: "ch1"}
	_ = h.HandleSuccessfulPayment(ctx, 42, paid)
	_ = h.HandleSuccessfulPayment(ctx, 42, paid) // redelivered
	_ = h.Refund(ctx, 42, "ch1")
	// Output:
	// pre_checkout accepted  50 XTR
	// pre_checkout declined price_changed 5 XTR
	// fulfil ok  50 XTR
	// fulfil skipped  50 XTR
	// refund ok  50 XTR
}
