package payments

import (
	"context"
	"fmt"
	"iter"
	"time"

	"github.com/miniappkit/miniappkit/botapi"
)

// State is where a payment stands in the ledger.
type State uint8

// Payment states. A payment enters the ledger as StatePaid when its
// successful_payment arrives, becomes StateFulfilled once the seller's fulfil
// callback has committed, and StateRefunded once refunded (from either state).
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

	// OrderRef is the order reference ([Order.Ref]) of a payload that
	// verified when the payment was recorded; empty otherwise. The ledger
	// indexes it ([Ledger.ByOrder]) and binds one-time orders to their
	// first charge with it.
	OrderRef string
	// ShippingOptionID and OrderInfo are what the buyer chose and entered
	// for an invoice that asked for them (physical goods).
	ShippingOptionID string
	OrderInfo        *botapi.OrderInfo

	// Subscriptions (Telegram Stars only).
	IsRecurring            bool      // a subscription payment
	IsFirstRecurring       bool      // the first payment of a subscription
	SubscriptionExpiration time.Time // end of the period paid for; zero if not recurring

	State       State
	PaidAt      time.Time // when the ledger first recorded the payment (its clock)
	FulfilledAt time.Time // zero until fulfilled
	RefundedAt  time.Time // zero until refunded

	// DuplicateOf is set by [Ledger.Record] when this charge paid a
	// one-time order another charge had already paid: it names that charge.
	// A duplicate is never fulfilled; the handler refunds it.
	DuplicateOf string
	// RefundRequested is set by [Ledger.Refund] when the refund arrived
	// while a fulfilment held the claim: the refund is applied when that
	// claim ends (after the fulfilment commits, or instead of it).
	RefundRequested bool
	// RefundHookDoneAt is when the refund hook ([WithRefundHook]) committed
	// for this refunded, fulfilled payment, or, for a handler with no refund
	// hook, when it recorded the refund as complete; zero while it is due.
	RefundHookDoneAt time.Time
}

// RefundHookDue reports whether the refund hook still has to run for p: p
// was fulfilled, then refunded, and the hook has not committed.
func (p Payment) RefundHookDue() bool {
	return p.State == StateRefunded && !p.FulfilledAt.IsZero() && p.RefundHookDoneAt.IsZero()
}

// Tx is the engine's transaction that a fulfilment (or refund hook) runs in,
// so that its own writes commit together with the ledger's state change, or
// not at all: *sql.Tx for store/sqlite, pgx.Tx for store/postgres. It is nil
// for ledgers without transactions shared with the caller ([MemoryLedger],
// store/redis); with those, a [FulfilFunc] must be idempotent on
// [Payment.ChargeID] (see the package doc, "Exactly once").
type Tx any

// TxFunc is work done inside [Ledger.Fulfil] or [Ledger.RefundHookDone]: an
// error rolls the transaction back and leaves the state unchanged.
type TxFunc func(ctx context.Context, tx Tx) error

