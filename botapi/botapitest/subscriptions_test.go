package botapitest

import (
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"
)

// subscribe has user pay a new subscription link (50 Stars a month) while
// bot answers the pre-checkout query, and returns the first payment. The
// bot must have taken every pending update.
func subscribe(t *testing.T, srv *Server, bot *payBot, user User) Payment {
	t.Helper()
	var link string
	callJSON(t, srv, "createInvoiceLink", starsInvoice("subscription_period", 2592000)).decode(t, &link)
	inv, ok := srv.InvoiceByLink(link)
	require.True(t, ok)
	var wg sync.WaitGroup
	wg.Go(bot.poll)
	pay, err := srv.Pay(t.Context(), user, inv)
	wg.Wait()
	require.NoError(t, err)
	return pay
}

func okBot(t *testing.T, srv *Server) *payBot {
	return &payBot{t: t, srv: srv, answer: func(*preCheckoutQuery) map[string]any { return map[string]any{"ok": true} }}
}

func editSub(t *testing.T, srv *Server, userID int64, chargeID string, canceled bool) answer {
	t.Helper()
	return callJSON(t, srv, "editUserStarSubscription", map[string]any{
		"user_id": userID, "telegram_payment_charge_id": chargeID, "is_canceled": canceled})
}

// lastPayment returns the newest successful_payment the bot got.
func lastPayment(t *testing.T, bot *payBot) *successfulPayment {
	t.Helper()
	ups := bot.updates()
	for i := len(ups) - 1; i >= 0; i-- {
		if m := ups[i].Message; m != nil && m.SuccessfulPayment != nil {
			return m.SuccessfulPayment
		}
	}
	t.Fatal("no successful_payment")
	return nil
}

func TestSubscriptionCancelResumeRenew(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := NewServer(WithoutListener())
		defer srv.Close()
		ann := srv.NewUser("Ann")
		bot := okBot(t, srv)
		first := subscribe(t, srv, bot, ann)
		bot.poll()
		start := time.Now()

		sub, ok := srv.Subscription(first.TelegramPaymentChargeID)
		require.True(t, ok)
		require.Equal(t, Subscription{
			ChargeID: first.TelegramPaymentChargeID, User: ann, Invoice: first.Invoice,
			Expiration: start.Add(SubscriptionPeriod),
		}, sub)

		// The bot cancels: renewal off, and the user cannot turn it back on.
		require.True(t, editSub(t, srv, ann.ID, first.TelegramPaymentChargeID, true).OK)
		sub, _ = srv.Subscription(first.TelegramPaymentChargeID)
		require.True(t, sub.Canceled)
		require.True(t, sub.CanceledByBot)
		require.ErrorIs(t, srv.SetSubscriptionCanceled(ann, first.TelegramPaymentChargeID, false), ErrCanceledByBot)

		// The bot lifts its cancellation; renewal stays off until the user
		// re-enables it.
		require.True(t, editSub(t, srv, ann.ID, first.TelegramPaymentChargeID, false).OK)
		sub, _ = srv.Subscription(first.TelegramPaymentChargeID)
		require.True(t, sub.Canceled)
		require.False(t, sub.CanceledByBot)
		require.NoError(t, srv.SetSubscriptionCanceled(ann, first.TelegramPaymentChargeID, false))
		sub, _ = srv.Subscription(first.TelegramPaymentChargeID)
		require.False(t, sub.Canceled)

		// The period comes due: Ann pays again, no pre-checkout query.
		renewal, err := srv.RenewSubscription(first.TelegramPaymentChargeID)
		require.NoError(t, err)
		require.NotEqual(t, first.TelegramPaymentChargeID, renewal.TelegramPaymentChargeID)
		require.Equal(t, start.Add(2*SubscriptionPeriod), renewal.SubscriptionExpiration)
		bot.poll()
		require.Equal(t, &successfulPayment{
			Currency: "XTR", TotalAmount: 50, InvoicePayload: "order-1",
			SubscriptionExpirationDate: start.Add(2 * SubscriptionPeriod).Unix(), IsRecurring: true,
			TelegramPaymentChargeID: renewal.TelegramPaymentChargeID,
		}, lastPayment(t, bot))
		require.Len(t, srv.Requests("answerPreCheckoutQuery"), 1, "only the first payment")
		require.Equal(t, int64(100), srv.StarBalance())
		var txns struct{ Transactions []starTransaction }
		callJSON(t, srv, "getStarTransactions", map[string]any{}).decode(t, &txns)
		require.Len(t, txns.Transactions, 2)
		require.Equal(t, renewal.TelegramPaymentChargeID, txns.Transactions[1].ID)
		require.Equal(t, int64(2592000), txns.Transactions[1].Source.SubscriptionPeriod)
		sub, _ = srv.Subscription(first.TelegramPaymentChargeID)
		require.Equal(t, 1, sub.Renewals)
		require.Equal(t, renewal.SubscriptionExpiration, sub.Expiration)
		_, ok = srv.Subscription(renewal.TelegramPaymentChargeID)
		require.False(t, ok, "the first payment's id names the subscription")

		// Canceled again, the next due date ends it instead of charging.
		require.True(t, editSub(t, srv, ann.ID, first.TelegramPaymentChargeID, true).OK)
		_, err = srv.RenewSubscription(first.TelegramPaymentChargeID)
		require.ErrorIs(t, err, ErrSubscriptionCanceled)
		require.Empty(t, pollUpdates(t, srv, map[string]any{"offset": bot.offset}), "no successful_payment")
		require.Equal(t, int64(100), srv.StarBalance())
		sub, _ = srv.Subscription(first.TelegramPaymentChargeID)
		require.True(t, sub.Expired)
		require.Equal(t, 1, sub.Renewals)

		_, err = srv.RenewSubscription(first.TelegramPaymentChargeID)
		require.ErrorIs(t, err, ErrSubscriptionExpired)
		require.ErrorIs(t, srv.SetSubscriptionCanceled(ann, first.TelegramPaymentChargeID, false), ErrSubscriptionExpired)
		requireError(t, editSub(t, srv, ann.ID, first.TelegramPaymentChargeID, false), 400, "Bad Request: SUBSCRIPTION_EXPIRED")
	})
}

