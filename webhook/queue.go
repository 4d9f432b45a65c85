package webhook

import (
	"container/heap"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/miniappkit/miniappkit/botapi"
)

// Queue holds updates between an asynchronous handler ([WithAsync]), which
// pushes each one before answering Telegram, and a [Worker], which pops and
// processes them. An update is ready, delayed (until a retry time),
// popped (hidden from other Pops until acked, nacked or, for a durable
// queue, until its worker is presumed dead), or dead (given up on, kept
// until [Queue.Redrive] or removal). It carries the update's raw JSON as
// Telegram sent it, never re-encoded. Implementations must be safe for
// concurrent use; the contract kit webhook/storetest checks one.
type Queue interface {
	// Push stores the update with the given id and raw JSON body (the
	// queue may keep body: the caller does not modify it afterwards). When
	// it returns nil and Durable reports true, the update must survive a
	// crash of this process. Pushing an id already queued may keep one copy
	// or two: the Worker's [Store] dedupes.
	Push(ctx context.Context, id int64, body []byte) error
	// Pop blocks until a ready job is available, the queue is closed and
	// drained ([ErrQueueClosed]), or ctx ends.
	Pop(ctx context.Context) (Job, error)
	// DeadLetters returns up to limit dead updates, oldest first.
	DeadLetters(ctx context.Context, limit int) ([]DeadLetter, error)
	// Redrive makes the dead update id ready again, its attempts reset. It
	// fails with [ErrNotDead] if no dead update has that id.
	Redrive(ctx context.Context, id int64) error
	// Durable reports whether pushed updates survive a crash.
	Durable() bool
}

// Job is an update popped from a [Queue]. Exactly one of Ack, Nack,
// Postpone and Bury ends it. On a durable queue these fail (or do nothing)
// once the job's pop lease has passed and another worker popped it again.
type Job interface {
	// ID returns the update's update_id.
	ID() int64
	// Body returns the update's raw JSON. The caller must not modify it.
	Body() []byte
	// Attempt is 1 until the update's first failed run, 2 after one Nack, …
	// Postpone leaves it unchanged.
	Attempt() int
	// Ack removes the job for good: it was processed.
	Ack(ctx context.Context) error
	// Nack records a failed run (Attempt grows by one) and makes the job
	// ready again after delay.
	Nack(ctx context.Context, delay time.Duration) error
	// Postpone makes the job ready again after delay without counting an
	// attempt: it could not run (the Store failed, or another consumer
	// held the update).
	Postpone(ctx context.Context, delay time.Duration) error
	// Bury moves the job to the dead state, with reason, where
	// [Queue.DeadLetters] lists it until [Queue.Redrive]. A [Worker]
	// passes a reason of at most 1 KiB of valid UTF-8 without NUL bytes,
	// so a SQL text column can hold it. Bury is idempotent for the job:
	// called again after a Bury of this job that was applied (even one
	// that reported an error, as a write that commits and then fails
	// does), it returns nil and changes nothing, until the update is
	// re-driven. It fails with an error wrapping [ErrNotOwner] when this
	// job did not bury the update and no longer can (it was ended
	// otherwise, or its pop lease passed and another Pop took it).
	Bury(ctx context.Context, reason string) error
}

// DeadLetter is an update a [Worker] gave up on after its last attempt,
// kept by the [Queue] in its dead state.
type DeadLetter struct {
	ID       int64     // the update_id
	Body     []byte    // the raw update
	Attempts int       // how many times it ran (or tried to)
	Reason   string    // why it was given up on: the last failure, at most 1 KiB of valid UTF-8 without NUL
	At       time.Time // when it was buried (zero if the queue keeps no time)
}

// maxReasonBytes bounds a DeadLetter's Reason.
const maxReasonBytes = 1024

// ErrQueueFull is returned by [MemoryQueue.Push] when the queue holds its
// capacity; the asynchronous handler then answers 503 and Telegram retries.
var ErrQueueFull = errors.New("webhook: queue full")

// ErrNotDead is returned by [Queue.Redrive] for an id that is not dead.
var ErrNotDead = errors.New("webhook: no such dead letter")

