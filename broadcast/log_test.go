package broadcast_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/miniappkit/miniappkit/botapi/botapitest"
	"github.com/miniappkit/miniappkit/broadcast"
	"github.com/miniappkit/miniappkit/broadcast/logtest"
	"github.com/stretchr/testify/require"
)

func TestMemoryLog(t *testing.T) {
	logtest.Run(t, func(*testing.T) broadcast.Log { return &broadcast.MemoryLog{} })
}

// crashLog is a log whose process "dies" at a point: from then on no call
// reaches the log underneath, as after a SIGKILL.
type crashLog struct {
	broadcast.Log
	dead atomic.Bool
}

func (c *crashLog) Start(ctx context.Context, id, run string, i int) error {
	if c.dead.Load() {
		return context.Canceled
	}
	return c.Log.Start(ctx, id, run, i)
}

func (c *crashLog) Finish(ctx context.Context, id, run string, i int, o broadcast.Outcome) error {
	if c.dead.Load() {
		return nil // lost with the process
	}
	return c.Log.Finish(ctx, id, run, i, o)
}

func (c *crashLog) Renew(ctx context.Context, id, run string, lease time.Duration) error {
	if c.dead.Load() {
		return context.Canceled
	}
	return c.Log.Renew(ctx, id, run, lease)
}

func (c *crashLog) Release(ctx context.Context, id, run string) error {
	if c.dead.Load() {
		return nil // lost with the process: the lease expires
	}
	return c.Log.Release(ctx, id, run)
}

// Defect 6: a broadcast killed several times with sends in flight, each
// time resumed from its log: no chat gets the message twice, every entry
// ends delivered or Unknown (in flight at a kill), and the Unknown count is
// at most the kills × the concurrency. The killed run's lease on the id
// is not released: the next run is refused (ErrRunning) until it expires,
// then proceeds.
func TestLogCrashResume(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSimWith(t, botapitest.Latency{Base: 300 * time.Millisecond, Jitter: 100 * time.Millisecond})
		chats := s.users(1200)
		durable := &broadcast.MemoryLog{}
		const kills = 5
		const lease = 2 * time.Second
		outcomes := map[int]broadcast.Outcome{}
		var mu sync.Mutex
		record := func(cl *crashLog) broadcast.Option {
			return broadcast.WithResult(func(r broadcast.Result) {
				if cl.dead.Load() {
					return // the process is gone: nobody hears of it
				}
				mu.Lock()
				defer mu.Unlock()
				require.NotContains(t, outcomes, r.Index, "entry %d reported twice", r.Index)
				outcomes[r.Index] = r.Outcome
				if r.Outcome == broadcast.Unknown {
					require.ErrorIs(t, r.Err, broadcast.ErrInterrupted)
				}
			})
		}
		for k := 0; ; k++ {
			cl := &crashLog{Log: durable}
			ctx, cancel := context.WithCancel(t.Context())
			if k < kills {
				go func() {
					time.Sleep(time.Duration(3+k) * time.Second)
					cl.dead.Store(true) // the process dies: its log calls are lost
					cancel()
				}()
			}
			var err error
			waited := time.Duration(0)
			for {
				_, err = broadcast.Run(ctx, s.sched, chats, text(s.client), record(cl), broadcast.WithLog(cl, "news"), broadcast.WithLease(lease))
				if !errors.Is(err, broadcast.ErrRunning) {
					break
				}
				time.Sleep(100 * time.Millisecond)
				waited += 100 * time.Millisecond
			}
			cancel()
			if k > 0 {
				// The killed run's lease ran out before the next run began.
				require.Positive(t, waited, "run %d started while the killed run's lease was live", k)
				require.LessOrEqual(t, waited, lease+100*time.Millisecond)
			}
			if k == kills {
				require.NoError(t, err)
				break
			}
		}
		perChat := map[int64]int{}
		for _, m := range s.srv.Sent() {
			perChat[m.ChatID]++
		}
		unknown := 0
		for i, c := range chats {
			require.LessOrEqual(t, perChat[c], 1, "chat %d got the message twice", c)
			switch outcomes[i] {
			case broadcast.Delivered:
				require.Equal(t, 1, perChat[c])
			case broadcast.Unknown:
				unknown++
			default:
				t.Fatalf("entry %d: outcome %v", i, outcomes[i])
			}
		}
		t.Logf("%d kills, 1200 chats, 300 ms round trips: 0 duplicates, %d Unknown (in flight at a kill; at most %d)", kills, unknown, kills*broadcast.DefaultConcurrency)
		require.LessOrEqual(t, unknown, kills*broadcast.DefaultConcurrency)
		require.Positive(t, unknown, "kills landed with sends in flight")
	})
}
