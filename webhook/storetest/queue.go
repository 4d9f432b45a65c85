package storetest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miniappkit/miniappkit/botapi"
	"github.com/miniappkit/miniappkit/webhook"
)

// QueueOptions describe the queue under test to [RunQueue].
type QueueOptions struct {
	// PopLease is how long a popped job stays hidden before a durable
	// queue gives it to another Pop (its worker is presumed dead). Zero
	// skips that check (a queue without leases, such as MemoryQueue).
	PopLease time.Duration
}

type queueCheck struct {
	name string
	fn   func(ctx context.Context, q webhook.Queue, o QueueOptions) error
}

var queueChecks = []queueCheck{
	{"PushPopAck", pushPopAck},
	{"DuplicatePushOneJob", duplicatePush},
	{"NackDelaysAndCounts", nackDelays},
	{"PostponeCountsNothing", postponeCounts},
	{"BuryListRedrive", buryListRedrive},
	{"ConcurrentPopsOncePerJob", concurrentPops},
	{"PopLeaseReturnsJob", popLeaseReturns},
	{"BuryErrorHooksOnce", buryErrorHooksOnce},
}

// RunQueue runs every Queue check as a subtest of t, each on an empty
// queue from newQueue. The checks run in real time, with delays of a few
// hundred milliseconds.
func RunQueue(t *testing.T, o QueueOptions, newQueue func(t *testing.T) webhook.Queue) {
	t.Helper()
	for _, c := range queueChecks {
		t.Run(c.name, func(t *testing.T) {
			if err := c.fn(t.Context(), newQueue(t), o); err != nil {
				t.Fatal(err)
			}
		})
	}
}

const (
	queueDelay = 400 * time.Millisecond
	queueWait  = 5 * time.Second // the longest a check waits for a job that should come
)

func body(id int64) []byte { return []byte(`{"update_id":` + strconv.FormatInt(id, 10) + `}`) }

// pop pops a job, failing after queueWait.
func pop(ctx context.Context, q webhook.Queue, what string) (webhook.Job, error) {
	ctx, cancel := context.WithTimeout(ctx, queueWait)
	defer cancel()
	j, err := q.Pop(ctx)
	if err != nil {
		return nil, fmt.Errorf("storetest: Pop %s: %w", what, err)
	}
	return j, nil
}

// empty checks that no job comes within d.
func empty(ctx context.Context, q webhook.Queue, d time.Duration, what string) error {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	j, err := q.Pop(ctx)
	if err == nil {
		return fmt.Errorf("storetest: Pop %s returned update %d, want none", what, j.ID())
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("storetest: Pop %s: %v, want the context's deadline", what, err)
	}
	return nil
}

func wantJob(j webhook.Job, id int64, attempt int, what string) error {
	if j.ID() != id || string(j.Body()) != string(body(id)) || j.Attempt() != attempt {
		return fmt.Errorf("storetest: %s: job %d %q attempt %d, want %d %q attempt %d", what, j.ID(), j.Body(), j.Attempt(), id, body(id), attempt)
	}
	return nil
}

func pushPopAck(ctx context.Context, q webhook.Queue, _ QueueOptions) error {
	for id := int64(1); id <= 2; id++ {
		if err := q.Push(ctx, id, body(id)); err != nil {
			return fmt.Errorf("storetest: Push: %w", err)
		}
	}
	seen := map[int64]bool{}
	for range 2 {
		j, err := pop(ctx, q, "of a pushed update")
		if err != nil {
			return err
		}
		if err := wantJob(j, j.ID(), 1, "first Pop"); err != nil {
			return err
		}
		seen[j.ID()] = true
		if err := j.Ack(ctx); err != nil {
			return fmt.Errorf("storetest: Ack: %w", err)
		}
	}
	if !seen[1] || !seen[2] {
		return fmt.Errorf("storetest: popped %v, want updates 1 and 2", seen)
	}
	return empty(ctx, q, queueDelay, "once every job is acked")
}

func duplicatePush(ctx context.Context, q webhook.Queue, _ QueueOptions) error {
	for range 3 {
		if err := q.Push(ctx, 7, body(7)); err != nil {
			return fmt.Errorf("storetest: Push: %w", err)
		}
	}
	j, err := pop(ctx, q, "of a pushed update")
	if err != nil {
		return err
	}
	if err := q.Push(ctx, 7, body(7)); err != nil { // while in progress
		return fmt.Errorf("storetest: Push of an update in progress: %w", err)
	}
	if err := empty(ctx, q, queueDelay, "after one Pop of an update pushed several times"); err != nil {
		return err
	}
	return j.Ack(ctx)
}

