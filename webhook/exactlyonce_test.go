package webhook

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miniappkit/miniappkit/botapi"
	"github.com/stretchr/testify/require"
)

// chaosStore fails a share of its calls, each before touching the store (a
// clean failure: the store is unchanged), like a network error on the way
// to the engine.
type chaosStore struct {
	Store
	percent int
	fails   atomic.Int64
}

var errChaos = errors.New("chaos: store call failed")

func (s *chaosStore) fail() bool {
	if rand.IntN(100) < s.percent {
		s.fails.Add(1)
		return true
	}
	return false
}

func (s *chaosStore) Claim(ctx context.Context, key, owner string, lease time.Duration, data []byte) (ClaimResult, error) {
	if s.fail() {
		return ClaimResult{}, errChaos
	}
	return s.Store.Claim(ctx, key, owner, lease, data)
}

func (s *chaosStore) Extend(ctx context.Context, key, owner string, lease time.Duration) error {
	if s.fail() {
		return errChaos
	}
	return s.Store.Extend(ctx, key, owner, lease)
}

func (s *chaosStore) Complete(ctx context.Context, key, owner string, ttl time.Duration, data []byte) error {
	if s.fail() {
		return errChaos
	}
	return s.Store.Complete(ctx, key, owner, ttl, data)
}

func (s *chaosStore) Release(ctx context.Context, key, owner string) error {
	if s.fail() {
		return errChaos
	}
	return s.Store.Release(ctx, key, owner)
}

// post delivers update id in memory and returns the status.
func post(h http.Handler, id int64) int {
	req := httptest.NewRequest(http.MethodPost, "/hook", strings.NewReader(updateBody(id)))
	req.Header.Set(HeaderSecretToken, testToken)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code
}

// TestExactlyOnceFailingStore: 64 senders deliver each of 1 000 update
// ids, retrying every answer but 200 as Telegram does, to a handler whose
// store fails 5 % of its calls: every update runs exactly once and every
// sender ends with a 200.
func TestExactlyOnceFailingStore(t *testing.T) {
	const senders, ids = 64, 1000
	store := &chaosStore{Store: NewMemoryStore(2 * ids), percent: 5}
	var perID [ids + 1]atomic.Int32
	h := mustHandler(t, testToken, UpdateHandlerFunc(func(ctx context.Context, u *botapi.Update) error {
		perID[u.UpdateID].Add(1)
		return nil
	}), WithStore(store), WithInFlightWait(time.Minute))
	var wg sync.WaitGroup
	var retries atomic.Int64
	for range senders {
		wg.Go(func() {
			for id := int64(1); id <= ids; id++ {
				for post(h, id) != http.StatusOK {
					retries.Add(1)
				}
			}
		})
	}
	wg.Wait()
	for id := 1; id <= ids; id++ {
		require.Equal(t, int32(1), perID[id].Load(), "update %d", id)
	}
	require.Positive(t, store.fails.Load())
	t.Logf("%d deliveries, %d store calls failed, %d redeliveries", senders*ids, store.fails.Load(), retries.Load())
}

// TestExactlyOnceAsyncFailingStore: the same deliveries through the
// asynchronous handler and 8 workers on a store failing 5 % of its calls,
// with the handler failing every run of 10 updates until they are fixed:
// those are buried in the queue's dead state after their attempts (none
// for the store's failures), re-driven once fixed, and then every update
// has run successfully exactly once: none lost.
func TestExactlyOnceAsyncFailingStore(t *testing.T) {
	const senders, ids, poison = 64, 1000, 10
	q := NewMemoryQueue(senders * ids)
	store := &chaosStore{Store: NewMemoryStore(2 * ids), percent: 5}
	var ok [ids + 1]atomic.Int32
	var fixed atomic.Bool
	h := mustHandler(t, testToken, nil, WithAsync(q), WithVolatileQueue())
	w := mustWorker(t, q, UpdateHandlerFunc(func(ctx context.Context, u *botapi.Update) error {
		if u.UpdateID%(ids/poison) == 0 && !fixed.Load() {
			return errors.New("poison")
		}
		ok[u.UpdateID].Add(1)
		return nil
	}), WithStore(store), WithMaxAttempts(3), WithBackoff(func(int) time.Duration { return time.Millisecond }))
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- w.Run(ctx, 8) }()

	var wg sync.WaitGroup
	for range senders {
		wg.Go(func() {
			for id := int64(1); id <= ids; id++ {
				for post(h, id) != http.StatusOK {
				}
			}
		})
	}
	wg.Wait()
	var dead []DeadLetter
	for len(dead) < poison { // the worker buries the poison updates in the end
		time.Sleep(10 * time.Millisecond)
		var err error
		dead, err = q.DeadLetters(t.Context(), 2*poison)
		require.NoError(t, err)
	}
	require.Len(t, dead, poison, "only the handler's failures dead-letter, never the store's")
	for _, d := range dead {
		require.Zero(t, d.ID%(ids/poison))
		require.Equal(t, 3, d.Attempts)
	}
	fixed.Store(true)
	for _, d := range dead {
		require.NoError(t, q.Redrive(t.Context(), d.ID))
	}
	q.Close()
	require.NoError(t, <-done)
	cancel()
	for id := 1; id <= ids; id++ {
		require.Equal(t, int32(1), ok[id].Load(), "update %d", id)
	}
	left, err := q.DeadLetters(t.Context(), 1)
	require.NoError(t, err)
	require.Empty(t, left)
	t.Logf("%d deliveries queued, %d store calls failed, %d updates re-driven", senders*ids, store.fails.Load(), len(dead))
}
