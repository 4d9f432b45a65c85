package broadcast_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/miniappkit/miniappkit/botapi/botapitest"
	"github.com/miniappkit/miniappkit/broadcast"
	"github.com/miniappkit/miniappkit/ratelimit"
	"github.com/stretchr/testify/require"
)

// Two runs of one broadcast id at once on one log (an old pod still alive
// during a rolling restart, each with its own scheduler and client): no
// chat gets the message twice. The run that comes second finds the id
// taken (ErrRunning) and sends nothing.
func TestTwoRunsOneID(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := newSimWith(t, botapitest.Latency{Base: 40 * time.Millisecond, Jitter: 20 * time.Millisecond})
		chats := a.users(300)
		b := newSimWith(t, a.lat)
		b.srv = a.srv // one Telegram
		b.client = newClient(a.srv)
		log := &broadcast.MemoryLog{}
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for k, s := range []*sim{a, b} {
			wg.Go(func() {
				_, errs[k] = broadcast.Run(t.Context(), s.sched, chats, text(s.client), broadcast.WithLog(log, "news"))
			})
		}
		wg.Wait()
		perChat := map[int64]int{}
		for _, m := range a.srv.Sent() {
			perChat[m.ChatID]++
		}
		for _, c := range chats {
			require.LessOrEqual(t, perChat[c], 1, "chat %d got the message twice", c)
		}
		require.Len(t, perChat, len(chats), "every chat got the message")
		failed := 0
		for _, err := range errs {
			if err != nil {
				require.ErrorIs(t, err, broadcast.ErrRunning)
				failed++
			}
		}
		require.Equal(t, 1, failed, "one run owns the id, the other is refused: %v", errors.Join(errs...))
	})
}

// stuckRenew is a log whose Renew never reaches the engine, as for a
// process paused (or cut off) past its lease.
type stuckRenew struct{ broadcast.Log }

func (stuckRenew) Renew(context.Context, string, string, time.Duration) error {
	return errors.New("engine unreachable")
}

// A run that cannot renew its lease, whose broadcast another run then
// takes over, stops with ErrLeaseLost: after the takeover it starts no
// send but those it had marked in flight before it (at most one per
// worker), and the new run finds each of those in flight.
func TestRunStopsWhenLeaseLost(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mem := &broadcast.MemoryLog{}
		chats := make([]int64, 2000)
		for i := range chats {
			chats[i] = int64(i + 1)
		}
		var (
			mu        sync.Mutex
			taken     bool
			after     []int64 // sends begun after the takeover
			inFlight  []broadcast.LogEntry
			takenDone = make(chan struct{})
		)
		send := func(_ context.Context, chat int64) error {
			mu.Lock()
			if taken {
				after = append(after, chat)
			}
			mu.Unlock()
			time.Sleep(50 * time.Millisecond)
			return nil
		}
		go func() {
			defer close(takenDone)
			time.Sleep(3 * time.Second) // the lease (1 s) has expired by now
			for {
				mu.Lock()
				got, err := mem.Open(t.Context(), "news", broadcast.Fingerprint(chats), "other", time.Minute)
				if err == nil {
					taken, inFlight = true, got
					mu.Unlock()
					return
				}
				mu.Unlock()
				if !errors.Is(err, broadcast.ErrRunning) {
					t.Errorf("Open while the stuck run holds the id: %v", err)
					return
				}
				time.Sleep(100 * time.Millisecond)
			}
		}()
		sched, err := ratelimit.NewTelegram()
		require.NoError(t, err)
		sum, err := broadcast.Run(t.Context(), sched, chats, send,
			broadcast.WithLog(stuckRenew{mem}, "news"), broadcast.WithLease(time.Second))
		require.ErrorIs(t, err, broadcast.ErrLeaseLost)
		<-takenDone
		require.Less(t, sum.Done, len(chats), "the run stopped")
		require.LessOrEqual(t, len(after), broadcast.DefaultConcurrency)
		open := map[int64]bool{}
		for _, e := range inFlight {
			if e.Outcome == 0 {
				open[chats[e.Index]] = true
			}
		}
		for _, c := range after {
			require.True(t, open[c], "chat %d was sent after the takeover, not marked in flight before it", c)
		}
	})
}

func TestLeaseTooShort(t *testing.T) {
	sched, err := ratelimit.NewTelegram()
	require.NoError(t, err)
	_, err = broadcast.Run(t.Context(), sched, []int64{1}, func(context.Context, int64) error { return nil },
		broadcast.WithLog(&broadcast.MemoryLog{}, "b"), broadcast.WithLease(time.Millisecond))
	require.ErrorContains(t, err, "lease must be at least")
}

// lostOpenReply is a log whose Open reaches the engine (the lease is
// taken) but whose reply is lost on the way back, as for a connection
// reset after the commit.
type lostOpenReply struct{ broadcast.Log }

func (l lostOpenReply) Open(ctx context.Context, id, list, run string, lease time.Duration) ([]broadcast.LogEntry, error) {
	if _, err := l.Log.Open(ctx, id, list, run, lease); err != nil {
		return nil, err
	}
	return nil, errors.New("connection reset by peer")
}

// A run whose Open failed after the engine took the lease sent nothing
// and holds nothing: it gives the lease back (fenced by its token), so the
// retry that follows at once is not refused with ErrRunning for a whole
// lease by a run that never started.
func TestOpenErrorReleasesLease(t *testing.T) {
	sched, err := ratelimit.NewTelegram()
	require.NoError(t, err)
	mem := &broadcast.MemoryLog{}
	sent := 0
	send := func(context.Context, int64) error { sent++; return nil }
	chats := []int64{1, 2, 3}
	_, err = broadcast.Run(t.Context(), sched, chats, send, broadcast.WithLog(lostOpenReply{mem}, "b"))
	require.ErrorContains(t, err, "connection reset")
	require.Zero(t, sent)
	// The retry (a new run, a new token) with the default 30 s lease.
	s, err := broadcast.Run(t.Context(), sched, chats, send, broadcast.WithLog(mem, "b"))
	require.NoError(t, err, "the failed Open's lease still holds the id")
	require.Equal(t, 3, s.Delivered)
	require.Equal(t, 3, sent)
}