// MemoryQueue is a bounded, in-memory [Queue]. It is NOT durable: updates it
// holds, acknowledged to Telegram already, are lost if the process stops
// without draining it, so [WithAsync] accepts it only with
// [WithVolatileQueue]. Use it in tests and development, or where losing
// updates on a crash is acceptable. For a graceful shutdown, stop the HTTP
// server, [MemoryQueue.Close] the queue and wait for [Worker.Run] to return:
// it returns once no update is ready, delayed or in progress.
//
// Its capacity counts every update it holds: ready, delayed, in progress
// and dead. A MemoryQueue is safe for concurrent use.
type MemoryQueue struct {
	mu       sync.Mutex
	capacity int
	ready    []*memJob // FIFO
	delayed  delayHeap
	dead     []*memJob
	inflight int
	ids      map[int64]struct{} // every id held, in any state
	closed   bool
	wake     chan struct{} // closed and replaced on every change
	now      func() time.Time
}

// NewMemoryQueue returns a MemoryQueue holding at most capacity updates.
// Panics if capacity is not positive (a programmer error, like make's).
func NewMemoryQueue(capacity int) *MemoryQueue {
	if capacity <= 0 {
		panic("webhook: MemoryQueue capacity must be positive")
	}
	return &MemoryQueue{capacity: capacity, ids: map[int64]struct{}{}, wake: make(chan struct{}), now: time.Now}
}

type memJob struct {
	q       *MemoryQueue
	id      int64
	body    []byte
	attempt int
	at      time.Time // delayed: ready at; dead: buried at
	reason  string
	done    bool    // ended by Ack, Nack, Postpone or Bury
	buried  *memJob // the dead copy, when ended by Bury
}

type delayHeap []*memJob

func (h delayHeap) Len() int           { return len(h) }
func (h delayHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h delayHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *delayHeap) Push(x any)        { *h = append(*h, x.(*memJob)) }
func (h *delayHeap) Pop() any {
	old := *h
	j := old[len(old)-1]
	*h = old[:len(old)-1]
	return j
}

func (q *MemoryQueue) held() int { return len(q.ready) + len(q.delayed) + len(q.dead) + q.inflight }

// Push implements [Queue]. Pushing an id the queue holds already (ready,
// delayed, in progress or dead) succeeds and changes nothing: Telegram's
// redeliveries of one update make one job. It fails with [ErrQueueFull] at
// capacity and with [ErrQueueClosed] after Close.
func (q *MemoryQueue) Push(ctx context.Context, id int64, body []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return ErrQueueClosed
	}
	if _, ok := q.ids[id]; ok {
		return nil
	}
	if q.held() >= q.capacity {
		return ErrQueueFull
	}
	q.ids[id] = struct{}{}
	q.ready = append(q.ready, &memJob{q: q, id: id, body: body, attempt: 1})
	q.wakeLocked()
	return nil
}

// Pop implements [Queue].
func (q *MemoryQueue) Pop(ctx context.Context) (Job, error) {
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		q.mu.Lock()
		now := q.now()
		for len(q.delayed) > 0 && !q.delayed[0].at.After(now) {
			q.ready = append(q.ready, heap.Pop(&q.delayed).(*memJob))
		}
		if len(q.ready) > 0 {
			j := q.ready[0]
			q.ready[0] = nil
			q.ready = q.ready[1:]
			q.inflight++
			q.mu.Unlock()
			return j, nil
		}
		if q.closed && q.inflight == 0 && len(q.delayed) == 0 {
			q.mu.Unlock()
			return nil, ErrQueueClosed
		}
		wake := q.wake
		var due <-chan time.Time
		if len(q.delayed) > 0 {
			d := q.delayed[0].at.Sub(now)
			if timer == nil {
				timer = time.NewTimer(d)
			} else {
				timer.Reset(d)
			}
			due = timer.C
		}
		q.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-wake:
		case <-due:
		}
	}
}

// DeadLetters implements [Queue].
func (q *MemoryQueue) DeadLetters(ctx context.Context, limit int) ([]DeadLetter, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	out := make([]DeadLetter, 0, min(limit, len(q.dead)))
	for _, j := range q.dead[:min(limit, len(q.dead))] {
		out = append(out, DeadLetter{ID: j.id, Body: j.body, Attempts: j.attempt, Reason: j.reason, At: j.at})
	}
	return out, nil
}

