package payments

import (
	"cmp"
	"context"
	"fmt"
	"iter"
	"slices"
	"sync"
	"time"
)

// MemoryLedger is a [Ledger] in process memory. It is not durable: a restart
// forgets every payment, so a redelivered successful_payment would be
// fulfilled again. Use it for tests, demos and single-process bots that can
// rebuild state from [Handler.Reconcile]; use a database-backed Ledger in
// production. Its Fulfil runs fn with a nil [Tx]; while fn runs, the claim
// cannot be taken over even if its lease expires (the process that holds it
// is alive), and a refund waits for fn to end.
//
// The zero value is ready to use; it is safe for concurrent use.
type MemoryLedger struct {
	// Now is the ledger's clock, for leases and timestamps. nil means
	// time.Now. Set it before first use.
	Now func() time.Time

	mu       sync.Mutex
	payments map[string]*memoryEntry
	orders   map[string]*memoryOrder
	pending  map[string]*memoryEntry // paid, or refunded with the hook due
	seq      uint64
}

type memoryEntry struct {
	p       Payment
	seq     uint64
	claim   time.Time // lease end; zero: unclaimed
	owner   string    // the claim's owner
	running bool      // Fulfil or RefundHookDone is running fn
}

type memoryOrder struct {
	charge string    // the charge that paid it; "" while only reserved
	holder string    // the reservation's holder
	again  string    // the holder, once it reserved the order again while holding it: its release is refused
	until  time.Time // the reservation's end
	refs   []string  // charges recorded with this OrderRef, in record order
}

var _ Ledger = (*MemoryLedger)(nil)

// NewMemoryLedger returns an empty in-memory ledger on time.Now.
func NewMemoryLedger() *MemoryLedger { return &MemoryLedger{} }

func (l *MemoryLedger) now() time.Time {
	if l.Now != nil {
		return l.Now()
	}
	return time.Now()
}

func (l *MemoryLedger) entry(chargeID string) (*memoryEntry, error) {
	e, ok := l.payments[chargeID]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrNotFound, chargeID)
	}
	return e, nil
}

// track keeps the pending index in step with e's state.
func (l *MemoryLedger) track(e *memoryEntry) {
	if e.p.State == StatePaid || e.p.RefundHookDue() {
		if l.pending == nil {
			l.pending = make(map[string]*memoryEntry)
		}
		l.pending[e.p.ChargeID] = e
	} else {
		delete(l.pending, e.p.ChargeID)
	}
}

func (l *MemoryLedger) order(ref string) *memoryOrder {
	if l.orders == nil {
		l.orders = make(map[string]*memoryOrder)
	}
	o := l.orders[ref]
	if o == nil {
		o = &memoryOrder{}
		l.orders[ref] = o
	}
	return o
}

