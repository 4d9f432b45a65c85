package payments

import (
	"context"
	"fmt"
	"iter"
	"time"
)

// StoreEvent is one call to a store wrapped by [ObserveLedger]: the
// operation, how long it took and its error.
type StoreEvent struct {
	// Store names the interface, e.g. "payments.Ledger"; Impl is the wrapped
	// implementation's type, e.g. "*payments.MemoryLedger".
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

// ObserveLedger returns l with each call reported to observe, synchronously
// and after the call (see [Observer] on what an observer may do): the
// observer seam of the stores, whatever their engine. Fulfil and
// RefundHookDone are timed with the function they run; Pending and Since
// once their iteration ends. The otel module's Observer.ObserveLedger fits
// observe. A nil observe returns l.
func ObserveLedger(l Ledger, observe func(context.Context, StoreEvent)) Ledger {
	if observe == nil || l == nil {
		return l
	}
	return &observedLedger{l: l, o: newStoreObs(observe, "payments.Ledger", l)}
}

type observedLedger struct {
	l Ledger
	o storeObs
}

func (w *observedLedger) Record(ctx context.Context, p Payment, oncePerOrder bool) (Payment, bool, error) {
	start := time.Now()
	s, first, err := w.l.Record(ctx, p, oncePerOrder)
	w.o.done(ctx, "Record", start, err)
	return s, first, err
}

func (w *observedLedger) Get(ctx context.Context, chargeID string) (Payment, error) {
	start := time.Now()
	p, err := w.l.Get(ctx, chargeID)
	w.o.done(ctx, "Get", start, err)
	return p, err
}

func (w *observedLedger) ByOrder(ctx context.Context, orderRef string) ([]Payment, error) {
	start := time.Now()
	ps, err := w.l.ByOrder(ctx, orderRef)
	w.o.done(ctx, "ByOrder", start, err)
	return ps, err
}

func (w *observedLedger) Reserve(ctx context.Context, orderRef, holder string, ttl time.Duration) (bool, error) {
	start := time.Now()
	ok, err := w.l.Reserve(ctx, orderRef, holder, ttl)
	w.o.done(ctx, "Reserve", start, err)
	return ok, err
}

func (w *observedLedger) ReleaseReservation(ctx context.Context, orderRef, holder string) error {
	start := time.Now()
	err := w.l.ReleaseReservation(ctx, orderRef, holder)
	w.o.done(ctx, "ReleaseReservation", start, err)
	return err
}

func (w *observedLedger) Claim(ctx context.Context, chargeID, owner string, ttl time.Duration) (bool, error) {
	start := time.Now()
	ok, err := w.l.Claim(ctx, chargeID, owner, ttl)
	w.o.done(ctx, "Claim", start, err)
	return ok, err
}

func (w *observedLedger) Release(ctx context.Context, chargeID, owner string) error {
	start := time.Now()
	err := w.l.Release(ctx, chargeID, owner)
	w.o.done(ctx, "Release", start, err)
	return err
}

func (w *observedLedger) Fulfil(ctx context.Context, chargeID, owner string, fn TxFunc) (Payment, error) {
	start := time.Now()
	p, err := w.l.Fulfil(ctx, chargeID, owner, fn)
	w.o.done(ctx, "Fulfil", start, err)
	return p, err
}

func (w *observedLedger) Refund(ctx context.Context, chargeID string) (Payment, error) {
	start := time.Now()
	p, err := w.l.Refund(ctx, chargeID)
	w.o.done(ctx, "Refund", start, err)
	return p, err
}

func (w *observedLedger) ClaimRefundHook(ctx context.Context, chargeID, owner string, ttl time.Duration) (bool, error) {
	start := time.Now()
	ok, err := w.l.ClaimRefundHook(ctx, chargeID, owner, ttl)
	w.o.done(ctx, "ClaimRefundHook", start, err)
	return ok, err
}

func (w *observedLedger) RefundHookDone(ctx context.Context, chargeID, owner string, fn TxFunc) (Payment, error) {
	start := time.Now()
	p, err := w.l.RefundHookDone(ctx, chargeID, owner, fn)
	w.o.done(ctx, "RefundHookDone", start, err)
	return p, err
}

func (w *observedLedger) Pending(ctx context.Context, olderThan time.Duration) iter.Seq2[Payment, error] {
	return w.seq(ctx, "Pending", w.l.Pending(ctx, olderThan))
}

func (w *observedLedger) Since(ctx context.Context, t time.Time) iter.Seq2[Payment, error] {
	return w.seq(ctx, "Since", w.l.Since(ctx, t))
}

// seq reports an iteration once it ends, with the first error it yielded.
func (w *observedLedger) seq(ctx context.Context, op string, s iter.Seq2[Payment, error]) iter.Seq2[Payment, error] {
	return func(yield func(Payment, error) bool) {
		start := time.Now()
		var first error
		defer func() { w.o.done(ctx, op, start, first) }()
		for p, err := range s {
			if err != nil && first == nil {
				first = err
			}
			if !yield(p, err) {
				return
			}
		}
	}
}
