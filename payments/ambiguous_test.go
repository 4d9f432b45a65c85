package payments

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/miniappkit/miniappkit/botapi"
	"github.com/miniappkit/miniappkit/internal/faulttest"
)

// ambiguousLedger makes the call number at (1-based) of the ledger write op
// take effect and then report context.Canceled (faulttest.Ambiguous).
type ambiguousLedger struct {
	*MemoryLedger
	faulttest.Ambiguous
}

func (l *ambiguousLedger) Record(ctx context.Context, p Payment, once bool) (Payment, bool, error) {
	s, first, err := l.MemoryLedger.Record(ctx, p, once)
	if err == nil && l.Lie("Record") {
		return Payment{}, false, context.Canceled
	}
	return s, first, err
}

func (l *ambiguousLedger) Reserve(ctx context.Context, ref, holder string, ttl time.Duration) (bool, error) {
	ok, err := l.MemoryLedger.Reserve(ctx, ref, holder, ttl)
	if err == nil && l.Lie("Reserve") {
		return false, context.Canceled
	}
	return ok, err
}

func (l *ambiguousLedger) ReleaseReservation(ctx context.Context, ref, holder string) error {
	err := l.MemoryLedger.ReleaseReservation(ctx, ref, holder)
	if err == nil && l.Lie("ReleaseReservation") {
		return context.Canceled
	}
	return err
}

func (l *ambiguousLedger) Claim(ctx context.Context, id, owner string, ttl time.Duration) (bool, error) {
	ok, err := l.MemoryLedger.Claim(ctx, id, owner, ttl)
	if err == nil && l.Lie("Claim") {
		return false, context.Canceled
	}
	return ok, err
}

func (l *ambiguousLedger) Release(ctx context.Context, id, owner string) error {
	err := l.MemoryLedger.Release(ctx, id, owner)
	if err == nil && l.Lie("Release") {
		return context.Canceled
	}
	return err
}

func (l *ambiguousLedger) Fulfil(ctx context.Context, id, owner string, fn TxFunc) (Payment, error) {
	p, err := l.MemoryLedger.Fulfil(ctx, id, owner, fn)
	if err == nil && l.Lie("Fulfil") {
		return Payment{}, context.Canceled
	}
	return p, err
}

func (l *ambiguousLedger) Refund(ctx context.Context, id string) (Payment, error) {
	p, err := l.MemoryLedger.Refund(ctx, id)
	if err == nil && l.Lie("Refund") {
		return Payment{}, context.Canceled
	}
	return p, err
}

func (l *ambiguousLedger) ClaimRefundHook(ctx context.Context, id, owner string, ttl time.Duration) (bool, error) {
	ok, err := l.MemoryLedger.ClaimRefundHook(ctx, id, owner, ttl)
	if err == nil && l.Lie("ClaimRefundHook") {
		return false, context.Canceled
	}
	return ok, err
}

func (l *ambiguousLedger) RefundHookDone(ctx context.Context, id, owner string, fn TxFunc) (Payment, error) {
	p, err := l.MemoryLedger.RefundHookDone(ctx, id, owner, fn)
	if err == nil && l.Lie("RefundHookDone") {
		return Payment{}, context.Canceled
	}
	return p, err
}

var ambiguousOps = []string{"Record", "Reserve", "ReleaseReservation", "Claim", "Release", "Fulfil", "Refund", "ClaimRefundHook", "RefundHookDone"}

// ambiguousFixture is a handler on an ambiguousLedger whose fulfilment and
// refund hook count their runs; the fulfilment of charge "stuck" fails.
type ambiguousFixture struct {
	*fixture
	l *ambiguousLedger
}

