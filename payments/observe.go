package payments

import (
	"context"
	"errors"
	"time"

	"github.com/miniappkit/miniappkit/botapi"
)

// Observer receives each step of the payment flow the [Handler] takes: its
// pre-checkout decisions, fulfilments, refunds and the duplicate charges it
// refunds. Set it with [WithObserver]; the otel module
// (github.com/miniappkit/miniappkit/otel) turns the events into
// OpenTelemetry metrics.
//
// Calls are synchronous, on the goroutine handling the update: an
// implementation must be safe for concurrent use and return quickly (count,
// record, hand off; never block on I/O; never call the Handler). A Handler
// without an observer does no observation work and allocates nothing for it.
type Observer interface {
	ObservePayment(ctx context.Context, e PaymentEvent)
}

// WithObserver makes the handler report each payment step to o (see
// [Observer]). The default (and nil) is no observer.
func WithObserver(o Observer) Option { return func(opts *options) { opts.observer = o } }

// PaymentEvent is one step of the payment flow.
type PaymentEvent struct {
	// Step says which: [StepPreCheckout], [StepFulfil], [StepRefund] or
	// [StepDuplicateRefund].
	Step Step
	// Outcome is what came of it (see the Outcome constants).
	Outcome Outcome
	// Reason is, for a declined pre-checkout, the class of the decline:
	// "invalid_invoice", "expired", "wrong_user", "price_changed",
	// "timeout", "unavailable", or "seller" (a [Decline] message of the
	// [CheckFunc]). Empty otherwise.
	Reason string
	// ChargeID is the telegram_payment_charge_id; empty at pre-checkout.
	// Keep it out of metric attributes (one value per payment).
	ChargeID string
	// Currency and Amount are the payment's, in the currency's smallest
	// units (Stars for XTR).
	Currency string
	Amount   int64
	// Duration is how long the step took: the decision and the answer at
	// pre-checkout, the [FulfilFunc] for a fulfilment, the whole refund.
	Duration time.Duration
	// Err is the step's error, nil if none.
	Err error
}

// Step is a step of the payment flow.
type Step string

// The steps of a [PaymentEvent].
const (
	StepPreCheckout     Step = "pre_checkout"     // a pre_checkout_query answered
	StepFulfil          Step = "fulfil"           // a successful_payment fulfilled (or not, see Outcome)
	StepRefund          Step = "refund"           // a refund: Handler.Refund or a refunded_payment update
	StepDuplicateRefund Step = "duplicate_refund" // a second charge for an order already paid, refunded
)

// Outcome is what came of a step.
type Outcome string

// The outcomes of a [PaymentEvent].
const (
	OutcomeAccepted Outcome = "accepted" // pre-checkout answered ok=true
	OutcomeDeclined Outcome = "declined" // pre-checkout answered ok=false (Reason says why)
	OutcomeOK       Outcome = "ok"       // fulfilled, or refunded
	OutcomeError    Outcome = "error"    // failed (Err); retried on redelivery or by RetryPending
	OutcomeSkipped  Outcome = "skipped"  // nothing done: a redelivery of a payment already fulfilled or refunded, a claim held by another delivery, a refund that came first; a duplicate provider charge (refund it at the provider)
)

// declineReasons maps the handler's messages to a [PaymentEvent.Reason].
var declineReasons = map[string]string{
	MsgInvalidInvoice: "invalid_invoice",
	MsgExpired:        "expired",
	MsgWrongUser:      "wrong_user",
	MsgPriceChanged:   "price_changed",
	MsgTimeout:        "timeout",
	MsgUnavailable:    "unavailable",
}

// obsNow is time.Now with an observer, the zero time without one.
func (h *Handler) obsNow() time.Time {
	if h.observer == nil {
		return time.Time{}
	}
	return time.Now()
}

// observePreCheckout reports the answer to q: msg is "" when accepted.
func (h *Handler) observePreCheckout(ctx context.Context, q *botapi.PreCheckoutQuery, msg string, start time.Time, err error) {
	if h.observer == nil {
		return
	}
	e := PaymentEvent{Step: StepPreCheckout, Outcome: OutcomeAccepted, Currency: q.Currency, Amount: q.TotalAmount,
		Duration: time.Since(start), Err: err}
	if msg != "" {
		e.Outcome = OutcomeDeclined
		if e.Reason = declineReasons[msg]; e.Reason == "" {
			e.Reason = "seller"
		}
	}
	h.observer.ObservePayment(ctx, e)
}

// observe reports a fulfilment or refund of p; only with an observer.
func (h *Handler) observe(ctx context.Context, step Step, p Payment, start time.Time, skipped bool, err error) {
	if h.observer == nil {
		return
	}
	e := PaymentEvent{Step: step, Outcome: OutcomeOK, ChargeID: p.ChargeID, Currency: p.Currency, Amount: p.Amount,
		Duration: time.Since(start), Err: err}
	switch {
	case err != nil:
		e.Outcome = OutcomeError
	case skipped:
		e.Outcome = OutcomeSkipped
	}
	h.observer.ObservePayment(ctx, e)
}

// observeFulfil reports a fulfilment that ran (or was fenced off) in the
// ledger's Fulfil; only with an observer.
func (h *Handler) observeFulfil(ctx context.Context, p Payment, start time.Time, res Payment, err error) {
	if h.observer == nil {
		return
	}
	skipped := errors.Is(err, ErrClaimLost) || (err == nil && res.State == StateRefunded && res.FulfilledAt.IsZero())
	if skipped {
		err = nil
	}
	h.observe(ctx, StepFulfil, p, start, skipped, err)
}

// observeRefund reports [Handler.Refund] of chargeID when it returns; p is
// the payment as the ledger held it before (zero if it held none).
// Deferred, only with an observer.
func (h *Handler) observeRefund(ctx context.Context, chargeID string, p *Payment, start time.Time, err *error) {
	q := *p
	q.ChargeID = chargeID
	if q.Currency == "" {
		q.Currency = XTR
	}
	h.observe(ctx, StepRefund, q, start, p.State == StateRefunded, *err)
}
