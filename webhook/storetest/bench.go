package storetest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miniappkit/miniappkit/botapi"
	"github.com/miniappkit/miniappkit/webhook"
)

// BenchmarkClaimComplete compares a claim + complete through s (store)
// with floor, the engine's minimal statements for the same issued directly
// on the same client. Each runs on its own fresh keys, alternately (in
// alternating order, so that neither pays for the other's aftermath), and
// both are reported per operation (floor-µs/op, store-µs/op) with their
// ratio (store/floor): a slow spell of a shared machine hits both alike.
func BenchmarkClaimComplete(b *testing.B, s webhook.Store, floor func(key string) error) {
	b.Helper()
	ctx := context.Background()
	store := func(key string) error {
		if _, err := s.Claim(ctx, key, "o", time.Minute, nil); err != nil {
			return err
		}
		return s.Complete(ctx, key, "o", time.Hour, nil)
	}
	var n int64
	var tf, ts time.Duration
	b.ReportAllocs()
	for b.Loop() {
		n++
		k := strconv.FormatInt(n, 10)
		first, second, d1, d2 := floor, store, &tf, &ts
		if n%2 == 0 {
			first, second, d1, d2 = store, floor, &ts, &tf
		}
		t0 := time.Now()
		if err := first("a" + k); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if err := second("b" + k); err != nil {
			b.Fatal(err)
		}
		*d1 += t1.Sub(t0)
		*d2 += time.Since(t1)
	}
	b.ReportMetric(float64(tf.Microseconds())/float64(n), "floor-µs/op")
	b.ReportMetric(float64(ts.Microseconds())/float64(n), "store-µs/op")
	b.ReportMetric(float64(ts)/float64(tf), "store/floor")
}

// BenchStore names a store for [BenchmarkUpdates]; New returns a fresh one.
type BenchStore struct {
	Name string
	New  func(b *testing.B) webhook.Store
}

// BenchmarkUpdates measures updates through webhook.NewHandler (served in
// process, no network) with a no-op handler, one sub-benchmark per store
// after "bare" (an http.Handler that reads the body and answers 200: the
// floor) and "memory" (no store), with b.RunParallel; updates/s is the
// throughput of the whole run.
func BenchmarkUpdates(b *testing.B, stores ...BenchStore) {
	noop := webhook.UpdateHandlerFunc(func(context.Context, *botapi.Update) error { return nil })
	bare := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var buf [512]byte
		for {
			if _, err := r.Body.Read(buf[:]); err != nil {
				break
			}
		}
		w.WriteHeader(http.StatusOK)
	})
	newHandler := func(b *testing.B, opts ...webhook.Option) http.Handler {
		h, err := webhook.NewHandler("secret", noop, opts...)
		if err != nil {
			b.Fatal(err)
		}
		return h
	}
	b.Run("bare", func(b *testing.B) { benchUpdates(b, bare) })
	b.Run("memory", func(b *testing.B) { benchUpdates(b, newHandler(b)) })
	for _, s := range stores {
		b.Run(s.Name, func(b *testing.B) { benchUpdates(b, newHandler(b, webhook.WithStore(s.New(b)))) })
	}
}

var updateSeq atomic.Int64

func benchUpdates(b *testing.B, h http.Handler) {
	b.ReportAllocs()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			id := updateSeq.Add(1)
			body := `{"update_id":` + strconv.FormatInt(id, 10) + `,"message":{"message_id":1,"date":1700000000,"chat":{"id":1,"type":"private"},"text":"hi"}}`
			req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
			req.Header.Set(webhook.HeaderSecretToken, "secret")
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != http.StatusOK {
				b.Fatalf("status %d", w.Code)
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "updates/s")
}
