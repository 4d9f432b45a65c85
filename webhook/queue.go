package webhook

import (
	"context"
	"errors"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"github.com/miniappkit/miniappkit/botapi"
)

// Queue holds updates between an asynchronous handler ([WithAsync]), which
// pushes each one before answering Telegram, and a [Worker], which pops and
// processes them. Implementations must be safe for concurrent use.
type Queue interface {
	// Push stores u. When it returns nil and Durable reports true, u must
	// survive a crash of this process.
	Push(ctx context.Context, u *botapi.Update) error
	// Pop blocks until a job is available, the queue is closed and drained
	// ([ErrQueueClosed]), or ctx ends. A popped job is hidden from other
	// Pops until it is acked or nacked (a durable queue also brings it back
	// if its worker dies).
	Pop(ctx context.Context) (Job, error)
	// Durable reports whether pushed updates survive a crash.
	Durable() bool
}

// Job is an update popped from a [Queue].
type Job interface {
	// Update returns the queued update.
	Update() *botapi.Update
	// Attempt is 1 on the first Pop of the update, 2 after one Nack, …
	Attempt() int
	// Ack removes the job for good: it was processed (or given up on).
	Ack(ctx context.Context) error
	// Nack makes the job available to Pop again.
	Nack(ctx context.Context) error
}

// ErrQueueFull is returned by [MemoryQueue.Push] when the queue holds its
// capacity; the asynchronous handler then answers 503 and Telegram retries.
var ErrQueueFull = errors.New("webhook: queue full")

// MemoryQueue is a bounded, in-memory [Queue]. It is NOT durable: updates it
// holds, acknowledged to Telegram already, are lost if the process stops
// without draining it, so [WithAsync] accepts it only with
// [WithVolatileQueue]. Use it in tests and development, or where losing
// updates on a crash is acceptable. For a graceful shutdown, stop the HTTP
// server, [MemoryQueue.Close] the queue and wait for [Worker.Run] to return:
// it returns once every queued update is processed.
//
// A MemoryQueue is safe for concurrent use.
type MemoryQueue struct {
	ch       chan *memJob // queued jobs; capacity = the queue's capacity
	mu       sync.Mutex
	closed   bool
	inflight int           // popped, not yet acked or nacked
	wake     chan struct{} // closed and replaced on every Push, Ack, Nack and Close
}

// NewMemoryQueue returns a MemoryQueue holding at most capacity updates,
// queued and in progress together. Panics if capacity is not positive.
func NewMemoryQueue(capacity int) *MemoryQueue {
	if capacity <= 0 {
		panic("webhook: MemoryQueue capacity must be positive")
	}
	return &MemoryQueue{ch: make(chan *memJob, capacity), wake: make(chan struct{})}
}

type memJob struct {
	q       *MemoryQueue
	u       *botapi.Update
	attempt int
}

// Push implements [Queue]. It fails with [ErrQueueFull] at capacity and with
// [ErrQueueClosed] after Close.
func (q *MemoryQueue) Push(ctx context.Context, u *botapi.Update) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return ErrQueueClosed
	}
	if len(q.ch)+q.inflight >= cap(q.ch) {
		return ErrQueueFull
	}
	q.ch <- &memJob{q: q, u: u}
	q.wakeLocked()
	return nil
}

// Pop implements [Queue].
func (q *MemoryQueue) Pop(ctx context.Context) (Job, error) {
	for {
		q.mu.Lock()
		select {
		case j := <-q.ch:
			q.inflight++
			q.mu.Unlock()
			j.attempt++
			return j, nil
		default:
		}
		if q.closed && q.inflight == 0 {
			q.mu.Unlock()
			return nil, ErrQueueClosed
		}
		wake := q.wake
		q.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-wake:
		}
	}
}

// Durable reports false: a MemoryQueue loses its contents with the process.
func (q *MemoryQueue) Durable() bool { return false }

// Close stops Push; Pop keeps returning queued jobs (and nacked ones) until
// none is left or in progress, then returns [ErrQueueClosed].
func (q *MemoryQueue) Close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.closed {
		q.closed = true
		q.wakeLocked()
	}
}

// Len returns the number of queued updates, not counting those in progress.
func (q *MemoryQueue) Len() int { return len(q.ch) }

func (q *MemoryQueue) wakeLocked() {
	close(q.wake)
	q.wake = make(chan struct{})
}

func (j *memJob) Update() *botapi.Update { return j.u }
func (j *memJob) Attempt() int           { return j.attempt }

func (j *memJob) Ack(context.Context) error {
	j.q.mu.Lock()
	defer j.q.mu.Unlock()
	j.q.inflight--
	j.q.wakeLocked()
	return nil
}