func newAmbiguousFixture(t *testing.T, op string, at int) *ambiguousFixture {
	f := &fixture{api: &fakeAPI{}, codec: newTestCodec(t), ledger: NewMemoryLedger(), now: testNow,
		done: map[string]int{}, orders: map[string]Order{}, refund: map[string]int{}}
	f.ledger.Now = f.clock
	l := &ambiguousLedger{MemoryLedger: f.ledger, Ambiguous: faulttest.Ambiguous{Op: op, At: at}}
	fulfil := func(_ context.Context, _ Tx, p Payment, _ Order) error {
		if p.ChargeID == "stuck" {
			return errors.New("warehouse offline")
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		f.done[p.ChargeID]++
		return nil
	}
	onRefund := func(_ context.Context, _ Tx, p Payment) error {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.refund[p.ChargeID]++
		return nil
	}
	h, err := NewHandler(f.api, f.codec, l, fulfil, WithClock(f.clock), WithRefundHook(onRefund))
	require.NoError(t, err)
	f.h = h
	return &ambiguousFixture{fixture: f, l: l}
}

// until calls do as a caller retrying on error would (Telegram
// redelivering an update, a user pressing again), at most 5 times.
func until(t *testing.T, what string, do func() error) {
	t.Helper()
	var err error
	for range 5 {
		if err = do(); err == nil {
			return
		}
	}
	t.Fatalf("%s: still failing after 5 tries: %v", what, err)
}

// settle lets every claim and delay pass and runs RetryPending, as the
// periodic retry does.
func (f *ambiguousFixture) settle(t *testing.T) {
	t.Helper()
	for range 2 {
		f.advance(DefaultClaimTTL + time.Minute)
		_, _ = f.h.RetryPending(t.Context()) // "stuck" fails every time
	}
}

func (f *ambiguousFixture) counts(id string) (fulfilled, hooks int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.done[id], f.refund[id]
}

func (f *ambiguousFixture) state(t *testing.T, id string) Payment {
	t.Helper()
	p, err := f.ledger.Get(t.Context(), id)
	require.NoError(t, err)
	return p
}

// ambiguousFlow takes payments through every path that writes to the
// ledger, retrying as callers do, and checks where each ends.
func ambiguousFlow(t *testing.T, f *ambiguousFixture) {
	ctx := t.Context()
	p := f.payload(t, Order{Ref: "o", Currency: XTR, Amount: 5})

	// Pre-checkout: the first ok answer is lost (its fate unknown, the
	// reservation is kept until its TTL); the next one is refused as too
	// old (the reservation is given back); a query declined for any reason
	// leaves the order free for the next one at once.
	answer := func(id string, err error) {
		f.api.mu.Lock()
		f.api.answerErr = err
		f.api.mu.Unlock()
		_ = f.h.HandlePreCheckoutQuery(ctx, query(id, 1, XTR, 5, p))
		f.api.mu.Lock()
		f.api.answerErr = nil
		f.api.mu.Unlock()
	}
	answer("q0", errors.New("network down"))
	f.advance(DefaultReservationTTL)
	answer("q00", &botapi.Error{Method: "answerPreCheckoutQuery", Code: 400,
		Description: "Bad Request: query is too old and response timeout expired or query ID is invalid"})
	if f.l.Op == "Reserve" && f.l.Lied() {
		// The Reserve whose reply was lost was tried again, which pins the
		// reservation (a holder's second Reserve cannot be told from a
		// redelivery's): a refused answer leaves it to its TTL.
		f.advance(DefaultReservationTTL)
	}
	for i := 1; ; i++ {
		require.Less(t, i, 5, "no pre-checkout accepted")
		until(t, "pre-checkout", func() error { return f.h.HandlePreCheckoutQuery(ctx, query(fmt.Sprint("q", i), 1, XTR, 5, p)) })
		if f.api.lastAnswer(t).OK {
			break
		}
	}

	// The payment, redelivered while it fails.
	sp := success("c", XTR, 5, p)
	until(t, "successful payment", func() error { return f.h.HandleSuccessfulPayment(ctx, 1, sp) })
	f.settle(t)
	require.Equal(t, StateFulfilled, f.state(t, "c").State)
	n, _ := f.counts("c")
	require.Equal(t, 1, n, "fulfilments")

	// A second charge of the one-time order: refunded, never fulfilled.
	until(t, "duplicate payment", func() error { return f.h.HandleSuccessfulPayment(ctx, 1, success("dup", XTR, 5, p)) })
	f.settle(t)
	require.Equal(t, StateRefunded, f.state(t, "dup").State)
	n, _ = f.counts("dup")
	require.Zero(t, n, "a duplicate fulfilled")

	// The bot refunds the first, retrying while Refund fails.
	until(t, "refund", func() error { return f.h.Refund(ctx, 1, "c") })
	f.settle(t)
	got := f.state(t, "c")
	require.Equal(t, StateRefunded, got.State)
	require.False(t, got.RefundHookDue(), "refund hook still due")
	_, hooks := f.counts("c")
	require.Equal(t, 1, hooks, "refund hook runs")

	// A payment whose fulfilment keeps failing, refunded by the bot:
	// never fulfilled, no hook.
	ps := f.payload(t, Order{Ref: "os", Currency: XTR, Amount: 5})
	until(t, "stuck payment", func() error { return f.h.HandleSuccessfulPayment(ctx, 1, success("stuck", XTR, 5, ps)) })
	f.settle(t)
	until(t, "refund of a paid charge", func() error { return f.h.Refund(ctx, 1, "stuck") })
	f.settle(t)
	got = f.state(t, "stuck")
	require.Equal(t, StateRefunded, got.State)
	require.True(t, got.FulfilledAt.IsZero())
	require.False(t, got.RefundRequested, "a refund left requested")

	// A payment refunded by Telegram before its successful_payment
	// arrived: never fulfilled.
	p2 := f.payload(t, Order{Ref: "o2", Currency: XTR, Amount: 5})
	until(t, "refunded payment", func() error {
		return f.h.HandleRefundedPayment(ctx, 1, &botapi.RefundedPayment{Currency: XTR, TotalAmount: 5, InvoicePayload: p2, TelegramPaymentChargeID: "c2"})
	})
	until(t, "late successful payment", func() error { return f.h.HandleSuccessfulPayment(ctx, 1, success("c2", XTR, 5, p2)) })
	f.settle(t)
	require.Equal(t, StateRefunded, f.state(t, "c2").State)
	n, _ = f.counts("c2")
	require.Zero(t, n, "a refunded payment fulfilled")

	// Telegram's refunded_payment for the first charge, after the bot's
	// refund: the hook does not run again.
	until(t, "refunded payment again", func() error {
		return f.h.HandleRefundedPayment(ctx, 1, &botapi.RefundedPayment{Currency: XTR, TotalAmount: 5, InvoicePayload: p, TelegramPaymentChargeID: "c"})
	})
	f.settle(t)
	_, hooks = f.counts("c")
	require.Equal(t, 1, hooks, "refund hook runs")
}

// TestAmbiguousLedgerWrites: whichever ledger write takes effect and then
// reports an error (each call of each write, in turn), the callers'
// retries (redelivered updates and queries, a repeated Refund,
// RetryPending) end with each payment fulfilled once or never, refunded
// once, its refund hook run once, and the order reservable again: nothing
// done twice, lost, or stuck past a claim's or reservation's TTL.
func TestAmbiguousLedgerWrites(t *testing.T) {
	dry := newAmbiguousFixture(t, "", 0)
	ambiguousFlow(t, dry)
	for _, op := range ambiguousOps {
		require.NotZero(t, dry.l.Calls(op), "the flow never calls %s", op)
		for at := 1; at <= dry.l.Calls(op); at++ {
			t.Run(fmt.Sprintf("%s#%d", op, at), func(t *testing.T) {
				f := newAmbiguousFixture(t, op, at)
				ambiguousFlow(t, f)
				require.True(t, f.l.Lied(), "the %s call #%d never came", op, at)
			})
		}
	}
}
