package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/miniappkit/miniappkit/botapi"
	"github.com/miniappkit/miniappkit/botapi/botapitest"
	"github.com/miniappkit/miniappkit/internal/httpjson"
	"github.com/miniappkit/miniappkit/payments"
	"github.com/miniappkit/miniappkit/ratelimit"
	"golang.org/x/time/rate"
)

// env is a shop on a fake Telegram, served by an httptest server.
type env struct {
	fake *botapitest.Server
	bot  *botapi.Client
	shop *shop
	demo *demo
	base string // the shop's URL, without the trailing slash
	user botapi.User
}

// t0 is the fixed time of the tests: the fake, the validator and the
// payment flow all read it.
var t0 = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

// setup makes the env; each tweak changes the shop before its routes are made.
func setup(t testing.TB, tweaks ...func(*shop)) *env {
	t.Helper()
	return setupWith(t, nil, tweaks...)
}

// setupWith is setup with more options for the shop's client.
func setupWith(t testing.TB, botOpts []botapi.Option, tweaks ...func(*shop)) *env {
	t.Helper()
	now := func() time.Time { return t0 }
	fake := botapitest.NewServer(botapitest.WithClock(now))
	t.Cleanup(fake.Close)
	log := slog.New(slog.DiscardHandler)
	// The shop reaches the fake in memory (no socket per call): cheaper, and
	// it keeps FuzzCreateOrder's executions short.
	bot := botapi.New(fake.Token(), append([]botapi.Option{botapi.WithBaseURL(fake.URL()), botapi.WithHTTPClient(&http.Client{Transport: fake.Transport()})}, botOpts...)...)
	st := testState(t)
	s, err := newShop(log, bot, fake.Token(), st, []byte("a test payload key of 32 bytes!!"), "https://shop.example/", now)
	require.NoError(t, err)
	s.outbox.warmup = 0
	for _, tweak := range tweaks {
		tweak(s)
	}
	// The outbox sender, as run starts it; stopped before the state closes.
	ctx, stop := context.WithCancel(context.Background())
	sender := make(chan struct{})
	go func() { defer close(sender); s.outbox.run(ctx, ctx) }()
	t.Cleanup(func() { stop(); <-sender })
	u := fake.AddUser(botapi.User{FirstName: "Ada", LastName: "Lovelace"})
	d := &demo{log: log, fake: fake, user: u}
	mux := http.NewServeMux()
	s.routes(mux)
	d.routes(mux, s)
	srv := httptest.NewServer(httpjson.Problems(mux))
	t.Cleanup(srv.Close)
	return &env{fake: fake, bot: bot, shop: s, demo: d, base: srv.URL, user: u}
}

// testState is the shop's SQLite state in a temp dir, closed at cleanup.
func testState(t testing.TB) *state {
	t.Helper()
	st, err := openSQLite(context.Background(), t.TempDir(), "NORMAL")
	require.NoError(t, err)
	t.Cleanup(st.close)
	return st
}

// paidBy lists userID's paid orders.
func (e *env) paidBy(t testing.TB, userID int64) []order {
	t.Helper()
	o, err := e.shop.orders.listBy(context.Background(), userID, statusPaid)
	require.NoError(t, err)
	return o
}

// call makes a request as the user with that init data ("" for none) and
// decodes a JSON answer into out (if not nil).
func (e *env) call(t *testing.T, method, path, initData, body string, out any, hdr ...string) int {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, e.base+path, strings.NewReader(body))
	require.NoError(t, err)
	if initData != "" {
		req.Header.Set("Authorization", "tma "+initData)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	if out != nil && res.StatusCode < 300 {
		require.NoError(t, json.Unmarshal(b, out), string(b))
	}
	return res.StatusCode
}

// handleUpdatesUntil feeds the fake's updates to the shop, as the poller
// does, until stop says so.
func (e *env) handleUpdatesUntil(t *testing.T, stop func(*botapi.Update) bool) {
	t.Helper()
	for u, err := range e.bot.Updates(t.Context(), &botapi.UpdatesOptions{AllowedUpdates: allowedUpdates}) {
		require.NoError(t, err)
		require.NoError(t, e.shop.HandleUpdate(t.Context(), u))
		if stop(u) {
			return
		}
	}
	t.Fatal("updates ended")
}

