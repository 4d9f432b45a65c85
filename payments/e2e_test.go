package payments_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/miniappkit/miniappkit/botapi"
	"github.com/miniappkit/miniappkit/botapi/botapitest"
	"github.com/miniappkit/miniappkit/payments"
)

// shop is a bot wired to a botapitest server: a botapi client, a payments
// handler fed by a long poller, and a record of what the seller's callbacks saw.
type shop struct {
	srv    *botapitest.Server
	client *botapi.Client
	codec  *payments.Codec
	ledger *payments.MemoryLedger
	h      *payments.Handler

	mu        sync.Mutex
	fulfilled []payments.Payment
	refunds   []payments.Payment
	routed    chan *botapi.Update // every update after the handler ran
}

func newShop(t *testing.T, opts ...payments.Option) *shop {
	t.Helper()
	srv := botapitest.NewServer(botapitest.WithoutListener())
	t.Cleanup(srv.Close)
	s := &shop{
		srv:    srv,
		client: botapi.New(srv.Token(), botapi.WithBaseURL(srv.URL()), botapi.WithHTTPClient(srv.HTTPClient())),
		ledger: payments.NewMemoryLedger(),
		routed: make(chan *botapi.Update, 64),
	}
	var err error
	s.codec, err = payments.NewCodec(payments.Key{ID: 1, Secret: []byte("e2e secret, 32 bytes long ......")})
	require.NoError(t, err)
	fulfil := func(_ context.Context, _ payments.Tx, p payments.Payment, _ payments.Order) error {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.fulfilled = append(s.fulfilled, p)
		return nil
	}
	onRefund := func(_ context.Context, _ payments.Tx, p payments.Payment) error {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.refunds = append(s.refunds, p)
		return nil
	}
	s.h, err = payments.NewHandler(s.client, s.codec, s.ledger, fulfil, append([]payments.Option{payments.WithRefundHook(onRefund)}, opts...)...)
	require.NoError(t, err)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for u, err := range s.client.Updates(ctx, &botapi.UpdatesOptions{Timeout: 5 * time.Second}) {
			if err != nil {
				continue
			}
			if err := s.h.HandleUpdate(ctx, u); err != nil {
				t.Errorf("HandleUpdate: %v", err)
			}
			s.routed <- u
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	return s
}

// waitFor returns the next routed update for which match is true.
func (s *shop) waitFor(match func(*botapi.Update) bool) *botapi.Update {
	for u := range s.routed {
		if match(u) {
			return u
		}
	}
	return nil
}

func (s *shop) snapshot() (fulfilled, refunds []payments.Payment) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]payments.Payment(nil), s.fulfilled...), append([]payments.Payment(nil), s.refunds...)
}

// TestEndToEndStars: invoice link → srv.Pay → pre-checkout answered →
// successful_payment → fulfilled once → refund → refunded, each step
// asserted on the fake Telegram's side and on the bot's.
func TestEndToEndStars(t *testing.T) {
	ctx := t.Context()
	start := time.Now()
	s := newShop(t)
	buyer := s.srv.NewUser("Ann")

	// 1. Invoice link.
	payload, err := s.codec.Encode(payments.Order{Ref: "order-1", UserID: buyer.ID, Product: "gold",
		Currency: payments.XTR, Amount: 50, Expires: time.Now().Add(15 * time.Minute)})
	require.NoError(t, err)
	params, err := payments.StarsInvoice("Gold pack", "100 gold coins", payload, 50).LinkParams()
	require.NoError(t, err)
	link, err := s.client.CreateInvoiceLink(ctx, params)
	require.NoError(t, err)
	inv, ok := s.srv.InvoiceByLink(link)
	require.True(t, ok, "Telegram side: invoice issued")
	require.Equal(t, payments.XTR, inv.Currency)
	require.Equal(t, int64(50), inv.TotalAmount())

	// 2-3. The buyer pays; the bot's pre-checkout answer lets it through.
	paid, err := s.srv.Pay(t.Context(), buyer, inv)
	require.NoError(t, err, "Telegram side: pre-checkout answered ok")
	answers := s.srv.Requests("answerPreCheckoutQuery")
	require.Len(t, answers, 1)
	require.Equal(t, "true", answers[0].Params["ok"])
	require.Equal(t, int64(50), s.srv.StarBalance())

	// 4-5. successful_payment reaches the bot and is fulfilled once.
	u := s.waitFor(func(u *botapi.Update) bool { return u.Message != nil && u.Message.SuccessfulPayment != nil })
	require.Equal(t, paid.TelegramPaymentChargeID, u.Message.SuccessfulPayment.TelegramPaymentChargeID)
	require.NoError(t, s.h.HandleUpdate(ctx, u), "a redelivery")
	fulfilled, _ := s.snapshot()
	require.Len(t, fulfilled, 1, "bot side: fulfilled exactly once")
	p, err := s.ledger.Get(ctx, paid.TelegramPaymentChargeID)
	require.NoError(t, err)
	require.Equal(t, payments.StateFulfilled, p.State)
	require.Equal(t, buyer.ID, p.UserID)
	require.Equal(t, int64(50), p.Amount)

	// 6-7. Refund: Telegram returns the Stars and sends refunded_payment.
	require.NoError(t, s.h.Refund(ctx, buyer.ID, paid.TelegramPaymentChargeID))
	require.Zero(t, s.srv.StarBalance(), "Telegram side: Stars returned")
	u = s.waitFor(func(u *botapi.Update) bool { return u.Message != nil && u.Message.RefundedPayment != nil })
	require.Equal(t, paid.TelegramPaymentChargeID, u.Message.RefundedPayment.TelegramPaymentChargeID)
	p, err = s.ledger.Get(ctx, paid.TelegramPaymentChargeID)
	require.NoError(t, err)
	require.Equal(t, payments.StateRefunded, p.State, "bot side: refunded")
	require.NoError(t, s.h.Refund(ctx, buyer.ID, paid.TelegramPaymentChargeID), "idempotent")
	require.Len(t, s.srv.Requests("refundStarPayment"), 1)
	_, refunds := s.snapshot()
	require.Len(t, refunds, 1, "refund hook ran once")

	// 8. Both sides agree.
	r, err := s.h.Reconcile(ctx, time.Time{})
	require.NoError(t, err)
	require.True(t, r.Clean(), "%+v", r)
	require.Equal(t, 2, r.Transactions, "payment and refund")
	t.Logf("end to end (link, pay, pre-checkout, fulfil, refund, reconcile) on botapitest: %v", time.Since(start))
}

