package broadcast_test

import (
	"context"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/miniappkit/miniappkit/botapi"
	"github.com/miniappkit/miniappkit/botapi/botapitest"
	"github.com/miniappkit/miniappkit/broadcast"
	"github.com/miniappkit/miniappkit/ratelimit"
	"github.com/stretchr/testify/require"
)

// latency is a network between the client and the fake Telegram: each
// request reaches the fake after a one-way delay, and its answer comes
// back after another; Telegram counts a send when it arrives.
type latency struct {
	base, jitter time.Duration // one way: base ± jitter, uniform
	slow         float64       // share of requests delayed by slowBy more
	slowBy       time.Duration
	rt           http.RoundTripper

	mu  sync.Mutex
	rng *rand.Rand

	requests atomic.Int64 // requests that reached the fake
	stopped  atomic.Bool
	late     atomic.Int64 // requests that reached the fake after stop
}

func (l *latency) delay() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	d := l.base
	if l.jitter > 0 {
		d += time.Duration(l.rng.Int64N(int64(2*l.jitter+1))) - l.jitter
	}
	if l.slow > 0 && l.rng.Float64() < l.slow {
		d += l.slowBy
	}
	return d
}

func (l *latency) RoundTrip(r *http.Request) (*http.Response, error) {
	if err := sleepCtx(r.Context(), l.delay()); err != nil {
		return nil, err
	}
	l.requests.Add(1)
	if l.stopped.Load() {
		l.late.Add(1)
	}
	resp, err := l.rt.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	if err := sleepCtx(r.Context(), l.delay()); err != nil {
		resp.Body.Close()
		return nil, err
	}
	return resp, nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// newLatencySim is newSim behind a network with latency.
func newLatencySim(t *testing.T, l *latency, schedOpts ...ratelimit.Option) *sim {
	t.Helper()
	s := newSim(t, schedOpts...)
	l.rt = s.srv.Transport()
	if l.rng == nil {
		l.rng = rand.New(rand.NewPCG(7, 7))
	}
	s.client = botapi.New(s.srv.Token(), botapi.WithBaseURL(s.srv.URL()),
		botapi.WithHTTPClient(&http.Client{Transport: l}), botapi.WithLimiter(s.sched))
	return s
}

// Defect 1 and 2: chats answering 429 with an hour's retry_after hold no
// worker: the other chats finish at the usual pace; cancelled then, those
// entries are not finished (nothing was delivered), and a resume sends
// them.
func TestRetryAfterHoldsNoWorker(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := &latency{base: 20 * time.Millisecond}
		s := newLatencySim(t, l)
		chats := s.users(600)
		blocked := map[int64]bool{}
		for i := 10; i < len(chats) && len(blocked) < 16; i += 37 { // apart: no evidence of a bot-wide flood
			c := chats[i]
			blocked[c] = true
			s.srv.AddFault(botapitest.FaultRule{Method: "sendMessage", ChatID: c, Times: 1, Fault: botapitest.FaultTooManyRequests(3600)})
		}
		ctx, cancel := context.WithCancel(t.Context())
		var others atomic.Int64
		var reported []broadcast.Result
		start := time.Now()
		var othersDone time.Duration
		sum, err := broadcast.Run(ctx, s.sched, chats, text(s.client), broadcast.WithResult(func(r broadcast.Result) {
			if blocked[r.ChatID] {
				reported = append(reported, r)
				return
			}
			if others.Add(1) == int64(len(chats)-len(blocked)) {
				othersDone = time.Since(start)
				cancel()
			}
		}))
		require.ErrorIs(t, err, context.Canceled)
		t.Logf("600 chats, 16 answering retry_after 3600: the other 584 done in %v (bound %v)", othersDone, bound(600))
		require.NotZero(t, othersDone)
		require.LessOrEqual(t, othersDone, bound(600))
		require.Empty(t, reported, "a 429 proves nothing was delivered: no outcome yet")
		require.Equal(t, len(chats)-len(blocked), sum.Done)

		// Resume after the hour: the 16 are sent, nothing else.
		time.Sleep(time.Hour)
		before := len(s.srv.Sent())
		second, err := broadcast.Run(t.Context(), s.sched, chats, text(s.client), broadcast.WithCursor(sum.Cursor))
		require.NoError(t, err)
		require.Equal(t, len(blocked), second.Delivered)
		require.Len(t, s.srv.Sent(), before+len(blocked))
	})
}

// Defect 3: after cancel no new request starts, the client's own 429
// retry included, and Run returns within a round trip.
func TestCancelStopsClientRetry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := &latency{base: 20 * time.Millisecond}
		s := newLatencySim(t, l)
		chats := s.users(300)
		s.srv.AddFault(botapitest.FaultRule{Method: "sendMessage", ChatID: chats[5], Times: 1, Fault: botapitest.FaultTooManyRequests(20)})
		ctx, cancel := context.WithCancel(t.Context())
		var cancelledAt time.Time
		go func() {
			time.Sleep(3 * time.Second)
			cancelledAt = time.Now()
			l.stopped.Store(true)
			cancel()
		}()
		_, err := broadcast.Run(ctx, s.sched, chats, text(s.client))
		require.ErrorIs(t, err, context.Canceled)
		returned := time.Since(cancelledAt)
		time.Sleep(time.Minute) // any retry the client still had in mind
		t.Logf("Run returned %v after cancel; requests after cancel: %d", returned, l.late.Load())
		require.LessOrEqual(t, returned, 100*time.Millisecond)
		require.LessOrEqual(t, l.late.Load(), int64(broadcast.DefaultConcurrency), "only requests already on the wire")
		require.Len(t, sendTimes(s.srv, chats[5]), 1, "the 429'd chat was not retried after cancel")
	})
}

// Defect 4: with 40 ms latency and jitter, Telegram sees sends spaced as
// they were sent, give or take the jitter: the scheduler's margin keeps
// every window within the limit.
func TestJitterNo429(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := &latency{base: 40 * time.Millisecond, jitter: 5 * time.Millisecond}
		s := newLatencySim(t, l)
		chats := s.users(1500)
		start := time.Now()
		sum, err := broadcast.Run(t.Context(), s.sched, chats, text(s.client))
		require.NoError(t, err)
		makespan := time.Since(start)
		st := s.srv.Stats()
		t.Logf("1500 chats, latency 40 ms ± 5 ms: 429s=%d makespan=%v ratio=%.3f", st.TooManyRequests, makespan, float64(makespan)/float64(lowerBound(1500)))
		require.Zero(t, st.TooManyRequests)
		require.Equal(t, len(chats), sum.Delivered)
		require.LessOrEqual(t, makespan, bound(1500)+time.Second)
	})
}

// Defect 5: one chat pinned early (429, an hour) while the rest finish:
// the cursor stays small, and saving it on every progress call is cheap.
func TestCursorStaysSmall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSim(t)
		chats := s.users(3000)
		s.srv.AddFault(botapitest.FaultRule{Method: "sendMessage", ChatID: chats[0], Times: 1, Fault: botapitest.FaultTooManyRequests(3600)})
		ctx, cancel := context.WithCancel(t.Context())
		var biggest int
		_, err := broadcast.Run(ctx, s.sched, chats, text(s.client), broadcast.WithProgress(func(p broadcast.Progress) {
			biggest = max(biggest, len(p.Cursor().Done))
			if p.Done == len(chats)-1 {
				cancel()
			}
		}))
		require.ErrorIs(t, err, context.Canceled)
		t.Logf("largest cursor: %d runs", biggest)
		require.LessOrEqual(t, biggest, 2*broadcast.DefaultConcurrency)
	})
}
