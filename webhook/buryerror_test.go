package webhook

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/miniappkit/miniappkit/botapi"
	"github.com/stretchr/testify/require"
)

// errAfterApply is what a driver reports for a write it applied: a
// context ended after the commit, a network error after the server
// applied it.
var errAfterApply = errors.New("context canceled (after the commit)")

// buryErrQueue wraps a Queue: the first buryErrs calls of Bury return an
// error, after applying it when applied; the first postponeErrs calls of
// Postpone return an error without applying it.
type buryErrQueue struct {
	Queue
	applied                bool
	buryErrs, postponeErrs atomic.Int32
}

type buryErrJob struct {
	Job
	q *buryErrQueue
}

func (q *buryErrQueue) Pop(ctx context.Context) (Job, error) {
	j, err := q.Queue.Pop(ctx)
	if err != nil {
		return nil, err
	}
	return buryErrJob{j, q}, nil
}

func (j buryErrJob) Bury(ctx context.Context, reason string) error {
	if j.q.buryErrs.Add(-1) < 0 {
		return j.Job.Bury(ctx, reason)
	}
	if !j.q.applied {
		return errors.New("connection reset (not applied)")
	}
	if err := j.Job.Bury(ctx, reason); err != nil {
		return err
	}
	return errAfterApply
}

func (j buryErrJob) Postpone(ctx context.Context, d time.Duration) error {
	if j.q.postponeErrs.Add(-1) >= 0 {
		return errors.New("connection reset (not applied)")
	}
	return j.Job.Postpone(ctx, d)
}

// lockedBuffer is a bytes.Buffer safe for the worker's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// TestWorkerDeadLetterHookAfterBuryError: the dead-letter hook is called
// exactly once for every update that ends up buried, also when the Bury
// that buried it reported an error (applied, then a failure), or failed
// and the update was buried by a later attempt. Before the fix the hook
// was skipped when a Bury was applied and reported an error: the update
// was dead (listed by DeadLetters) and the hook never told.
func TestWorkerDeadLetterHookAfterBuryError(t *testing.T) {
	for _, c := range []struct {
		name                   string
		applied                bool
		buryErrs, postponeErrs int32
		runs                   int32
	}{
		{"applied then error", true, 1, 0, 1},
		{"applied then errors, postpone failing", true, 3, 3, 1},
		{"not applied", false, 1, 0, 2},             // postponed, run again, buried
		{"not applied, store down", false, 3, 3, 1}, // buried by a retry
	} {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				q := &buryErrQueue{Queue: NewMemoryQueue(8), applied: c.applied}
				q.buryErrs.Store(c.buryErrs)
				q.postponeErrs.Store(c.postponeErrs)
				var runs atomic.Int32
				hooked := make(chan DeadLetter, 8)
				var logs lockedBuffer
				w := mustWorker(t, q, UpdateHandlerFunc(func(context.Context, *botapi.Update) error {
					runs.Add(1)
					return errors.New("always")
				}), WithMaxAttempts(1), WithDeadLetter(func(_ context.Context, d DeadLetter) { hooked <- d }),
					WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
				push(t, q, 9)
				ctx, cancel := context.WithCancel(t.Context())
				done := make(chan error)
				go func() { done <- w.Run(ctx, 1) }()
				time.Sleep(time.Hour) // the fake clock runs through any backoffs
				synctest.Wait()
				cancel()
				<-done
				dead, err := q.DeadLetters(t.Context(), 10)
				require.NoError(t, err)
				require.Len(t, dead, 1, "dead-lettered")
				require.Len(t, hooked, 1, "the hook is told once; logs:\n%s", logs.String())
				require.Equal(t, DeadLetter{ID: 9, Body: []byte(updateBody(9)), Attempts: 1, Reason: "always"}, <-hooked)
				require.Equal(t, c.runs, runs.Load(), "handler runs")
			})
		})
	}
}

// TestWorkerBuryUnknownLoggedAtError: when the worker cannot learn
// whether a failed Bury was applied (the queue keeps failing) before Run's
// context ends, or within its bound of tries, it says so at Error, naming
// the update and the dead-letter hook, instead of dropping the question
// silently or holding the goroutine for good.
func TestWorkerBuryUnknownLoggedAtError(t *testing.T) {
	for name, c := range map[string]struct {
		wait  time.Duration
		tries string
	}{
		// 7 tries by 10 s (waits of 0.1 s doubling, then 5 s), 3 after the stop.
		"stopping": {10 * time.Second, "tries=10"},
		"bounded":  {time.Hour, "tries=20"},
	} {
		t.Run(name, func(t *testing.T) { buryUnknown(t, c.wait, c.tries) })
	}
}

