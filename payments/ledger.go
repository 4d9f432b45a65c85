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

// State is where a payment stands in the ledger.
type State uint8

// Payment states. A payment enters the ledger as StatePaid when its
// successful_payment arrives, becomes StateFulfilled once the seller's fulfil
// callback has succeeded, and StateRefunded once refunded (from either state).
const (
	StatePaid      State = iota + 1 // money received, goods not yet delivered
	StateFulfilled                  // goods delivered
	StateRefunded                   // money returned to the buyer
)

// String returns "paid", "fulfilled", "refunded" or "State(n)".
func (s State) String() string {
	switch s {
	case StatePaid:
		return "paid"
	case StateFulfilled:
		return "fulfilled"
	case StateRefunded:
		return "refunded"
	}
	return fmt.Sprintf("State(%d)", uint8(s))
}

// Payment is one charge as the ledger keeps it, keyed by ChargeID (Telegram's
// telegram_payment_charge_id, unique per payment).
//
// Telegram docs: https://core.telegram.org/bots/api#successfulpayment
type Payment struct {
	ChargeID         string // telegram_payment_charge_id: the ledger key
	ProviderChargeID string // provider_payment_charge_id (empty for some Stars payments)
	UserID           int64  // the buyer
	Currency         string // "XTR" for Telegram Stars
	Amount           int64  // total_amount, in smallest units
	Payload          string // invoice_payload as Telegram returned it

	// Subscriptions (Telegram Stars only).
	IsRecurring            bool      // a subscription payment
	IsFirstRecurring       bool      // the first payment of a subscription
	SubscriptionExpiration time.Time // end of the period paid for; zero if not recurring

	State       State
	PaidAt      time.Time // when the ledger first recorded the payment
	FulfilledAt time.Time // zero until fulfilled
	RefundedAt  time.Time // zero until refunded

	// RefundHookDoneAt is when the refund hook ([WithRefundHook]) succeeded
	// for this refunded payment; zero while it has not (not yet run, failed,
	// or no hook set), so a redelivery or [Handler.RetryPending] runs it.
	RefundHookDoneAt time.Time
}

// Ledger records payments so each is fulfilled exactly once. Implementations
// must make every method atomic with respect to the others for the same
// ChargeID and be safe for concurrent use; a SQL ledger maps them to single
// statements (INSERT ... ON CONFLICT DO NOTHING, UPDATE ... WHERE state = ...)
// and a Redis ledger to SET NX, Lua or WATCH/MULTI. [MemoryLedger] is the
// in-memory implementation; package payments/ledgertest checks any
// implementation against this contract.
type Ledger interface {
	// Record stores p if no payment with p.ChargeID exists yet (p.State zero
	// means StatePaid) and returns (p, true); otherwise it changes nothing
	// and returns the stored payment and false.
	Record(ctx context.Context, p Payment) (stored Payment, first bool, err error)
	// Get returns the payment for chargeID, or an error wrapping ErrNotFound.
	Get(ctx context.Context, chargeID string) (Payment, error)
	// Claim takes the right to fulfil chargeID for owner (a value unique to
	// this attempt) until the lease time `until`: it returns true only if
	// the payment is StatePaid and unclaimed, or its last claim expired at
	// or before now. A claim ends with SetState or Release, or when it
	// expires (a crashed worker's claim is retaken by a new owner).
	Claim(ctx context.Context, chargeID, owner string, now, until time.Time) (bool, error)
	// Release drops owner's claim on chargeID without changing its state,
	// so a later delivery or retry may claim it again. If owner no longer
	// holds the claim (its lease expired and another owner took it) Release
	// changes nothing and returns nil: a stale owner never frees a claim
	// that a live fulfilment holds.
	Release(ctx context.Context, chargeID, owner string) error
	// SetState moves chargeID from state `from` to `to`, stamping the
	// matching time field with at and dropping any claim; it returns false,
	// changing nothing, when the payment is not in state `from`.
	SetState(ctx context.Context, chargeID string, from, to State, at time.Time) (bool, error)
	// ClaimRefundHook takes the right to run the refund hook for chargeID
	// for owner until `until`, as Claim does for fulfilment: it returns true
	// only if the payment is StateRefunded, its RefundHookDoneAt is zero,
	// and it is unclaimed or its last claim expired at or before now. It is
	// the same claim as Claim's (Release drops it); a SQL ledger maps it to
	// UPDATE ... WHERE state = refunded AND refund_hook_done_at IS NULL AND
	// (claim_until IS NULL OR claim_until <= now).
	ClaimRefundHook(ctx context.Context, chargeID, owner string, now, until time.Time) (bool, error)
	// RefundHookDone stamps RefundHookDoneAt with at and drops any claim if
	// the payment is StateRefunded and its RefundHookDoneAt is zero; it
	// returns false, changing nothing, otherwise.
	RefundHookDone(ctx context.Context, chargeID string, at time.Time) (bool, error)
	// All yields every payment, in the order they were first recorded.
	All(ctx context.Context) iter.Seq2[Payment, error]
}

