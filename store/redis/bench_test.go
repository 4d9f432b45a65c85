package redis

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/miniappkit/miniappkit/botapi"
	"github.com/miniappkit/miniappkit/webhook"
)

// floorComplete is the minimal complete: compare the owner, mark done.
var floorComplete = goredis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
	redis.call('SET', KEYS[1], 'done', 'PX', ARGV[2])
	return 1
end
return 0
`)

// BenchmarkClaimComplete compares a webhook.Store claim + complete through
// UpdateStore (store: two scripts, reading the server's TIME) with the
// engine's floor: the minimal commands for the same, issued directly on
// the same client (SET key owner NX PX lease, then a script comparing the
// owner and marking the key done).
func BenchmarkClaimComplete(b *testing.B) {
	db := newTestDB(b)
	ctx := context.Background()
	if err := floorComplete.Load(ctx, db.c).Err(); err != nil {
		b.Fatal(err)
	}
	s := db.UpdateStore()
	paired(b, func(key string) error {
		key = db.prefix + key
		if err := db.c.SetNX(ctx, key, "o", time.Minute).Err(); err != nil {
			return err
		}
		if err := floorComplete.EvalSha(ctx, db.c, []string{key}, "o", 3_600_000).Err(); err != nil {
			return err
		}
		return nil
	}, func(key string) error {
		if _, err := s.Claim(ctx, key, "o", time.Minute, nil); err != nil {
			return err
		}
		if err := s.Complete(ctx, key, "o", time.Hour, nil); err != nil {
			return err
		}
		return nil
	})
}

// paired runs floor and store alternately (in alternating order), timing
// each, and reports
// both per operation and their ratio: a slow spell of the shared machine
// hits both alike.
func paired(b *testing.B, floor, store func(key string) error) {
	var n int64
	var tf, ts time.Duration
	b.ReportAllocs()
	for b.Loop() {
		n++
		k := strconv.FormatInt(n, 10)
		first, second, d1, d2 := floor, store, &tf, &ts
		if n%2 == 0 { // alternate the order, so that neither pays for the other's aftermath
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

// BenchmarkUpdates measures updates through webhook.NewHandler (served in
// process, no network) with a no-op handler, per store, next to a bare
// http.Handler that reads the body and answers 200 (the floor), with
// b.RunParallel; updates/s is the throughput of the whole run.
func BenchmarkUpdates(b *testing.B) {
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
	for _, c := range []struct {
		name string
		h    func(b *testing.B) http.Handler
	}{
		{"bare", func(*testing.B) http.Handler { return bare }},
		{"memory", func(b *testing.B) http.Handler { return must(b)(webhook.NewHandler("secret", noop)) }},
		{"redis", func(b *testing.B) http.Handler {
			return must(b)(webhook.NewHandler("secret", noop, webhook.WithStore(newTestDB(b).UpdateStore())))
		}},
	} {
		b.Run(c.name, func(b *testing.B) { benchUpdates(b, c.h(b)) })
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
			req.Header.Set("X-Telegram-Bot-Api-Secret-Token", "secret")
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != http.StatusOK {
				b.Fatalf("status %d", w.Code)
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "updates/s")
}

// must fails b on a construction error.
func must(b *testing.B) func(*webhook.Handler, error) http.Handler {
	return func(h *webhook.Handler, err error) http.Handler {
		b.Helper()
		if err != nil {
			b.Fatal(err)
		}
		return h
	}
}
