package webhook

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/miniappkit/miniappkit/botapi"
	"github.com/stretchr/testify/require"
)

func mustWorker(t testing.TB, q Queue, h UpdateHandler, opts ...Option) *Worker {
	t.Helper()
	w, err := NewWorker(q, h, append([]Option{WithSecretNamespace(testToken)}, opts...)...)
	require.NoError(t, err)
	return w
}

func push(t testing.TB, q Queue, id int64) {
	t.Helper()
	require.NoError(t, q.Push(context.Background(), id, []byte(updateBody(id))))
}

func TestAsyncDrainsOnShutdown(t *testing.T) {
	q := NewMemoryQueue(256)
	store := NewMemoryStore(1024)
	var mu sync.Mutex
	seen := map[int64]int{}
	var fail atomic.Bool
	fail.Store(true)
	uh := UpdateHandlerFunc(func(ctx context.Context, u *botapi.Update) error {
		if u.UpdateID == 13 && fail.CompareAndSwap(true, false) {
			return errors.New("transient")
		}
		mu.Lock()
		seen[u.UpdateID]++
		mu.Unlock()
		if err := SetReply(ctx, "x", nil); !errors.Is(err, ErrNoReply) {
			return fmt.Errorf("SetReply in a worker: %v", err) // not available asynchronously
		}
		return nil
	})
	h := mustHandler(t, testToken, nil, WithAsync(q), WithVolatileQueue(), WithStore(store))
	for id := int64(1); id <= 100; id++ {
		require.Equal(t, http.StatusOK, deliver(t, h, testToken, updateBody(id)).Code)
	}
	require.Equal(t, http.StatusOK, deliver(t, h, testToken, updateBody(50)).Code, "a duplicate is acknowledged, one job")
	require.Equal(t, 100, q.Len())

	w := mustWorker(t, q, uh, WithStore(store), WithBackoff(func(int) time.Duration { return 0 }))
	done := make(chan error)
	go func() { done <- w.Run(context.Background(), 4) }()
	q.Close() // graceful shutdown: stop intake, drain
	require.NoError(t, <-done)
	require.Equal(t, 0, q.Len())
	require.Len(t, seen, 100)
	for id, n := range seen {
		require.Equal(t, 1, n, "update %d", id)
	}
	require.ErrorIs(t, q.Push(t.Context(), 1, []byte(updateBody(1))), ErrQueueClosed)
	require.Equal(t, http.StatusServiceUnavailable, deliver(t, h, testToken, updateBody(101)).Code, "a closed queue refuses: Telegram retries")
}

// TestAsyncQueuesRawBytes: the queue holds the update as Telegram sent it,
// fields unknown to the generated types included: nothing is re-encoded.
func TestAsyncQueuesRawBytes(t *testing.T) {
	q := NewMemoryQueue(4)
	h := mustHandler(t, testToken, nil, WithAsync(q), WithVolatileQueue())
	body := `{"update_id":5, "future_field":{"x":[1,2]},"message":{"message_id":1,"date":0,"chat":{"id":1,"type":"private"}}}`
	require.Equal(t, http.StatusOK, deliver(t, h, testToken, body).Code)
	j, err := q.Pop(t.Context())
	require.NoError(t, err)
	require.Equal(t, int64(5), j.ID())
	require.Equal(t, body, string(j.Body()))
}