func TestSubscriptionCanceledByUser(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := NewServer(WithoutListener())
		defer srv.Close()
		ann, bob := srv.NewUser("Ann"), srv.NewUser("Bob")
		first := subscribe(t, srv, okBot(t, srv), ann)

		require.ErrorIs(t, srv.SetSubscriptionCanceled(bob, first.TelegramPaymentChargeID, true), ErrUnknownSubscription)
		require.NoError(t, srv.SetSubscriptionCanceled(ann, first.TelegramPaymentChargeID, true))
		sub, _ := srv.Subscription(first.TelegramPaymentChargeID)
		require.True(t, sub.Canceled)
		require.False(t, sub.CanceledByBot, "the user's own cancellation")
		require.NoError(t, srv.SetSubscriptionCanceled(ann, first.TelegramPaymentChargeID, false), "the user may undo it")
		require.NoError(t, srv.SetSubscriptionCanceled(ann, first.TelegramPaymentChargeID, true))
		_, err := srv.RenewSubscription(first.TelegramPaymentChargeID)
		require.ErrorIs(t, err, ErrSubscriptionCanceled)
		require.Equal(t, int64(50), srv.StarBalance())
	})
}

// TestEditUserStarSubscriptionErrors runs on real time, outside a bubble,
// for its subtests; the pre-checkout answers come at once.
func TestEditUserStarSubscriptionErrors(t *testing.T) {
	srv := setup(t)
	ann, bob := srv.NewUser("Ann"), srv.NewUser("Bob")
	bot := okBot(t, srv)
	sub := subscribe(t, srv, bot, ann)
	renewal, err := srv.RenewSubscription(sub.TelegramPaymentChargeID)
	require.NoError(t, err)
	var link string
	callJSON(t, srv, "createInvoiceLink", starsInvoice()).decode(t, &link)
	inv, _ := srv.InvoiceByLink(link)
	bot.poll() // both successful_payment messages, so the next poll waits for the query
	var wg sync.WaitGroup
	wg.Go(bot.poll)
	oneOff, err := srv.Pay(t.Context(), ann, inv)
	wg.Wait()
	require.NoError(t, err)

	tests := []struct {
		name   string
		params map[string]any
		desc   string
	}{
		{"no is_canceled", map[string]any{"user_id": ann.ID, "telegram_payment_charge_id": sub.TelegramPaymentChargeID},
			`Bad Request: parameter "is_canceled" is required`},
		{"unknown user", map[string]any{"user_id": 77, "telegram_payment_charge_id": sub.TelegramPaymentChargeID, "is_canceled": true},
			"Bad Request: user not found"},
		{"unknown charge", map[string]any{"user_id": ann.ID, "telegram_payment_charge_id": "nope", "is_canceled": true},
			"Bad Request: CHARGE_NOT_FOUND"},
		{"another user's charge", map[string]any{"user_id": bob.ID, "telegram_payment_charge_id": sub.TelegramPaymentChargeID, "is_canceled": true},
			"Bad Request: CHARGE_NOT_FOUND"},
		{"one-off payment", map[string]any{"user_id": ann.ID, "telegram_payment_charge_id": oneOff.TelegramPaymentChargeID, "is_canceled": true},
			"Bad Request: SUBSCRIPTION_NOT_FOUND"},
		{"renewal's charge id", map[string]any{"user_id": ann.ID, "telegram_payment_charge_id": renewal.TelegramPaymentChargeID, "is_canceled": true},
			"Bad Request: SUBSCRIPTION_NOT_FOUND"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			requireError(t, callJSON(t, srv, "editUserStarSubscription", tt.params), 400, tt.desc)
		})
	}
	got, _ := srv.Subscription(sub.TelegramPaymentChargeID)
	require.False(t, got.Canceled, "no failed call changed it")

	_, err = srv.RenewSubscription(oneOff.TelegramPaymentChargeID)
	require.ErrorIs(t, err, ErrUnknownSubscription)
	_, ok := srv.Subscription("nope")
	require.False(t, ok)
}
