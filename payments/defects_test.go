package payments

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/miniappkit/miniappkit/botapi"
)

// Regression tests for the defects of issue 16. Each failed on the code
// before the fix (written then against its API: see the commit message).

// syncLog is a slog handler target safe for concurrent writes.
type syncLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *syncLog) logger() *slog.Logger { return slog.New(slog.NewTextHandler(l, nil)) }

// TestRefundWaitsForFulfilment: a refund issued while fulfil runs is applied
// after it, and the refund hook runs once, after the fulfilment.
func TestRefundWaitsForFulfilment(t *testing.T) {
	ctx := t.Context()
	api := &fakeAPI{}
	codec := newTestCodec(t)
	in, release := make(chan struct{}), make(chan struct{})
	var mu sync.Mutex
	var events []string
	event := func(e string) {
		mu.Lock()
		defer mu.Unlock()
		events = append(events, e)
	}
	fulfil := func(context.Context, Tx, Payment, Order) error {
		close(in)
		<-release
		event("fulfilled")
		return nil
	}
	hook := func(context.Context, Tx, Payment) error { event("hook"); return nil }
	ledger := NewMemoryLedger()
	h, err := NewHandler(api, codec, ledger, fulfil, WithRefundHook(hook))
	require.NoError(t, err)
	p, err := codec.Encode(Order{Ref: "o"})
	require.NoError(t, err)
	done := make(chan error)
	go func() { done <- h.HandleSuccessfulPayment(ctx, 1, success("c", XTR, 5, p)) }()
	<-in
	require.NoError(t, h.Refund(ctx, 1, "c"), "the refund is recorded while fulfil runs")
	mu.Lock()
	require.Empty(t, events, "nothing revoked while the fulfilment runs")
	mu.Unlock()
	close(release)
	require.NoError(t, <-done)
	require.Equal(t, []string{"fulfilled", "hook"}, events)
	got, err := ledger.Get(ctx, "c")
	require.NoError(t, err)
	require.Equal(t, StateRefunded, got.State)
	require.False(t, got.FulfilledAt.IsZero())
	require.False(t, got.RefundHookDoneAt.IsZero())
	// Nothing is left to do, and nothing runs twice.
	n, err := h.RetryPending(ctx)
	require.NoError(t, err)
	require.Zero(t, n)
	require.NoError(t, h.Refund(ctx, 1, "c"))
	require.Equal(t, []string{"fulfilled", "hook"}, events)
	require.Len(t, api.refunds, 1)
}

// lostAckLedger commits Fulfil but reports a failure, as a connection
// reset after COMMIT does.
type lostAckLedger struct{ *MemoryLedger }

func (l lostAckLedger) Fulfil(ctx context.Context, id, owner string, fn TxFunc) (Payment, error) {
	if _, err := l.MemoryLedger.Fulfil(ctx, id, owner, fn); err != nil {
		return Payment{}, err
	}
	return Payment{}, errors.New("connection reset by peer")
}

// TestFailedLedgerWriteAfterFulfil: a fulfilment whose commit is reported
// failed is not run again by redeliveries or by RetryPending after the
// claim's lease, and a fulfilment that outlives its lease cannot be joined
// by a second one.
func TestFailedLedgerWriteAfterFulfil(t *testing.T) {
	ctx := t.Context()
	now := testNow
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); defer mu.Unlock(); now = now.Add(d) }
	codec := newTestCodec(t)
	var n atomic.Int32
	ledger := lostAckLedger{&MemoryLedger{Now: clock}}
	h, err := NewHandler(&fakeAPI{}, codec, ledger, func(context.Context, Tx, Payment, Order) error { n.Add(1); return nil })
	require.NoError(t, err)
	p, err := codec.Encode(Order{Ref: "o"})
	require.NoError(t, err)
	sp := success("c", XTR, 5, p)
	require.NoError(t, h.HandleSuccessfulPayment(ctx, 1, sp), "recorded: acknowledged")
	require.NoError(t, h.HandleSuccessfulPayment(ctx, 1, sp))
	advance(DefaultClaimTTL + time.Second)
	_, err = h.RetryPending(ctx)
	require.NoError(t, err)
	require.Equal(t, int32(1), n.Load(), "fulfilled more than once")

	// A fulfilment outliving its lease: redeliveries and RetryPending
	// after the lease find the claim still held by the running fulfilment.
	in, release := make(chan struct{}), make(chan struct{})
	var m atomic.Int32
	h2, err := NewHandler(&fakeAPI{}, codec, ledger.MemoryLedger, func(context.Context, Tx, Payment, Order) error {
		if m.Add(1) == 1 {
			close(in)
			<-release
		}
		return nil
	}, WithClaimTTL(time.Second))
	require.NoError(t, err)
	p2, err := codec.Encode(Order{Ref: "o2"})
	require.NoError(t, err)
	sp2 := success("slow", XTR, 5, p2)
	done := make(chan error)
	go func() { done <- h2.HandleSuccessfulPayment(ctx, 1, sp2) }()
	<-in
	advance(time.Hour)
	require.NoError(t, h2.HandleSuccessfulPayment(ctx, 1, sp2))
	_, err = h2.RetryPending(ctx)
	require.NoError(t, err)
	close(release)
	require.NoError(t, <-done)
	require.Equal(t, int32(1), m.Load(), "a second fulfilment ran beside one that outlived its lease")
	got, err := ledger.Get(ctx, "slow")
	require.NoError(t, err)
	require.Equal(t, StateFulfilled, got.State)
}

