package botapitest

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"
)

func TestLatencyFixed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := NewServer(WithoutListener(), WithLatency(Latency{Base: 300 * time.Millisecond}))
		defer srv.Close()
		start := time.Now()
		require.True(t, callJSON(t, srv, "getMe", nil).OK)
		require.Equal(t, 300*time.Millisecond, time.Since(start))
		// The request reached the server halfway.
		require.Equal(t, 150*time.Millisecond, srv.Requests("getMe")[0].At.Sub(start))
		require.NoError(t, srv.SetLatency(Latency{}))
		start = time.Now()
		require.True(t, callJSON(t, srv, "getMe", nil).OK)
		require.Zero(t, time.Since(start))
	})
}

// TestLatencyDistribution draws "40 ms ± 20 ms, 1 % at 500 ms" and checks
// the spread of what the calls took.
func TestLatencyDistribution(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dist := Latency{Base: 40 * time.Millisecond, Jitter: 20 * time.Millisecond, Slow: 0.01, SlowDelay: 500 * time.Millisecond}
		srv := NewServer(WithoutListener(), WithLatency(dist))
		defer srv.Close()
		const n = 2000
		var slow, lo, hi int
		seen := map[time.Duration]bool{}
		for range n {
			start := time.Now()
			require.True(t, callJSON(t, srv, "getMe", nil).OK)
			d := time.Since(start)
			switch {
			case d == 500*time.Millisecond:
				slow++
			case d < 20*time.Millisecond || d > 60*time.Millisecond:
				t.Fatalf("delay %v outside 40 ms ± 20 ms", d)
			case d < 40*time.Millisecond:
				lo++
			default:
				hi++
			}
			seen[d] = true
		}
		require.InDelta(t, 20, slow, 12, "about 1 %% slow")
		require.InDelta(t, lo, hi, n/10, "jitter on both sides")
		require.Greater(t, len(seen), 100, "jitter is spread, not a few values")
	})
}

func TestLatencyPerMethod(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := NewServer(WithoutListener(),
			WithLatency(Latency{Base: 100 * time.Millisecond}),
			WithLatency(Latency{Base: 2 * time.Second}, "SendMessage"))
		defer srv.Close()
		ann := srv.NewUser("Ann")
		start := time.Now()
		require.True(t, callJSON(t, srv, "getMe", nil).OK)
		require.Equal(t, 100*time.Millisecond, time.Since(start))
		start = time.Now()
		require.True(t, send(t, srv, ann.ID).OK)
		require.Equal(t, 2*time.Second, time.Since(start))
		require.Equal(t, start.Add(time.Second), srv.Sent()[0].At, "performed when the request arrived")

		require.NoError(t, srv.SetLatency(Latency{}, "sendmessage"))
		start = time.Now()
		require.True(t, send(t, srv, srv.NewUser("Bob").ID).OK)
		require.Zero(t, time.Since(start))
	})
}

func TestLatencyOverlaps(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := NewServer(WithoutListener(), WithLatency(Latency{Base: 100 * time.Millisecond, Jitter: 90 * time.Millisecond}))
		defer srv.Close()
		start := time.Now()
		var wg sync.WaitGroup
		for range 50 {
			wg.Go(func() { require.True(t, callJSON(t, srv, "getMe", nil).OK) })
		}
		wg.Wait()
		require.LessOrEqual(t, time.Since(start), 190*time.Millisecond, "calls overlap")
	})
}

func TestLatencyInvalid(t *testing.T) {
	require.Panics(t, func() { NewServer(WithLatency(Latency{Base: -1})) })
	require.Panics(t, func() { NewServer(WithLatency(Latency{Slow: 2})) })
	srv := setup(t, WithoutListener())
	require.Error(t, srv.SetLatency(Latency{Jitter: -time.Second}))
}

func TestLatencyWebhookDelivery(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		got := make(chan time.Time, 1)
		hook := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got <- time.Now() })
		srv := NewServer(WithoutListener(), WithWebhookTransport(HandlerTransport(hook)),
			WithLatency(Latency{Base: 10 * time.Millisecond}), WithWebhookLatency(Latency{Base: 700 * time.Millisecond}))
		defer srv.Close()
		require.True(t, callJSON(t, srv, "setWebhook", map[string]any{"url": "https://bot.example/hook"}).OK)
		start := time.Now()
		srv.SendUserMessage(srv.NewUser("Ann"), "hi")
		require.Equal(t, 700*time.Millisecond, (<-got).Sub(start))
	})
}

