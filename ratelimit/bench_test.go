package ratelimit

import (
	"context"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

const benchKeys = 1_000_000

var benchKeyNames = sync.OnceValue(func() []string {
	keys := make([]string, benchKeys)
	for i := range keys {
		keys[i] = "user:" + strconv.Itoa(1_000_000_000+i*7919)
	}
	return keys
})

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// rateMap is the usual design this package is measured against: a map of
// *rate.Limiter under a mutex.
type rateMap struct {
	mu sync.Mutex
	m  map[string]*rate.Limiter
}

func (r *rateMap) allow(key string) bool {
	r.mu.Lock()
	l, ok := r.m[key]
	if !ok {
		l = rate.NewLimiter(1.0/3600, 1000)
		r.m[key] = l
	}
	r.mu.Unlock()
	return l.Allow()
}

// BenchmarkKeyed measures one keyed decision (clock read included) with
// 1 M live keys, beside a map of *rate.Limiter, and the memory per live key
// (B/key: Keyed's includes its own copy of each key; the map's excludes
// the key strings, which it shares with the caller).
func BenchmarkKeyed(b *testing.B) {
	keys := benchKeyNames()
	b.Run("impl=Keyed/keys=1M", func(b *testing.B) {
		before := heapInUse()
		k := NewKeyed(1.0/3600, 1000) // keys stay live for the whole run
		for _, key := range keys {
			k.Allow(key)
		}
		perKey := float64(heapInUse()-before) / benchKeys
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			k.Allow(keys[i])
			i++
			if i == benchKeys {
				i = 0
			}
		}
		runtime.KeepAlive(k)
		b.ReportMetric(perKey, "B/key")
	})
	b.Run("impl=Keyed/keys=1M/AllowAt", func(b *testing.B) {
		k := NewKeyed(1.0/3600, 1000)
		for _, key := range keys {
			k.Allow(key)
		}
		now := time.Now()
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			k.AllowAt(keys[i], now)
			i++
			if i == benchKeys {
				i = 0
			}
		}
	})
	b.Run("impl=map-of-rate.Limiter/keys=1M", func(b *testing.B) {
		before := heapInUse()
		r := &rateMap{m: make(map[string]*rate.Limiter)}
		for _, key := range keys {
			r.allow(key)
		}
		perKey := float64(heapInUse()-before) / benchKeys
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			r.allow(keys[i])
			i++
			if i == benchKeys {
				i = 0
			}
		}
		runtime.KeepAlive(r)
		b.ReportMetric(perKey, "B/key")
	})
	b.Run("impl=Keyed/keys=1M/parallel", func(b *testing.B) {
		k := NewKeyed(1.0/3600, 1000)
		for _, key := range keys {
			k.Allow(key)
		}
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				k.Allow(keys[i])
				i += 7
				if i >= benchKeys {
					i -= benchKeys
				}
			}
		})
	})
}

// BenchmarkTelegramAllow measures the scheduler's non-blocking decision,
// clock read included: bot-wide only (chat id 0) and with a chat.
func BenchmarkTelegramAllow(b *testing.B) {
	s, err := NewTelegram()
	if err != nil {
		b.Fatal(err)
	}
	b.Run("global", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			s.Allow(0, Bulk)
		}
	})
	b.Run("global/AllowAt", func(b *testing.B) {
		b.ReportAllocs()
		now := time.Now()
		for b.Loop() {
			s.AllowAt(0, Bulk, now)
		}
	})
	b.Run("chat", func(b *testing.B) {
		b.ReportAllocs()
		id := int64(0)
		for b.Loop() {
			id++
			s.Allow(id, Bulk)
		}
	})
}

// BenchmarkTimeNow is the clock read the other figures include, for
// reference: on a loaded machine it is a large part of them.
func BenchmarkTimeNow(b *testing.B) {
	for b.Loop() {
		_ = time.Now()
	}
}

// BenchmarkTimeSince is the clock read Keyed.Allow makes with the default
// clock: time.Since on a time with a monotonic reading reads only the
// monotonic clock, where time.Now reads the wall clock too.
func BenchmarkTimeSince(b *testing.B) {
	epoch := time.Now()
	var d time.Duration
	for b.Loop() {
		d += time.Since(epoch)
	}
	if d < 0 {
		b.Fatal("monotonic clock went backwards")
	}
}

// BenchmarkTelegramSmoke is a real-time smoke run: 300 sends to distinct
// chats on real timers in the paid lane (1000/s), checking that no
// one-second window holds more than the limit and reporting the rate
// reached.
func BenchmarkTelegramSmoke(b *testing.B) {
	const sends, workers = 300, 16
	for b.Loop() {
		s, err := NewTelegram()
		if err != nil {
			b.Fatal(err)
		}
		ctx := WithLane(context.Background(), Paid)
		var mu sync.Mutex
		var at []int64
		start := time.Now()
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				for i := w; i < sends; i += workers {
					if err := s.Wait(ctx, int64(i+1)); err != nil {
						b.Error(err)
						return
					}
					mu.Lock()
					at = append(at, int64(time.Since(start)))
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		elapsed := time.Since(start)
		slices.Sort(at)
		if n := maxInClosedWindow(at, int64(time.Second)); n > PaidLimit.N {
			b.Fatalf("%d sends in one second, limit %d", n, PaidLimit.N)
		}
		b.ReportMetric(float64(sends)/elapsed.Seconds(), "sends/s")
	}
}

// BenchmarkMiddleware measures a request's way through Middleware with
// KeyByIP to a handler that does nothing, response writer reused: the
// key, the decision, the RateLimit headers.
func BenchmarkMiddleware(b *testing.B) {
	k := NewKeyed(1e9, 1000)
	h := Middleware(k, KeyByIP())(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.RemoteAddr = "203.0.113.7:4711"
	w := httptest.NewRecorder()
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, r)
	}
}

// BenchmarkKeyedVsMap measures Keyed.Allow and the map of *rate.Limiter
// side by side at 1 M live keys, interleaved in blocks of 256 decisions
// (each timed), so that a shared machine's busy spells fall on both alike:
// it reports each one's ns per decision and their ratio. An op is one
// block of each.
func BenchmarkKeyedVsMap(b *testing.B) {
	keys := benchKeyNames()
	before := heapInUse()
	k := NewKeyed(1.0/3600, 1000)
	for _, key := range keys {
		k.Allow(key)
	}
	mid := heapInUse()
	r := &rateMap{m: make(map[string]*rate.Limiter)}
	for _, key := range keys {
		r.allow(key)
	}
	after := heapInUse()
	const block = 256
	var tk, tm time.Duration
	i, j := 0, 0
	b.ReportAllocs()
	for b.Loop() {
		start := time.Now()
		for range block {
			k.Allow(keys[i])
			if i++; i == benchKeys {
				i = 0
			}
		}
		split := time.Now()
		for range block {
			r.allow(keys[j])
			if j++; j == benchKeys {
				j = 0
			}
		}
		tm += time.Since(split)
		tk += split.Sub(start)
	}
	runtime.KeepAlive(k)
	runtime.KeepAlive(r)
	n := float64(b.N) * block
	b.ReportMetric(float64(tk)/n, "Keyed-ns/decision")
	b.ReportMetric(float64(tm)/n, "map-ns/decision")
	b.ReportMetric(float64(tk)/float64(tm), "Keyed/map")
	b.ReportMetric(float64(mid-before)/benchKeys, "Keyed-B/key")
	b.ReportMetric(float64(after-mid)/benchKeys, "map-B/key")
}
