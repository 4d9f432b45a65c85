package broadcast_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/miniappkit/miniappkit/botapi"
	"github.com/miniappkit/miniappkit/botapi/botapitest"
	"github.com/miniappkit/miniappkit/broadcast"
	"github.com/stretchr/testify/require"
)

// meter is the client's transport in the simulations: it passes requests
// to the fake Telegram (whose WithLatency is the network) and records the
// time each one spends there, for the calls that ask (withNetTime).
type meter struct{ rt http.RoundTripper }

// netTimeKey is the context key of a *time.Duration that RoundTrip adds
// the request's time on the network to.
type netTimeKey struct{}

// withNetTime returns ctx recording the network time of its requests in d.
func withNetTime(ctx context.Context, d *time.Duration) context.Context {
	return context.WithValue(ctx, netTimeKey{}, d)
}

func (m meter) RoundTrip(r *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := m.rt.RoundTrip(r)
	if d, ok := r.Context().Value(netTimeKey{}).(*time.Duration); ok {
		*d += time.Since(start)
	}
	return resp, err
}

// maxRoundTrip is the longest a call can take with latency l.
func maxRoundTrip(l botapitest.Latency) time.Duration {
	return max(l.Base+l.Jitter, l.SlowDelay)
}

// requestsAfter counts the sendMessage calls that reached the fake after t.
func requestsAfter(srv *botapitest.Server, t time.Time) int {
	n := 0
	for _, r := range srv.Requests("sendMessage") {
		if r.At.After(t) {
			n++
		}
	}
	return n
}

// Defect 1 and 2: chats answering 429 with an hour's retry_after hold no
// worker: the other chats finish at the usual pace; cancelled then, those
// entries are not finished (nothing was delivered), and a resume sends
// them.
func TestRetryAfterHoldsNoWorker(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSimWith(t, botapitest.Latency{Base: 40 * time.Millisecond})
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
		require.LessOrEqual(t, othersDone, latencyBound(600))
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
		s := newSimWith(t, botapitest.Latency{Base: 40 * time.Millisecond})
		chats := s.users(300)
		s.srv.AddFault(botapitest.FaultRule{Method: "sendMessage", ChatID: chats[5], Times: 1, Fault: botapitest.FaultTooManyRequests(20)})
		ctx, cancel := context.WithCancel(t.Context())
		var cancelledAt time.Time
		go func() {
			time.Sleep(3 * time.Second)
			cancelledAt = time.Now()
			cancel()
		}()
		_, err := broadcast.Run(ctx, s.sched, chats, text(s.client))
		require.ErrorIs(t, err, context.Canceled)
		returned := time.Since(cancelledAt)
		time.Sleep(time.Minute) // any retry the client still had in mind
		late := requestsAfter(s.srv, cancelledAt)
		t.Logf("Run returned %v after cancel; requests reaching Telegram after cancel: %d", returned, late)
		require.LessOrEqual(t, returned, 100*time.Millisecond)
		require.LessOrEqual(t, late, broadcast.DefaultConcurrency, "only requests already on the wire")
		require.Len(t, sendTimes(s.srv, chats[5]), 1, "the 429'd chat was not retried after cancel")
	})
}

// Defect 4: with 40 ms latency and jitter, Telegram sees sends spaced as
// they were sent, give or take the jitter: the scheduler's margin keeps
// every window within the limit.
func TestJitterNo429(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSimWith(t, botapitest.Latency{Base: 80 * time.Millisecond, Jitter: 10 * time.Millisecond})
		chats := s.users(1500)
		start := time.Now()
		sum, err := broadcast.Run(t.Context(), s.sched, chats, text(s.client))
		require.NoError(t, err)
		makespan := time.Since(start)
		st := s.srv.Stats()
		t.Logf("1500 chats, latency 40 ms ± 5 ms each way: 429s=%d makespan=%v ratio=%.3f", st.TooManyRequests, makespan, float64(makespan)/float64(lowerBound(1500)))
		require.Zero(t, st.TooManyRequests)
		require.Equal(t, len(chats), sum.Delivered)
		require.LessOrEqual(t, makespan, latencyBound(1500))
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

// Defect 5: a slow result callback holds up only the callbacks, not the
// sends: the other workers keep sending while it runs.
func TestCallbacksOutsideLock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSimWith(t, botapitest.Latency{Base: 40 * time.Millisecond})
		chats := s.users(100)
		sentMeanwhile := -1
		_, err := broadcast.Run(t.Context(), s.sched, chats, text(s.client), broadcast.WithResult(func(r broadcast.Result) {
			if sentMeanwhile >= 0 {
				return
			}
			before := len(s.srv.Sent())
			for range 100 { // a slow callback: up to 10 s
				time.Sleep(100 * time.Millisecond)
				if len(s.srv.Sent())-before >= 5 {
					break
				}
			}
			sentMeanwhile = len(s.srv.Sent()) - before
		}))
		require.NoError(t, err)
		t.Logf("sends during a slow result callback: %d", sentMeanwhile)
		require.GreaterOrEqual(t, sentMeanwhile, 5)
	})
}