// TestVirtualClockDrivesEveryWait runs latency, a long poll and the
// pre-checkout deadline on a virtual clock, outside any synctest bubble:
// nothing sleeps real time, the test advances the clock.
func TestVirtualClockDrivesEveryWait(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	vc := NewVirtualClock(t0)
	srv := setup(t, WithVirtualClock(vc), WithLatency(Latency{Base: time.Hour}))
	ann := srv.NewUser("Ann")

	done := make(chan answer, 1)
	go func() { done <- callJSON(t, srv, "getMe", nil) }()
	require.NoError(t, vc.BlockUntil(t.Context(), 1))
	vc.Advance(30 * time.Minute) // the request arrives
	require.NoError(t, vc.BlockUntil(t.Context(), 1))
	require.Equal(t, t0.Add(30*time.Minute), srv.Requests("getMe")[0].At)
	select {
	case <-done:
		t.Fatal("answered before the latency passed")
	default:
	}
	vc.Advance(30 * time.Minute)
	require.True(t, (<-done).OK)

	// A long poll of 50 s ends when the clock passes it.
	require.NoError(t, srv.SetLatency(Latency{}))
	go func() { done <- callJSON(t, srv, "getUpdates", map[string]any{"timeout": 50}) }()
	require.NoError(t, vc.BlockUntil(t.Context(), 1))
	vc.Advance(49 * time.Second)
	select {
	case <-done:
		t.Fatal("the long poll ended early")
	default:
	}
	vc.Advance(time.Second)
	a := <-done
	require.True(t, a.OK)
	require.JSONEq(t, "[]", string(a.Result))

	// Pay's pre-checkout deadline.
	var link string
	callJSON(t, srv, "createInvoiceLink", map[string]any{"title": "T", "description": "D", "payload": "p", "currency": "XTR", "prices": []map[string]any{{"label": "x", "amount": 5}}}).decode(t, &link)
	errc := make(chan error, 1)
	inv, ok := srv.InvoiceByLink(link)
	require.True(t, ok)
	go func() { _, err := srv.Pay(t.Context(), ann, inv); errc <- err }()
	require.NoError(t, vc.BlockUntil(t.Context(), 1))
	vc.Advance(PreCheckoutDeadline)
	require.ErrorIs(t, <-errc, ErrPreCheckoutTimeout)

	// Timestamps come from the virtual clock.
	id := srv.SendUserMessage(ann, "hi")
	msgs := srv.Messages(ann.ID)
	require.Equal(t, id, msgs[len(msgs)-1].MessageID)
	require.Equal(t, vc.Now().Unix(), msgs[len(msgs)-1].Date)
}

func TestVirtualClockAdvanceToNext(t *testing.T) {
	vc := NewVirtualClock(time.Unix(0, 0))
	require.False(t, vc.AdvanceToNext())
	c1, _ := vc.timer(2 * time.Second)
	c2, stop2 := vc.timer(time.Second)
	c3, _ := vc.timer(3 * time.Second)
	stop2()
	require.Equal(t, 2, vc.Pending())
	require.True(t, vc.AdvanceToNext())
	require.Equal(t, time.Unix(2, 0), <-c1)
	select {
	case <-c2:
		t.Fatal("a stopped timer fired")
	case <-c3:
		t.Fatal("fired early")
	default:
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	require.ErrorIs(t, vc.BlockUntil(ctx, 5), context.Canceled)
}

// TestCloseOnVirtualClock: calls and deliveries waiting on a virtual clock
// end at Close, and no goroutine is left (synctest fails a test that
// leaves one blocked).
func TestCloseOnVirtualClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		vc := NewVirtualClock(time.Unix(0, 0))
		hook := &hookRecorder{failures: 100}
		srv := NewServer(WithoutListener(), WithVirtualClock(vc), WithWebhookTransport(HandlerTransport(hook)),
			WithLatency(Latency{Base: time.Hour}, "getMe"), WithWebhookLatency(Latency{Base: time.Hour}))
		require.True(t, callJSON(t, srv, "setWebhook", map[string]any{"url": "https://bot.example/hook"}).OK)
		srv.SendUserMessage(srv.NewUser("Ann"), "hi")
		errc := make(chan error, 1)
		go func() {
			resp, err := srv.HTTPClient().Get(methodURL(srv, "getMe"))
			if err == nil {
				resp.Body.Close()
			}
			errc <- err
		}()
		synctest.Wait()
		require.Equal(t, 2, vc.Pending(), "the call and the delivery wait on the virtual clock")
		srv.Close()
		require.Error(t, <-errc, "the waiting call is dropped at Close")
	})
}