func TestEndToEndDeclined(t *testing.T) {
	ctx := t.Context()
	s := newShop(t, payments.WithCheck(func(_ context.Context, o payments.Order, _ *botapi.PreCheckoutQuery) error {
		if o.Product == "sold-out" {
			return payments.Decline("Sorry, sold out.")
		}
		return nil
	}))
	ann, bob := s.srv.NewUser("Ann"), s.srv.NewUser("Bob")
	issue := func(o payments.Order) botapitest.Invoice {
		payload, err := s.codec.Encode(o)
		require.NoError(t, err)
		params, err := payments.StarsInvoice("Gold pack", "100 gold coins", payload, 50).LinkParams()
		require.NoError(t, err)
		link, err := s.client.CreateInvoiceLink(ctx, params)
		require.NoError(t, err)
		inv, ok := s.srv.InvoiceByLink(link)
		require.True(t, ok)
		return inv
	}
	var declined *botapitest.DeclinedError

	_, err := s.srv.Pay(t.Context(), bob, issue(payments.Order{Ref: "o1", UserID: ann.ID}))
	require.ErrorAs(t, err, &declined)
	require.Equal(t, payments.MsgWrongUser, declined.Message)

	_, err = s.srv.Pay(t.Context(), ann, issue(payments.Order{Ref: "o2", Product: "sold-out"}))
	require.ErrorAs(t, err, &declined)
	require.Equal(t, "Sorry, sold out.", declined.Message)

	require.Zero(t, s.srv.StarBalance(), "Telegram side: nothing charged")
	fulfilled, _ := s.snapshot()
	require.Empty(t, fulfilled)
}