// TestRefundNeverLost: a refund recorded while the payment is paid (its
// fulfilment failed) or fulfilled ends refunded in the ledger, in one step.
func TestRefundNeverLost(t *testing.T) {
	ctx := t.Context()
	f := newFixture(t)
	f.failN = 1
	require.NoError(t, f.h.HandleSuccessfulPayment(ctx, 42, success("c", XTR, 5, f.payload(t, Order{Ref: "o"}))))
	require.NoError(t, f.h.Refund(ctx, 42, "c"))
	p, err := f.ledger.Get(ctx, "c")
	require.NoError(t, err)
	require.Equal(t, StateRefunded, p.State)
	n, err := f.h.RetryPending(ctx)
	require.NoError(t, err)
	require.Zero(t, n, "a refunded charge is never fulfilled")
	require.Zero(t, f.done["c"])
	require.Zero(t, f.refund["c"], "nothing was delivered")
}

// TestDuplicateChargeRefunded: a second charge of a one-time order is
// refunded automatically, logged and recorded, never fulfilled.
func TestDuplicateChargeRefunded(t *testing.T) {
	ctx := t.Context()
	var log syncLog
	f := newFixture(t, WithLogger(log.logger()))
	p := f.payload(t, Order{Ref: "order-1"})
	require.NoError(t, f.h.HandleSuccessfulPayment(ctx, 1, success("c1", XTR, 5, p)))
	require.NoError(t, f.h.HandleSuccessfulPayment(ctx, 1, success("c2", XTR, 5, p)))
	require.NoError(t, f.h.HandleSuccessfulPayment(ctx, 1, success("c2", XTR, 5, p)), "redelivery")
	require.Equal(t, map[string]int{"c1": 1}, f.done, "one fulfilment per order")
	require.Len(t, f.api.refunds, 1)
	require.Equal(t, "c2", f.api.refunds[0].TelegramPaymentChargeID)
	dup, err := f.ledger.Get(ctx, "c2")
	require.NoError(t, err)
	require.Equal(t, StateRefunded, dup.State)
	require.Equal(t, "c1", dup.DuplicateOf)
	require.Equal(t, 1, strings.Count(log.String(), "duplicate charge refunded"), log.String())
	require.Zero(t, f.refund["c2"], "no refund hook: nothing was delivered")
	ps, err := f.ledger.ByOrder(ctx, "order-1")
	require.NoError(t, err)
	require.Len(t, ps, 2)

	// A refund failing at Telegram is retried from the ledger.
	f.api.refundErr = &botapi.Error{Method: "refundStarPayment", Code: 502, Description: "Bad Gateway"}
	require.NoError(t, f.h.HandleSuccessfulPayment(ctx, 1, success("c3", XTR, 5, p)))
	f.api.refundErr = nil
	n, err := f.h.RetryPending(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	got, err := f.ledger.Get(ctx, "c3")
	require.NoError(t, err)
	require.Equal(t, StateRefunded, got.State)

	// Repeatable purchases: every charge is fulfilled.
	r := newFixture(t, WithRepeatablePurchases())
	rp := r.payload(t, Order{Ref: "coins"})
	require.NoError(t, r.h.HandleSuccessfulPayment(ctx, 1, success("r1", XTR, 5, rp)))
	require.NoError(t, r.h.HandleSuccessfulPayment(ctx, 1, success("r2", XTR, 5, rp)))
	require.Equal(t, map[string]int{"r1": 1, "r2": 1}, r.done)
	require.Empty(t, r.api.refunds)
}

// TestReservation: a second pre-checkout for a reserved or paid one-time
// order is declined with a message the buyer sees.
func TestReservation(t *testing.T) {
	ctx := t.Context()
	f := newFixture(t)
	p := f.payload(t, Order{Ref: "o", Currency: XTR, Amount: 5})
	answer := func(id string) botapi.AnswerPreCheckoutQueryParams {
		require.NoError(t, f.h.HandlePreCheckoutQuery(ctx, query(id, 1, XTR, 5, p)))
		return f.api.lastAnswer(t)
	}
	require.True(t, answer("q1").OK)
	require.True(t, answer("q1").OK, "a redelivered query keeps its reservation")
	a := answer("q2")
	require.False(t, a.OK)
	require.Equal(t, MsgOrderTaken, a.ErrorMessage)
	f.advance(DefaultReservationTTL)
	require.True(t, answer("q3").OK, "an expired reservation (the charge failed) frees the order")
	require.NoError(t, f.h.HandleSuccessfulPayment(ctx, 1, success("c", XTR, 5, p)))
	f.advance(DefaultReservationTTL)
	a = answer("q4")
	require.False(t, a.OK, "a paid order")
	require.Equal(t, MsgOrderTaken, a.ErrorMessage)

	r := newFixture(t, WithRepeatablePurchases())
	rp := r.payload(t, Order{Ref: "o"})
	for _, id := range []string{"q1", "q2"} {
		require.NoError(t, r.h.HandlePreCheckoutQuery(ctx, query(id, 1, XTR, 5, rp)))
		require.True(t, r.api.lastAnswer(t).OK)
	}
}

// TestRenewalAfterKeyRotation: a subscription renewal whose signing key was
// retired gets its order from the ledger's record of the first payment.
func TestRenewalAfterKeyRotation(t *testing.T) {
	ctx := t.Context()
	c1, err := NewCodec(Key{ID: 1, Secret: []byte("old secret, 32 bytes long ......")})
	require.NoError(t, err)
	payload, err := c1.Encode(Order{Ref: "sub-1", Product: "pro", UserID: 1})
	require.NoError(t, err)
	c2, err := NewCodec(Key{ID: 2, Secret: []byte("new secret, 32 bytes long ......")})
	require.NoError(t, err)
	var mu sync.Mutex
	var got []Order
	fulfil := func(_ context.Context, _ Tx, _ Payment, o Order) error {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, o)
		return nil
	}
	l := NewMemoryLedger()
	h1, err := NewHandler(&fakeAPI{}, c1, l, fulfil)
	require.NoError(t, err)
	first := success("c1", XTR, 5, payload)
	first.IsRecurring, first.IsFirstRecurring, first.SubscriptionExpirationDate = true, true, testNow.Add(SubscriptionPeriod).Unix()
	require.NoError(t, h1.HandleSuccessfulPayment(ctx, 1, first))
	h2, err := NewHandler(&fakeAPI{}, c2, l, fulfil) // the old key is gone
	require.NoError(t, err)
	renewal := success("c2", XTR, 5, payload)
	renewal.IsRecurring, renewal.SubscriptionExpirationDate = true, testNow.Add(2*SubscriptionPeriod).Unix()
	require.NoError(t, h2.HandleSuccessfulPayment(ctx, 1, renewal))
	require.Len(t, got, 2)
	require.Equal(t, got[0], got[1], "the renewal sees the order of the first payment")
	p, err := l.Get(ctx, "c2")
	require.NoError(t, err)
	require.Equal(t, StateFulfilled, p.State, "a renewal is not a duplicate charge")
	require.Equal(t, "sub-1", p.OrderRef)

	// A forged payload naming the same order does not borrow its record.
	forged, err := c1.Encode(Order{Ref: "sub-1", Product: "enterprise", UserID: 1})
	require.NoError(t, err)
	require.NoError(t, h2.HandleSuccessfulPayment(ctx, 1, success("c3", XTR, 5, forged)))
	require.Len(t, got, 3)
	require.Equal(t, Order{}, got[2])
}