// dialFails fails the first request for one chat as a connect that never
// happened.
type dialFails struct {
	rt     http.RoundTripper
	chat   string
	failed atomic.Bool
}

func (d *dialFails) RoundTrip(r *http.Request) (*http.Response, error) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	if bytes.Contains(body, []byte(`"chat_id":`+d.chat)) && d.failed.CompareAndSwap(false, true) {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
	}
	return d.rt.RoundTrip(r)
}

// Defect 2: a failed connect is "not sent": the entry is sent again, once,
// and ends delivered.
func TestFailedConnectIsResent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSimWith(t, botapitest.Latency{Base: 40 * time.Millisecond})
		chats := s.users(50)
		df := &dialFails{rt: meter{s.srv.Transport()}, chat: strconv.FormatInt(chats[7], 10)}
		client := botapi.New(s.srv.Token(), botapi.WithBaseURL(s.srv.URL()),
			botapi.WithHTTPClient(&http.Client{Transport: df}), botapi.WithLimiter(s.sched))
		got := map[int64]broadcast.Outcome{}
		sum, err := broadcast.Run(t.Context(), s.sched, chats, text(client), broadcast.WithResult(func(r broadcast.Result) { got[r.ChatID] = r.Outcome }))
		require.NoError(t, err)
		require.True(t, df.failed.Load(), "the connect failed once")
		require.Equal(t, broadcast.Delivered, got[chats[7]])
		require.Equal(t, len(chats), sum.Delivered)
		require.Len(t, sendTimes(s.srv, chats[7]), 1, "one message")
	})
}

// quickRefusal is dialFails whose refused connect takes 100 µs, as for a
// local Bot API server or proxy that is down.
type quickRefusal struct{ dialFails }

func (d *quickRefusal) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := d.dialFails.RoundTrip(r)
	if err != nil {
		time.Sleep(100 * time.Microsecond)
	}
	return resp, err
}

// A connect refused in 100 µs (a client that does not retry, MaxAttempts
// 1) is not a round trip: the scheduler must not learn from it that
// Telegram answers in 100 µs, or every send slower than that by more than
// 2.25 margins counts as overdue and holds bot-wide slots for a window,
// for as long as the scheduler lives. Before the fix that refusal took
// 900 chats at 40 ms ± 20 ms from 1.055 to 1.487 × n/30 (2 944 late
// holds).
func TestQuickRefusalTeachesNoRoundTrip(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSimWith(t, botapitest.Latency{Base: 40 * time.Millisecond, Jitter: 20 * time.Millisecond})
		chats := s.users(900)
		df := &quickRefusal{dialFails{rt: meter{s.srv.Transport()}, chat: strconv.FormatInt(chats[0], 10)}}
		client := botapi.New(s.srv.Token(), botapi.WithBaseURL(s.srv.URL()),
			botapi.WithHTTPClient(&http.Client{Transport: df}), botapi.WithLimiter(s.sched),
			botapi.WithRetry(botapi.RetryPolicy{MaxAttempts: 1}))
		start := time.Now()
		sum, err := broadcast.Run(t.Context(), s.sched, chats, text(client))
		makespan := time.Since(start)
		require.NoError(t, err)
		require.True(t, df.failed.Load(), "the connect was refused")
		require.Equal(t, len(chats), sum.Delivered)
		st := s.sched.Stats()
		t.Logf("900 chats after a connect refused in 100 µs: makespan %v = %.3f × n/30, %d late holds", makespan, float64(makespan)/float64(lowerBound(900)), st.LateHolds)
		require.LessOrEqual(t, makespan, latencyBound(900))
		require.Less(t, st.LateHolds, int64(100))
	})
}
