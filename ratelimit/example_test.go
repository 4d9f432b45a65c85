package ratelimit_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/miniappkit/miniappkit/ratelimit"
)

var start = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

func ExampleTelegram() {
	sched, err := ratelimit.NewTelegram()
	if err != nil {
		panic(err)
	}
	// A botapi client takes it with botapi.WithLimiter(sched). Here, the
	// explicit-time decisions it makes:
	fmt.Println(sched.AllowAt(42, ratelimit.Bulk, start))
	fmt.Println(sched.AllowAt(42, ratelimit.Bulk, start.Add(500*time.Millisecond)))
	fmt.Println(sched.AllowAt(43, ratelimit.Bulk, start.Add(500*time.Millisecond)))
	// One second per chat, plus the default 20 ms safety margin.
	fmt.Println(sched.DelayAt(42, ratelimit.Bulk, start.Add(500*time.Millisecond)).Round(time.Millisecond))
	// Output:
	// true
	// false
	// true
	// 520ms
}

func ExampleTelegram_Backoff() {
	sched, _ := ratelimit.NewTelegram()
	// Telegram answered 429 retry_after 30 for chat 42:
	sched.BackoffAt(42, 30*time.Second, start)
	fmt.Println(sched.AllowAt(42, ratelimit.Interactive, start.Add(29*time.Second)))
	fmt.Println(sched.AllowAt(7, ratelimit.Interactive, start.Add(29*time.Second)))
	fmt.Println(sched.AllowAt(42, ratelimit.Interactive, start.Add(30*time.Second)))
	// Output:
	// false
	// true
	// true
}

func ExampleWithLane() {
	sched, _ := ratelimit.NewTelegram()
	ctx := ratelimit.WithLane(context.Background(), ratelimit.Bulk)
	if err := sched.Wait(ctx, 42); err != nil { // the first send waits for nothing
		panic(err)
	}
	lane, _ := ratelimit.LaneFromContext(ctx)
	fmt.Println(lane)
	// Output: bulk
}

func ExampleKeyed() {
	// Two requests per second per user, bursts of 3.
	k := ratelimit.NewKeyed(2, 3, ratelimit.WithClock(func() time.Time { return start }))
	for i := range 4 {
		fmt.Println(i, k.AllowAt("user:1", start))
	}
	fmt.Println(k.AllowAt("user:1", start.Add(500*time.Millisecond)))
	// Output:
	// 0 true
	// 1 true
	// 2 true
	// 3 false
	// true
}

func ExampleMiddleware() {
	k := ratelimit.NewKeyed(1, 1, ratelimit.WithClock(func() time.Time { return start }))
	h := ratelimit.Middleware(k, ratelimit.KeyByIP())(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, "hello")
	}))
	for range 2 {
		r := httptest.NewRequest(http.MethodGet, "/api", nil)
		r.RemoteAddr = "203.0.113.7:4711"
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		fmt.Println(w.Code, w.Header().Get("Retry-After") != "")
	}
	// Output:
	// 200 false
	// 429 true
}

func ExampleKeyed_ReserveN() {
	k := ratelimit.NewKeyed(10, 5, ratelimit.WithClock(func() time.Time { return start })) // 10/s, burst 5
	r := k.ReserveN("export:42", start, 5)
	fmt.Println(r.OK(), r.DelayFrom(start))
	r = k.ReserveN("export:42", start, 2) // past the burst: wait for two tokens
	fmt.Println(r.OK(), r.DelayFrom(start))
	r.CancelAt(start) // not going to wait after all: give them back
	fmt.Println(k.DelayAt("export:42", start))
	// Output:
	// true 0s
	// true 200ms
	// 100ms
}

func ExampleMiddleware_headers() {
	k := ratelimit.NewKeyed(1, 2, ratelimit.WithClock(func() time.Time { return start }))
	h := ratelimit.Middleware(k, ratelimit.KeyByIP())(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	for range 3 {
		r := httptest.NewRequest(http.MethodGet, "/api", nil)
		r.RemoteAddr = "203.0.113.7:4711"
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		fmt.Printf("%d limit=%s remaining=%s reset=%s retry-after=%q\n", w.Code, w.Header().Get("RateLimit-Limit"),
			w.Header().Get("RateLimit-Remaining"), w.Header().Get("RateLimit-Reset"), w.Header().Get("Retry-After"))
	}
	// Output:
	// 200 limit=2 remaining=1 reset=1 retry-after=""
	// 200 limit=2 remaining=0 reset=2 retry-after=""
	// 429 limit=2 remaining=0 reset=2 retry-after="1"
}

func ExampleTelegram_Reserve() {
	sched, _ := ratelimit.NewTelegram()
	ctx := ratelimit.WithLane(context.Background(), ratelimit.Bulk)
	for _, chat := range []int64{1, 2, 3} {
		for {
			// Reserve the send's slot, do other work meanwhile (pick the
			// next chat), then wait for the slot and send.
			slot, err := sched.Reserve(ctx, chat)
			if err != nil {
				panic(err)
			}
			if err := slot.Wait(ctx); errors.Is(err, ratelimit.ErrSlotMissed) {
				continue // woke too late for it: reserve again
			} else if err != nil {
				panic(err)
			}
			break
		}
		fmt.Println("send to", chat)
	}
	// Output:
	// send to 1
	// send to 2
	// send to 3
}
