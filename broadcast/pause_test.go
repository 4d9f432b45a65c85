package broadcast_test

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/miniappkit/miniappkit/broadcast"
	"github.com/miniappkit/miniappkit/ratelimit"
	"github.com/stretchr/testify/require"
)

// countingStore counts the scheduler's reservations: on a shared store
// (store/redis) each is a round trip.
type countingStore struct {
	*ratelimit.MemoryStore
	reserves atomic.Int64
}

func (c *countingStore) Reserve(ctx context.Context, now time.Time, cells []ratelimit.Cell, ready int, maxWait time.Duration) (ratelimit.Verdict, error) {
	c.reserves.Add(1)
	return c.MemoryStore.Reserve(ctx, now, cells, ready, maxWait)
}

// While the whole bot is paused (a 429 on a call not tied to a chat, or
// on several chats at once: retry_after an hour), the run waits for the
// pause instead of walking the list: every chat is blocked alike. Before
// the fix the workers took every entry of the list, asked the store for
// each (20 000 reservations within the first minute, a round trip each on
// Redis) and kept them all waiting in memory; after the pause the
// broadcast goes on.
func TestBotWidePauseDoesNotWalkList(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := &countingStore{MemoryStore: ratelimit.NewMemoryStore()}
		sched, err := ratelimit.NewTelegram(ratelimit.WithStore(st))
		require.NoError(t, err)
		sched.Backoff(0, time.Hour)
		chats := make([]int64, 20_000)
		for i := range chats {
			chats[i] = int64(i + 1)
		}
		ctx, cancel := context.WithTimeout(t.Context(), time.Hour+10*time.Second)
		defer cancel()
		var duringPause atomic.Int64
		duringPause.Store(-1)
		go func() {
			time.Sleep(time.Minute)
			duringPause.Store(st.reserves.Load())
		}()
		var sends atomic.Int64
		sum, err := broadcast.Run(ctx, sched, chats, func(context.Context, int64) error {
			sends.Add(1)
			return nil
		})
		require.ErrorIs(t, err, context.DeadlineExceeded)
		n := duringPause.Load()
		t.Logf("reservations in the paused hour's first minute: %d; sends in the 10 s after it: %d", n, sends.Load())
		require.GreaterOrEqual(t, n, int64(0))
		require.LessOrEqual(t, n, int64(4*broadcast.DefaultConcurrency), "the list was walked during the pause")
		require.Positive(t, sum.Delivered, "the broadcast goes on after the pause")
	})
}