func TestMemoryQueue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := NewMemoryQueue(2)
		push(t, q, 1)
		push(t, q, 2)
		push(t, q, 2) // held already: one job
		require.ErrorIs(t, q.Push(t.Context(), 3, nil), ErrQueueFull)
		j1, err := q.Pop(t.Context())
		require.NoError(t, err)
		require.ErrorIs(t, q.Push(t.Context(), 3, nil), ErrQueueFull, "in progress counts")
		start := time.Now()
		require.NoError(t, j1.Nack(t.Context(), 10*time.Second))
		require.Error(t, j1.Ack(t.Context()), "a job ends once")
		j2, err := q.Pop(t.Context())
		require.NoError(t, err)
		require.Equal(t, int64(2), j2.ID(), "the nacked job waits out its delay in the queue")
		require.NoError(t, j2.Postpone(t.Context(), time.Second))
		j, err := q.Pop(t.Context())
		require.NoError(t, err)
		require.Equal(t, int64(2), j.ID())
		require.Equal(t, 1, j.Attempt(), "postponing counts no attempt")
		require.Equal(t, time.Second, time.Since(start))
		require.NoError(t, j.Bury(t.Context(), "gave up"))
		j, err = q.Pop(t.Context())
		require.NoError(t, err)
		require.Equal(t, int64(1), j.ID())
		require.Equal(t, 2, j.Attempt(), "a nack counts an attempt")
		require.Equal(t, 10*time.Second, time.Since(start))
		require.NoError(t, j.Ack(t.Context()))

		dead, err := q.DeadLetters(t.Context(), 10)
		require.NoError(t, err)
		require.Len(t, dead, 1)
		require.Equal(t, int64(2), dead[0].ID)
		require.Equal(t, "gave up", dead[0].Reason)
		require.Equal(t, updateBody(2), string(dead[0].Body))
		require.ErrorIs(t, q.Redrive(t.Context(), 99), ErrNotDead)
		require.NoError(t, q.Redrive(t.Context(), 2))
		j, err = q.Pop(t.Context())
		require.NoError(t, err)
		require.Equal(t, int64(2), j.ID())
		require.NoError(t, j.Ack(t.Context()))
		q.Close()
		_, err = q.Pop(t.Context())
		require.ErrorIs(t, err, ErrQueueClosed)
		require.False(t, q.Durable())
	})
}

// TestWorkerDeadLettersDurable: after its max attempts an update is buried
// in the queue (not acked, not only in memory), listed, told to the hook,
// and re-driven to run again.
func TestWorkerDeadLettersDurable(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := NewMemoryQueue(8)
		var runs atomic.Int32
		var fixed atomic.Bool
		hooked := make(chan DeadLetter, 1)
		w := mustWorker(t, q, UpdateHandlerFunc(func(context.Context, *botapi.Update) error {
			runs.Add(1)
			if fixed.Load() {
				return nil
			}
			return errors.New("always")
		}), WithMaxAttempts(3), WithDeadLetter(func(_ context.Context, d DeadLetter) { hooked <- d }))
		push(t, q, 9)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- w.Run(ctx, 1) }()
		hook := <-hooked // the fake clock runs through the backoffs
		require.Equal(t, int32(3), runs.Load())
		dead, err := q.DeadLetters(t.Context(), 10)
		require.NoError(t, err)
		require.Len(t, dead, 1, "the update is kept in the queue")
		require.Equal(t, DeadLetter{ID: 9, Body: []byte(updateBody(9)), Attempts: 3, Reason: "always", At: dead[0].At}, dead[0])
		require.Equal(t, int64(9), hook.ID)

		fixed.Store(true)
		require.NoError(t, q.Redrive(t.Context(), 9))
		synctest.Wait()
		require.Equal(t, int32(4), runs.Load(), "re-driven, it ran again")
		dead, err = q.DeadLetters(t.Context(), 10)
		require.NoError(t, err)
		require.Empty(t, dead)
		cancel()
		require.ErrorIs(t, <-done, context.Canceled)
	})
}

// TestWorkerNackDoesNotHoldJob: while one update waits out its backoff, a
// single worker goroutine processes the next one.
func TestWorkerNackDoesNotHoldJob(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := NewMemoryQueue(8)
		var order []int64
		var failed atomic.Bool
		w := mustWorker(t, q, UpdateHandlerFunc(func(_ context.Context, u *botapi.Update) error {
			order = append(order, u.UpdateID)
			if u.UpdateID == 1 && failed.CompareAndSwap(false, true) {
				return errors.New("once")
			}
			return nil
		}), WithBackoff(func(int) time.Duration { return time.Hour }))
		push(t, q, 1)
		push(t, q, 2)
		q.Close()
		start := time.Now()
		require.NoError(t, w.Run(t.Context(), 1))
		require.Equal(t, []int64{1, 2, 1}, order)
		require.Equal(t, time.Hour, time.Since(start))
	})
}

