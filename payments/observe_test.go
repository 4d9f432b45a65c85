package payments

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/miniappkit/miniappkit/botapi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type paymentRecorder struct {
	mu     sync.Mutex
	events []PaymentEvent
}

func (r *paymentRecorder) ObservePayment(_ context.Context, e PaymentEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

// take returns the events since the last take, without their durations
// (checked apart).
func (r *paymentRecorder) take(t *testing.T) []PaymentEvent {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.events
	r.events = nil
	for i := range out {
		assert.GreaterOrEqual(t, out[i].Duration, time.Duration(0))
		out[i].Duration = 0
	}
	return out
}

func TestObserverPreCheckout(t *testing.T) {
	rec := &paymentRecorder{}
	f := newFixture(t, WithObserver(rec), WithCheck(func(_ context.Context, o Order, _ *botapi.PreCheckoutQuery) error {
		if o.Ref == "sold-out" {
			return Decline("Sold out.")
		}
		return nil
	}))
	ctx := t.Context()
	require.NoError(t, f.h.HandlePreCheckoutQuery(ctx, query("q1", 42, XTR, 50, f.payload(t, Order{Ref: "o", Currency: XTR, Amount: 50}))))
	require.NoError(t, f.h.HandlePreCheckoutQuery(ctx, query("q2", 42, XTR, 51, f.payload(t, Order{Ref: "o", Currency: XTR, Amount: 50}))))
	require.NoError(t, f.h.HandlePreCheckoutQuery(ctx, query("q3", 42, XTR, 50, "forged")))
	require.NoError(t, f.h.HandlePreCheckoutQuery(ctx, query("q4", 42, XTR, 50, f.payload(t, Order{Ref: "sold-out"}))))
	assert.Equal(t, []PaymentEvent{
		{Step: StepPreCheckout, Outcome: OutcomeAccepted, Currency: XTR, Amount: 50},
		{Step: StepPreCheckout, Outcome: OutcomeDeclined, Reason: "price_changed", Currency: XTR, Amount: 51},
		{Step: StepPreCheckout, Outcome: OutcomeDeclined, Reason: "invalid_invoice", Currency: XTR, Amount: 50},
		{Step: StepPreCheckout, Outcome: OutcomeDeclined, Reason: "seller", Currency: XTR, Amount: 50},
	}, rec.take(t))
}

func TestObserverFulfilAndRefund(t *testing.T) {
	rec := &paymentRecorder{}
	f := newFixture(t, WithObserver(rec))
	f.failN = 1
	ctx := t.Context()
	sp := success("ch1", XTR, 50, f.payload(t, Order{Ref: "o"}))
	require.NoError(t, f.h.HandleSuccessfulPayment(ctx, 42, sp)) // recorded; the fulfilment fails
	f.advance(time.Hour)
	n, err := f.h.RetryPending(ctx) // fulfils it
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.NoError(t, f.h.HandleSuccessfulPayment(ctx, 42, sp)) // a redelivery
	// A second charge for the same one-time order is refunded.
	require.NoError(t, f.h.HandleSuccessfulPayment(ctx, 42, success("ch9", XTR, 50, f.payload(t, Order{Ref: "o"}))))
	events := rec.take(t)
	require.Len(t, events, 4)
	assert.Equal(t, OutcomeError, events[0].Outcome)
	require.Error(t, events[0].Err)
	events[0].Err = nil
	assert.Equal(t, []PaymentEvent{
		{Step: StepFulfil, Outcome: OutcomeError, ChargeID: "ch1", Currency: XTR, Amount: 50},
		{Step: StepFulfil, Outcome: OutcomeOK, ChargeID: "ch1", Currency: XTR, Amount: 50},
		{Step: StepFulfil, Outcome: OutcomeSkipped, ChargeID: "ch1", Currency: XTR, Amount: 50},
		{Step: StepDuplicateRefund, Outcome: OutcomeOK, ChargeID: "ch9", Currency: XTR, Amount: 50},
	}, events)
	require.Equal(t, 1, f.done["ch1"])

	require.ErrorIs(t, f.h.Refund(ctx, 43, "ch1"), ErrWrongUser)
	require.NoError(t, f.h.Refund(ctx, 42, "ch1"))
	require.NoError(t, f.h.Refund(ctx, 42, "ch1"))
	// Telegram's refunded_payment for our own refund: nothing more to do.
	require.NoError(t, f.h.HandleRefundedPayment(ctx, 42, &botapi.RefundedPayment{Currency: XTR, TotalAmount: 50, TelegramPaymentChargeID: "ch1"}))
	// A refund made elsewhere, of a payment never seen.
	require.NoError(t, f.h.HandleRefundedPayment(ctx, 42, &botapi.RefundedPayment{Currency: XTR, TotalAmount: 9, TelegramPaymentChargeID: "ch2"}))
	events = rec.take(t)
	require.Len(t, events, 5)
	assert.True(t, errors.Is(events[0].Err, ErrWrongUser))
	events[0].Err = nil
	assert.Equal(t, []PaymentEvent{
		{Step: StepRefund, Outcome: OutcomeError, ChargeID: "ch1", Currency: XTR, Amount: 50},
		{Step: StepRefund, Outcome: OutcomeOK, ChargeID: "ch1", Currency: XTR, Amount: 50},
		{Step: StepRefund, Outcome: OutcomeSkipped, ChargeID: "ch1", Currency: XTR, Amount: 50},
		{Step: StepRefund, Outcome: OutcomeSkipped, ChargeID: "ch1", Currency: XTR, Amount: 50},
		{Step: StepRefund, Outcome: OutcomeOK, ChargeID: "ch2", Currency: XTR, Amount: 9},
	}, events)
}
