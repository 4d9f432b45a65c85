package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miniappkit/miniappkit/botapi/botapitest"
	"github.com/miniappkit/miniappkit/initdata"
	"github.com/miniappkit/miniappkit/webhook"
)

// BenchmarkLoad drives the whole shop (run, on its embedded default: the
// fake Telegram in process, no latency, so the figures are the shop's own)
// over loopback HTTP at a fixed arrival rate: b.N requests of one kind,
// each started on its schedule whether or not the ones before it have
// finished (an open loop, so a slow answer delays no later request and
// hides nothing: no coordinated omission), spread over 1 000 users (the
// per-user limit is 10 a second). It reports the latency's p50 and p99 and
// the errors (a transport error or a status other than the one expected).
//
// The load generator is this bounded loop rather than a library such as
// vegeta: it needs init data signed per user, Idempotency-Keys and update
// ids made per request, and an in-process shop to point at; a ticker, a
// goroutine per request and a sorted slice of durations do all of it with
// the standard library. SHOP_LOAD_RATE sets the rate (default 200 a
// second); b.N is the number of requests, so run it with a count, e.g.
//
//	MINIAPPKIT_POSTGRES_URL=postgres://... go test -run '^$' -bench Load -benchtime 2000x ./examples/shop
//
// The PostgreSQL rows run when MINIAPPKIT_POSTGRES_URL is set.
func BenchmarkLoad(b *testing.B) {
	rate := 200
	if s := os.Getenv("SHOP_LOAD_RATE"); s != "" {
		rate, _ = strconv.Atoi(s)
	}
	engines := []struct {
		name string
		cfg  func(b *testing.B) config
	}{
		{"sqlite", func(b *testing.B) config { return config{DataDir: b.TempDir()} }},
		{"postgres", func(b *testing.B) config {
			u := os.Getenv("MINIAPPKIT_POSTGRES_URL")
			if u == "" {
				b.Skip("MINIAPPKIT_POSTGRES_URL is not set")
			}
			return config{DatabaseURL: u}
		}},
	}
	for _, eng := range engines {
		for _, kind := range []string{"products", "orders", "webhook"} {
			b.Run(fmt.Sprintf("%s/%s/%d_per_s", eng.name, kind, rate), func(b *testing.B) {
				cfg := eng.cfg(b)
				cfg.ListenAddr, cfg.ShutdownTimeout = "127.0.0.1:0", 10*time.Second
				base, st := startBench(b, cfg)
				req := loadRequest(b, kind, base, st)
				loadAt(b, rate, req)
			})
		}
	}
}

// startBench runs the shop for a benchmark and opens its state beside it
// (to read the webhook secret it keeps there).
func startBench(b *testing.B, cfg config) (string, *state) {
	b.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := newLineWriter()
	done := make(chan error, 1)
	go func() { done <- run(ctx, cfg, slog.New(slog.DiscardHandler), out) }()
	b.Cleanup(func() { cancel(); <-done })
	var base string
	for base == "" {
		select {
		case l := <-out.lines:
			if rest, ok := strings.CutPrefix(l, "Open "); ok {
				base, _, _ = strings.Cut(rest, "/ ")
			}
		case err := <-done:
			b.Fatalf("run: %v", err)
		}
	}
	st, err := openState(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(st.close)
	return base, st
}

// loadRequest returns the maker of the i-th request of kind and the status
// it expects.
func loadRequest(b *testing.B, kind, base string, st *state) func(i int) (*http.Request, int) {
	const users = 1000
	auth := make([]string, users)
	for i := range auth {
		auth[i] = "tma " + initdata.Sign(url.Values{"user": {fmt.Sprintf(`{"id":%d,"first_name":"U%d"}`, 5000+i, i)}}, botapitest.DefaultToken, time.Now())
	}
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	switch kind {
	case "products":
		return func(i int) (*http.Request, int) {
			r, _ := http.NewRequest("GET", base+"/api/products", nil)
			r.Header.Set("Authorization", auth[i%users])
			return r, http.StatusOK
		}
	case "orders":
		return func(i int) (*http.Request, int) {
			r, _ := http.NewRequest("POST", base+"/api/orders", bytes.NewReader([]byte(`{"product_id":"theme"}`)))
			r.Header.Set("Authorization", auth[i%users])
			r.Header.Set("Content-Type", "application/json")
			r.Header.Set("Idempotency-Key", run+"-"+strconv.Itoa(i))
			return r, http.StatusCreated
		}
	default: // a message from a user, through secret check, decode, dedupe and the router
		secret, err := setting(context.Background(), st.db, "webhook_secret", "unused")
		if err != nil {
			b.Fatal(err)
		}
		first := time.Now().UnixNano() % 1e9 * 1000
		return func(i int) (*http.Request, int) {
			u := 5000 + i%users
			body := fmt.Sprintf(`{"update_id":%d,"message":{"message_id":%d,"date":%d,"chat":{"id":%d,"type":"private"},"from":{"id":%d,"is_bot":false,"first_name":"U"},"text":"hello"}}`,
				first+int64(i), i+1, time.Now().Unix(), u, u)
			r, _ := http.NewRequest("POST", base+webhookPath, bytes.NewReader([]byte(body)))
			r.Header.Set("Content-Type", "application/json")
			r.Header.Set(webhook.HeaderSecretToken, secret)
			return r, http.StatusOK
		}
	}
}

// loadAt sends b.N requests at rate a second and reports p50, p99 and
// errors.
func loadAt(b *testing.B, rate int, next func(i int) (*http.Request, int)) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 512}, Timeout: 10 * time.Second}
	var (
		wg        sync.WaitGroup
		mu        sync.Mutex
		latencies = make([]time.Duration, 0, b.N)
		errs      atomic.Int64
	)
	interval := time.Second / time.Duration(rate)
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 {
			time.Sleep(d)
		}
		req, want := next(i)
		wg.Go(func() {
			t0 := time.Now()
			res, err := client.Do(req)
			if err == nil {
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
			}
			took := time.Since(t0)
			if err != nil || res.StatusCode != want {
				errs.Add(1)
				return
			}
			mu.Lock()
			latencies = append(latencies, took)
			mu.Unlock()
		})
	}
	wg.Wait()
	b.StopTimer()
	slices.Sort(latencies)
	q := func(p float64) float64 {
		if len(latencies) == 0 {
			return 0
		}
		return float64(latencies[min(len(latencies)-1, int(p*float64(len(latencies))))].Microseconds()) / 1000
	}
	b.ReportMetric(q(0.50), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
	b.ReportMetric(float64(errs.Load()), "errors")
}