// Record implements [Ledger].
func (l *MemoryLedger) Record(_ context.Context, p Payment, oncePerOrder bool) (Payment, bool, error) {
	if p.ChargeID == "" {
		return Payment{}, false, fmt.Errorf("payments: record: empty charge id")
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if e, ok := l.payments[p.ChargeID]; ok {
		return e.p, false, nil
	}
	if l.payments == nil {
		l.payments = make(map[string]*memoryEntry)
	}
	if p.State == 0 {
		p.State = StatePaid
	}
	if p.PaidAt.IsZero() {
		p.PaidAt = l.now()
	}
	if p.State == StateRefunded && p.RefundedAt.IsZero() {
		p.RefundedAt = p.PaidAt
	}
	p.DuplicateOf, p.RefundRequested = "", false
	if p.OrderRef != "" {
		o := l.order(p.OrderRef)
		if oncePerOrder && p.State == StatePaid {
			if o.charge == "" {
				o.charge = p.ChargeID
			} else {
				p.DuplicateOf = o.charge
			}
		}
		o.refs = append(o.refs, p.ChargeID)
	}
	l.seq++
	e := &memoryEntry{p: p, seq: l.seq}
	l.payments[p.ChargeID] = e
	l.track(e)
	return p, true, nil
}

// Get implements [Ledger].
func (l *MemoryLedger) Get(_ context.Context, chargeID string) (Payment, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e, err := l.entry(chargeID)
	if err != nil {
		return Payment{}, err
	}
	return e.p, nil
}

// ByOrder implements [Ledger].
func (l *MemoryLedger) ByOrder(_ context.Context, orderRef string) ([]Payment, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	o := l.orders[orderRef]
	if o == nil {
		return nil, nil
	}
	out := make([]Payment, 0, len(o.refs))
	for _, id := range o.refs {
		out = append(out, l.payments[id].p)
	}
	return out, nil
}

// Reserve implements [Ledger].
func (l *MemoryLedger) Reserve(_ context.Context, orderRef, holder string, ttl time.Duration) (bool, error) {
	if orderRef == "" || holder == "" {
		return false, fmt.Errorf("payments: reserve: empty order reference or holder")
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	o := l.order(orderRef)
	if o.charge != "" || (o.holder != "" && o.holder != holder && now.Before(o.until)) {
		return false, nil
	}
	o.again = ""
	if o.holder == holder {
		o.again = holder // its query delivered again: pinned
	}
	o.holder, o.until = holder, now.Add(ttl)
	return true, nil
}

// ReleaseReservation implements [Ledger].
func (l *MemoryLedger) ReleaseReservation(_ context.Context, orderRef, holder string) error {
	if orderRef == "" || holder == "" {
		return fmt.Errorf("payments: release reservation: empty order reference or holder")
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if o := l.orders[orderRef]; o != nil && o.charge == "" && o.holder == holder && o.again != holder {
		o.holder, o.until = "", time.Time{}
	}
	return nil
}

// free reports whether e's claim can be taken at now.
func (e *memoryEntry) free(now time.Time) bool {
	return !e.running && (e.owner == "" || !now.Before(e.claim))
}

// holds reports whether owner holds a live claim on e at now.
func (e *memoryEntry) holds(owner string, now time.Time) bool {
	return owner != "" && e.owner == owner && now.Before(e.claim)
}

// Claim implements [Ledger].
func (l *MemoryLedger) Claim(_ context.Context, chargeID, owner string, ttl time.Duration) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e, err := l.entry(chargeID)
	if err != nil {
		return false, err
	}
	now := l.now()
	if e.p.State != StatePaid || e.p.RefundRequested || !e.free(now) {
		return false, nil
	}
	e.claim, e.owner = now.Add(ttl), owner
	return true, nil
}

// Release implements [Ledger].
func (l *MemoryLedger) Release(_ context.Context, chargeID, owner string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	e, err := l.entry(chargeID)
	if err != nil {
		return err
	}
	if e.owner == owner && !e.running {
		l.endClaim(e)
	}
	return nil
}

// endClaim drops e's claim and applies a refund requested under it.
func (l *MemoryLedger) endClaim(e *memoryEntry) {
	e.claim, e.owner = time.Time{}, ""
	if e.p.RefundRequested && e.p.State != StateRefunded {
		e.p.State, e.p.RefundedAt, e.p.RefundRequested = StateRefunded, l.now(), false
	}
	l.track(e)
}

// run runs fn for owner's claim on e if check passes, then commit; the
// claim ends either way. Callers hold l.mu; it is released while fn runs.
func (l *MemoryLedger) run(ctx context.Context, e *memoryEntry, fn TxFunc, commit func()) error {
	e.running = true
	l.mu.Unlock()
	ok := false
	defer func() {
		if !ok { // fn panicked: end the claim, leave the lock held for the caller's Unlock
			l.mu.Lock()
			l.finish(e)
		}
	}()
	err := fn(ctx, nil)
	ok = true
	l.mu.Lock()
	if err == nil {
		commit()
	}
	l.finish(e)
	return err
}

func (l *MemoryLedger) finish(e *memoryEntry) {
	e.running = false
	l.endClaim(e)
}

// Fulfil implements [Ledger].
func (l *MemoryLedger) Fulfil(ctx context.Context, chargeID, owner string, fn TxFunc) (Payment, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e, err := l.entry(chargeID)
	if err != nil {
		return Payment{}, err
	}
	if e.p.State != StatePaid || e.p.DuplicateOf != "" || e.running || !e.holds(owner, l.now()) {
		return e.p, fmt.Errorf("%w: charge %q", ErrClaimLost, chargeID)
	}
	if e.p.RefundRequested {
		l.endClaim(e)
		return e.p, nil
	}
	err = l.run(ctx, e, fn, func() {
		e.p.State, e.p.FulfilledAt = StateFulfilled, l.now()
	})
	return e.p, err
}

// Refund implements [Ledger].
func (l *MemoryLedger) Refund(_ context.Context, chargeID string) (Payment, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e, err := l.entry(chargeID)
	if err != nil {
		return Payment{}, err
	}
	switch {
	case e.p.State == StateRefunded:
	case e.p.State == StatePaid && e.p.DuplicateOf == "" && !e.free(l.now()):
		e.p.RefundRequested = true // a fulfilment holds the claim: applied when it ends
	default:
		// Paid and unclaimed (or a duplicate, or a stale claim), or fulfilled.
		e.p.State, e.p.RefundedAt, e.p.RefundRequested = StateRefunded, l.now(), false
		e.claim, e.owner = time.Time{}, ""
	}
	l.track(e)
	return e.p, nil
}

// ClaimRefundHook implements [Ledger].
func (l *MemoryLedger) ClaimRefundHook(_ context.Context, chargeID, owner string, ttl time.Duration) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e, err := l.entry(chargeID)
	if err != nil {
		return false, err
	}
	now := l.now()
	if !e.p.RefundHookDue() || !e.free(now) {
		return false, nil
	}
	e.claim, e.owner = now.Add(ttl), owner
	return true, nil
}

// RefundHookDone implements [Ledger].
func (l *MemoryLedger) RefundHookDone(ctx context.Context, chargeID, owner string, fn TxFunc) (Payment, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e, err := l.entry(chargeID)
	if err != nil {
		return Payment{}, err
	}
	if !e.p.RefundHookDue() || e.running || !e.holds(owner, l.now()) {
		return e.p, fmt.Errorf("%w: refund hook of charge %q", ErrClaimLost, chargeID)
	}
	err = l.run(ctx, e, fn, func() { e.p.RefundHookDoneAt = l.now() })
	return e.p, err
}

// Pending implements [Ledger]. It reads the index of payments with work
// left, not the whole ledger, and yields a snapshot taken when iteration starts.
func (l *MemoryLedger) Pending(_ context.Context, olderThan time.Duration) iter.Seq2[Payment, error] {
	return func(yield func(Payment, error) bool) {
		l.mu.Lock()
		now := l.now()
		cutoff := now.Add(-olderThan)
		var out []memoryEntry
		for _, e := range l.pending {
			at := e.p.PaidAt
			if e.p.State == StateRefunded {
				at = e.p.RefundedAt
			}
			if e.free(now) && !at.After(cutoff) {
				out = append(out, memoryEntry{p: e.p, seq: e.seq})
			}
		}
		l.mu.Unlock()
		slices.SortFunc(out, func(a, b memoryEntry) int { return cmp.Compare(a.seq, b.seq) })
		for _, e := range out {
			if !yield(e.p, nil) {
				return
			}
		}
	}
}

// Since implements [Ledger]. It yields a snapshot taken when iteration starts.
func (l *MemoryLedger) Since(_ context.Context, t time.Time) iter.Seq2[Payment, error] {
	return func(yield func(Payment, error) bool) {
		l.mu.Lock()
		var out []memoryEntry
		for _, e := range l.payments {
			if !e.p.PaidAt.Before(t) {
				out = append(out, memoryEntry{p: e.p, seq: e.seq})
			}
		}
		l.mu.Unlock()
		slices.SortFunc(out, func(a, b memoryEntry) int { return cmp.Compare(a.seq, b.seq) })
		for _, e := range out {
			if !yield(e.p, nil) {
				return
			}
		}
	}
}