// Ledger records payments so each is fulfilled exactly once and refunded at
// most once. Every method is atomic with respect to the others for the same
// ChargeID (and order reference), and safe for concurrent use by several
// processes sharing the ledger. All times (lease ends, PaidAt, FulfilledAt,
// RefundedAt) come from the ledger's clock: SQL now(), Redis TIME, or
// [MemoryLedger.Now]; never from the caller's.
//
// A claim is a lease held by an owner, a value unique to one attempt. Every
// change made under a claim (Fulfil, RefundHookDone, Release) is fenced by
// its owner: it changes nothing when another owner holds the claim or the
// lease has expired, so a worker that outlived its lease cannot complete.
// (A ledger without transactions checks the claim when fn starts, not when
// it ends: store/redis records a fulfilment whose lease expired while fn
// ran, since its effect happened, and another owner may have run fn too;
// see [FulfilFunc].)
//
// [MemoryLedger] is the in-memory implementation; package
// payments/ledgertest checks any implementation against this contract.
type Ledger interface {
	// Record stores p if no payment with p.ChargeID exists yet (p.State
	// zero means StatePaid, p.PaidAt zero means now) and returns it and
	// true; otherwise it changes nothing and returns the stored payment and
	// false. With oncePerOrder and a non-empty p.OrderRef, the first charge
	// recorded for an order binds it for good: a later charge for the same
	// order is stored with DuplicateOf naming the first (and is never
	// claimable for fulfilment), in the same atomic step.
	Record(ctx context.Context, p Payment, oncePerOrder bool) (stored Payment, first bool, err error)
	// Get returns the payment for chargeID, or an error wrapping ErrNotFound.
	Get(ctx context.Context, chargeID string) (Payment, error)
	// ByOrder returns the payments recorded with OrderRef orderRef, in
	// record order (an indexed lookup; none is not an error).
	ByOrder(ctx context.Context, orderRef string) ([]Payment, error)
	// Reserve reserves the one-time order orderRef for holder (a
	// pre_checkout_query id) for ttl: true if no charge has bound the order
	// and it is unreserved, reserved by holder already, or its reservation
	// has expired; false otherwise. A Reserve by the holder of the order's
	// reservation (live or expired, not released: its query delivered
	// again, or the handler trying a failed Reserve again) also pins the
	// reservation to holder: holder's
	// ReleaseReservation then changes nothing, since an earlier answer to
	// the same query may have reached Telegram. The pin ends with the
	// reservation (another holder taking the order over, or a charge).
	Reserve(ctx context.Context, orderRef, holder string, ttl time.Duration) (bool, error)
	// ReleaseReservation ends holder's reservation of orderRef at once, so
	// another pre-checkout can reserve the order without waiting for it to
	// expire: the handler calls it when holder's query cannot be paid
	// (its ok answer had no effect: refused as "query is too old", or
	// never sent); not after an ok answer whose fate is unknown, whose
	// reservation ends with its ttl, nor after a Reserve that failed. It is fenced
	// by holder: if the order is reserved by another holder (a later query,
	// after holder's reservation expired), is not reserved, or is bound to
	// a charge, it changes nothing and returns nil. It changes nothing
	// either when holder reserved the order again while holding it
	// (Reserve pinned it): a query delivered again after an ok answer that landed gets its
	// second answer refused as "query is too old", a refusal that says
	// nothing of the first answer, so that reservation ends with its ttl.
	ReleaseReservation(ctx context.Context, orderRef, holder string) error

	// Claim takes the right to fulfil chargeID for owner for ttl (for a
	// duplicate, the right to refund it): true only if the payment is
	// StatePaid, has no refund requested, and is unclaimed or its last
	// claim expired. A claim ends with Fulfil, Release, Refund, or when it
	// expires.
	Claim(ctx context.Context, chargeID, owner string, ttl time.Duration) (bool, error)
	// Release drops owner's claim on chargeID (fulfilment or refund hook)
	// without fulfilling; a refund requested meanwhile is applied now. If
	// owner no longer holds the claim, Release changes nothing and returns nil.
	Release(ctx context.Context, chargeID, owner string) error
	// Fulfil completes owner's claim: if owner holds a live claim on the
	// paid chargeID it runs fn and, when fn returns nil, moves the payment
	// to StateFulfilled, fn's writes and the state change committing
	// together; the claim ends either way (a failed fn leaves the payment
	// paid). If owner does not hold a live claim, or the payment is a
	// duplicate, it returns an error wrapping [ErrClaimLost] without running fn. A refund requested before
	// fn starts is applied instead of fn (the payment returned is refunded,
	// never fulfilled); a refund arriving while fn runs waits for it (or is
	// recorded and applied at commit): the payment returned is then
	// refunded with FulfilledAt set, its refund hook due.
	Fulfil(ctx context.Context, chargeID, owner string, fn TxFunc) (Payment, error)
	// Refund records that chargeID was refunded and returns the payment:
	// fulfilled becomes refunded (its refund hook due); paid becomes
	// refunded (never to be fulfilled) unless a fulfilment holds a live
	// claim on a payment that is not a duplicate, in which case
	// RefundRequested is set and the refund is applied when that claim
	// ends; refunded stays as it is. A refund drops any claim it applies over.
	Refund(ctx context.Context, chargeID string) (Payment, error)
	// ClaimRefundHook takes the right to run the refund hook of chargeID for
	// owner for ttl, as Claim does for fulfilment: true only if
	// [Payment.RefundHookDue] and the payment is unclaimed or its claim expired.
	ClaimRefundHook(ctx context.Context, chargeID, owner string, ttl time.Duration) (bool, error)
	// RefundHookDone completes owner's refund hook claim as Fulfil does:
	// it runs fn and stamps RefundHookDoneAt, together, or returns an error
	// wrapping [ErrClaimLost] if owner's claim is gone.
	RefundHookDone(ctx context.Context, chargeID, owner string, fn TxFunc) (Payment, error)

	// Pending yields the payments with work left whose claim is free or
	// expired and that were recorded (or refunded) at least olderThan ago:
	// paid payments (to fulfil, to refund as a duplicate, or to apply a
	// requested refund to) and refunded ones whose refund hook is due. It
	// is an indexed query whose cost follows the number pending, not the
	// size of the ledger.
	Pending(ctx context.Context, olderThan time.Duration) iter.Seq2[Payment, error]
	// Since yields the payments recorded at or after t (PaidAt), oldest
	// first: an indexed range for reconciliation.
	Since(ctx context.Context, t time.Time) iter.Seq2[Payment, error]
}
