package payments_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/miniappkit/miniappkit/botapi"
	"github.com/miniappkit/miniappkit/botapi/botapitest"
	"github.com/miniappkit/miniappkit/payments"
)

// TestEndToEndRedeliveredPreCheckoutKeepsOrder: on botapitest, the bot
// answers Ann's pre_checkout_query ok, Telegram charges her, and the bot
// crashes before it confirms the update (getUpdates is called again with
// the same offset), so the same query is delivered again before Ann's
// successful_payment is handled. Its second answer is refused ("query is
// too old"), which must not release the reservation the first answer made
// good: Bob's pre-checkout of the same order is declined (MsgOrderTaken)
// and Telegram charges once. Before the fix the refusal released the
// reservation, Bob was approved and charged: a duplicate provider charge,
// which the Bot API cannot refund.
func TestEndToEndRedeliveredPreCheckoutKeepsOrder(t *testing.T) {
	ctx := t.Context()
	srv := botapitest.NewServer(botapitest.WithoutListener())
	t.Cleanup(srv.Close)
	client := botapi.New(srv.Token(), botapi.WithBaseURL(srv.URL()), botapi.WithHTTPClient(srv.HTTPClient()))
	codec, err := payments.NewCodec(payments.Key{ID: 1, Secret: []byte("e2e secret, 32 bytes long ......")})
	require.NoError(t, err)
	fulfil := func(context.Context, payments.Tx, payments.Payment, payments.Order) error { return nil }
	h, err := payments.NewHandler(client, codec, payments.NewMemoryLedger(), fulfil)
	require.NoError(t, err)

	payload, err := codec.Encode(payments.Order{Ref: "order-lamp", Currency: "USD", Amount: 500})
	require.NoError(t, err)
	params, err := payments.ProviderInvoice("provider-token", "USD", "Lamp", "A desk lamp", payload,
		botapi.LabeledPrice{Label: "Lamp", Amount: 500}).LinkParams()
	require.NoError(t, err)
	link, err := client.CreateInvoiceLink(ctx, params)
	require.NoError(t, err)
	inv, ok := srv.InvoiceByLink(link)
	require.True(t, ok)

	type paid struct {
		p   botapitest.Payment
		err error
	}
	pay := func(u botapitest.User) <-chan paid {
		c := make(chan paid, 1)
		go func() {
			p, err := srv.Pay(ctx, u, inv)
			c <- paid{p, err}
		}()
		return c
	}
	// preCheckout polls from offset (confirming the updates before it)
	// until a pre_checkout_query comes, and returns it.
	preCheckout := func(offset int64) *botapi.Update {
		t.Helper()
		for {
			us, err := client.GetUpdates(ctx, &botapi.GetUpdatesParams{Offset: offset, Timeout: 5})
			require.NoError(t, err)
			for _, u := range us {
				if u.PreCheckoutQuery != nil {
					return u
				}
			}
		}
	}

	ann := pay(srv.NewUser("Ann"))
	u := preCheckout(0)
	require.NoError(t, h.HandleUpdate(ctx, u), "Ann's pre-checkout answered ok")
	res := <-ann
	require.NoError(t, res.err, "Telegram got the ok and charged Ann")

	// The bot crashed before confirming the update: the next getUpdates
	// (same offset) delivers it again, and Telegram refuses the repeated
	// answer. Ann's successful_payment is not handled yet.
	again := preCheckout(u.UpdateID)
	require.Equal(t, u.PreCheckoutQuery.ID, again.PreCheckoutQuery.ID, "the same query, delivered again")
	require.NoError(t, h.HandleUpdate(ctx, again), "a refused answer is acknowledged")

	bob := pay(srv.NewUser("Bob"))
	u = preCheckout(again.UpdateID + 1)
	require.NoError(t, h.HandleUpdate(ctx, u))
	res = <-bob
	var declined *botapitest.DeclinedError
	require.ErrorAs(t, res.err, &declined, "Bob must not be charged for the order Ann's charge holds (Bob charged %s)", res.p.TelegramPaymentChargeID)
	require.Equal(t, payments.MsgOrderTaken, declined.Message)
}
