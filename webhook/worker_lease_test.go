package webhook

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/miniappkit/miniappkit/botapi"
	"github.com/stretchr/testify/require"
)

// extendDownStore fails every Extend while down is set: a store outage
// that outlasts a running handler's lease.
type extendDownStore struct {
	Store
	down atomic.Bool
}

func (s *extendDownStore) Extend(ctx context.Context, key, owner string, lease time.Duration) error {
	if s.down.Load() {
		return errStoreDown
	}
	return s.Store.Extend(ctx, key, owner, lease)
}

// TestWorkerLeaseLostConsumesNoAttempt: a store outage during a run, long
// enough for the claim's lease to pass, cancels the handler's context (the
// claim can no longer be counted on); the handler's resulting error is the
// outage's, not the update's, so it neither counts as an attempt nor
// dead-letters the update. Before, it was a failed attempt: on the last
// one, a store outage dead-lettered the update.
func TestWorkerLeaseLostConsumesNoAttempt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := NewMemoryQueue(8)
		store := &extendDownStore{Store: NewMemoryStore(8)}
		store.down.Store(true)
		var runs atomic.Int32
		w := mustWorker(t, q, UpdateHandlerFunc(func(ctx context.Context, _ *botapi.Update) error {
			if runs.Add(1) == 1 {
				<-ctx.Done() // a long run; the outage makes the lease pass
				store.down.Store(false)
				return ctx.Err()
			}
			return nil
		}), WithStore(store), WithLease(MinLease), WithMaxAttempts(1))
		push(t, q, 5)
		q.Close()
		require.NoError(t, w.Run(t.Context(), 1))
		require.Equal(t, int32(2), runs.Load(), "run again once the store is back")
		dead, err := q.DeadLetters(t.Context(), 10)
		require.NoError(t, err)
		require.Empty(t, dead, "a store outage dead-letters nothing")
	})
}