func nackDelays(ctx context.Context, q webhook.Queue, _ QueueOptions) error {
	if err := q.Push(ctx, 3, body(3)); err != nil {
		return err
	}
	j, err := pop(ctx, q, "of a pushed update")
	if err != nil {
		return err
	}
	if err := j.Nack(ctx, 2*queueDelay); err != nil {
		return fmt.Errorf("storetest: Nack: %w", err)
	}
	if err := empty(ctx, q, queueDelay, "during a Nack's delay"); err != nil {
		return err
	}
	j, err = pop(ctx, q, "after a Nack's delay")
	if err != nil {
		return err
	}
	if err := wantJob(j, 3, 2, "Pop after one Nack"); err != nil {
		return err
	}
	return j.Ack(ctx)
}

func postponeCounts(ctx context.Context, q webhook.Queue, _ QueueOptions) error {
	if err := q.Push(ctx, 4, body(4)); err != nil {
		return err
	}
	j, err := pop(ctx, q, "of a pushed update")
	if err != nil {
		return err
	}
	if err := j.Postpone(ctx, queueDelay); err != nil {
		return fmt.Errorf("storetest: Postpone: %w", err)
	}
	j, err = pop(ctx, q, "after a Postpone")
	if err != nil {
		return err
	}
	if err := wantJob(j, 4, 1, "Pop after a Postpone"); err != nil {
		return err
	}
	return j.Ack(ctx)
}

func buryListRedrive(ctx context.Context, q webhook.Queue, _ QueueOptions) error {
	if err := q.Push(ctx, 5, body(5)); err != nil {
		return err
	}
	j, err := pop(ctx, q, "of a pushed update")
	if err != nil {
		return err
	}
	if err := j.Nack(ctx, 0); err != nil {
		return err
	}
	if j, err = pop(ctx, q, "after a Nack"); err != nil {
		return err
	}
	buried := j
	if err := j.Bury(ctx, "gave up"); err != nil {
		return fmt.Errorf("storetest: Bury: %w", err)
	}
	// A Bury that was applied but reported an error (a commit, then a
	// network error) is tried again: the job's second Bury succeeds and
	// changes nothing.
	if err := j.Bury(ctx, "again"); err != nil {
		return fmt.Errorf("storetest: a second Bury of the job that buried it: %v, want nil", err)
	}
	// The Worker reads a Postpone returning nil as "not buried": a buried
	// update is never postponed.
	if err := j.Postpone(ctx, 0); !errors.Is(err, webhook.ErrNotOwner) {
		return fmt.Errorf("storetest: Postpone by the job that buried the update: %v, want ErrNotOwner", err)
	}
	if err := empty(ctx, q, queueDelay, "of a buried update"); err != nil {
		return err
	}
	dead, err := q.DeadLetters(ctx, 10)
	if err != nil {
		return fmt.Errorf("storetest: DeadLetters: %w", err)
	}
	if len(dead) != 1 || dead[0].ID != 5 || string(dead[0].Body) != string(body(5)) || dead[0].Attempts != 2 || dead[0].Reason != "gave up" {
		return fmt.Errorf("storetest: DeadLetters = %+v, want update 5, 2 attempts, reason %q", dead, "gave up")
	}
	if err := q.Redrive(ctx, 99); !errors.Is(err, webhook.ErrNotDead) {
		return fmt.Errorf("storetest: Redrive of an unknown id: %v, want ErrNotDead", err)
	}
	if err := q.Redrive(ctx, 5); err != nil {
		return fmt.Errorf("storetest: Redrive: %w", err)
	}
	if err := buried.Bury(ctx, "stale"); !errors.Is(err, webhook.ErrNotOwner) {
		return fmt.Errorf("storetest: Bury by the job that buried the update, after its Redrive: %v, want ErrNotOwner", err)
	}
	j, err = pop(ctx, q, "after Redrive")
	if err != nil {
		return err
	}
	if err := wantJob(j, 5, 1, "Pop after Redrive"); err != nil {
		return err
	}
	if err := buried.Bury(ctx, "stale"); !errors.Is(err, webhook.ErrNotOwner) {
		return fmt.Errorf("storetest: Bury by the job that buried the update, after its Redrive and a Pop: %v, want ErrNotOwner", err)
	}
	if dead, err = q.DeadLetters(ctx, 10); err != nil || len(dead) != 0 {
		return fmt.Errorf("storetest: DeadLetters after Redrive = %v, %v, want none", dead, err)
	}
	return j.Ack(ctx)
}