// Redrive implements [Queue]. A closed queue still redrives: its Pop
// returns the update before reporting [ErrQueueClosed].
func (q *MemoryQueue) Redrive(ctx context.Context, id int64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	i := slices.IndexFunc(q.dead, func(j *memJob) bool { return j.id == id })
	if i < 0 {
		return ErrNotDead
	}
	j := q.dead[i]
	q.dead = slices.Delete(q.dead, i, i+1)
	q.ready = append(q.ready, &memJob{q: q, id: j.id, body: j.body, attempt: 1})
	q.wakeLocked()
	return nil
}

// Durable reports false: a MemoryQueue loses its contents with the process.
func (q *MemoryQueue) Durable() bool { return false }

// Close stops Push; Pop keeps returning ready and delayed jobs (and nacked
// ones) until none is left or in progress, then returns [ErrQueueClosed].
// Dead letters stay listed.
func (q *MemoryQueue) Close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.closed {
		q.closed = true
		q.wakeLocked()
	}
}

// Len returns the number of ready and delayed updates, not counting those
// in progress or dead.
func (q *MemoryQueue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.ready) + len(q.delayed)
}

func (q *MemoryQueue) wakeLocked() {
	close(q.wake)
	q.wake = make(chan struct{})
}

func (j *memJob) ID() int64    { return j.id }
func (j *memJob) Body() []byte { return j.body }
func (j *memJob) Attempt() int { return j.attempt }
func (j *memJob) Ack(ctx context.Context) error {
	return j.end(func(q *MemoryQueue) { delete(q.ids, j.id) })
}

func (j *memJob) Nack(ctx context.Context, delay time.Duration) error {
	return j.end(func(q *MemoryQueue) { j.requeue(q, delay, 1) })
}

func (j *memJob) Postpone(ctx context.Context, delay time.Duration) error {
	return j.end(func(q *MemoryQueue) { j.requeue(q, delay, 0) })
}

func (j *memJob) Bury(ctx context.Context, reason string) error {
	q := j.q
	q.mu.Lock()
	buried := j.done && j.buried != nil && slices.Contains(q.dead, j.buried)
	q.mu.Unlock()
	if buried {
		return nil // buried by this job, not re-driven since
	}
	return j.end(func(q *MemoryQueue) {
		j.buried = &memJob{q: q, id: j.id, body: j.body, attempt: j.attempt, reason: truncateReason(reason), at: q.now()}
		q.dead = append(q.dead, j.buried)
	})
}

// requeue puts a copy of j back, ready after delay, its attempt grown by add.
func (j *memJob) requeue(q *MemoryQueue, delay time.Duration, add int) {
	nj := &memJob{q: q, id: j.id, body: j.body, attempt: j.attempt + add}
	if delay <= 0 {
		q.ready = append(q.ready, nj)
		return
	}
	nj.at = q.now().Add(delay)
	heap.Push(&q.delayed, nj)
}

var errJobEnded = fmt.Errorf("webhook: job already acked, nacked, postponed or buried: %w", ErrNotOwner)

func (j *memJob) end(f func(q *MemoryQueue)) error {
	q := j.q
	q.mu.Lock()
	defer q.mu.Unlock()
	if j.done {
		return errJobEnded
	}
	j.done = true
	q.inflight--
	f(q)
	q.wakeLocked()
	return nil
}