// TestPreCheckoutAnswerPermanentError: a 4xx answer error (the query is too
// old) is logged and acknowledged; a transient one is returned for a retry
// (repeatable purchases: an ok answer of unknown fate that reserved a
// one-time order is acknowledged, see TestReservationKeptAfterAmbiguousAnswer).
func TestPreCheckoutAnswerPermanentError(t *testing.T) {
	var log syncLog
	f := newFixture(t, WithLogger(log.logger()), WithRepeatablePurchases())
	q := query("q", 1, XTR, 5, f.payload(t, Order{Ref: "o"}))
	f.api.answerErr = &botapi.Error{Method: "answerPreCheckoutQuery", Code: 400,
		Description: "Bad Request: query is too old and response timeout expired or query ID is invalid"}
	require.NoError(t, f.h.HandlePreCheckoutQuery(t.Context(), q))
	require.Contains(t, log.String(), "query is too old")
	f.api.answerErr = &botapi.Error{Method: "answerPreCheckoutQuery", Code: 502, Description: "Bad Gateway"}
	require.ErrorIs(t, f.h.HandlePreCheckoutQuery(t.Context(), q), botapi.ErrServer)
	f.api.answerErr = &botapi.Error{Method: "answerPreCheckoutQuery", Code: 429, Description: "Too Many Requests"}
	require.ErrorIs(t, f.h.HandlePreCheckoutQuery(t.Context(), q), botapi.ErrTooManyRequests)
}

