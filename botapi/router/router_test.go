package router

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/miniappkit/miniappkit/botapi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// update decodes an update from its JSON, as Telegram sends it.
func update(t *testing.T, js string) *botapi.Update {
	t.Helper()
	u, err := botapi.DecodeAnswer[*botapi.Update]("test", []byte(`{"ok":true,"result":`+js+`}`))
	require.NoError(t, err)
	return u
}

func message(text, chatType string) string {
	b, _ := json.Marshal(text)
	return `{"update_id":1,"message":{"message_id":1,"date":1,"from":{"id":7,"is_bot":false,"first_name":"Ada"},` +
		`"chat":{"id":7,"type":"` + chatType + `"},"text":` + string(b) + `}}`
}

func TestParseCommand(t *testing.T) {
	tests := []struct {
		text, name, bot, payload string
		ok                       bool
	}{
		{"/start", "start", "", "", true},
		{"/start ref42", "start", "", "ref42", true},
		{"/start@shop_bot ref42", "start", "shop_bot", "ref42", true},
		{"/start@shop_bot", "start", "shop_bot", "", true},
		{"/help   two words  ", "help", "", "two words", true},
		{"/start\nnext line", "start", "", "next line", true},
		{"/", "", "", "", false},
		{"/ start", "", "", "", false},
		{"/@bot", "", "", "", false},
		{"start", "", "", "", false},
		{"", "", "", "", false},
		{" /start", "", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			name, bot, payload, ok := ParseCommand(tt.text)
			assert.Equal(t, tt.ok, ok)
			assert.Equal(t, tt.name, name)
			assert.Equal(t, tt.bot, bot)
			assert.Equal(t, tt.payload, payload)
		})
	}
}

func TestMatchers(t *testing.T) {
	callback := `{"update_id":2,"callback_query":{"id":"q","from":{"id":7,"is_bot":false,"first_name":"Ada"},"chat_instance":"c","data":"pay:42",` +
		`"message":{"message_id":9,"date":1,"chat":{"id":-100,"type":"supergroup"}}}}`
	webAppData := `{"update_id":3,"message":{"message_id":1,"date":1,"chat":{"id":7,"type":"private"},"web_app_data":{"data":"x","button_text":"Go"}}}`
	preCheckout := `{"update_id":4,"pre_checkout_query":{"id":"p","from":{"id":7,"is_bot":false,"first_name":"Ada"},"currency":"XTR","total_amount":5,"invoice_payload":"o1"}}`
	shipping := `{"update_id":5,"shipping_query":{"id":"s","from":{"id":7,"is_bot":false,"first_name":"Ada"},"invoice_payload":"o1",` +
		`"shipping_address":{"country_code":"DE","state":"","city":"B","street_line1":"a","street_line2":"","post_code":"1"}}}`
	paid := `{"update_id":6,"message":{"message_id":1,"date":1,"chat":{"id":7,"type":"private"},"successful_payment":{"currency":"XTR","total_amount":5,` +
		`"invoice_payload":"o1","telegram_payment_charge_id":"t","provider_payment_charge_id":"p"}}}`
	tests := []struct {
		name string
		m    Matcher
		yes  []string
		no   []string
	}{
		{"Command", Command("start"),
			[]string{message("/start", "private"), message("/START ref", "private"), message("/start@any_bot", "group")},
			[]string{message("/starts", "private"), message("start", "private"), message("/help", "private"), callback}},
		{"CommandFor", CommandFor("/start", "shop_bot"),
			[]string{message("/start", "group"), message("/start@Shop_Bot x", "group")},
			[]string{message("/start@other_bot", "group")}},
		// The username as @BotFather shows it, with "@": before the fix no
		// command addressed to the bot ("/start@shop_bot") matched.
		{"CommandFor with @", CommandFor("start", "@shop_bot"),
			[]string{message("/start", "group"), message("/start@shop_bot", "group")},
			[]string{message("/start@other_bot", "group")}},
		{"Router.Command with @", New(WithBotUsername("@shop_bot")).Command("start"),
			[]string{message("/start@shop_bot x", "group")},
			[]string{message("/start@other_bot", "group")}},
		{"CallbackPrefix", CallbackPrefix("pay:"), []string{callback}, []string{message("pay:42", "private")}},
		{"CallbackPrefix other", CallbackPrefix("edit:"), nil, []string{callback}},
		{"WebAppData", WebAppData(), []string{webAppData}, []string{message("x", "private")}},
		{"PreCheckoutQuery", PreCheckoutQuery(), []string{preCheckout}, []string{shipping, paid}},
		{"ShippingQuery", ShippingQuery(), []string{shipping}, []string{preCheckout}},
		{"SuccessfulPayment", SuccessfulPayment(), []string{paid}, []string{preCheckout, message("paid", "private")}},
		{"Text", Text("Menu"), []string{message("Menu", "private")}, []string{message("Menu ", "private"), callback}},
		{"TextPrefix", TextPrefix("Me"), []string{message("Menu", "private")}, []string{message("menu", "private"), webAppData}},
		{"ChatType", ChatType("group", "supergroup"), []string{message("x", "group"), callback}, []string{message("x", "private"), preCheckout}},
		{"All", All(ChatType("private"), Command("start")), []string{message("/start", "private")}, []string{message("/start", "group")}},
		{"Any", Any(Text("a"), Text("b")), []string{message("a", "private"), message("b", "private")}, []string{message("c", "private")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, js := range tt.yes {
				assert.True(t, tt.m(update(t, js)), js)
			}
			for _, js := range tt.no {
				assert.False(t, tt.m(update(t, js)), js)
			}
		})
	}
}