func TestEndToEndSubscription(t *testing.T) {
	ctx := t.Context()
	s := newShop(t)
	buyer := s.srv.NewUser("Ann")
	payload, err := s.codec.Encode(payments.Order{Ref: "club-1", UserID: buyer.ID, Product: "club"})
	require.NoError(t, err)
	params, err := payments.StarsSubscription("Club", "Monthly membership", payload, 250).LinkParams()
	require.NoError(t, err)
	link, err := s.client.CreateInvoiceLink(ctx, params)
	require.NoError(t, err)
	inv, ok := s.srv.InvoiceByLink(link)
	require.True(t, ok)
	require.Equal(t, botapitest.SubscriptionPeriod, inv.SubscriptionPeriod)

	paid, err := s.srv.Pay(t.Context(), buyer, inv)
	require.NoError(t, err)
	s.waitFor(func(u *botapi.Update) bool { return u.Message != nil && u.Message.SuccessfulPayment != nil })
	p, err := s.ledger.Get(ctx, paid.TelegramPaymentChargeID)
	require.NoError(t, err)
	require.Equal(t, payments.StateFulfilled, p.State)
	require.True(t, p.IsRecurring)
	require.True(t, p.IsFirstRecurring)
	require.Equal(t, paid.SubscriptionExpiration.Unix(), p.SubscriptionExpiration.Unix())
	id := paid.TelegramPaymentChargeID
	subscription := func() botapitest.Subscription {
		sub, ok := s.srv.Subscription(id)
		require.True(t, ok)
		return sub
	}

	// Cancel: Telegram turns renewal off and the user cannot turn it back on.
	require.NoError(t, s.h.CancelSubscription(ctx, buyer.ID, id))
	edits := s.srv.Requests("editUserStarSubscription")
	require.Len(t, edits, 1)
	require.Equal(t, map[string]string{"user_id": strconv.FormatInt(buyer.ID, 10), "telegram_payment_charge_id": id,
		"is_canceled": "true"}, edits[0].Params)
	sub := subscription()
	require.True(t, sub.Canceled, "Telegram side: renewal off")
	require.True(t, sub.CanceledByBot)
	require.ErrorIs(t, s.srv.SetSubscriptionCanceled(buyer, id, false), botapitest.ErrCanceledByBot)

	// Resume: the user may re-enable it, and does.
	require.NoError(t, s.h.ResumeSubscription(ctx, buyer.ID, id))
	require.Equal(t, "false", s.srv.Requests("editUserStarSubscription")[1].Params["is_canceled"])
	sub = subscription()
	require.False(t, sub.CanceledByBot, "Telegram side: the bot's cancellation lifted")
	require.True(t, sub.Canceled, "until the user re-enables it")
	require.NoError(t, s.srv.SetSubscriptionCanceled(buyer, id, false))

	// The period comes due: a recurring successful_payment, fulfilled once.
	renewal, err := s.srv.RenewSubscription(id)
	require.NoError(t, err)
	s.waitFor(func(u *botapi.Update) bool {
		return u.Message != nil && u.Message.SuccessfulPayment != nil &&
			u.Message.SuccessfulPayment.TelegramPaymentChargeID == renewal.TelegramPaymentChargeID
	})
	p, err = s.ledger.Get(ctx, renewal.TelegramPaymentChargeID)
	require.NoError(t, err)
	require.Equal(t, payments.StateFulfilled, p.State, "bot side: renewal fulfilled")
	require.True(t, p.IsRecurring)
	require.False(t, p.IsFirstRecurring)
	require.Equal(t, paid.SubscriptionExpiration.Add(payments.SubscriptionPeriod).Unix(), p.SubscriptionExpiration.Unix())
	fulfilled, _ := s.snapshot()
	require.Len(t, fulfilled, 2)
	require.Equal(t, int64(500), s.srv.StarBalance())
	require.Equal(t, 1, subscription().Renewals)

	// Canceled again, the next due date ends it: no charge, no fulfilment,
	// and Telegram refuses to resume an ended subscription.
	require.NoError(t, s.h.CancelSubscription(ctx, buyer.ID, id))
	_, err = s.srv.RenewSubscription(id)
	require.ErrorIs(t, err, botapitest.ErrSubscriptionCanceled)
	require.True(t, subscription().Expired)
	require.Equal(t, int64(500), s.srv.StarBalance())
	err = s.h.ResumeSubscription(ctx, buyer.ID, id)
	require.ErrorIs(t, err, botapi.ErrBadRequest)
	var apiErr *botapi.Error
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, "Bad Request: SUBSCRIPTION_EXPIRED", apiErr.Description)

	// A renewal's charge id does not name the subscription.
	err = s.h.CancelSubscription(ctx, buyer.ID, renewal.TelegramPaymentChargeID)
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, "Bad Request: SUBSCRIPTION_NOT_FOUND", apiErr.Description)

	fulfilled, _ = s.snapshot()
	require.Len(t, fulfilled, 2)
	r, err := s.h.Reconcile(ctx, time.Time{})
	require.NoError(t, err)
	require.True(t, r.Clean(), "%+v", r)
	require.Equal(t, 2, r.Transactions, "first payment and renewal")
}

// TestEndToEndOneOrderManyPays: six parallel pays of one order on
// botapitest: the first pre-checkout reserves the order, the other five are
// declined with MsgOrderTaken; one charge, one fulfilment.
func TestEndToEndOneOrderManyPays(t *testing.T) {
	ctx := t.Context()
	s := newShop(t)
	buyer := s.srv.NewUser("Ann")
	payload, err := s.codec.Encode(payments.Order{Ref: "order-6", UserID: buyer.ID, Currency: payments.XTR, Amount: 50})
	require.NoError(t, err)
	params, err := payments.StarsInvoice("Gold pack", "100 gold coins", payload, 50).LinkParams()
	require.NoError(t, err)
	link, err := s.client.CreateInvoiceLink(ctx, params)
	require.NoError(t, err)
	inv, ok := s.srv.InvoiceByLink(link)
	require.True(t, ok)

	var wg sync.WaitGroup
	var mu sync.Mutex
	var paid []botapitest.Payment
	var declined []string
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, err := s.srv.Pay(t.Context(), buyer, inv)
			mu.Lock()
			defer mu.Unlock()
			var d *botapitest.DeclinedError
			switch {
			case err == nil:
				paid = append(paid, p)
			case errors.As(err, &d):
				declined = append(declined, d.Message)
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	require.Len(t, paid, 1, "Telegram side: one charge")
	require.Len(t, declined, 5)
	for _, m := range declined {
		require.Equal(t, payments.MsgOrderTaken, m)
	}
	s.waitFor(func(u *botapi.Update) bool { return u.Message != nil && u.Message.SuccessfulPayment != nil })
	fulfilled, _ := s.snapshot()
	require.Len(t, fulfilled, 1)
	require.Equal(t, int64(50), s.srv.StarBalance())
}