// MemoryLedger is a [Ledger] in process memory. It is not durable: a restart
// forgets every payment, so a redelivered successful_payment would be
// fulfilled again. Use it for tests, demos and single-process bots that can
// rebuild state from [Handler.Reconcile]; use a database-backed Ledger in
// production. The zero value is ready to use; it is safe for concurrent use.
type MemoryLedger struct {
	mu       sync.Mutex
	payments map[string]*memoryEntry
	seq      uint64
}

type memoryEntry struct {
	p     Payment
	seq   uint64
	claim time.Time // lease end; zero: unclaimed
	owner string    // the claim's owner
}

var _ Ledger = (*MemoryLedger)(nil)

// NewMemoryLedger returns an empty in-memory ledger.
func NewMemoryLedger() *MemoryLedger { return &MemoryLedger{} }

// Record implements [Ledger].
func (l *MemoryLedger) Record(_ context.Context, p Payment) (Payment, bool, error) {
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
	l.seq++
	l.payments[p.ChargeID] = &memoryEntry{p: p, seq: l.seq}
	return p, true, nil
}

// Get implements [Ledger].
func (l *MemoryLedger) Get(_ context.Context, chargeID string) (Payment, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.payments[chargeID]
	if !ok {
		return Payment{}, fmt.Errorf("%w: %q", ErrNotFound, chargeID)
	}
	return e.p, nil
}

// Claim implements [Ledger].
func (l *MemoryLedger) Claim(_ context.Context, chargeID, owner string, now, until time.Time) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.payments[chargeID]
	if !ok {
		return false, fmt.Errorf("%w: %q", ErrNotFound, chargeID)
	}
	if e.p.State != StatePaid || (!e.claim.IsZero() && now.Before(e.claim)) {
		return false, nil
	}
	e.claim, e.owner = until, owner
	return true, nil
}

// Release implements [Ledger].
func (l *MemoryLedger) Release(_ context.Context, chargeID, owner string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.payments[chargeID]
	if !ok {
		return fmt.Errorf("%w: %q", ErrNotFound, chargeID)
	}
	if e.owner == owner {
		e.claim, e.owner = time.Time{}, ""
	}
	return nil
}

// SetState implements [Ledger].
func (l *MemoryLedger) SetState(_ context.Context, chargeID string, from, to State, at time.Time) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.payments[chargeID]
	if !ok {
		return false, fmt.Errorf("%w: %q", ErrNotFound, chargeID)
	}
	if e.p.State != from {
		return false, nil
	}
	e.p.State = to
	e.claim, e.owner = time.Time{}, ""
	switch to {
	case StateFulfilled:
		e.p.FulfilledAt = at
	case StateRefunded:
		e.p.RefundedAt = at
	}
	return true, nil
}

// ClaimRefundHook implements [Ledger].
func (l *MemoryLedger) ClaimRefundHook(_ context.Context, chargeID, owner string, now, until time.Time) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.payments[chargeID]
	if !ok {
		return false, fmt.Errorf("%w: %q", ErrNotFound, chargeID)
	}
	if e.p.State != StateRefunded || !e.p.RefundHookDoneAt.IsZero() || (!e.claim.IsZero() && now.Before(e.claim)) {
		return false, nil
	}
	e.claim, e.owner = until, owner
	return true, nil
}

// RefundHookDone implements [Ledger].
func (l *MemoryLedger) RefundHookDone(_ context.Context, chargeID string, at time.Time) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.payments[chargeID]
	if !ok {
		return false, fmt.Errorf("%w: %q", ErrNotFound, chargeID)
	}
	if e.p.State != StateRefunded || !e.p.RefundHookDoneAt.IsZero() {
		return false, nil
	}
	e.p.RefundHookDoneAt = at
	e.claim, e.owner = time.Time{}, ""
	return true, nil
}

// All implements [Ledger]. It yields a snapshot taken when iteration starts.
func (l *MemoryLedger) All(_ context.Context) iter.Seq2[Payment, error] {
	return func(yield func(Payment, error) bool) {
		l.mu.Lock()
		entries := make([]memoryEntry, 0, len(l.payments))
		for _, e := range l.payments {
			entries = append(entries, *e)
		}
		l.mu.Unlock()
		slices.SortFunc(entries, func(a, b memoryEntry) int { return cmp.Compare(a.seq, b.seq) })
		for _, e := range entries {
			if !yield(e.p, nil) {
				return
			}
		}
	}
}
