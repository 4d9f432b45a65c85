package botapitest

import (
	"context"
	"encoding/json"
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
		pay, err := srv.Pay(t.Context(), ann, inv)
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
		_, err := srv.Pay(t.Context(), ann, inv)
		wg.Wait()
		require.ErrorIs(t, err, ErrPaymentDeclined)
		var de *DeclinedError
		require.ErrorAs(t, err, &de)
		require.Equal(t, "Sold out", de.Message)

		start := time.Now()
		_, err = srv.Pay(t.Context(), ann, inv) // nobody answers
		require.ErrorIs(t, err, ErrPreCheckoutTimeout)
		require.Equal(t, PreCheckoutDeadline, time.Since(start))

		ups := pollUpdates(t, srv, map[string]any{"offset": bot.offset})
		require.Len(t, ups, 1, "only the unanswered query; no successful_payment")
		requireError(t, callJSON(t, srv, "answerPreCheckoutQuery", map[string]any{
			"pre_checkout_query_id": ups[0].PreCheckoutQuery.ID, "ok": true}), 400,
			"Bad Request: query is too old and response timeout expired or query ID is invalid")
		require.Zero(t, srv.StarBalance())

		_, err = srv.Pay(t.Context(), ann, Invoice{Link: "https://t.me/$nope"})
		require.ErrorIs(t, err, ErrUnknownInvoice)
		_, err = srv.Pay(t.Context(), User{ID: 77}, inv)
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
		_, err := srv.Pay(t.Context(), ann, inv)
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
			pay, err := srv.Pay(t.Context(), ann, Invoice{Link: inv.Link, ChatID: inv.ChatID, MessageID: inv.MessageID})
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

// TestPayContext: Pay takes a context, and one that ends while Pay waits
// for the bot ends the payment at once with an error wrapping ctx.Err().
// The fake stays as Telegram leaves an abandoned payment form: the query
// is withdrawn (the bot's answer to it is too old), nothing is charged,
// no successful_payment follows, and the next payment works. Before the
// fix Pay took no context (the test did not compile), so a test could not
// stop a Pay whose bot never answered before the 10 s deadline. The
// synctest bubble also fails the test if any goroutine is left blocked.
func TestPayContext(t *testing.T) {
	tooOld := "Bad Request: query is too old and response timeout expired or query ID is invalid"
	synctest.Test(t, func(t *testing.T) {
		srv := NewServer(WithoutListener())
		defer srv.Close()
		ann := srv.NewUser("Ann")
		var link string
		callJSON(t, srv, "createInvoiceLink", starsInvoice()).decode(t, &link)
		inv, _ := srv.InvoiceByLink(link)

		// A context already ended: the bot is sent nothing.
		ended, cancel := context.WithCancel(t.Context())
		cancel()
		_, err := srv.Pay(ended, ann, inv)
		require.ErrorIs(t, err, context.Canceled)
		require.Empty(t, pollUpdates(t, srv, map[string]any{}))

		// Canceled while Pay waits for the answer.
		ctx, cancel := context.WithCancel(t.Context())
		errc := make(chan error, 1)
		start := time.Now()
		go func() { _, err := srv.Pay(ctx, ann, inv); errc <- err }()
		ups := pollUpdates(t, srv, map[string]any{"timeout": 60})
		require.Len(t, ups, 1)
		require.NotNil(t, ups[0].PreCheckoutQuery)
		synctest.Wait() // Pay is blocked on the answer
		select {
		case err := <-errc:
			t.Fatalf("Pay returned before the context ended: %v", err)
		default:
		}
		cancel()
		err = <-errc
		require.ErrorIs(t, err, context.Canceled)
		require.Zero(t, time.Since(start), "Pay returns as soon as the context ends")
		requireError(t, callJSON(t, srv, "answerPreCheckoutQuery", map[string]any{
			"pre_checkout_query_id": ups[0].PreCheckoutQuery.ID, "ok": true}), 400, tooOld)
		require.Empty(t, pollUpdates(t, srv, map[string]any{"offset": ups[0].UpdateID + 1}), "no successful_payment")
		require.Zero(t, srv.StarBalance())
		require.Zero(t, pendingQueries(srv), "the query was withdrawn")

		// A deadline sooner than Telegram's ends Pay when it passes.
		short, cancel := context.WithTimeout(t.Context(), 3*time.Second)
		defer cancel()
		start = time.Now()
		_, err = srv.Pay(short, ann, inv)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		require.Equal(t, 3*time.Second, time.Since(start))
		ups = pollUpdates(t, srv, map[string]any{"offset": ups[0].UpdateID + 1})
		require.Len(t, ups, 1, "the abandoned query's update stays queued, as Telegram's does")
		requireError(t, callJSON(t, srv, "answerPreCheckoutQuery", map[string]any{
			"pre_checkout_query_id": ups[0].PreCheckoutQuery.ID, "ok": true}), 400, tooOld)

		// The fake is consistent afterwards: the next payment goes through.
		bot := &payBot{t: t, srv: srv, offset: ups[0].UpdateID + 1,
			answer: func(*preCheckoutQuery) map[string]any { return map[string]any{"ok": true} }}
		var wg sync.WaitGroup
		wg.Go(bot.poll)
		pay, err := srv.Pay(t.Context(), ann, inv)
		wg.Wait()
		require.NoError(t, err)
		require.Equal(t, int64(50), pay.TotalAmount)
		require.Equal(t, int64(50), srv.StarBalance())
	})
}

// TestPayContextShipping: a context that ends while Pay waits for the
// shipping answer of a flexible invoice ends Pay too; no pre-checkout
// query follows, and the shipping answer is then too old.
func TestPayContextShipping(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := NewServer(WithoutListener())
		defer srv.Close()
		ann := srv.NewUser("Ann")
		callJSON(t, srv, "sendInvoice", map[string]any{
			"chat_id": ann.ID, "title": "Book", "description": "A book", "payload": "order-7",
			"currency": "EUR", "provider_token": "tok", "is_flexible": true,
			"prices": []LabeledPrice{{Label: "Book", Amount: 1000}},
		}).decode(t, new(message))
		inv := srv.Invoices()[0]

		ctx, cancel := context.WithCancel(t.Context())
		errc := make(chan error, 1)
		go func() { _, err := srv.Pay(ctx, ann, inv); errc <- err }()
		var ups []map[string]json.RawMessage
		callJSON(t, srv, "getUpdates", map[string]any{"timeout": 60}).decode(t, &ups)
		require.Len(t, ups, 1)
		var q struct {
			ID string `json:"id"`
		}
		require.NoError(t, json.Unmarshal(ups[0]["shipping_query"], &q))
		synctest.Wait()
		cancel()
		require.ErrorIs(t, <-errc, context.Canceled)
		requireError(t, callJSON(t, srv, "answerShippingQuery", map[string]any{
			"shipping_query_id": q.ID, "ok": false, "error_message": "late"}),
			400, "Bad Request: query is too old and response timeout expired or query ID is invalid")
		require.Zero(t, pendingQueries(srv), "the query was withdrawn")
		require.Len(t, updateKindsOf(t, srv), 1, "no pre_checkout_query follows")
	})
}

