package botapitest

import (
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"
)

func starsInvoice(extra ...any) map[string]any {
	p := map[string]any{
		"title": "Coffee", "description": "A cup", "payload": "order-1",
		"currency": "XTR", "prices": []LabeledPrice{{Label: "Cup", Amount: 50}},
	}
	for i := 0; i+1 < len(extra); i += 2 {
		p[extra[i].(string)] = extra[i+1]
	}
	return p
}

func TestInvoiceValidation(t *testing.T) {
	srv := setup(t)
	tests := []struct {
		name  string
		extra []any
		desc  string
	}{
		{"empty payload", []any{"payload", ""}, "Bad Request: INVOICE_PAYLOAD_INVALID"},
		{"payload over 128 bytes", []any{"payload", strings.Repeat("p", 129)}, "Bad Request: INVOICE_PAYLOAD_INVALID"},
		{"title over 32", []any{"title", strings.Repeat("t", 33)}, "Bad Request: INVOICE_TITLE_INVALID"},
		{"empty description", []any{"description", ""}, "Bad Request: INVOICE_DESCRIPTION_INVALID"},
		{"two prices in XTR", []any{"prices", []LabeledPrice{{Label: "a", Amount: 1}, {Label: "b", Amount: 2}}}, "Bad Request: STARS_INVOICE_INVALID"},
		{"provider token with XTR", []any{"provider_token", "tok"}, "Bad Request: STARS_INVOICE_INVALID"},
		{"fiat without provider", []any{"currency", "EUR"}, "Bad Request: PAYMENT_PROVIDER_INVALID"},
		{"zero amount", []any{"prices", []LabeledPrice{{Label: "a", Amount: 0}}}, "Bad Request: CURRENCY_TOTAL_AMOUNT_INVALID"},
		{"weekly subscription", []any{"subscription_period", 604800}, "Bad Request: SUBSCRIPTION_PERIOD_INVALID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			requireError(t, callJSON(t, srv, "createInvoiceLink", starsInvoice(tt.extra...)), 400, tt.desc)
		})
	}
	var link string
	callJSON(t, srv, "createInvoiceLink", starsInvoice("payload", strings.Repeat("p", maxInvoicePayloadBytes))).decode(t, &link)
	require.True(t, strings.HasPrefix(link, "https://t.me/$"), link)
}

// payBot is a bot that long-polls and answers pre-checkout queries with
// answer, recording what it gets.
type payBot struct {
	t      *testing.T
	srv    *Server
	answer func(q *preCheckoutQuery) map[string]any
	mu     sync.Mutex
	got    []update
	offset int64
}

// poll runs one long poll and handles what it gets.
func (b *payBot) poll() {
	ups := pollUpdates(b.t, b.srv, map[string]any{"offset": b.offset, "timeout": 60})
	for _, u := range ups {
		b.offset = u.UpdateID + 1
		if q := u.PreCheckoutQuery; q != nil && b.answer != nil {
			p := b.answer(q)
			p["pre_checkout_query_id"] = q.ID
			callJSON(b.t, b.srv, "answerPreCheckoutQuery", p)
		}
		b.mu.Lock()
		b.got = append(b.got, u)
		b.mu.Unlock()
	}
}

func (b *payBot) updates() []update {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]update(nil), b.got...)
}