// TestRetryPendingReadsOnlyPending: RetryPending reads the ledger's index of
// pending payments, not every payment.
func TestRetryPendingReadsOnlyPending(t *testing.T) {
	ctx := t.Context()
	f := newFixture(t, WithRepeatablePurchases())
	p := f.payload(t, Order{Ref: "o"})
	for i := range 1000 {
		require.NoError(t, f.h.HandleSuccessfulPayment(ctx, 1, success("c"+string(rune('A'+i%26))+strings.Repeat("x", i/26), XTR, 5, p)))
	}
	f.failN = f.calls + 1
	require.NoError(t, f.h.HandleSuccessfulPayment(ctx, 1, success("failed", XTR, 5, p)))
	require.Len(t, f.ledger.pending, 1, "the index holds only the pending payment")
	var seen []string
	for q, err := range f.ledger.Pending(ctx, 0) {
		require.NoError(t, err)
		seen = append(seen, q.ChargeID)
	}
	require.Equal(t, []string{"failed"}, seen)
	n, err := f.h.RetryPending(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.Empty(t, f.ledger.pending)
}

// TestEncodeRejectsLowercaseCurrency: Telegram's codes are upper case.
func TestEncodeRejectsLowercaseCurrency(t *testing.T) {
	c := newTestCodec(t)
	for _, cur := range []string{"usd", "Usd", "US1", "U$D"} {
		_, err := c.Encode(Order{Ref: "o", Currency: cur, Amount: 100})
		require.ErrorIs(t, err, ErrPayloadMalformed, cur)
	}
	_, err := c.Encode(Order{Ref: "o", Currency: "USD", Amount: 100})
	require.NoError(t, err)
}

// TestShipping: shipping_query is routed to the ShippingFunc and answered;
// order_info and shipping_option_id reach the ledger and the FulfilFunc.
func TestShipping(t *testing.T) {
	ctx := t.Context()
	opts := []botapi.ShippingOption{{ID: "post", Title: "Post", Prices: []botapi.LabeledPrice{{Label: "Post", Amount: 500}}}}
	var seen *botapi.ShippingQuery
	f := newFixture(t, WithShipping(func(_ context.Context, o Order, q *botapi.ShippingQuery) ([]botapi.ShippingOption, error) {
		seen = q
		if q.ShippingAddress.CountryCode == "AQ" {
			return nil, Decline("We do not ship to Antarctica.")
		}
		return opts, nil
	}))
	payload := f.payload(t, Order{Ref: "parcel", UserID: 7})
	addr := botapi.ShippingAddress{CountryCode: "DE", City: "Berlin", StreetLine1: "Str. 1", PostCode: "10115"}
	u := &botapi.Update{ShippingQuery: &botapi.ShippingQuery{ID: "s1", From: botapi.User{ID: 7}, InvoicePayload: payload, ShippingAddress: addr}}
	require.NoError(t, f.h.HandleUpdate(ctx, u))
	require.NotNil(t, seen)
	require.Len(t, f.api.shipping, 1)
	require.Equal(t, botapi.AnswerShippingQueryParams{ShippingQueryID: "s1", OK: true, ShippingOptions: opts}, f.api.shipping[0])

	u.ShippingQuery.ShippingAddress.CountryCode = "AQ"
	require.NoError(t, f.h.HandleUpdate(ctx, u))
	require.Equal(t, botapi.AnswerShippingQueryParams{ShippingQueryID: "s1", ErrorMessage: "We do not ship to Antarctica."}, f.api.shipping[1])
	u.ShippingQuery.InvoicePayload = "forged"
	require.NoError(t, f.h.HandleUpdate(ctx, u))
	require.Equal(t, MsgInvalidInvoice, f.api.shipping[2].ErrorMessage)

	sp := success("c", "EUR", 2500, payload)
	sp.ShippingOptionID = "post"
	sp.OrderInfo = &botapi.OrderInfo{Name: "Ann", ShippingAddress: &addr}
	require.NoError(t, f.h.HandleSuccessfulPayment(ctx, 7, sp))
	p, err := f.ledger.Get(ctx, "c")
	require.NoError(t, err)
	require.Equal(t, "post", p.ShippingOptionID)
	require.Equal(t, sp.OrderInfo, p.OrderInfo)
	require.Equal(t, 1, f.done["c"])

	// Without a ShippingFunc a shipping query is declined, never left unanswered.
	g := newFixture(t)
	require.NoError(t, g.h.HandleShippingQuery(ctx, &botapi.ShippingQuery{ID: "s", From: botapi.User{ID: 7}, InvoicePayload: g.payload(t, Order{Ref: "x"})}))
	require.Equal(t, MsgNoShipping, g.api.shipping[0].ErrorMessage)
}

// TestDuplicateProviderCharge: a second provider charge of a one-time order
// is never fulfilled nor refunded through the Bot API (it cannot be); it is
// reported once, then again only after ProviderDuplicateReminder.
func TestDuplicateProviderCharge(t *testing.T) {
	ctx := t.Context()
	var log syncLog
	f := newFixture(t, WithLogger(log.logger()))
	p := f.payload(t, Order{Ref: "parcel"})
	require.NoError(t, f.h.HandleSuccessfulPayment(ctx, 1, success("c1", "EUR", 500, p)))
	require.NoError(t, f.h.HandleSuccessfulPayment(ctx, 1, success("c2", "EUR", 500, p)))
	for range 3 {
		_, err := f.h.RetryPending(ctx)
		require.NoError(t, err)
	}
	require.Equal(t, map[string]int{"c1": 1}, f.done)
	require.Empty(t, f.api.refunds)
	require.Equal(t, 1, strings.Count(log.String(), "refund it at the provider"))
	f.advance(ProviderDuplicateReminder)
	_, err := f.h.RetryPending(ctx)
	require.NoError(t, err)
	require.Equal(t, 2, strings.Count(log.String(), "refund it at the provider"))
	got, err := f.ledger.Get(ctx, "c2")
	require.NoError(t, err)
	require.Equal(t, StatePaid, got.State)
	require.Equal(t, "c1", got.DuplicateOf)
	// Refunded at the provider (Telegram sends refunded_payment for Stars
	// only): the seller records it, and the reminders stop.
	got, err = f.ledger.Refund(ctx, "c2")
	require.NoError(t, err)
	require.Equal(t, StateRefunded, got.State)
	f.advance(ProviderDuplicateReminder)
	_, err = f.h.RetryPending(ctx)
	require.NoError(t, err)
	require.Equal(t, 2, strings.Count(log.String(), "refund it at the provider"))
}

// lostRefundReply is a ledger whose Refund commits but reports a failure
// the first time.
type lostRefundReply struct {
	*MemoryLedger
	lost bool
}

func (l *lostRefundReply) Refund(ctx context.Context, chargeID string) (Payment, error) {
	p, err := l.MemoryLedger.Refund(ctx, chargeID)
	if err == nil && !l.lost {
		l.lost = true
		return Payment{}, errors.New("connection reset by peer")
	}
	return p, err
}

// TestDuplicateRefundLoggedWhenRecordReplyLost: a duplicate charge refunded
// at Telegram is logged "duplicate charge refunded" even when the ledger's
// reply to recording it is lost (the ledger then says refunded, and
// RetryPending has nothing left to do that would log it).
func TestDuplicateRefundLoggedWhenRecordReplyLost(t *testing.T) {
	ctx := t.Context()
	var log syncLog
	l := &lostRefundReply{MemoryLedger: NewMemoryLedger()}
	api := &fakeAPI{}
	codec := newTestCodec(t)
	h, err := NewHandler(api, codec, l, func(context.Context, Tx, Payment, Order) error { return nil }, WithLogger(log.logger()))
	require.NoError(t, err)
	p, err := codec.Encode(Order{Ref: "order-1"})
	require.NoError(t, err)
	require.NoError(t, h.HandleSuccessfulPayment(ctx, 1, success("c1", XTR, 5, p)))
	require.NoError(t, h.HandleSuccessfulPayment(ctx, 1, success("c2", XTR, 5, p)))
	_, err = h.RetryPending(ctx)
	require.NoError(t, err)
	dup, err := l.Get(ctx, "c2")
	require.NoError(t, err)
	require.Equal(t, StateRefunded, dup.State)
	require.Len(t, api.refunds, 1)
	require.Contains(t, log.String(), "duplicate charge refunded", log.String())
}

// byOrderFails is a ledger whose ByOrder fails the first n times.
type byOrderFails struct {
	*MemoryLedger
	n int
}

func (l *byOrderFails) ByOrder(ctx context.Context, ref string) ([]Payment, error) {
	if l.n > 0 {
		l.n--
		return nil, errors.New("connection reset by peer")
	}
	return l.MemoryLedger.ByOrder(ctx, ref)
}

// TestDuplicateAfterRotationWhenLookupFails: a second charge of a one-time
// order whose payload only the ledger can vouch for (its key retired) is
// not fulfilled when the ledger lookup fails: the update is redelivered
// and the charge, once recorded, is refunded as the duplicate it is.
func TestDuplicateAfterRotationWhenLookupFails(t *testing.T) {
	ctx := t.Context()
	c1, err := NewCodec(Key{ID: 1, Secret: []byte("old secret, 32 bytes long ......")})
	require.NoError(t, err)
	c2, err := NewCodec(Key{ID: 2, Secret: []byte("new secret, 32 bytes long ......")})
	require.NoError(t, err)
	payload, err := c1.Encode(Order{Ref: "order-1", UserID: 1})
	require.NoError(t, err)
	var mu sync.Mutex
	done := map[string]int{}
	fulfil := func(_ context.Context, _ Tx, p Payment, _ Order) error {
		mu.Lock()
		defer mu.Unlock()
		done[p.ChargeID]++
		return nil
	}
	l := &byOrderFails{MemoryLedger: NewMemoryLedger()}
	api := &fakeAPI{}
	h1, err := NewHandler(api, c1, l, fulfil)
	require.NoError(t, err)
	require.NoError(t, h1.HandleSuccessfulPayment(ctx, 1, success("c1", XTR, 5, payload)))
	h2, err := NewHandler(api, c2, l, fulfil) // the old key is gone
	require.NoError(t, err)
	l.n = 1
	for h2.HandleSuccessfulPayment(ctx, 1, success("c2", XTR, 5, payload)) != nil {
		// Telegram redelivers an update answered with an error.
	}
	_, err = h2.RetryPending(ctx)
	require.NoError(t, err)
	require.Equal(t, map[string]int{"c1": 1}, done, "one fulfilment per order")
	dup, err := l.Get(ctx, "c2")
	require.NoError(t, err)
	require.Equal(t, "c1", dup.DuplicateOf)
	require.Equal(t, StateRefunded, dup.State)
}
