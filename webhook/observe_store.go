package webhook

import (
	"context"
	"fmt"
	"time"
)

// StoreEvent is one call to a store wrapped by [ObserveStore] or [ObserveQueue]: the
// operation, how long it took and its error.
type StoreEvent struct {
	// Store names the interface, e.g. "webhook.Store"; Impl is the wrapped
	// implementation's type, e.g. "*webhook.MemoryStore".
	Store, Impl string
	// Op is the method called, e.g. "Claim".
	Op string
	// Start is when the call began; Duration how long it took.
	Start    time.Time
	Duration time.Duration
	// Err is the call's error, nil if none.
	Err error
}

// storeObs reports the calls of one wrapped store.
type storeObs struct {
	observe     func(context.Context, StoreEvent)
	store, impl string
}

func newStoreObs(observe func(context.Context, StoreEvent), store string, impl any) storeObs {
	return storeObs{observe: observe, store: store, impl: fmt.Sprintf("%T", impl)}
}

func (o storeObs) done(ctx context.Context, op string, start time.Time, err error) {
	o.observe(ctx, StoreEvent{Store: o.store, Impl: o.impl, Op: op, Start: start, Duration: time.Since(start), Err: err})
}

// ObserveStore returns s with each call reported to observe, synchronously
// and after the call (see [Observer] on what an observer may do): the
// observer seam of the stores, whatever their engine. The otel module's
// Observer.ObserveWebhookStore fits observe. A nil observe returns s.
func ObserveStore(s Store, observe func(context.Context, StoreEvent)) Store {
	if observe == nil || s == nil {
		return s
	}
	return &observedStore{s: s, o: newStoreObs(observe, "webhook.Store", s)}
}

type observedStore struct {
	s Store
	o storeObs
}

func (w *observedStore) Claim(ctx context.Context, key, owner string, lease time.Duration, data []byte) (ClaimResult, error) {
	start := time.Now()
	r, err := w.s.Claim(ctx, key, owner, lease, data)
	w.o.done(ctx, "Claim", start, err)
	return r, err
}

func (w *observedStore) Complete(ctx context.Context, key, owner string, ttl time.Duration, data []byte) error {
	start := time.Now()
	err := w.s.Complete(ctx, key, owner, ttl, data)
	w.o.done(ctx, "Complete", start, err)
	return err
}

func (w *observedStore) Extend(ctx context.Context, key, owner string, lease time.Duration) error {
	start := time.Now()
	err := w.s.Extend(ctx, key, owner, lease)
	w.o.done(ctx, "Extend", start, err)
	return err
}

func (w *observedStore) Release(ctx context.Context, key, owner string) error {
	start := time.Now()
	err := w.s.Release(ctx, key, owner)
	w.o.done(ctx, "Release", start, err)
	return err
}

// ObserveQueue returns q with each call (Push, Pop, DeadLetters, Redrive,
// and a job's Ack, Nack, Postpone and Bury) reported to observe, like [ObserveStore]. A nil observe returns q.
func ObserveQueue(q Queue, observe func(context.Context, StoreEvent)) Queue {
	if observe == nil || q == nil {
		return q
	}
	return &observedQueue{q: q, o: newStoreObs(observe, "webhook.Queue", q)}
}

type observedQueue struct {
	q Queue
	o storeObs
}

func (w *observedQueue) Push(ctx context.Context, id int64, body []byte) error {
	start := time.Now()
	err := w.q.Push(ctx, id, body)
	w.o.done(ctx, "Push", start, err)
	return err
}

func (w *observedQueue) DeadLetters(ctx context.Context, limit int) ([]DeadLetter, error) {
	start := time.Now()
	d, err := w.q.DeadLetters(ctx, limit)
	w.o.done(ctx, "DeadLetters", start, err)
	return d, err
}

func (w *observedQueue) Redrive(ctx context.Context, id int64) error {
	start := time.Now()
	err := w.q.Redrive(ctx, id)
	w.o.done(ctx, "Redrive", start, err)
	return err
}

func (w *observedQueue) Pop(ctx context.Context) (Job, error) {
	start := time.Now()
	j, err := w.q.Pop(ctx)
	w.o.done(ctx, "Pop", start, err)
	if err != nil {
		return j, err
	}
	return &observedJob{Job: j, o: w.o}, nil
}

func (w *observedQueue) Durable() bool { return w.q.Durable() }

type observedJob struct {
	Job
	o storeObs
}

func (j *observedJob) Ack(ctx context.Context) error {
	start := time.Now()
	err := j.Job.Ack(ctx)
	j.o.done(ctx, "Ack", start, err)
	return err
}

func (j *observedJob) Nack(ctx context.Context, delay time.Duration) error {
	start := time.Now()
	err := j.Job.Nack(ctx, delay)
	j.o.done(ctx, "Nack", start, err)
	return err
}

func (j *observedJob) Postpone(ctx context.Context, delay time.Duration) error {
	start := time.Now()
	err := j.Job.Postpone(ctx, delay)
	j.o.done(ctx, "Postpone", start, err)
	return err
}

func (j *observedJob) Bury(ctx context.Context, reason string) error {
	start := time.Now()
	err := j.Job.Bury(ctx, reason)
	j.o.done(ctx, "Bury", start, err)
	return err
}