func TestPayFlowAndRefund(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := NewServer(WithoutListener())
		defer srv.Close()
		ann := srv.NewUser("Ann")
		var link string
		callJSON(t, srv, "createInvoiceLink", starsInvoice()).decode(t, &link)
		inv, ok := srv.InvoiceByLink(link)
		require.True(t, ok)
		require.Equal(t, int64(50), inv.TotalAmount())

		bot := &payBot{t: t, srv: srv, answer: func(*preCheckoutQuery) map[string]any { return map[string]any{"ok": true} }}
		var wg sync.WaitGroup
		wg.Go(bot.poll) // gets the pre_checkout_query and answers it
		start := time.Now()
		pay, err := srv.Pay(ann, inv)
		require.NoError(t, err)
		wg.Wait()
		require.Zero(t, time.Since(start))
		require.Equal(t, int64(50), pay.TotalAmount)
		require.Equal(t, "XTR", pay.Currency)
		require.NotEmpty(t, pay.TelegramPaymentChargeID)
		require.True(t, pay.SubscriptionExpiration.IsZero())

		bot.poll() // gets the successful_payment message
		ups := bot.updates()
		require.Len(t, ups, 2)
		q := ups[0].PreCheckoutQuery
		require.Equal(t, "order-1", q.InvoicePayload)
		require.Equal(t, int64(50), q.TotalAmount)
		require.Equal(t, ann.ID, q.From.ID)
		sp := ups[1].Message.SuccessfulPayment
		require.Equal(t, successfulPayment{Currency: "XTR", TotalAmount: 50, InvoicePayload: "order-1",
			TelegramPaymentChargeID: pay.TelegramPaymentChargeID}, *sp)
		require.Equal(t, ann.ID, ups[1].Message.Chat.ID)

		var bal struct{ Amount int64 }
		callJSON(t, srv, "getMyStarBalance", nil).decode(t, &bal)
		require.Equal(t, int64(50), bal.Amount)

		require.True(t, callJSON(t, srv, "refundStarPayment", map[string]any{
			"user_id": ann.ID, "telegram_payment_charge_id": pay.TelegramPaymentChargeID}).OK)
		requireError(t, callJSON(t, srv, "refundStarPayment", map[string]any{
			"user_id": ann.ID, "telegram_payment_charge_id": pay.TelegramPaymentChargeID}), 400, "Bad Request: CHARGE_ALREADY_REFUNDED")
		requireError(t, callJSON(t, srv, "refundStarPayment", map[string]any{
			"user_id": ann.ID, "telegram_payment_charge_id": "nope"}), 400, "Bad Request: CHARGE_NOT_FOUND")
		bot.poll()
		ups = bot.updates()
		require.Len(t, ups, 3)
		require.Equal(t, &refundedPayment{Currency: "XTR", TotalAmount: 50, InvoicePayload: "order-1",
			TelegramPaymentChargeID: pay.TelegramPaymentChargeID}, ups[2].Message.RefundedPayment)

		var txns struct{ Transactions []starTransaction }
		callJSON(t, srv, "getStarTransactions", map[string]any{}).decode(t, &txns)
		require.Len(t, txns.Transactions, 2)
		require.Equal(t, pay.TelegramPaymentChargeID, txns.Transactions[0].ID)
		require.Equal(t, "invoice_payment", txns.Transactions[0].Source.TransactionType)
		require.Equal(t, ann.ID, txns.Transactions[0].Source.User.ID)
		require.Equal(t, pay.TelegramPaymentChargeID, txns.Transactions[1].ID, "a refund keeps the payment's id")
		require.NotNil(t, txns.Transactions[1].Receiver)
		callJSON(t, srv, "getMyStarBalance", nil).decode(t, &bal)
		require.Zero(t, bal.Amount)
		require.Zero(t, srv.StarBalance())
	})
}

func TestPayDeclinedAndTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := NewServer(WithoutListener())
		defer srv.Close()
		ann := srv.NewUser("Ann")
		var link string
		callJSON(t, srv, "createInvoiceLink", starsInvoice()).decode(t, &link)
		inv, _ := srv.InvoiceByLink(link)

		bot := &payBot{t: t, srv: srv, answer: func(*preCheckoutQuery) map[string]any {
			return map[string]any{"ok": false, "error_message": "Sold out"}
		}}
		var wg sync.WaitGroup
		wg.Go(bot.poll)
		_, err := srv.Pay(ann, inv)
		wg.Wait()
		require.ErrorIs(t, err, ErrPaymentDeclined)
		var de *DeclinedError
		require.ErrorAs(t, err, &de)
		require.Equal(t, "Sold out", de.Message)

		start := time.Now()
		_, err = srv.Pay(ann, inv) // nobody answers
		require.ErrorIs(t, err, ErrPreCheckoutTimeout)
		require.Equal(t, PreCheckoutDeadline, time.Since(start))

		ups := pollUpdates(t, srv, map[string]any{"offset": bot.offset})
		require.Len(t, ups, 1, "only the unanswered query; no successful_payment")
		requireError(t, callJSON(t, srv, "answerPreCheckoutQuery", map[string]any{
			"pre_checkout_query_id": ups[0].PreCheckoutQuery.ID, "ok": true}), 400,
			"Bad Request: query is too old and response timeout expired or query ID is invalid")
		require.Zero(t, srv.StarBalance())

		_, err = srv.Pay(ann, Invoice{Link: "https://t.me/$nope"})
		require.ErrorIs(t, err, ErrUnknownInvoice)
		_, err = srv.Pay(User{ID: 77}, inv)
		require.ErrorIs(t, err, ErrUnknownUser)
	})
}

func TestPayLateAnswerOnServerClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var skew atomic.Int64
		clock := func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
		srv := NewServer(WithoutListener(), WithClock(clock))
		defer srv.Close()
		ann := srv.NewUser("Ann")
		var link string
		callJSON(t, srv, "createInvoiceLink", starsInvoice()).decode(t, &link)
		inv, _ := srv.InvoiceByLink(link)
		bot := &payBot{t: t, srv: srv, answer: func(*preCheckoutQuery) map[string]any {
			skew.Store(int64(11 * time.Second)) // the bot took 11 s on the shared clock
			return map[string]any{"ok": true}
		}}
		var wg sync.WaitGroup
		wg.Go(bot.poll)
		start := time.Now()
		_, err := srv.Pay(ann, inv)
		wg.Wait()
		require.ErrorIs(t, err, ErrPreCheckoutTimeout)
		require.Zero(t, time.Since(start), "a late answer fails the payment at once")
		require.Len(t, srv.Requests("answerPreCheckoutQuery"), 1)
	})
}

func TestPaySubscriptionAndSendInvoice(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := NewServer(WithoutListener())
		defer srv.Close()
		ann := srv.NewUser("Ann")
		var link string
		callJSON(t, srv, "createInvoiceLink", starsInvoice("subscription_period", 2592000)).decode(t, &link)
		var m message
		callJSON(t, srv, "sendInvoice", starsInvoice("chat_id", ann.ID, "payload", "order-2")).decode(t, &m)
		require.Equal(t, int64(50), m.Invoice.TotalAmount)
		invs := srv.Invoices()
		require.Len(t, invs, 2)
		require.Equal(t, SubscriptionPeriod, invs[0].SubscriptionPeriod)
		require.Equal(t, m.MessageID, invs[1].MessageID)

		ok := func(*preCheckoutQuery) map[string]any { return map[string]any{"ok": true} }
		bot := &payBot{t: t, srv: srv, answer: ok}
		for _, inv := range invs {
			var wg sync.WaitGroup
			wg.Go(bot.poll)
			pay, err := srv.Pay(ann, Invoice{Link: inv.Link, ChatID: inv.ChatID, MessageID: inv.MessageID})
			wg.Wait()
			require.NoError(t, err)
			require.Equal(t, inv.Payload, pay.Invoice.Payload)
			// The payment's successful_payment message, taken now: left
			// queued, the next payment's poll could get it alone, before
			// that payment's pre-checkout query, and never answer the
			// query (the test failed so, 13 runs in 600 under -race).
			bot.poll()
		}
		var payments []*successfulPayment
		for _, u := range bot.updates() {
			if u.Message != nil && u.Message.SuccessfulPayment != nil {
				payments = append(payments, u.Message.SuccessfulPayment)
			}
		}
		require.Len(t, payments, 2)
		require.Equal(t, time.Now().Add(SubscriptionPeriod).Unix(), payments[0].SubscriptionExpirationDate)
		require.True(t, payments[0].IsRecurring)
		require.True(t, payments[0].IsFirstRecurring)
		require.Equal(t, "order-2", payments[1].InvoicePayload)
		require.Zero(t, payments[1].SubscriptionExpirationDate)
		require.Equal(t, int64(100), srv.StarBalance())
	})
}