func TestPublicRoutes(t *testing.T) {
	e := setup(t)
	tests := []struct {
		name, method, path string
		status             int
		contains           string
	}{
		{"health", "GET", "/healthz", 200, `{"status":"ok"}`},
		{"page", "GET", "/", 200, "telegram-web-app.js"},
		{"script", "GET", "/app.js", 200, "openInvoice"},
		{"style", "GET", "/style.css", 200, "--tg-theme-bg-color"},
		{"page is read-only", "POST", "/", 405, ""},
		{"me needs init data", "GET", "/api/me", 401, `"reason":"missing"`},
		{"products need init data", "GET", "/api/products", 401, `"reason":"missing"`},
		{"orders need init data", "POST", "/api/orders", 401, `"reason":"missing"`},
		{"demo pay needs init data", "POST", "/demo/pay", 401, `"reason":"missing"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), tt.method, e.base+tt.path, nil)
			require.NoError(t, err)
			res, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			defer res.Body.Close()
			b, _ := io.ReadAll(res.Body)
			require.Equal(t, tt.status, res.StatusCode, string(b))
			require.Contains(t, string(b), tt.contains)
		})
	}
}

func TestForgedInitDataIsRejected(t *testing.T) {
	e := setup(t)
	good := e.fake.OpenMiniApp(e.user)
	forged := strings.Replace(good, "Ada", "Eve", 1)
	require.NotEqual(t, good, forged)
	require.Equal(t, 401, e.call(t, "GET", "/api/me", forged, "", nil))
	require.Equal(t, 200, e.call(t, "GET", "/api/me", good, "", nil))
}

func TestMeAndProducts(t *testing.T) {
	e := setup(t)
	id := e.fake.OpenMiniApp(e.user)
	var me struct {
		ID        int64  `json:"id"`
		FirstName string `json:"first_name"`
		LastName  string `json:"last_name"`
	}
	require.Equal(t, 200, e.call(t, "GET", "/api/me", id, "", &me))
	require.Equal(t, e.user.ID, me.ID)
	require.Equal(t, "Ada Lovelace", me.FirstName+" "+me.LastName)

	var products []product
	require.Equal(t, 200, e.call(t, "GET", "/api/products", id, "", &products))
	require.Equal(t, catalog, products)
}

func TestCreateOrderRejectsBadInput(t *testing.T) {
	e := setup(t)
	id := e.fake.OpenMiniApp(e.user)
	tests := []struct {
		name, body string
		status     int
	}{
		{"not JSON", "product", 400},
		{"unknown product", `{"product_id":"nope"}`, 400},
		{"unknown field", `{"product_id":"theme","price":1}`, 400},
		{"two values", `{"product_id":"theme"}{"product_id":"theme"}`, 400},
		{"body too large", `{"product_id":"` + strings.Repeat("x", maxOrderBody) + `"}`, 413},
		{"body too large, not JSON", strings.Repeat("x", maxOrderBody+1), 413},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.status, e.call(t, "POST", "/api/orders", id, tt.body, nil, "Idempotency-Key", newKey()))
		})
	}
	require.Empty(t, e.fake.Invoices(), "no invoice for a bad request")
}

// TestBuyFlow runs a purchase end to end on the fake Telegram: order →
// invoice link with a signed payload → the fake pays → pre-checkout →
// successful_payment → fulfilled once → listed as paid → confirmation.
func TestBuyFlow(t *testing.T) {
	e := setup(t)
	id := e.fake.OpenMiniApp(e.user)

	var created createOrderResponse
	require.Equal(t, 201, e.call(t, "POST", "/api/orders", id, `{"product_id":"theme"}`, &created, "Idempotency-Key", "k1"))
	require.True(t, strings.HasPrefix(created.InvoiceLink, "https://t.me/$"), created.InvoiceLink)

	inv, ok := e.fake.InvoiceByLink(created.InvoiceLink)
	require.True(t, ok)
	require.Equal(t, "XTR", inv.Currency)
	require.Equal(t, int64(50), inv.TotalAmount())
	o, err := e.shop.codec.DecodeAt(inv.Payload, t0)
	require.NoError(t, err)
	require.Equal(t, created.OrderID, o.Ref)
	require.Equal(t, e.user.ID, o.UserID)

	paid := make(chan error, 1)
	go func() {
		_, err := e.fake.Pay(t.Context(), e.user, inv)
		paid <- err
	}()
	var success *botapi.Update
	e.handleUpdatesUntil(t, func(u *botapi.Update) bool {
		if u.Message != nil && u.Message.SuccessfulPayment != nil {
			success = u
			return true
		}
		return false
	})
	require.NoError(t, <-paid)

	var orders []order
	require.Equal(t, 200, e.call(t, "GET", "/api/orders", id, "", &orders))
	require.Len(t, orders, 1)
	require.Equal(t, created.OrderID, orders[0].ID)
	require.Equal(t, statusPaid, orders[0].Status)
	require.Equal(t, "Midnight theme", orders[0].Title)

	sent, err := e.fake.WaitSent(t.Context(), 1)
	require.NoError(t, err)
	require.Len(t, sent, 1)
	require.Equal(t, e.user.ID, sent[0].ChatID)
	require.Contains(t, sent[0].Text, "Midnight theme is yours")

	// Telegram delivers the successful_payment again: nothing happens twice.
	require.NoError(t, e.shop.HandleUpdate(t.Context(), success))
	require.Len(t, e.fake.Sent(), 1)
	require.Len(t, e.paidBy(t, e.user.ID), 1)

	// The order cannot be paid twice: the shop declines at pre-checkout.
	go func() {
		_, err := e.fake.Pay(t.Context(), e.user, inv)
		paid <- err
	}()
	e.handleUpdatesUntil(t, func(u *botapi.Update) bool { return u.PreCheckoutQuery != nil })
	var declined *botapitest.DeclinedError
	require.ErrorAs(t, <-paid, &declined)
	require.Contains(t, declined.Message, "already paid")
}

func TestCreateOrderIsIdempotent(t *testing.T) {
	e := setup(t)
	ada := e.fake.OpenMiniApp(e.user)
	var first, retry createOrderResponse
	require.Equal(t, 201, e.call(t, "POST", "/api/orders", ada, `{"product_id":"theme"}`, &first, "Idempotency-Key", "k-1"))
	require.Equal(t, 201, e.call(t, "POST", "/api/orders", ada, `{"product_id":"theme"}`, &retry, "Idempotency-Key", "k-1"))
	require.Equal(t, first, retry, "a retry gets the first answer")
	require.Len(t, e.fake.Invoices(), 1, "and creates no second invoice")

	require.Equal(t, 422, e.call(t, "POST", "/api/orders", ada, `{"product_id":"boost"}`, nil, "Idempotency-Key", "k-1"),
		"the same key for another request")
	require.Equal(t, 400, e.call(t, "POST", "/api/orders", ada, `{"product_id":"theme"}`, nil), "no key")

	// Keys are per user: Bob's k-1 is his own.
	var bobs createOrderResponse
	bob := e.fake.OpenMiniApp(e.fake.NewUser("Bob"))
	require.Equal(t, 201, e.call(t, "POST", "/api/orders", bob, `{"product_id":"theme"}`, &bobs, "Idempotency-Key", "k-1"))
	require.NotEqual(t, first.OrderID, bobs.OrderID)
}

func TestAnotherUserCannotPay(t *testing.T) {
	e := setup(t)
	id := e.fake.OpenMiniApp(e.user)
	var created createOrderResponse
	require.Equal(t, 201, e.call(t, "POST", "/api/orders", id, `{"product_id":"stickers"}`, &created, "Idempotency-Key", newKey()))
	inv, ok := e.fake.InvoiceByLink(created.InvoiceLink)
	require.True(t, ok)

	eve := e.fake.NewUser("Eve")
	paid := make(chan error, 1)
	go func() {
		_, err := e.fake.Pay(t.Context(), eve, inv)
		paid <- err
	}()
	e.handleUpdatesUntil(t, func(u *botapi.Update) bool { return u.PreCheckoutQuery != nil })
	err := <-paid
	var declined *botapitest.DeclinedError
	require.ErrorAs(t, err, &declined)
	require.Equal(t, payments.MsgWrongUser, declined.Message)

	// Eve sees no orders; Ada's order is still unpaid.
	var orders []order
	require.Equal(t, 200, e.call(t, "GET", "/api/orders", e.fake.OpenMiniApp(eve), "", &orders))
	require.Empty(t, orders)
	require.Empty(t, e.paidBy(t, e.user.ID))
}

func TestDemoPay(t *testing.T) {
	e := setup(t)
	id := e.fake.OpenMiniApp(e.user)
	var created createOrderResponse
	require.Equal(t, 201, e.call(t, "POST", "/api/orders", id, `{"product_id":"boost"}`, &created, "Idempotency-Key", newKey()))

	// Only the demo user pays through the stand-in.
	eve := e.fake.NewUser("Eve")
	require.Equal(t, 403, e.call(t, "POST", "/demo/pay", e.fake.OpenMiniApp(eve), `{"invoice_link":"`+created.InvoiceLink+`"}`, nil))
	require.Equal(t, 404, e.call(t, "POST", "/demo/pay", id, `{"invoice_link":"https://t.me/$nope"}`, nil))
	require.Equal(t, 400, e.call(t, "POST", "/demo/pay", id, `nope`, nil))

	// The session route gives the page valid init data for the demo user.
	var session struct {
		InitData string `json:"init_data"`
	}
	require.Equal(t, 200, e.call(t, "GET", "/demo/session", "", "", &session))
	require.Equal(t, 200, e.call(t, "GET", "/api/me", session.InitData, "", nil))

	result := make(chan payResponse, 1)
	go func() {
		var r payResponse
		code := e.call(t, "POST", "/demo/pay", id, `{"invoice_link":"`+created.InvoiceLink+`"}`, &r)
		if code != 200 {
			r.Status = http.StatusText(code)
		}
		result <- r
	}()
	e.handleUpdatesUntil(t, func(u *botapi.Update) bool { return u.Message != nil && u.Message.SuccessfulPayment != nil })
	require.Equal(t, payResponse{Status: "paid"}, <-result)
	require.Len(t, e.paidBy(t, e.user.ID), 1)
}

func TestStartOpensTheShop(t *testing.T) {
	e := setup(t)
	e.fake.SendUserMessage(e.user, "/start")
	e.handleUpdatesUntil(t, func(u *botapi.Update) bool { return u.Message != nil })
	reqs := e.fake.Requests("sendMessage")
	require.Len(t, reqs, 1)
	var markup botapi.InlineKeyboardMarkup
	require.NoError(t, reqs[0].JSON("reply_markup", &markup))
	require.Equal(t, "https://shop.example/", markup.InlineKeyboard[0][0].WebApp.URL)
}

// TestRunServesAndShutsDown runs the whole program on its embedded default
// (fake Telegram delivering to the shop's webhook), buys a product through
// its HTTP API, and stops it as SIGINT would: the shutdown drains the update
// queue, so the order is fulfilled before run returns.
func TestRunServesAndShutsDown(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	out := newLineWriter()
	logs := &syncBuffer{watch: "order fulfilled", seen: make(chan struct{})}
	done := make(chan error, 1)
	cfg := config{ListenAddr: "127.0.0.1:0", ShutdownTimeout: 5 * time.Second, DataDir: t.TempDir(), SQLiteSync: "NORMAL"}
	go func() { done <- run(ctx, cfg, slog.New(slog.NewTextHandler(logs, nil)), out) }()

	var url string
	for url == "" {
		select {
		case l := <-out.lines:
			if _, rest, ok := strings.Cut(l, "Open "); ok {
				url, _, _ = strings.Cut(rest, " ")
			}
		case err := <-done:
			t.Fatalf("run returned early: %v", err)
		}
	}
	e := &env{base: strings.TrimSuffix(url, "/")}
	get := func(path, initData string, out any) int { return e.call(t, "GET", path, initData, "", out) }

	require.Equal(t, 200, get("/healthz", "", nil))
	var session struct {
		InitData string `json:"init_data"`
	}
	require.Equal(t, 200, get("/demo/session", "", &session))

	// The webhook refuses a delivery without Telegram's secret token.
	require.Equal(t, 401, e.call(t, "POST", webhookPath, "", `{"update_id":1}`, nil))

	var created createOrderResponse
	require.Equal(t, 201, e.call(t, "POST", "/api/orders", session.InitData, `{"product_id":"wallpapers"}`, &created, "Idempotency-Key", newKey()))
	var paid payResponse
	require.Equal(t, 200, e.call(t, "POST", "/demo/pay", session.InitData, `{"invoice_link":"`+created.InvoiceLink+`"}`, &paid))
	require.Equal(t, "paid", paid.Status)

	// The fake delivers successful_payment to the webhook after Pay
	// returns; the shop fulfils it from its queue.
	select {
	case <-logs.seen:
	case err := <-done:
		t.Fatalf("run returned before fulfilling: %v", err)
	}
	var orders []order
	require.Equal(t, 200, get("/api/orders", session.InitData, &orders))
	require.Len(t, orders, 1)
	require.Equal(t, created.OrderID, orders[0].ID)

	cancel()
	require.NoError(t, <-done)
	require.Contains(t, logs.String(), "order fulfilled")
	require.Contains(t, logs.String(), created.OrderID)
	require.Contains(t, logs.String(), "shutdown complete")
	_, err := http.Get(url + "healthz")
	require.Error(t, err, "the listener is closed after shutdown")
}

func TestAPIRateLimitPerUser(t *testing.T) {
	e := setup(t)
	ada := e.fake.OpenMiniApp(e.user)
	codes := map[int]int{}
	for range apiBurst + 5 {
		codes[e.call(t, "GET", "/api/products", ada, "", nil)]++
	}
	// The clock is fixed, so no token comes back: exactly the burst passes.
	require.Equal(t, map[int]int{200: apiBurst, 429: 5}, codes)
	// Another user has a bucket of their own.
	require.Equal(t, 200, e.call(t, "GET", "/api/products", e.fake.OpenMiniApp(e.fake.NewUser("Bob")), "", nil))
}

func TestRunFailsOnBusyAddress(t *testing.T) {
	ln := httptest.NewServer(http.NotFoundHandler())
	defer ln.Close()
	addr := strings.TrimPrefix(ln.URL, "http://")
	err := run(t.Context(), config{ListenAddr: addr, ShutdownTimeout: time.Second, DataDir: t.TempDir()}, slog.New(slog.DiscardHandler), io.Discard)
	require.ErrorContains(t, err, "LISTEN_ADDR")
}

// syncBuffer is a bytes.Buffer safe for concurrent writes (the logs); it
// closes seen once a write contains watch.
type syncBuffer struct {
	mu    sync.Mutex
	b     bytes.Buffer
	watch string
	seen  chan struct{} // set before use; closed once, never reassigned
	fired bool
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.seen != nil && !b.fired && bytes.Contains(p, []byte(b.watch)) {
		close(b.seen)
		b.fired = true
	}
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// newKey returns a fresh Idempotency-Key.
func newKey() string { return newOrderID() }

// lineWriter hands each written line to a channel.
type lineWriter struct{ lines chan string }

func newLineWriter() *lineWriter { return &lineWriter{lines: make(chan string, 64)} }

func (w *lineWriter) Write(p []byte) (int, error) {
	for _, l := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		select {
		case w.lines <- l:
		default:
			return 0, errors.New("lineWriter full")
		}
	}
	return len(p), nil
}

// TestEveryErrorIsAProblem walks every route of the shop, and some that do
// not exist, with bad input of every kind (no or forged init data, the
// wrong method, bad bodies, unknown paths) and checks that every error
// answer is application/problem+json with its status in the body.
func TestEveryErrorIsAProblem(t *testing.T) {
	// Hundreds of requests as one user: lift the per-user limit so they
	// reach the handlers; its 429 is checked at the end.
	e := setup(t, func(s *shop) { s.limiter = ratelimit.NewKeyed(rate.Inf, 1) })
	good := e.fake.OpenMiniApp(e.user)
	forged := strings.Replace(good, "Ada", "Eve", 1)
	routes := []struct{ method, path string }{
		{"GET", "/"}, {"GET", "/app.js"}, {"GET", "/style.css"}, {"GET", "/healthz"},
		{"GET", "/api/me"}, {"GET", "/api/products"}, {"GET", "/api/orders"}, {"POST", "/api/orders"},
		{"GET", "/demo/session"}, {"POST", "/demo/pay"},
		{"GET", "/nope"}, {"GET", "/api/nope"}, {"GET", "/demo/nope"}, {"GET", "/web/app.js"},
	}
	methods := []string{"GET", "POST", "PUT", "DELETE", "PATCH"}
	bodies := []string{"", "x", `{"unknown":1}`, `{"product_id":"theme"}{}`, strings.Repeat("x", 2*maxOrderBody)}
	errorsSeen := 0
	statuses := map[int]bool{}
	for _, rt := range routes {
		for _, m := range methods {
			for _, auth := range []string{"", forged, good} {
				for _, body := range bodies {
					if m == "GET" && body != "" {
						continue
					}
					status, ctype, b := e.raw(t, m, rt.path, auth, body)
					if status < 400 {
						continue
					}
					errorsSeen++
					statuses[status] = true
					require.Equal(t, "application/problem+json", ctype, "%s %s (auth %v, body %.20q): %d %s", m, rt.path, auth != "", body, status, b)
					var p struct {
						Status int    `json:"status"`
						Title  string `json:"title"`
					}
					require.NoError(t, json.Unmarshal(b, &p), "%s %s: %s", m, rt.path, b)
					require.Equal(t, status, p.Status, "%s %s: %s", m, rt.path, b)
					require.NotEmpty(t, p.Title)
				}
			}
		}
	}
	require.Greater(t, errorsSeen, 100)
	for _, code := range []int{400, 401, 404, 405, 413} {
		require.True(t, statuses[code], "no %d seen: %v", code, statuses)
	}

	// With the shop's own limit, a burst ends in 429, a problem too.
	e = setup(t)
	good = e.fake.OpenMiniApp(e.user)
	for i := 0; ; i++ {
		require.Less(t, i, 1000, "no 429 after 1000 requests")
		status, ctype, b := e.raw(t, "GET", "/api/products", good, "")
		if status == http.StatusTooManyRequests {
			require.Equal(t, "application/problem+json", ctype, string(b))
			require.Contains(t, string(b), `"status":429`)
			break
		}
		require.Equal(t, http.StatusOK, status, string(b))
	}
}

// raw makes a request and returns its status, content type and body.
func (e *env) raw(t *testing.T, method, path, initData, body string) (int, string, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, e.base+path, strings.NewReader(body))
	require.NoError(t, err)
	if initData != "" {
		req.Header.Set("Authorization", "tma "+initData)
	}
	if method == "POST" && path == "/api/orders" {
		req.Header.Set("Idempotency-Key", newKey())
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res.StatusCode, res.Header.Get("Content-Type"), b
}

// TestDemoOnLoopbackOnly: the embedded default signs anyone in as the demo
// user, so it refuses a public address unless PublicDemo (-public-demo)
// says so, and never exists with a real token.
func TestDemoOnLoopbackOnly(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	log := slog.New(slog.DiscardHandler)
	err := run(ctx, config{ListenAddr: "0.0.0.0:0", ShutdownTimeout: time.Second, DataDir: t.TempDir()}, log, io.Discard)
	require.ErrorContains(t, err, "loopback only")

	out := newLineWriter()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, config{ListenAddr: "0.0.0.0:0", PublicDemo: true, ShutdownTimeout: time.Second, DataDir: t.TempDir()}, log, out)
	}()
	for started := false; !started; {
		select {
		case l := <-out.lines:
			started = strings.HasPrefix(l, "Open ")
		case err := <-done:
			t.Fatalf("run with PublicDemo returned early: %v", err)
		}
	}
	cancel()
	require.NoError(t, <-done)
}