func buryUnknown(t *testing.T, wait time.Duration, tries string) {
	synctest.Test(t, func(t *testing.T) {
		q := &buryErrQueue{Queue: NewMemoryQueue(8), applied: true}
		q.buryErrs.Store(1 << 20)
		q.postponeErrs.Store(1 << 20)
		var logs lockedBuffer
		hooked := make(chan DeadLetter, 8)
		w := mustWorker(t, q, UpdateHandlerFunc(func(context.Context, *botapi.Update) error {
			return errors.New("always")
		}), WithMaxAttempts(1), WithDeadLetter(func(_ context.Context, d DeadLetter) { hooked <- d }),
			WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
		push(t, q, 9)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- w.Run(ctx, 1) }()
		time.Sleep(wait)
		synctest.Wait()
		cancel()
		<-done
		require.Empty(t, hooked)
		var giveUp string
		for l := range strings.SplitSeq(logs.String(), "\n") {
			if strings.Contains(l, "dead-letter hook") && strings.Contains(l, "level=ERROR") {
				giveUp = l
			}
		}
		require.NotEmpty(t, giveUp, "logs:\n%s", logs.String())
		require.Contains(t, giveUp, "update_id=9")
		require.Contains(t, giveUp, tries)
	})
}

// TestWorkerBuryRedrivenWhileAsking: a Bury applied that reported an
// error, the update re-driven (by an operator reading DeadLetters) while
// the worker still asks the failing queue: the worker's next Bury is
// refused, and that burial's dead-letter hook is never called. The worker
// cannot tell this from a Bury that was not applied, so it says so at
// Error, naming the update and the hook, as when it gives up. (Failed
// before the fix: a Warn that the job was postponed or taken over.)
func TestWorkerBuryRedrivenWhileAsking(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := &buryErrQueue{Queue: NewMemoryQueue(8), applied: true}
		q.buryErrs.Store(1)
		q.postponeErrs.Store(1)
		var runs atomic.Int32
		hooked := make(chan DeadLetter, 8)
		var logs lockedBuffer
		w := mustWorker(t, q, UpdateHandlerFunc(func(context.Context, *botapi.Update) error {
			if runs.Add(1) == 1 {
				return errors.New("always")
			}
			return nil
		}), WithMaxAttempts(1), WithDeadLetter(func(_ context.Context, d DeadLetter) { hooked <- d }),
			WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
		push(t, q, 9)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- w.Run(ctx, 1) }()
		time.Sleep(popRetryMin / 2) // the worker waits before asking again
		synctest.Wait()
		dead, err := q.DeadLetters(t.Context(), 10)
		require.NoError(t, err)
		require.Len(t, dead, 1, "buried by the Bury that reported an error")
		require.NoError(t, q.Redrive(t.Context(), 9))
		time.Sleep(time.Hour)
		synctest.Wait()
		cancel()
		<-done
		require.Equal(t, int32(2), runs.Load(), "the re-driven update runs")
		require.Empty(t, hooked)
		var line string
		for l := range strings.SplitSeq(logs.String(), "\n") {
			if strings.Contains(l, "level=ERROR") && strings.Contains(l, "dead-letter hook") {
				line = l
			}
		}
		require.NotEmpty(t, line, "logs:\n%s", logs.String())
		require.Contains(t, line, "update_id=9")
	})
}

// hangJob is a popped job whose Bury and Postpone hang until their
// context ends, as against a queue that accepts connections and never
// answers.
type hangJob struct{ Job }

type hangQueue struct{ Queue }

func (q hangQueue) Pop(ctx context.Context) (Job, error) {
	j, err := q.Queue.Pop(ctx)
	if err != nil {
		return nil, err
	}
	return hangJob{j}, nil
}

func (hangJob) Bury(ctx context.Context, _ string) error {
	<-ctx.Done()
	return ctx.Err()
}

func (hangJob) Postpone(ctx context.Context, _ time.Duration) error {
	<-ctx.Done()
	return ctx.Err()
}

// TestWorkerBuryHangingQueueStops: against a queue that hangs, a worker
// asking whether its Bury was applied when Run's ctx ends stops asking
// within one store timeout of the end, after the call in progress: Run
// returns at most two store timeouts after its ctx ends, and says at
// Error that it gave up. (Failed before the fix: three more tries of a
// Bury and a Postpone, each to its own store timeout, 59 s after the end
// with the default 10 s.)
func TestWorkerBuryHangingQueueStops(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := hangQueue{NewMemoryQueue(8)}
		var logs lockedBuffer
		w := mustWorker(t, q, UpdateHandlerFunc(func(context.Context, *botapi.Update) error {
			return errors.New("always")
		}), WithMaxAttempts(1), WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
		push(t, q, 9)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- w.Run(ctx, 1) }()
		time.Sleep(time.Second) // the first Bury hangs
		cancel()
		stopped := time.Now()
		<-done
		require.LessOrEqual(t, time.Since(stopped), 2*DefaultStoreTimeout, "Run returned after its ctx ended; logs:\n%s", logs.String())
		require.Contains(t, logs.String(), "giving up")
	})
}
