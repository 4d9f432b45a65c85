package main

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/miniappkit/miniappkit/payments"
)

// startRun runs the whole program on its embedded default in this process
// and returns its URL (no trailing slash) and a stop that shuts it down as
// SIGINT does and returns run's error.
func startRun(t *testing.T, cfg config) (string, func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	out := newLineWriter()
	done := make(chan error, 1)
	logs := &syncBuffer{}
	go func() { done <- run(ctx, cfg, slog.New(slog.NewTextHandler(logs, nil)), out) }()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("shop log:\n%s", logs.String())
		}
	})
	for {
		select {
		case l := <-out.lines:
			if rest, ok := strings.CutPrefix(l, "Open "); ok {
				url, _, _ := strings.Cut(rest, " ")
				stopped := false
				stop := func() error {
					if stopped {
						return nil
					}
					stopped = true
					cancel()
					return <-done
				}
				t.Cleanup(func() { _ = stop() })
				return strings.TrimSuffix(url, "/"), stop
			}
		case err := <-done:
			cancel()
			t.Fatalf("run returned early: %v", err)
		}
	}
}

// TestOneOrderOneCharge: six parallel POST /demo/pay of one order on the
// embedded default. The payments reservation lets one pre-checkout through;
// exactly one order is paid, and (paid answers) - (refunds) = 1, the
// refunds counted in the ledger (a duplicate charge that got through is
// recorded with DuplicateOf and refunded).
func TestOneOrderOneCharge(t *testing.T) {
	cfg := config{ListenAddr: "127.0.0.1:0", ShutdownTimeout: 5 * time.Second, DataDir: t.TempDir(), SQLiteSync: "NORMAL"}
	base, stop := startRun(t, cfg)
	e := &env{base: base}
	var session struct {
		InitData string `json:"init_data"`
	}
	require.Equal(t, 200, e.call(t, "GET", "/demo/session", "", "", &session))
	var created createOrderResponse
	require.Equal(t, 201, e.call(t, "POST", "/api/orders", session.InitData, `{"product_id":"theme"}`, &created, "Idempotency-Key", newKey()))

	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		answers = map[string]int{}
	)
	for range 6 {
		wg.Go(func() {
			var r payResponse
			code := e.call(t, "POST", "/demo/pay", session.InitData, `{"invoice_link":"`+created.InvoiceLink+`"}`, &r)
			mu.Lock()
			defer mu.Unlock()
			if code != 200 {
				answers[strings.TrimSpace(http.StatusText(code))]++
				return
			}
			answers[r.Status]++
		})
	}
	wg.Wait()
	t.Logf("answers: %v", answers)

	// Wait until the order is fulfilled, then stop the shop: the fake is
	// its own, so its records are read through the shop's state.
	require.Eventually(t, func() bool {
		var orders []order
		return e.call(t, "GET", "/api/orders", session.InitData, "", &orders) == 200 && len(orders) == 1
	}, 10*time.Second, 20*time.Millisecond)
	require.NoError(t, stop())

	st, err := openSQLite(t.Context(), cfg.DataDir, "")
	require.NoError(t, err)
	defer st.close()
	charges, err := st.ledger.ByOrder(t.Context(), created.OrderID)
	require.NoError(t, err)
	refunds := 0
	for _, p := range charges {
		if p.DuplicateOf != "" {
			require.Equal(t, payments.StateRefunded, p.State)
			refunds++
		}
	}
	require.Equal(t, 1, answers["paid"]-refunds, "paid answers %d, refunds %d", answers["paid"], refunds)
	o, err := (&orderBook{db: st.db}).get(t.Context(), created.OrderID)
	require.NoError(t, err)
	require.Equal(t, statusPaid, o.Status)
	require.Len(t, charges, answers["paid"], "every charge is in the ledger")
}

