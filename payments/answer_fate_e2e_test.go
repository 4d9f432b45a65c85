package payments_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/miniappkit/miniappkit/botapi"
	"github.com/miniappkit/miniappkit/botapi/botapitest"
	"github.com/miniappkit/miniappkit/payments"
)

// TestEndToEndLostOkAnswerKeepsOrder: on botapitest, the bot's ok answer to
// the pre-checkout of a provider payment reaches Telegram, which drops the
// connection before replying (FaultCloseAfterDelivery) and charges the
// buyer. Before that charge's successful_payment is handled, a second buyer
// pays the same invoice link: the order must still be reserved, so Telegram
// gets a decline (MsgOrderTaken) and charges once. Before the fix the failed
// answer released the reservation, the second pre-checkout was approved and
// Telegram charged twice: a duplicate provider charge, which the Bot API
// cannot refund.
func TestEndToEndLostOkAnswerKeepsOrder(t *testing.T) {
	ctx := t.Context()
	srv := botapitest.NewServer(botapitest.WithoutListener())
	t.Cleanup(srv.Close)
	client := botapi.New(srv.Token(), botapi.WithBaseURL(srv.URL()), botapi.WithHTTPClient(srv.HTTPClient()))
	codec, err := payments.NewCodec(payments.Key{ID: 1, Secret: []byte("e2e secret, 32 bytes long ......")})
	require.NoError(t, err)
	fulfil := func(context.Context, payments.Tx, payments.Payment, payments.Order) error { return nil }
	h, err := payments.NewHandler(client, codec, payments.NewMemoryLedger(), fulfil)
	require.NoError(t, err)

	// The bot answers pre-checkout queries as they come and holds every
	// other update (the successful_payment) back.
	var mu sync.Mutex
	var handlerErrs []error
	pctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for u, err := range client.Updates(pctx, &botapi.UpdatesOptions{Timeout: 5 * time.Second}) {
			if err != nil || u.PreCheckoutQuery == nil {
				continue
			}
			if err := h.HandleUpdate(pctx, u); err != nil {
				mu.Lock()
				handlerErrs = append(handlerErrs, err)
				mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() { cancel(); <-done })

	payload, err := codec.Encode(payments.Order{Ref: "order-lamp", Currency: "USD", Amount: 500})
	require.NoError(t, err)
	params, err := payments.ProviderInvoice("provider-token", "USD", "Lamp", "A desk lamp", payload,
		botapi.LabeledPrice{Label: "Lamp", Amount: 500}).LinkParams()
	require.NoError(t, err)
	link, err := client.CreateInvoiceLink(ctx, params)
	require.NoError(t, err)
	inv, ok := srv.InvoiceByLink(link)
	require.True(t, ok)

	srv.FailNext("answerPreCheckoutQuery", 1, botapitest.Fault{Kind: botapitest.FaultCloseAfterDelivery})
	_, err = srv.Pay(srv.NewUser("Ann"), inv)
	require.NoError(t, err, "Telegram got the ok and charged Ann; the bot saw the connection drop")

	_, err = srv.Pay(srv.NewUser("Bob"), inv)
	var declined *botapitest.DeclinedError
	require.ErrorAs(t, err, &declined, "Bob must not be charged for the order Ann's charge holds")
	require.Equal(t, payments.MsgOrderTaken, declined.Message)

	cancel()
	<-done
	mu.Lock()
	defer mu.Unlock()
	require.Empty(t, handlerErrs, "the lost ok answer is acknowledged, not redelivered")
}
