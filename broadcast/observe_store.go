package broadcast

import (
	"context"
	"fmt"
	"time"
)

// StoreEvent is one call to a store wrapped by [ObserveLog]: the
// operation, how long it took and its error.
type StoreEvent struct {
	// Store names the interface, e.g. "broadcast.Log"; Impl is the wrapped
	// implementation's type, e.g. "*broadcast.MemoryLog".
	Store, Impl string
	// Op is the method called, e.g. "Finish".
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

// ObserveLog returns l with each call reported to observe, synchronously
// and after the call, from whichever goroutine made it, so concurrently
// during a [Run] (see [Observer] on what an observer may do): the
// observer seam of the stores, whatever their engine. The otel module's
// Observer.ObserveBroadcastLog fits observe. A nil observe returns l.
func ObserveLog(l Log, observe func(context.Context, StoreEvent)) Log {
	if observe == nil || l == nil {
		return l
	}
	return &observedLog{l: l, o: newStoreObs(observe, "broadcast.Log", l)}
}

type observedLog struct {
	l Log
	o storeObs
}

func (w *observedLog) Open(ctx context.Context, id, list, run string, lease time.Duration) ([]LogEntry, error) {
	start := time.Now()
	e, err := w.l.Open(ctx, id, list, run, lease)
	w.o.done(ctx, "Open", start, err)
	return e, err
}

func (w *observedLog) Renew(ctx context.Context, id, run string, lease time.Duration) error {
	start := time.Now()
	err := w.l.Renew(ctx, id, run, lease)
	w.o.done(ctx, "Renew", start, err)
	return err
}

func (w *observedLog) Start(ctx context.Context, id, run string, i int) error {
	start := time.Now()
	err := w.l.Start(ctx, id, run, i)
	w.o.done(ctx, "Start", start, err)
	return err
}

func (w *observedLog) Finish(ctx context.Context, id, run string, i int, o Outcome) error {
	start := time.Now()
	err := w.l.Finish(ctx, id, run, i, o)
	w.o.done(ctx, "Finish", start, err)
	return err
}

func (w *observedLog) Release(ctx context.Context, id, run string) error {
	start := time.Now()
	err := w.l.Release(ctx, id, run)
	w.o.done(ctx, "Release", start, err)
	return err
}