// pendingQueries counts the pre-checkout and shipping queries awaiting
// the bot's answer.
func pendingQueries(srv *Server) int {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	return len(srv.st.preCheckouts) + len(srv.st.shipping)
}

// TestPayContextAfterAnswer: an ok answer the bot got true for counts even
// when Pay's context ends before Pay has seen the answer (both are ready
// when Pay looks): the user is charged exactly once and Pay reports the
// payment; the bot's answer is never "successful" with no charge behind it.
func TestPayContextAfterAnswer(t *testing.T) {
	for range 20 { // both orders of the ready answer and the ended ctx
		synctest.Test(t, func(t *testing.T) {
			srv := NewServer(WithoutListener())
			defer srv.Close()
			ann := srv.NewUser("Ann")
			var link string
			callJSON(t, srv, "createInvoiceLink", starsInvoice()).decode(t, &link)
			inv, _ := srv.InvoiceByLink(link)

			ctx, cancel := context.WithCancel(t.Context())
			type result struct {
				pay Payment
				err error
			}
			done := make(chan result, 1)
			go func() { p, err := srv.Pay(ctx, ann, inv); done <- result{p, err} }()
			ups := pollUpdates(t, srv, map[string]any{"timeout": 60})
			require.Len(t, ups, 1)
			var ok bool
			callJSON(t, srv, "answerPreCheckoutQuery", map[string]any{
				"pre_checkout_query_id": ups[0].PreCheckoutQuery.ID, "ok": true}).decode(t, &ok)
			require.True(t, ok)
			cancel() // before Pay's goroutine has run again
			r := <-done
			require.NoError(t, r.err, "the bot was told its ok answer succeeded")
			require.Equal(t, int64(50), r.pay.TotalAmount)
			require.Equal(t, int64(50), srv.StarBalance(), "charged once")
			ups = pollUpdates(t, srv, map[string]any{"offset": ups[0].UpdateID + 1})
			require.Len(t, ups, 1)
			require.NotNil(t, ups[0].Message)
			require.NotNil(t, ups[0].Message.SuccessfulPayment)
		})
	}
}
