package broadcast_test

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/miniappkit/miniappkit/botapi"
	"github.com/miniappkit/miniappkit/botapi/botapitest"
	"github.com/miniappkit/miniappkit/broadcast"
	"github.com/stretchr/testify/require"
)

// breaker is a small circuit breaker of the shape botapi.Breaker takes
// (sony/gobreaker's TwoStepCircuitBreaker): it opens after trip
// consecutive failures, stays open for cooldown, then lets one probe
// through (half-open): a success closes it, a failure opens it again.
type breaker struct {
	trip     int
	cooldown time.Duration

	mu       sync.Mutex
	failures int
	openedAt time.Time
	open     bool
	probing  bool
	probes   int
}

var errOpen = errors.New("breaker: open")

func (b *breaker) Allow() (func(error), error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.open {
		if time.Since(b.openedAt) < b.cooldown || b.probing {
			return nil, errOpen
		}
		b.probing = true
		b.probes++
	}
	return b.done, nil
}

func (b *breaker) done(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err == nil {
		b.failures, b.open, b.probing = 0, false, false
		return
	}
	b.failures++
	if b.probing || b.failures >= b.trip {
		b.open, b.probing, b.openedAt = true, false, time.Now()
	}
}

// A broadcast through a 30 s outage (Telegram answering 502) behind a
// circuit breaker: the calls the breaker refuses are a pause, not an
// outcome: every entry ends once, those refused are sent after the
// outage, nothing is delivered twice, and only the calls before the
// breaker opened and its probes reach Telegram during the outage. Before
// broadcast knew botapi.ErrCircuitOpen every refused entry ended Unknown.
func TestBroadcastThroughOutage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const outage, cooldown, trip = 30 * time.Second, 5 * time.Second, 5
		s := newSim(t)
		b := &breaker{trip: trip, cooldown: cooldown}
		client := botapi.New(s.srv.Token(), botapi.WithBaseURL(s.srv.URL()),
			botapi.WithHTTPClient(&http.Client{Transport: s.srv.Transport()}), botapi.WithLimiter(s.sched), botapi.WithBreaker(b))
		chats := s.users(3000)
		var from, to time.Time
		obs := &openCounter{}
		outcomes := make([]broadcast.Outcome, len(chats))
		sum, err := broadcast.Run(t.Context(), s.sched, chats, text(client), broadcast.WithResult(func(r broadcast.Result) {
			require.Zero(t, outcomes[r.Index], "entry %d reported twice", r.Index)
			outcomes[r.Index] = r.Outcome
		}), broadcast.WithObserver(obs), broadcast.WithProgress(func(p broadcast.Progress) {
			if p.Done == 300 && from.IsZero() { // ten seconds in
				remove := s.srv.AddFault(botapitest.FaultRule{Method: "sendMessage", Fault: botapitest.Fault{Kind: botapitest.FaultBadGateway}})
				from, to = time.Now(), time.Now().Add(outage)
				time.AfterFunc(outage, func() { remove() })
			}
		}))
		require.NoError(t, err)
		makespan := time.Since(from.Add(-10 * time.Second))

		perChat := map[int64]int{}
		for _, m := range s.srv.Sent() {
			perChat[m.ChatID]++
		}
		during := 0
		for _, r := range s.srv.Requests("sendMessage") {
			if !r.At.Before(from) && r.At.Before(to) {
				during++
			}
		}
		var recovered time.Duration // from the outage's end to the next delivery
		for _, m := range s.srv.Sent() {
			if !m.At.Before(to) {
				recovered = m.At.Sub(to)
				break
			}
		}
		t.Logf("outage %v, breaker opening after %d failures for %v: requests at the fake during the outage=%d (probes %d); refusals %d; first delivery %v after it ended; delivered=%d unknown=%d of %d; duplicates=%d; makespan=%v (lower bound %v + the outage)",
			outage, trip, cooldown, during, b.probes, obs.n.Load(), recovered, sum.Delivered, sum.Unknown, len(chats), len(s.srv.Sent())-len(perChat), makespan, lowerBound(len(chats)))
		require.LessOrEqual(t, recovered, cooldown+botapi.BreakerPollInterval+maxRoundTrip(s.lat), "back within one cooldown")
		require.Equal(t, len(chats), sum.Done)
		require.NotContains(t, outcomes, broadcast.Outcome(0), "every entry has an outcome")
		require.Equal(t, len(chats), sum.Delivered+sum.Unknown)
		require.Len(t, perChat, len(s.srv.Sent()), "nothing delivered twice")
		for i, o := range outcomes {
			want := 0
			if o == broadcast.Delivered {
				want = 1
			}
			require.Equal(t, want, perChat[chats[i]], "entry %d: %v", i, o)
		}
		// Only the calls that got a 502 are Unknown (the fake did not
		// perform them; a 502 may come after Telegram did): those in flight
		// when the breaker opened, and its probes.
		require.Equal(t, during, sum.Unknown)
		require.LessOrEqual(t, during, trip+broadcast.DefaultConcurrency+int(outage/cooldown)+1)
		require.LessOrEqual(t, b.probes, int(outage/cooldown)+2)
		// The run paused: one or two refusals per BreakerPollInterval, not
		// one per entry (unpaused, the workers would be refused at the
		// scheduler's 30 a second, 900 in the outage). A pause ends for
		// every waiting worker at once, and in that instant a second one
		// may take an entry before the first one's refusal pauses the run
		// again: in 220 runs under -race the refusals were 34 to 50, and
		// the bound of one per interval (46) failed 12 of them.
		require.Positive(t, obs.n.Load())
		require.LessOrEqual(t, obs.n.Load(), 2*int64(outage/botapi.BreakerPollInterval)+int64(broadcast.DefaultConcurrency))
		require.Zero(t, s.srv.Stats().TooManyRequests)
		checkWindows(t, s.srv.Sent())
	})
}

// openCounter counts the sends postponed because the circuit was open.
type openCounter struct{ n atomic.Int64 }

func (o *openCounter) ObserveSend(_ context.Context, e broadcast.SendEvent) {
	if e.Postponed == broadcast.PostponedCircuitOpen {
		o.n.Add(1)
	}
}