func concurrentPops(ctx context.Context, q webhook.Queue, _ QueueOptions) error {
	const jobs, poppers = 50, 8
	for id := int64(1); id <= jobs; id++ {
		if err := q.Push(ctx, id, body(id)); err != nil {
			return err
		}
	}
	var mu sync.Mutex
	got := map[int64]int{}
	var wg sync.WaitGroup
	errs := make(chan error, poppers)
	for range poppers {
		wg.Go(func() {
			for {
				pctx, cancel := context.WithTimeout(ctx, queueDelay)
				j, err := q.Pop(pctx)
				cancel()
				if errors.Is(err, context.DeadlineExceeded) {
					return
				}
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				got[j.ID()]++
				mu.Unlock()
				if err := j.Ack(ctx); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		return fmt.Errorf("storetest: concurrent Pop: %w", err)
	}
	for id := int64(1); id <= jobs; id++ {
		if got[id] != 1 {
			return fmt.Errorf("storetest: update %d popped %d times by concurrent Pops, want once", id, got[id])
		}
	}
	return nil
}

func popLeaseReturns(ctx context.Context, q webhook.Queue, o QueueOptions) error {
	if o.PopLease == 0 {
		return nil
	}
	if err := q.Push(ctx, 6, body(6)); err != nil {
		return err
	}
	stale, err := pop(ctx, q, "of a pushed update")
	if err != nil {
		return err
	}
	// The worker that popped it dies: after the lease another Pop gets it.
	j, err := pop(ctx, q, "after the pop lease passed")
	if err != nil {
		return err
	}
	if j.ID() != 6 {
		return fmt.Errorf("storetest: Pop after the lease = %d, want 6", j.ID())
	}
	if err := stale.Ack(ctx); err == nil {
		// The stale worker's Ack must not remove the job the new one holds
		// (an error, or a no-op the kit checks below).
		if err := j.Nack(ctx, 0); err != nil {
			return fmt.Errorf("storetest: Nack by the new holder after a stale Ack: %w", err)
		}
		if _, err := pop(ctx, q, "after a stale Ack"); err != nil {
			return fmt.Errorf("storetest: the stale worker's Ack removed the job: %w", err)
		}
		return nil
	}
	return j.Ack(ctx)
}

// buryErrQueue is a queue whose first Bury is applied and then reports an
// error, as a driver does for a write that committed before its context
// ended or its connection broke.
type buryErrQueue struct {
	webhook.Queue
	failed atomic.Bool
}

type buryErrJob struct {
	webhook.Job
	q *buryErrQueue
}

var errAfterApply = errors.New("storetest: connection reset after the Bury was applied")

func (q *buryErrQueue) Pop(ctx context.Context) (webhook.Job, error) {
	j, err := q.Queue.Pop(ctx)
	if err != nil {
		return nil, err
	}
	return buryErrJob{j, q}, nil
}

func (j buryErrJob) Bury(ctx context.Context, reason string) error {
	if err := j.Job.Bury(ctx, reason); err != nil || j.q.failed.Swap(true) {
		return err
	}
	return errAfterApply
}

// buryErrorHooksOnce: a Worker on the queue whose update failed its last
// attempt calls the dead-letter hook exactly once, although the Bury that
// buried it reported an error.
func buryErrorHooksOnce(ctx context.Context, q webhook.Queue, _ QueueOptions) error {
	bq := &buryErrQueue{Queue: q}
	hooked := make(chan webhook.DeadLetter, 4)
	w, err := webhook.NewWorker(bq, webhook.UpdateHandlerFunc(func(context.Context, *botapi.Update) error {
		return errors.New("always")
	}), webhook.WithStore(webhook.NewMemoryStore(16)), webhook.WithNamespace("storetest"), webhook.WithMaxAttempts(1),
		webhook.WithDeadLetter(func(_ context.Context, d webhook.DeadLetter) { hooked <- d }))
	if err != nil {
		return err
	}
	if err := q.Push(ctx, 8, body(8)); err != nil {
		return err
	}
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- w.Run(rctx, 1) }()
	var dead []webhook.DeadLetter
	deadline := time.Now().Add(queueWait)
	for len(dead) == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		if dead, err = q.DeadLetters(ctx, 10); err != nil {
			return fmt.Errorf("storetest: DeadLetters: %w", err)
		}
	}
	// The hook follows the Bury: wait for it.
	select {
	case <-hooked:
	case <-time.After(queueWait):
		cancel()
		<-done
		return fmt.Errorf("storetest: update 8 dead-lettered (%d listed) after a Bury that reported an error, its dead-letter hook never called", len(dead))
	}
	cancel()
	<-done
	if len(dead) != 1 || dead[0].ID != 8 {
		return fmt.Errorf("storetest: DeadLetters = %+v, want update 8", dead)
	}
	if !bq.failed.Load() {
		return errors.New("storetest: the failing Bury never ran")
	}
	if n := len(hooked); n != 0 {
		return fmt.Errorf("storetest: dead-letter hook called %d times, want once", n+1)
	}
	return nil
}