// TestRestartKeepsOrders: stopping and starting the shop on its data
// directory keeps every order, and buying goes on (the embedded fake's
// update ids start again; the handled ones of the last run stay apart).
func TestRestartKeepsOrders(t *testing.T) {
	cfg := config{ListenAddr: "127.0.0.1:0", ShutdownTimeout: 5 * time.Second, DataDir: t.TempDir(), SQLiteSync: "NORMAL"}
	buyOne := func(e *env, auth, product string) {
		var created createOrderResponse
		require.Equal(t, 201, e.call(t, "POST", "/api/orders", auth, `{"product_id":"`+product+`"}`, &created, "Idempotency-Key", newKey()))
		var paid payResponse
		require.Equal(t, 200, e.call(t, "POST", "/demo/pay", auth, `{"invoice_link":"`+created.InvoiceLink+`"}`, &paid))
		require.Equal(t, "paid", paid.Status, paid.Message)
	}
	session := func(e *env) string {
		var s struct {
			InitData string `json:"init_data"`
		}
		require.Equal(t, 200, e.call(t, "GET", "/demo/session", "", "", &s))
		return s.InitData
	}
	paidCount := func(e *env, auth string, n int) {
		require.Eventually(t, func() bool {
			var orders []order
			return e.call(t, "GET", "/api/orders", auth, "", &orders) == 200 && len(orders) == n
		}, 10*time.Second, 20*time.Millisecond)
	}

	base, stop := startRun(t, cfg)
	e := &env{base: base}
	auth := session(e)
	buyOne(e, auth, "theme")
	paidCount(e, auth, 1)
	require.NoError(t, stop())

	base, _ = startRun(t, cfg)
	e = &env{base: base}
	auth = session(e)
	paidCount(e, auth, 1)
	buyOne(e, auth, "boost")
	paidCount(e, auth, 2)
}

// TestResumesPendingWorkAtStart: a payment recorded but never fulfilled
// (the process died between the two) is fulfilled at the next start, and
// its confirmation, queued then, is sent.
func TestResumesPendingWorkAtStart(t *testing.T) {
	key := "a payload key for this test, 32 bytes+"
	cfg := config{ListenAddr: "127.0.0.1:0", ShutdownTimeout: 5 * time.Second, DataDir: t.TempDir(), SQLiteSync: "NORMAL", PayloadKey: key}
	st, err := openSQLite(t.Context(), cfg.DataDir, "")
	require.NoError(t, err)
	o, err := (&orderBook{db: st.db}).create(t.Context(), 1001, catalog[1], time.Now())
	require.NoError(t, err)
	codec, err := payments.NewCodec(payments.Key{ID: 1, Secret: []byte(key)})
	require.NoError(t, err)
	payload, err := codec.Encode(payments.Order{Ref: o.ID, UserID: 1001, Product: o.ProductID,
		Currency: payments.XTR, Amount: o.Stars, Expires: time.Now().Add(time.Hour)})
	require.NoError(t, err)
	_, first, err := st.ledger.Record(t.Context(), payments.Payment{
		ChargeID: "charge-before-the-crash", UserID: 1001, Currency: payments.XTR, Amount: o.Stars,
		Payload: payload, OrderRef: o.ID, State: payments.StatePaid,
	}, true)
	require.NoError(t, err)
	require.True(t, first)
	st.close()

	base, stop := startRun(t, cfg)
	e := &env{base: base}
	var s struct {
		InitData string `json:"init_data"`
	}
	require.Equal(t, 200, e.call(t, "GET", "/demo/session", "", "", &s))
	require.Eventually(t, func() bool {
		var orders []order
		return e.call(t, "GET", "/api/orders", s.InitData, "", &orders) == 200 && len(orders) == 1 && orders[0].ID == o.ID
	}, 10*time.Second, 20*time.Millisecond, "the paid order is fulfilled at start")
	st2, err := openSQLite(t.Context(), cfg.DataDir, "")
	require.NoError(t, err)
	defer st2.close()
	ob := newOutbox(st2.db, nil, nil)
	require.Eventually(t, func() bool { n, err := ob.pending(t.Context()); return err == nil && n == 0 },
		10*time.Second, 20*time.Millisecond, "its confirmation is sent")
	var sent int
	require.NoError(t, st2.db.query(t.Context(), `SELECT count(*) FROM shop_outbox WHERE sent_at IS NOT NULL`,
		func(scan func(...any) error) error { return scan(&sent) }))
	require.Equal(t, 1, sent)
	require.NoError(t, stop())
}