// truncateReason makes s a dead letter's reason: valid UTF-8 without NUL
// bytes (a SQL text column refuses both, and a refused Bury would keep the
// update out of the dead letters for good), at most maxReasonBytes, cut
// between runes.
func truncateReason(s string) string {
	if len(s) > 4*maxReasonBytes {
		s = s[:4*maxReasonBytes] // bound the work below
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(s, "\x00", "\uFFFD")
	if len(s) > maxReasonBytes {
		i := maxReasonBytes
		for i > 0 && !utf8.RuneStart(s[i]) {
			i--
		}
		s = s[:i]
	}
	return s
}

// Backoff returns how long a [Worker] waits before running an update
// again after its attempt-th attempt failed (attempt is 1 after the first
// failure). It must be safe for concurrent use.
type Backoff func(attempt int) time.Duration

// Defaults of [DefaultBackoff].
const (
	DefaultBackoffBase = time.Second // wait after the first failed attempt, before jitter
	DefaultBackoffMax  = time.Minute // longest wait, before jitter
)

// DefaultBackoff is the [Backoff] a [Worker] uses unless [WithBackoff] sets
// another: exponential from [DefaultBackoffBase], doubling per attempt up
// to [DefaultBackoffMax], with "equal jitter" (a uniformly random wait
// between half and all of that), so updates failing together do not retry
// in lock step. With the default 5 attempts the four waits are about 0.5-1
// s, 1-2 s, 2-4 s and 4-8 s.
func DefaultBackoff(attempt int) time.Duration {
	d := DefaultBackoffMax
	if attempt >= 1 && attempt <= 16 {
		d = min(DefaultBackoffBase<<(attempt-1), DefaultBackoffMax)
	}
	half := d / 2
	return half + rand.N(d-half+1)
}

// ErrUpdateBusy is the reason a [Worker] postpones an update it could not
// claim (the [Store] failed, or another consumer held the update for longer
// than the in-flight wait). Postponing never consumes an attempt.
var ErrUpdateBusy = errors.New("webhook: update busy or store failed")

// Worker processes the updates of a [Queue] with an [UpdateHandler], once
// per update_id, through the same [Store] semantics as [NewHandler]: claim,
// run (the claim renewed while the handler runs), complete, or release and
// nack so the update runs again after a backoff ([WithBackoff], default
// [DefaultBackoff]). The wait happens in the queue (Nack takes the delay),
// never in a worker holding the job. An update that could not be claimed
// (the Store failed, or another consumer holds it) is postponed without
// consuming an attempt, so a store outage dead-letters nothing. After
// [WithMaxAttempts] failed runs the update is buried in the queue's dead
// state, durable as the queue is, listed by [Queue.DeadLetters] and re-run
// by [Queue.Redrive]; the [WithDeadLetter] hook is then told, at most once
// per burial (see there for when not): a Bury that reports an error may still have been applied (a
// write that commits and then fails), so the worker asks again (Bury is
// idempotent for a job) until it knows. An update
// whose JSON does not decode is buried at once. A Pop error that is not the
// end of the queue is logged and retried with a backoff (100 ms doubling to
// 5 s): a worker goroutine never ends on a transient error.
//
// [SetReply] is not available to it. A Worker is safe for concurrent use.
type Worker struct {
	q       Queue
	h       UpdateHandler
	o       handlerOptions
	owners  ownerSource
	flights flights
	sleep   func(ctx context.Context, d time.Duration) error // test seam; sleepCtx by default
}

// NewWorker returns a Worker for q and h. It takes the same options as
// [NewHandler] ([WithBackoff], [WithDeadLetter] and [WithMaxAttempts] are
// for it alone); those about HTTP are ignored. Give it the same [Store] and
// namespace ([WithNamespace] or [WithSecretNamespace]) as every other
// consumer of the bot's updates; without one it fails (an update claimed
// under another namespace would run twice). It fails if q or h is nil, or an
// option is invalid.
func NewWorker(q Queue, h UpdateHandler, opts ...Option) (*Worker, error) {
	o := buildOptions(opts)
	errs := o.errs
	if q == nil || h == nil {
		errs = append(errs, errors.New("webhook: NewWorker with a nil Queue or UpdateHandler"))
	}
	if o.namespace == "" {
		errs = append(errs, errors.New("webhook: NewWorker needs WithNamespace or WithSecretNamespace"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return &Worker{q: q, h: h, o: o, owners: newOwnerSource(), sleep: sleepCtx}, nil
}

// sleepCtx waits d, or returns ctx.Err() if ctx ends first.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Bounds of the wait after a failed Pop.
const (
	popRetryMin = 100 * time.Millisecond
	popRetryMax = 5 * time.Second
)

// Run processes updates with n goroutines (at least 1) until the queue is
// closed and drained, when it returns nil, or ctx ends, when it returns
// ctx.Err() once the updates in progress are finished.
func (w *Worker) Run(ctx context.Context, n int) error {
	n = max(n, 1)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			pause := popRetryMin
			for ctx.Err() == nil { // Pop may return a job even once ctx has ended
				job, err := w.q.Pop(ctx)
				if err != nil {
					if errors.Is(err, ErrQueueClosed) || ctx.Err() != nil {
						return
					}
					w.o.logger.Warn("webhook: queue pop failed; retrying", "err", err, "wait", pause)
					_ = w.sleep(ctx, pause)
					pause = min(2*pause, popRetryMax)
					continue
				}
				pause = popRetryMin
				w.process(ctx, job)
			}
		})
	}
	wg.Wait()
	return ctx.Err()
}

// process runs job; the handler and the queue calls run to completion even
// once runCtx (Run's) has ended.
func (w *Worker) process(runCtx context.Context, job Job) {
	ctx := context.WithoutCancel(runCtx)
	sctx, cancel := storeContext(ctx, w.o.storeTimeout)
	defer cancel()
	id := job.ID()
	u := new(botapi.Update)
	if err := json.Unmarshal(job.Body(), u); err != nil || u.UpdateID != id {
		w.bury(runCtx, ctx, job, "not a decodable update with this update_id")
		return
	}
	ctx, ob := observeStart(ctx, w.o.observer, u, sourceWorker, job.Attempt())
	key := updateKey(w.o.namespace, id)
	owner := w.owners.next()
	claim := claimUntil(ctx, w.o.store, &w.flights, key, owner, w.o.lease, w.o.inFlightWait)
	ob.dedupe(claimDedupe(claim))
	switch claim {
	case claimDone:
		ob.done(ResultOK, 0, nil)
		w.ack(sctx, job)
		return
	case claimOwned:
	default:
		ob.done(ResultRetry, 0, ErrUpdateBusy)
		if err := job.Postpone(sctx, w.o.backoff(1)); err != nil {
			w.o.logger.Warn("webhook: postpone failed; the queue will redeliver", "update_id", id, "err", err)
		}
		return
	}
	end := w.flights.begin(key)
	hstart := ob.now()
	err := runHandler(ctx, w.h, u, heldClaim{Claim: Claim{Key: key, Owner: owner}, store: w.o.store, lease: w.o.lease, timeout: w.o.storeTimeout, log: w.o.logger}, nil, w.o.logger)
	ob.handler(hstart, err)
	sctx2, cancel2 := storeContext(ctx, w.o.storeTimeout)
	defer cancel2()
	if err != nil {
		if rerr := retryStore(sctx2, func(ctx context.Context) error { return w.o.store.Release(ctx, key, owner) }); rerr != nil {
			w.o.logger.Warn("webhook: release failed", "update_id", id, "err", rerr)
		}
		end()
		if lost := (*lostClaimError)(nil); errors.As(err, &lost) {
			// The claim was lost mid-run (a store outage, or a takeover):
			// the update could not run, which costs no attempt.
			ob.done(ResultRetry, 0, err)
			if perr := job.Postpone(sctx2, w.o.backoff(1)); perr != nil {
				w.o.logger.Warn("webhook: postpone failed; the queue will redeliver", "update_id", id, "err", perr)
			}
			return
		}
		if job.Attempt() >= w.o.maxAttempts {
			ob.done(ResultDead, 0, err)
			w.bury(runCtx, ctx, job, err.Error())
			return
		}
		ob.done("", 0, err)
		if nerr := job.Nack(sctx2, w.o.backoff(job.Attempt())); nerr != nil {
			w.o.logger.Warn("webhook: nack failed; the queue will redeliver", "update_id", id, "err", nerr)
		}
		return
	}
	if cerr := retryStore(sctx2, func(ctx context.Context) error { return w.o.store.Complete(ctx, key, owner, w.o.doneTTL, nil) }); cerr != nil {
		w.o.logger.Warn("webhook: complete failed", "update_id", id, "err", cerr)
	}
	end()
	ob.done("", 0, nil)
	w.ack(sctx2, job)
}

func (w *Worker) ack(ctx context.Context, job Job) {
	if err := job.Ack(ctx); err != nil {
		// The update was processed: a redelivery finds it done and acks.
		w.o.logger.Warn("webhook: ack failed; the queue will redeliver", "update_id", job.ID(), "err", err)
	}
}

// Bounds of bury's questions to a failing queue: at most buryTries in
// all, and buryTriesAfterStop more once Run's context has ended. A try is
// a Bury and a Postpone, each bounded by [WithStoreTimeout]: against a
// queue that fails at once that is about 70 s (the waits between tries),
// against one that hangs until the timeout about 7 min 51 s with the
// default 10 s.
//
// Once Run's context has ended, the tries left also share one store
// timeout: Run returns at most two store timeouts after its ctx ends (the
// call in progress, then the rest), and the hook's when it is called.
const (
	buryTries          = 20
	buryTriesAfterStop = 3
)

// bury moves job to the dead state and tells the hook, exactly when the
// job is buried. A Bury that fails may have been applied all the same (a
// driver that commits and then reports its context's end, a network error
// after the server applied it), so bury asks the queue until it knows:
// Bury again (idempotent for the job) returning nil means buried, and the
// hook is told; a Postpone returning nil means not buried, and a later
// attempt buries the update and tells the hook; a Bury failing with
// [ErrNotOwner] means this job no longer holds the update (postponed, or
// its pop lease passed and the worker now holding it buries it; after an
// earlier failed Bury, possibly buried and re-driven since, its hook then
// uncalled, which it logs at Error). Between
// tries it waits as after a failed Pop (100 ms doubling to 5 s). After
// [buryTries] tries, or [buryTriesAfterStop] more once Run's ctx has
// ended, it gives up, logging at Error that the update may be dead
// without its hook called (if the Bury was not applied, the queue gives
// the update out again once its pop lease passes, and that attempt
// buries it and calls the hook); a worker goroutine is never held for
// good by a queue that keeps failing. ctx is the worker's context without
// Run's cancellation.
func (w *Worker) bury(runCtx, ctx context.Context, job Job, reason string) {
	reason = truncateReason(reason)
	id := job.ID()
	// Once Run's ctx has ended, the questions left share one store
	// timeout (stop), so that Run returns soon after it.
	stop, stopCancel, stopped := ctx, context.CancelFunc(func() {}), false
	defer func() { stopCancel() }()
	call := func(f func(ctx context.Context) error) error {
		if !stopped && runCtx.Err() != nil {
			stop, stopCancel = storeContext(ctx, w.o.storeTimeout)
			stopped = true
		}
		sctx, cancel := context.WithTimeout(stop, w.o.storeTimeout)
		defer cancel()
		return f(sctx)
	}
	pause, left := popRetryMin, buryTriesAfterStop
	for try := 1; ; try++ {
		berr := call(func(ctx context.Context) error { return job.Bury(ctx, reason) })
		if berr == nil {
			w.o.logger.Error("webhook: update dead-lettered", "update_id", id, "attempts", job.Attempt())
			if w.o.deadLetter != nil {
				hctx, cancel := storeContext(ctx, w.o.storeTimeout)
				w.o.deadLetter(hctx, DeadLetter{ID: id, Body: job.Body(), Attempts: job.Attempt(), Reason: reason})
				cancel()
			}
			return
		}
		if errors.Is(berr, ErrNotOwner) {
			if try > 1 {
				// An earlier Bury failed and may have been applied: then
				// the update was re-driven since, that burial's hook uncalled.
				w.o.logger.Error("webhook: bury refused after a Bury that failed and may have been applied: if it was, the update was re-driven since and that burial's dead-letter hook was not called; else the job was postponed or another worker has it",
					"update_id", id, "err", berr, "tries", try)
				return
			}
			w.o.logger.Warn("webhook: bury refused: the job no longer holds the update (postponed, or its pop lease passed and another worker has it)", "update_id", id, "err", berr)
			return
		}
		perr := call(func(ctx context.Context) error { return job.Postpone(ctx, w.o.backoff(1)) })
		if perr == nil {
			w.o.logger.Error("webhook: bury failed; update postponed", "update_id", id, "err", berr)
			return
		}
		if runCtx.Err() != nil {
			left--
		}
		if left == 0 || try >= buryTries || stop.Err() != nil {
			w.o.logger.Error("webhook: bury failed and may have been applied; giving up: if DeadLetters lists the update, its dead-letter hook was not called, else it runs again once its pop lease passes",
				"update_id", id, "err", berr, "postpone_err", perr, "tries", try)
			return
		}
		if try == 1 {
			w.o.logger.Error("webhook: bury failed and may have been applied; asking the queue again", "update_id", id, "err", berr, "postpone_err", perr)
		}
		_ = w.sleep(runCtx, pause)
		pause = min(2*pause, popRetryMax)
	}
}
