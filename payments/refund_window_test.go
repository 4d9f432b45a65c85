package payments

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/miniappkit/miniappkit/botapi"
)

// failingRefund fails Ledger.Refund while fail is set (a store failing a
// call: the write never happened).
type failingRefund struct {
	*MemoryLedger
	mu   sync.Mutex
	fail bool
}

func (l *failingRefund) Refund(ctx context.Context, chargeID string) (Payment, error) {
	l.mu.Lock()
	fail := l.fail
	l.mu.Unlock()
	if fail {
		return Payment{}, errors.New("connection reset")
	}
	return l.MemoryLedger.Refund(ctx, chargeID)
}

func (l *failingRefund) set(fail bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.fail = fail
}

// TestRefundRecordFailureBlocksFulfilment: Handler.Refund of a paid,
// unfulfilled charge whose refund Telegram made but whose ledger write
// failed must not leave the charge to be fulfilled in the meantime (by
// RetryPending or a redelivery): Telegram has already given the Stars
// back. Before, the next RetryPending fulfilled it (goods delivered after
// the refund, and with no refund hook never revoked). Once the refund is
// recorded (the retry of Refund, or refunded_payment), it is never
// fulfilled.
func TestRefundRecordFailureBlocksFulfilment(t *testing.T) {
	ctx := t.Context()
	f := newFixture(t)
	l := &failingRefund{MemoryLedger: f.ledger}
	h, err := NewHandler(f.api, f.codec, l, f.h.fulfil)
	require.NoError(t, err)
	f.failN = 1 // the first fulfilment fails: the charge stays paid
	require.NoError(t, h.HandleSuccessfulPayment(ctx, 1, success("c", XTR, 5, f.payload(t, Order{Ref: "o"}))))
	require.Equal(t, 0, f.done["c"])

	l.set(true)
	require.Error(t, h.Refund(ctx, 1, "c"), "the ledger write failed")
	require.True(t, f.api.refunded["c"], "Telegram refunded")
	_, err = h.RetryPending(ctx)
	require.NoError(t, err)
	require.Equal(t, 0, f.done["c"], "fulfilled after Telegram refunded it")

	l.set(false)
	require.NoError(t, h.Refund(ctx, 1, "c"), "the retry records it (CHARGE_ALREADY_REFUNDED counts as done)")
	f.advance(DefaultClaimTTL) // the refund's hold on the charge expires
	_, err = h.RetryPending(ctx)
	require.NoError(t, err)
	p, err := l.Get(ctx, "c")
	require.NoError(t, err)
	require.Equal(t, StateRefunded, p.State)
	require.True(t, p.FulfilledAt.IsZero())
	require.Equal(t, 0, f.done["c"])
}

// cancellingAPI ends the caller's context once Telegram has refunded (a
// webhook request whose client hung up at that moment).
type cancellingAPI struct {
	*fakeAPI
	cancel context.CancelFunc
}

func (a cancellingAPI) RefundStarPayment(ctx context.Context, p *botapi.RefundStarPaymentParams) error {
	err := a.fakeAPI.RefundStarPayment(ctx, p)
	a.cancel()
	return err
}

// ctxLedger fails writes whose context has ended, as a database does.
type ctxLedger struct{ *MemoryLedger }

func (l ctxLedger) Refund(ctx context.Context, chargeID string) (Payment, error) {
	if err := ctx.Err(); err != nil {
		return Payment{}, err
	}
	return l.MemoryLedger.Refund(ctx, chargeID)
}

func (l ctxLedger) Release(ctx context.Context, chargeID, owner string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return l.MemoryLedger.Release(ctx, chargeID, owner)
}

// TestRefundRecordedWhenContextEnds: once Telegram has refunded, the
// refund is recorded even if the caller's context ends; before, Refund
// failed with context.Canceled, leaving the ledger paid (fulfilled later)
// and Telegram refunded.
func TestRefundRecordedWhenContextEnds(t *testing.T) {
	f := newFixture(t)
	f.failN = 1
	require.NoError(t, f.h.HandleSuccessfulPayment(t.Context(), 1, success("c", XTR, 5, f.payload(t, Order{Ref: "o"}))))
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	h, err := NewHandler(cancellingAPI{f.api, cancel}, f.codec, ctxLedger{f.ledger}, f.h.fulfil)
	require.NoError(t, err)
	require.NoError(t, h.Refund(ctx, 1, "c"))
	p, err := f.ledger.Get(t.Context(), "c")
	require.NoError(t, err)
	require.Equal(t, StateRefunded, p.State)
	n, err := h.RetryPending(t.Context())
	require.NoError(t, err)
	require.Zero(t, n)
	require.Equal(t, 0, f.done["c"])
}