func (j *memJob) Nack(context.Context) error {
	j.q.mu.Lock()
	defer j.q.mu.Unlock()
	j.q.inflight--
	j.q.ch <- j // never blocks: inflight jobs hold their place in the capacity
	j.q.wakeLocked()
	return nil
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

// DeadLetter is an update a [Worker] gave up on after its last attempt.
type DeadLetter struct {
	Update   *botapi.Update
	Attempts int   // how many times it ran (or tried to)
	Err      error // the last failure: the handler's error, or why it could not run
}

// ErrUpdateBusy is the [DeadLetter.Err] of an update a [Worker] could not
// claim on its last attempt (the [Store] failed, or another consumer held
// the update for longer than the in-flight wait).
var ErrUpdateBusy = errors.New("webhook: update busy or store failed")

// Worker processes the updates of a [Queue] with an [UpdateHandler], once
// per update_id, through the same [Store] semantics as [NewHandler]: claim,
// run, complete, or release and nack so the update runs again. Between
// attempts it waits as [WithBackoff] says (default [DefaultBackoff]),
// holding the job (it keeps its place in the queue's capacity); after
// [WithMaxAttempts] attempts it acks the job and keeps the update as a
// [DeadLetter]: it is passed to the [WithDeadLetter] hook if one is set,
// otherwise kept in memory until [Worker.DeadLetters] takes it, and logged
// (update_id, attempts; never the update or the handler's error text). So
// no update is lost while the process lives. [SetReply] is not available to
// it. A Worker is safe for concurrent use.
type Worker struct {
	q       Queue
	h       UpdateHandler
	o       handlerOptions
	owners  ownerSource
	flights flights
	sleep   func(ctx context.Context, d time.Duration) error // test seam; sleepCtx by default

	mu   sync.Mutex
	dead []DeadLetter
}

// NewWorker returns a Worker for q and h. It takes the same options as
// [NewHandler] ([WithBackoff], [WithDeadLetter] and [WithMaxAttempts] are
// for it alone); those about HTTP are ignored. Give it the same [Store] as
// any other consumer of the updates. Panics if q or h is nil.
func NewWorker(q Queue, h UpdateHandler, opts ...Option) *Worker {
	if q == nil || h == nil {
		panic("webhook: NewWorker with a nil Queue or UpdateHandler")
	}
	return &Worker{q: q, h: h, o: buildOptions(opts), owners: newOwnerSource(), sleep: sleepCtx}
}

// DeadLetters returns the updates given up on since the last call and
// forgets them, oldest first. It returns nil when [WithDeadLetter] is set
// (the hook has them). Without a hook the list is not bounded (dropping a
// dead letter would lose an update): drain it periodically, or set
// [WithDeadLetter] to hand them to durable storage.
func (w *Worker) DeadLetters() []DeadLetter {
	w.mu.Lock()
	defer w.mu.Unlock()
	d := w.dead
	w.dead = nil
	return d
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

// Run processes updates with n goroutines (at least 1) until the queue is
// closed and drained, when it returns nil, or ctx ends, when it returns
// ctx.Err() once the updates in progress are finished (an update waiting
// out its backoff is nacked at once, so it stays in the queue).
func (w *Worker) Run(ctx context.Context, n int) error {
	if err := errors.Join(w.o.errs...); err != nil {
		return err
	}
	n = max(n, 1)
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			for ctx.Err() == nil { // Pop may return a job even once ctx has ended
				job, err := w.q.Pop(ctx)
				if err != nil {
					if !errors.Is(err, ErrQueueClosed) {
						errs[i] = err
					}
					return
				}
				w.process(ctx, job)
			}
		})
	}
	wg.Wait()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return errors.Join(errs...)
}

// process runs job; runCtx (Run's) only cuts a backoff wait short, the
// handler and the queue calls run to completion.
func (w *Worker) process(runCtx context.Context, job Job) {
	u := job.Update()
	ctx, ob := observeStart(context.WithoutCancel(runCtx), w.o.observer, u, sourceWorker, job.Attempt())
	key := updateKeyPrefix + strconv.FormatInt(u.UpdateID, 10)
	owner := w.owners.next()
	retry := func(cause error) {
		if job.Attempt() >= w.o.maxAttempts {
			w.deadLetter(ctx, DeadLetter{Update: u, Attempts: job.Attempt(), Err: cause})
			ob.done(ResultDead, 0, cause)
			_ = job.Ack(ctx)
			return
		}
		ob.done("", 0, cause)
		_ = w.sleep(runCtx, w.o.backoff(job.Attempt())) // ended early by Run's ctx: nack now
		_ = job.Nack(ctx)
	}
	claim := claimUntil(ctx, w.o.store, &w.flights, key, owner, w.o.lease, w.o.inFlightWait)
	ob.dedupe(claimDedupe(claim))
	switch claim {
	case claimDone:
		ob.done(ResultOK, 0, nil)
		_ = job.Ack(ctx)
		return
	case claimOwned:
	default:
		retry(ErrUpdateBusy)
		return
	}
	end := w.flights.begin(key)
	hstart := ob.now()
	err := runHandler(ctx, w.h, u, w.o.lease, nil, w.o.logger)
	ob.handler(hstart, err)
	if err != nil {
		if rerr := w.o.store.Release(ctx, key, owner); rerr != nil {
			w.o.logger.Warn("webhook: release failed", "update_id", u.UpdateID, "err", rerr)
		}
		end()
		retry(err)
		return
	}
	if err := w.o.store.Complete(ctx, key, owner, w.o.doneTTL, nil); err != nil {
		w.o.logger.Warn("webhook: complete failed", "update_id", u.UpdateID, "err", err)
	}
	end()
	ob.done("", 0, nil)
	_ = job.Ack(ctx)
}

// deadLetter keeps d (hook or list) and logs it without its contents.
func (w *Worker) deadLetter(ctx context.Context, d DeadLetter) {
	w.o.logger.Error("webhook: update dead-lettered after max attempts", "update_id", d.Update.UpdateID, "attempts", d.Attempts)
	if w.o.deadLetter != nil {
		w.o.deadLetter(ctx, d)
		return
	}
	w.mu.Lock()
	w.dead = append(w.dead, d)
	w.mu.Unlock()
}