func TestRouterDispatch(t *testing.T) {
	var got []string
	record := func(name string) HandlerFunc {
		return func(ctx context.Context, u *botapi.Update) error {
			got = append(got, name+":"+CommandPayload(u))
			return nil
		}
	}
	r := New(WithBotUsername("shop_bot"))
	r.HandleCommand("start", record("start"))
	r.Handle(TextPrefix("/"), record("other command"))
	r.Handle(Command("start"), record("never: the first route wins"))
	r.Fallback(record("fallback"))
	for _, text := range []string{"/start", "/start@shop_bot ref42", "/start@other_bot", "/help", "hello"} {
		require.NoError(t, r.HandleUpdate(t.Context(), update(t, message(text, "group"))))
	}
	assert.Equal(t, []string{"start:", "start:ref42", "other command:", "other command:", "fallback:"}, got)
}

func TestRouterDefaultFallbackIgnores(t *testing.T) {
	r := New()
	require.NoError(t, r.HandleUpdate(t.Context(), update(t, message("x", "private"))))
	require.NoError(t, r.HandleUpdate(t.Context(), nil))
	r.Fallback(nil)
	require.NoError(t, r.HandleUpdate(t.Context(), update(t, message("x", "private"))))
}

func TestRouterErrorsPassThrough(t *testing.T) {
	boom := errors.New("boom")
	r := New()
	r.HandleFunc(Text("x"), func(context.Context, *botapi.Update) error { return boom })
	require.ErrorIs(t, r.HandleUpdate(t.Context(), update(t, message("x", "private"))), boom)
}

func TestMiddlewareOrderAndScope(t *testing.T) {
	var trace []string
	mw := func(name string) Middleware {
		return func(next Handler) Handler {
			return HandlerFunc(func(ctx context.Context, u *botapi.Update) error {
				trace = append(trace, name+">")
				err := next.HandleUpdate(ctx, u)
				trace = append(trace, "<"+name)
				return err
			})
		}
	}
	r := New()
	r.HandleFunc(Text("x"), func(context.Context, *botapi.Update) error {
		trace = append(trace, "x")
		return nil
	})
	r.Use(mw("outer"), mw("inner")) // after the route: still wraps it
	r.Fallback(HandlerFunc(func(context.Context, *botapi.Update) error {
		trace = append(trace, "fallback")
		return nil
	}))
	require.NoError(t, r.HandleUpdate(t.Context(), update(t, message("x", "private"))))
	require.NoError(t, r.HandleUpdate(t.Context(), update(t, message("y", "private"))))
	assert.Equal(t, "outer> inner> x <inner <outer outer> inner> fallback <inner <outer", strings.Join(trace, " "))
}

func TestRouterPanicsOnNil(t *testing.T) {
	r := New()
	assert.Panics(t, func() { r.Handle(nil, HandlerFunc(nil)) })
	assert.Panics(t, func() { r.Handle(Text("x"), nil) })
	assert.Panics(t, func() { r.HandleFunc(Text("x"), nil) })
	assert.Panics(t, func() { r.Use(nil) })
}

// The router is a webhook.UpdateHandler by shape: this interface is
// webhook's, copied so that the test does not import webhook either.
type updateHandler interface {
	HandleUpdate(ctx context.Context, u *botapi.Update) error
}

var _ updateHandler = (*Router)(nil)

func TestRouterConcurrentUse(t *testing.T) {
	r := New()
	var mu sync.Mutex
	n := 0
	r.HandleFunc(Text("x"), func(context.Context, *botapi.Update) error {
		mu.Lock()
		n++
		mu.Unlock()
		return nil
	})
	u := update(t, message("x", "private"))
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				_ = r.HandleUpdate(context.Background(), u)
			}
		})
	}
	wg.Go(func() { r.Use(func(h Handler) Handler { return h }) })
	wg.Go(func() { r.HandleFunc(Text("y"), func(context.Context, *botapi.Update) error { return nil }) })
	wg.Wait()
	assert.Equal(t, 800, n)
}

// A matcher is user code and may panic (a custom matcher reading
// u.Message.Text of a callback query). The webhook handler recovers the
// panic; the router must not stay locked. Before the fix the read lock
// taken around the matchers was never released, so the next Handle, Use or
// Fallback blocked forever, and every update after it too.
func TestMatcherPanicLeavesRouterUnlocked(t *testing.T) {
	r := New()
	r.HandleFunc(func(u *botapi.Update) bool { return u.Message.Text == "hi" }, func(context.Context, *botapi.Update) error { return nil })
	cb := update(t, `{"update_id":1,"callback_query":{"id":"q","from":{"id":7,"is_bot":false,"first_name":"A"},"chat_instance":"c","data":"x"}}`)
	require.Panics(t, func() { _ = r.HandleUpdate(t.Context(), cb) })
	require.True(t, r.mu.TryLock(), "the router's lock is still held after a matcher panicked")
	r.mu.Unlock()
}
