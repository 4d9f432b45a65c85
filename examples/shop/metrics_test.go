package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestMetrics: with METRICS=1 a purchase shows in /metrics under the names
// the README's PromQL uses.
func TestMetrics(t *testing.T) {
	cfg := config{ListenAddr: "127.0.0.1:0", ShutdownTimeout: 5 * time.Second, DataDir: t.TempDir(), SQLiteSync: "NORMAL", Metrics: true}
	base, _ := startRun(t, cfg)
	e := &env{base: base}
	var s struct {
		InitData string `json:"init_data"`
	}
	require.Equal(t, 200, e.call(t, "GET", "/demo/session", "", "", &s))
	var created createOrderResponse
	require.Equal(t, 201, e.call(t, "POST", "/api/orders", s.InitData, `{"product_id":"theme"}`, &created, "Idempotency-Key", newKey()))
	var paid payResponse
	require.Equal(t, 200, e.call(t, "POST", "/demo/pay", s.InitData, `{"invoice_link":"`+created.InvoiceLink+`"}`, &paid))
	require.Equal(t, "paid", paid.Status)

	want := []string{
		`miniappkit_botapi_call_duration_seconds_bucket{`, // p99 Bot API latency
		`miniappkit_botapi_method="createInvoiceLink"`,
		`miniappkit_update_duration_seconds_count{`, // updates handled vs duplicates
		`miniappkit_update_dedupe="`,
		`miniappkit_payment_steps_total{`, // payments fulfilled vs refunded
		`miniappkit_payment_step="fulfil"`,
		`miniappkit_store_operation_duration_seconds_count{`, // the stores
	}
	var body string
	require.Eventually(t, func() bool {
		res, err := http.Get(base + "/metrics")
		if err != nil {
			return false
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		body = string(b)
		for _, w := range want {
			if !strings.Contains(body, w) {
				return false
			}
		}
		return true
	}, 10*time.Second, 50*time.Millisecond, "missing from /metrics: %v\n%s", want, body)
	if testing.Verbose() {
		t.Log(body)
	}
}
