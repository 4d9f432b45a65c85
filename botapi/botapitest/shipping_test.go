package botapitest

import (
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/miniappkit/miniappkit/botapi"
	"github.com/stretchr/testify/require"
)

// shippingBot polls with the botapi client and answers a shipping_query
// with ship and a pre_checkout_query with ok, recording the queries.
type shippingBot struct {
	t      *testing.T
	srv    *Server
	c      *botapi.Client
	ship   func(q *botapi.ShippingQuery) map[string]any // nil: no answer
	offset int64
	mu     sync.Mutex
	ships  []*botapi.ShippingQuery
	checks []*botapi.PreCheckoutQuery
	paid   []*botapi.SuccessfulPayment
}

func (b *shippingBot) poll() {
	ups, err := b.c.GetUpdates(b.t.Context(), &botapi.GetUpdatesParams{Offset: b.offset, Timeout: 60})
	require.NoError(b.t, err)
	for _, u := range ups {
		b.offset = u.UpdateID + 1
		b.mu.Lock()
		switch {
		case u.ShippingQuery != nil:
			b.ships = append(b.ships, u.ShippingQuery)
			if b.ship != nil {
				p := b.ship(u.ShippingQuery)
				p["shipping_query_id"] = u.ShippingQuery.ID
				require.True(b.t, callJSON(b.t, b.srv, "answerShippingQuery", p).OK)
			}
		case u.PreCheckoutQuery != nil:
			b.checks = append(b.checks, u.PreCheckoutQuery)
			callJSON(b.t, b.srv, "answerPreCheckoutQuery", map[string]any{"pre_checkout_query_id": u.PreCheckoutQuery.ID, "ok": true})
		case u.Message != nil && u.Message.SuccessfulPayment != nil:
			b.paid = append(b.paid, u.Message.SuccessfulPayment)
		}
		b.mu.Unlock()
	}
}

// A flexible invoice: Pay sends shipping_query first; the bot's options
// (the user takes the first) set the pre-checkout total and the
// successful_payment's shipping_option_id; a declined or unanswered
// shipping query fails the payment.
func TestPayFlexibleInvoice(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := NewServer(WithoutListener())
		defer srv.Close()
		ann := srv.NewUser("Ann")
		send := func() Invoice {
			callJSON(t, srv, "sendInvoice", map[string]any{
				"chat_id": ann.ID, "title": "Book", "description": "A book", "payload": "order-7",
				"currency": "EUR", "provider_token": "tok", "is_flexible": true,
				"prices": []LabeledPrice{{Label: "Book", Amount: 1000}},
			}).decode(t, new(message))
			invs := srv.Invoices()
			return invs[len(invs)-1]
		}
		inv := send()
		require.True(t, inv.IsFlexible)

		bot := &shippingBot{t: t, srv: srv, c: srv.Client(), ship: func(*botapi.ShippingQuery) map[string]any {
			return map[string]any{"ok": true, "shipping_options": []map[string]any{
				{"id": "post", "title": "Post", "prices": []LabeledPrice{{Label: "Post", Amount: 300}, {Label: "Packing", Amount: 200}}},
				{"id": "courier", "title": "Courier", "prices": []LabeledPrice{{Label: "Courier", Amount: 900}}},
			}}
		}}
		var wg sync.WaitGroup
		wg.Go(func() { bot.poll(); bot.poll() }) // the shipping query, then the pre-checkout query
		pay, err := srv.Pay(t.Context(), ann, inv)
		require.NoError(t, err)
		wg.Wait()
		require.Equal(t, "post", pay.ShippingOptionID)
		require.Equal(t, int64(1500), pay.TotalAmount, "the invoice and the option chosen")
		require.Len(t, bot.ships, 1)
		q := bot.ships[0]
		require.Equal(t, "order-7", q.InvoicePayload)
		require.Equal(t, ann.ID, q.From.ID)
		require.Equal(t, "GB", q.ShippingAddress.CountryCode)
		require.Len(t, bot.checks, 1)
		require.Equal(t, "post", bot.checks[0].ShippingOptionID)
		require.Equal(t, int64(1500), bot.checks[0].TotalAmount)
		bot.poll()
		require.Len(t, bot.paid, 1)
		require.Equal(t, "post", bot.paid[0].ShippingOptionID)
		require.Equal(t, int64(1500), bot.paid[0].TotalAmount)

		// Declined at the shipping step: no pre-checkout query follows.
		bot.ship = func(*botapi.ShippingQuery) map[string]any {
			return map[string]any{"ok": false, "error_message": "We do not ship there."}
		}
		wg.Go(bot.poll)
		_, err = srv.Pay(t.Context(), ann, send())
		wg.Wait()
		var de *DeclinedError
		require.ErrorAs(t, err, &de)
		require.ErrorIs(t, err, ErrPaymentDeclined)
		require.Equal(t, "We do not ship there.", de.Message)
		require.Len(t, bot.checks, 1)

		// Unanswered: the payment fails after ShippingDeadline, and an
		// answer after that is too old.
		bot.ship = nil
		wg.Go(bot.poll)
		start := time.Now()
		_, err = srv.Pay(t.Context(), ann, send())
		require.ErrorIs(t, err, ErrShippingTimeout)
		require.Equal(t, ShippingDeadline, time.Since(start))
		wg.Wait()
		requireError(t, callJSON(t, srv, "answerShippingQuery", map[string]any{
			"shipping_query_id": bot.ships[len(bot.ships)-1].ID, "ok": false, "error_message": "late"}),
			400, "Bad Request: query is too old and response timeout expired or query ID is invalid")

		// A Stars invoice ignores is_flexible, as Telegram does.
		var link string
		callJSON(t, srv, "createInvoiceLink", starsInvoice("is_flexible", true)).decode(t, &link)
		stars, _ := srv.InvoiceByLink(link)
		require.False(t, stars.IsFlexible)
	})
}