// flakyStore fails its first n calls of every kind.
type flakyStore struct {
	Store
	left atomic.Int32
}

func (s *flakyStore) fail() bool { return s.left.Add(-1) >= 0 }

func (s *flakyStore) Claim(ctx context.Context, key, owner string, lease time.Duration, data []byte) (ClaimResult, error) {
	if s.fail() {
		return ClaimResult{}, errStoreDown
	}
	return s.Store.Claim(ctx, key, owner, lease, data)
}

// TestWorkerStoreOutageConsumesNoAttempts: a store failing for longer than
// the attempts' backoffs dead-letters nothing; the update runs once the
// store is back.
func TestWorkerStoreOutageConsumesNoAttempts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := NewMemoryQueue(8)
		store := &flakyStore{Store: NewMemoryStore(8)}
		store.left.Store(40) // about 40 s of outage at ~1 s per try
		var runs atomic.Int32
		w := mustWorker(t, q, UpdateHandlerFunc(func(context.Context, *botapi.Update) error { runs.Add(1); return nil }),
			WithStore(store), WithMaxAttempts(2))
		push(t, q, 4)
		q.Close()
		require.NoError(t, w.Run(t.Context(), 1))
		require.Equal(t, int32(1), runs.Load())
		dead, err := q.DeadLetters(t.Context(), 10)
		require.NoError(t, err)
		require.Empty(t, dead)
	})
}

// popFailQueue fails its first n Pops.
type popFailQueue struct {
	*MemoryQueue
	left atomic.Int32
}

func (q *popFailQueue) Pop(ctx context.Context) (Job, error) {
	if q.left.Add(-1) >= 0 {
		return nil, errors.New("connection reset")
	}
	return q.MemoryQueue.Pop(ctx)
}

// TestWorkerSurvivesPopErrors: transient Pop errors are retried with a
// backoff; the worker goroutine goes on.
func TestWorkerSurvivesPopErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := &popFailQueue{MemoryQueue: NewMemoryQueue(8)}
		q.left.Store(5)
		var runs atomic.Int32
		w := mustWorker(t, q, UpdateHandlerFunc(func(context.Context, *botapi.Update) error { runs.Add(1); return nil }))
		push(t, q, 1)
		q.Close()
		start := time.Now()
		require.NoError(t, w.Run(t.Context(), 1))
		require.Equal(t, int32(1), runs.Load())
		require.Equal(t, (100+200+400+800+1600)*time.Millisecond, time.Since(start), "backoff between failed Pops")
	})
}

// TestWorkerBackoffEndsWithRun: a Run whose ctx ends leaves a failed update
// in the queue, waiting out its backoff there.
func TestWorkerBackoffEndsWithRun(t *testing.T) {
	q := NewMemoryQueue(1)
	ctx, cancel := context.WithCancel(t.Context())
	w := mustWorker(t, q, UpdateHandlerFunc(func(context.Context, *botapi.Update) error {
		cancel()
		return errors.New("fail")
	}))
	push(t, q, 3)
	require.ErrorIs(t, w.Run(ctx, 1), context.Canceled)
	require.Equal(t, 1, q.Len(), "nacked back into the queue")
}

func TestNewWorkerFailsClosed(t *testing.T) {
	ok := UpdateHandlerFunc(func(context.Context, *botapi.Update) error { return nil })
	for name, opts := range map[string][]Option{
		"no namespace":  nil,
		"bad namespace": {WithNamespace("a b")},
		"bad secret":    {WithSecretNamespace("")},
		"bad option":    {WithNamespace("bot"), WithMaxAttempts(0)},
	} {
		t.Run(name, func(t *testing.T) {
			w, err := NewWorker(NewMemoryQueue(1), ok, opts...)
			require.Error(t, err)
			require.Nil(t, w)
		})
	}
	_, err := NewWorker(nil, ok, WithNamespace("bot"))
	require.Error(t, err)
}
