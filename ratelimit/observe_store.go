package ratelimit

import (
	"context"
	"fmt"
	"time"
)

// StoreEvent is one call to a store wrapped by [ObserveStore]: the
// operation, how long it took and its error.
type StoreEvent struct {
	// Store names the interface, e.g. "ratelimit.Store"; Impl is the wrapped
	// implementation's type, e.g. "*ratelimit.MemoryStore".
	Store, Impl string
	// Op is the method called, e.g. "Take".
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
// Observer.ObserveRateStore fits observe. A nil observe returns s.
func ObserveStore(s Store, observe func(context.Context, StoreEvent)) Store {
	if observe == nil || s == nil {
		return s
	}
	return &observedStore{s: s, o: newStoreObs(observe, "ratelimit.Store", s)}
}

type observedStore struct {
	s Store
	o storeObs
}

func (w *observedStore) Peek(ctx context.Context, now time.Time, cells []Cell) (Verdict, error) {
	start := time.Now()
	v, err := w.s.Peek(ctx, now, cells)
	w.o.done(ctx, "Peek", start, err)
	return v, err
}

func (w *observedStore) Take(ctx context.Context, now time.Time, cells []Cell) (Verdict, error) {
	start := time.Now()
	v, err := w.s.Take(ctx, now, cells)
	w.o.done(ctx, "Take", start, err)
	return v, err
}

func (w *observedStore) Reserve(ctx context.Context, now time.Time, cells []Cell, ready int, maxWait time.Duration) (Verdict, error) {
	start := time.Now()
	v, err := w.s.Reserve(ctx, now, cells, ready, maxWait)
	w.o.done(ctx, "Reserve", start, err)
	return v, err
}

// ReserveAhead passes on the wrapped store's [RemoteStore.ReserveAhead],
// 0 when it has none.
func (w *observedStore) ReserveAhead() time.Duration {
	if rs, ok := w.s.(RemoteStore); ok {
		return rs.ReserveAhead()
	}
	return 0
}

func (w *observedStore) Block(ctx context.Context, cell Cell, until time.Time) error {
	start := time.Now()
	err := w.s.Block(ctx, cell, until)
	w.o.done(ctx, "Block", start, err)
	return err
}