// answerShippingQuery checks its parameters before the id, with the texts
// of Client::process_answer_shipping_query_query and get_shipping_options.
func TestAnswerShippingQueryErrors(t *testing.T) {
	srv := setup(t, WithoutListener())
	tests := []struct {
		name string
		p    map[string]any
		desc string
	}{
		{"no error message", map[string]any{"ok": false}, `Bad Request: parameter "error_message" is required`},
		{"no options", map[string]any{"ok": true}, `Bad Request: parameter "shipping_options" is required`},
		{"options not JSON", map[string]any{"ok": true, "shipping_options": "[{"}, "Bad Request: can't parse shipping options JSON object"},
		{"options not an array", map[string]any{"ok": true, "shipping_options": map[string]any{}}, "Bad Request: expected an Array of shipping options"},
		{"no option", map[string]any{"ok": true, "shipping_options": []any{}}, "Bad Request: there must be at least one shipping option"},
		{"option without title", map[string]any{"ok": true, "shipping_options": []any{map[string]any{"id": "a", "prices": []any{}}}},
			`Bad Request: can't parse shipping option: Can't find field "title"`},
		{"empty id", map[string]any{"ok": true, "shipping_options": []any{map[string]any{"id": "", "title": "A", "prices": []any{}}}},
			"Bad Request: can't parse shipping option: ShippingOption identifier must be non-empty"},
		{"prices not an array", map[string]any{"ok": true, "shipping_options": []any{map[string]any{"id": "a", "title": "A", "prices": 1}}},
			`Bad Request: can't parse shipping option: Field "prices" must be of type Array`},
		{"unknown id", map[string]any{"ok": true, "shipping_options": []any{map[string]any{"id": "a", "title": "A", "prices": []any{}}}},
			"Bad Request: query is too old and response timeout expired or query ID is invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.p["shipping_query_id"] = "1"
			requireError(t, callJSON(t, srv, "answerShippingQuery", tt.p), 400, tt.desc)
		})
	}
}
