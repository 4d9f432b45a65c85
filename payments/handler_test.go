package payments

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/miniappkit/miniappkit/botapi"
)

// fakeAPI is an in-memory stand-in for the four Bot API methods the handler
// calls, for unit tests that need exact control (the end-to-end test runs on
// botapitest). It is safe for concurrent use.
type fakeAPI struct {
	mu        sync.Mutex
	answers   []botapi.AnswerPreCheckoutQueryParams
	shipping  []botapi.AnswerShippingQueryParams
	refunds   []botapi.RefundStarPaymentParams
	refunded  map[string]bool
	edits     []botapi.EditUserStarSubscriptionParams
	txs       []botapi.StarTransaction
	pageCalls int
	failPage  int // GetStarTransactions fails on this call number (1-based); 0 never
	answerErr error
	refundErr error
}

func (f *fakeAPI) AnswerPreCheckoutQuery(ctx context.Context, p *botapi.AnswerPreCheckoutQueryParams) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.answers = append(f.answers, *p)
	return f.answerErr
}

func (f *fakeAPI) RefundStarPayment(_ context.Context, p *botapi.RefundStarPaymentParams) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.refunds = append(f.refunds, *p)
	if f.refundErr != nil {
		return f.refundErr
	}
	if f.refunded[p.TelegramPaymentChargeID] {
		return &botapi.Error{Method: "refundStarPayment", Code: 400, Description: "Bad Request: CHARGE_ALREADY_REFUNDED"}
	}
	if f.refunded == nil {
		f.refunded = make(map[string]bool)
	}
	f.refunded[p.TelegramPaymentChargeID] = true
	return nil
}

func (f *fakeAPI) EditUserStarSubscription(_ context.Context, p *botapi.EditUserStarSubscriptionParams) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.edits = append(f.edits, *p)
	return nil
}

func (f *fakeAPI) GetStarTransactions(_ context.Context, p *botapi.GetStarTransactionsParams) (*botapi.StarTransactions, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pageCalls++
	if f.pageCalls == f.failPage {
		return nil, errors.New("boom")
	}
	end := min(p.Offset+p.Limit, len(f.txs))
	if p.Offset >= end {
		return &botapi.StarTransactions{}, nil
	}
	return &botapi.StarTransactions{Transactions: append([]botapi.StarTransaction(nil), f.txs[p.Offset:end]...)}, nil
}

func (f *fakeAPI) lastAnswer(t *testing.T) botapi.AnswerPreCheckoutQueryParams {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	require.NotEmpty(t, f.answers, "no answer sent")
	return f.answers[len(f.answers)-1]
}

type fixture struct {
	api    *fakeAPI
	codec  *Codec
	ledger *MemoryLedger
	h      *Handler
	now    time.Time
	mu     sync.Mutex
	calls  int              // fulfil calls
	done   map[string]int   // successful fulfilments per charge
	orders map[string]Order // order seen by fulfil
	failN  int              // fulfil fails this many times first
	refund map[string]int   // refund hook calls per charge
}

func newFixture(t *testing.T, opts ...Option) *fixture {
	t.Helper()
	f := &fixture{api: &fakeAPI{}, codec: newTestCodec(t), ledger: NewMemoryLedger(), now: testNow,
		done: map[string]int{}, orders: map[string]Order{}, refund: map[string]int{}}
	fulfil := func(_ context.Context, _ Tx, p Payment, o Order) error {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.calls++
		if f.calls <= f.failN {
			return errors.New("warehouse offline")
		}
		f.done[p.ChargeID]++
		f.orders[p.ChargeID] = o
		return nil
	}
	onRefund := func(_ context.Context, _ Tx, p Payment) error {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.refund[p.ChargeID]++
		return nil
	}
	all := append([]Option{WithClock(func() time.Time { return f.clock() }), WithRefundHook(onRefund)}, opts...)
	f.ledger.Now = f.clock
	h, err := NewHandler(f.api, f.codec, f.ledger, fulfil, all...)
	require.NoError(t, err)
	f.h = h
	return f
}

func (f *fixture) clock() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fixture) advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
}

func (f *fixture) payload(t *testing.T, o Order) string {
	t.Helper()
	p, err := f.codec.Encode(o)
	require.NoError(t, err)
	return p
}

func query(id string, user int64, currency string, total int64, payload string) *botapi.PreCheckoutQuery {
	return &botapi.PreCheckoutQuery{ID: id, From: botapi.User{ID: user, FirstName: "Ann"},
		Currency: currency, TotalAmount: total, InvoicePayload: payload}
}

func success(charge string, currency string, amount int64, payload string) *botapi.SuccessfulPayment {
	return &botapi.SuccessfulPayment{Currency: currency, TotalAmount: amount, InvoicePayload: payload,
		TelegramPaymentChargeID: charge, ProviderPaymentChargeID: "prov-" + charge}
}

func TestNewHandlerErrors(t *testing.T) {
	c := newTestCodec(t)
	l := NewMemoryLedger()
	fulfil := func(context.Context, Tx, Payment, Order) error { return nil }
	api := &fakeAPI{}
	_, err := NewHandler(nil, c, l, fulfil)
	require.Error(t, err)
	_, err = NewHandler(api, nil, l, fulfil)
	require.Error(t, err)
	_, err = NewHandler(api, c, nil, fulfil)
	require.Error(t, err)
	_, err = NewHandler(api, c, l, nil)
	require.Error(t, err)
	_, err = NewHandler(api, c, l, fulfil, WithDecisionTimeout(10*time.Second))
	require.Error(t, err)
	_, err = NewHandler(api, c, l, fulfil, WithDecisionTimeout(0))
	require.Error(t, err)
	_, err = NewHandler(api, c, l, fulfil, WithClaimTTL(-1))
	require.Error(t, err)
	_, err = NewHandler(api, c, l, fulfil, WithClock(nil))
	require.Error(t, err)
	h, err := NewHandler(api, c, l, fulfil, WithLogger(nil))
	require.NoError(t, err)
	require.NotNil(t, h.logger)
}

func TestPreCheckoutAnswers(t *testing.T) {
	const buyer = 42
	tests := []struct {
		name  string
		order Order
		q     func(payload string) *botapi.PreCheckoutQuery
		check CheckFunc
		ok    bool
		msg   string
	}{
		{name: "valid stars order", order: Order{Ref: "o1", UserID: buyer, Currency: XTR, Amount: 50, Expires: testNow.Add(time.Hour)},
			q: func(p string) *botapi.PreCheckoutQuery { return query("q", buyer, XTR, 50, p) }, ok: true},
		{name: "unbound order, any buyer", order: Order{Ref: "o1"},
			q: func(p string) *botapi.PreCheckoutQuery { return query("q", 7, XTR, 50, p) }, ok: true},
		{name: "expired", order: Order{Ref: "o1", Expires: testNow},
			q: func(p string) *botapi.PreCheckoutQuery { return query("q", buyer, XTR, 50, p) }, msg: MsgExpired},
		{name: "forged payload", order: Order{Ref: "o1"},
			q: func(string) *botapi.PreCheckoutQuery { return query("q", buyer, XTR, 50, "order-1") }, msg: MsgInvalidInvoice},
		{name: "another user", order: Order{Ref: "o1", UserID: buyer},
			q: func(p string) *botapi.PreCheckoutQuery { return query("q", buyer+1, XTR, 50, p) }, msg: MsgWrongUser},
		{name: "other currency", order: Order{Ref: "o1", Currency: XTR, Amount: 50},
			q: func(p string) *botapi.PreCheckoutQuery { return query("q", buyer, "USD", 50, p) }, msg: MsgPriceChanged},
		{name: "stars amount lower", order: Order{Ref: "o1", Currency: XTR, Amount: 50},
			q: func(p string) *botapi.PreCheckoutQuery { return query("q", buyer, XTR, 1, p) }, msg: MsgPriceChanged},
		{name: "stars amount higher", order: Order{Ref: "o1", Currency: XTR, Amount: 50},
			q: func(p string) *botapi.PreCheckoutQuery { return query("q", buyer, XTR, 51, p) }, msg: MsgPriceChanged},
		{name: "provider total with tip", order: Order{Ref: "o1", Currency: "USD", Amount: 1500, MaxTip: 200},
			q: func(p string) *botapi.PreCheckoutQuery { return query("q", buyer, "USD", 1700, p) }, ok: true},
		{name: "provider tip above max tip", order: Order{Ref: "o1", Currency: "USD", Amount: 1500, MaxTip: 200},
			q: func(p string) *botapi.PreCheckoutQuery { return query("q", buyer, "USD", 1701, p) }, msg: MsgPriceChanged},
		{name: "provider total above price without max tip", order: Order{Ref: "o1", Currency: "USD", Amount: 1500},
			q: func(p string) *botapi.PreCheckoutQuery { return query("q", buyer, "USD", 1000000, p) }, msg: MsgPriceChanged},
		{name: "provider total below price", order: Order{Ref: "o1", Currency: "USD", Amount: 1500},
			q: func(p string) *botapi.PreCheckoutQuery { return query("q", buyer, "USD", 1499, p) }, msg: MsgPriceChanged},
		{name: "seller declines with message", order: Order{Ref: "o1"},
			q:     func(p string) *botapi.PreCheckoutQuery { return query("q", buyer, XTR, 50, p) },
			check: func(context.Context, Order, *botapi.PreCheckoutQuery) error { return Decline("Sold out.") }, msg: "Sold out."},
		{name: "seller fails", order: Order{Ref: "o1"},
			q:     func(p string) *botapi.PreCheckoutQuery { return query("q", buyer, XTR, 50, p) },
			check: func(context.Context, Order, *botapi.PreCheckoutQuery) error { return errors.New("db down") }, msg: MsgUnavailable},
		{name: "seller accepts", order: Order{Ref: "o1", Product: "gold"},
			q: func(p string) *botapi.PreCheckoutQuery { return query("q", buyer, XTR, 50, p) },
			check: func(_ context.Context, o Order, q *botapi.PreCheckoutQuery) error {
				if o.Product != "gold" || q.From.ID != buyer {
					return errors.New("unexpected order")
				}
				return nil
			}, ok: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var opts []Option
			if tt.check != nil {
				opts = append(opts, WithCheck(tt.check))
			}
			f := newFixture(t, opts...)
			q := tt.q(f.payload(t, tt.order))
			require.NoError(t, f.h.HandleUpdate(t.Context(), &botapi.Update{PreCheckoutQuery: q}))
			a := f.api.lastAnswer(t)
			require.Equal(t, "q", a.PreCheckoutQueryID)
			require.Equal(t, tt.ok, a.OK)
			require.Equal(t, tt.msg, a.ErrorMessage)
		})
	}
}

// TestPreCheckoutAnswerError: an answer that failed for a reason a
// redelivery may cure is returned. (Repeatable purchases: an ok answer of
// unknown fate that reserved a one-time order is acknowledged instead, see
// TestReservationKeptAfterAmbiguousAnswer.)
func TestPreCheckoutAnswerError(t *testing.T) {
	f := newFixture(t, WithRepeatablePurchases())
	f.api.answerErr = errors.New("network down")
	err := f.h.HandlePreCheckoutQuery(t.Context(), query("q", 1, XTR, 5, f.payload(t, Order{Ref: "o"})))
	require.ErrorContains(t, err, "network down")
}

// TestPreCheckoutDeadline: a seller check that never returns in time (and
// ignores its context) still gets an ok=false answer to Telegram, sent at the
// decision timeout, before Telegram's 10-second deadline. testing/synctest's
// fake clock makes the wait instant; nothing sleeps.
func TestPreCheckoutDeadline(t *testing.T) {
	for _, tc := range []struct {
		name    string
		timeout time.Duration
	}{{"default timeout", DefaultDecisionTimeout}, {"9.5s timeout", 9500 * time.Millisecond}} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				stuck := make(chan struct{})
				slow := func(context.Context, Order, *botapi.PreCheckoutQuery) error {
					<-stuck // a database call that ignores its context and never returns in time
					return nil
				}
				f := newFixture(t, WithCheck(slow), WithDecisionTimeout(tc.timeout))
				start := time.Now()
				err := f.h.HandlePreCheckoutQuery(t.Context(), query("q", 1, XTR, 5, f.payload(t, Order{Ref: "o"})))
				elapsed := time.Since(start)
				require.NoError(t, err)
				a := f.api.lastAnswer(t)
				require.False(t, a.OK)
				require.Equal(t, MsgTimeout, a.ErrorMessage)
				require.Equal(t, tc.timeout, elapsed, "answered exactly at the decision timeout")
				require.Less(t, elapsed, PreCheckoutDeadline)
				close(stuck) // let the abandoned check finish inside the bubble
				synctest.Wait()
			})
		})
	}
}

// TestPreCheckoutCallerContextEnded: the check runs and the answer is sent
// even when the caller's context is already cancelled (a webhook request
// whose connection dropped); a check that waits on its context is still cut
// off at the decision timeout.
func TestPreCheckoutCallerContextEnded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		quick := func(context.Context, Order, *botapi.PreCheckoutQuery) error { return nil }
		f := newFixture(t, WithCheck(quick))
		require.NoError(t, f.h.HandlePreCheckoutQuery(ctx, query("q", 1, XTR, 5, f.payload(t, Order{Ref: "o"}))))
		require.True(t, f.api.lastAnswer(t).OK, "a cancelled caller does not decline the buyer")

		blocking := func(ctx context.Context, _ Order, _ *botapi.PreCheckoutQuery) error {
			<-ctx.Done()
			return ctx.Err()
		}
		f = newFixture(t, WithCheck(blocking))
		start := time.Now()
		require.NoError(t, f.h.HandlePreCheckoutQuery(ctx, query("q", 1, XTR, 5, f.payload(t, Order{Ref: "o"}))))
		a := f.api.lastAnswer(t)
		require.False(t, a.OK)
		require.Equal(t, MsgTimeout, a.ErrorMessage)
		require.Equal(t, DefaultDecisionTimeout, time.Since(start))
	})
}

func TestSuccessfulPaymentFulfilsOnce(t *testing.T) {
	f := newFixture(t)
	payload := f.payload(t, Order{Ref: "o1", UserID: 42, Product: "gold", Currency: XTR, Amount: 50, Expires: testNow.Add(time.Minute)})
	f.advance(time.Hour) // the order expired after payment: still fulfilled
	u := &botapi.Update{Message: &botapi.Message{From: &botapi.User{ID: 42}, SuccessfulPayment: success("ch1", XTR, 50, payload)}}
	for range 3 {
		require.NoError(t, f.h.HandleUpdate(t.Context(), u))
	}
	require.Equal(t, 1, f.calls)
	require.Equal(t, 1, f.done["ch1"])
	require.Equal(t, "gold", f.orders["ch1"].Product)
	p, err := f.ledger.Get(t.Context(), "ch1")
	require.NoError(t, err)
	require.Equal(t, StateFulfilled, p.State)
	require.Equal(t, int64(42), p.UserID)
	require.Equal(t, "prov-ch1", p.ProviderChargeID)
	require.Equal(t, f.clock(), p.FulfilledAt)
}

func TestSuccessfulPaymentFailThenSucceed(t *testing.T) {
	f := newFixture(t)
	f.failN = 1
	sp := success("ch1", XTR, 50, f.payload(t, Order{Ref: "o1"}))
	require.NoError(t, f.h.HandleSuccessfulPayment(t.Context(), 42, sp), "recorded: acknowledged")
	p, err := f.ledger.Get(t.Context(), "ch1")
	require.NoError(t, err)
	require.Equal(t, StatePaid, p.State, "recorded, not lost")

	require.NoError(t, f.h.HandleSuccessfulPayment(t.Context(), 42, sp), "a redelivery retries too")
	require.NoError(t, f.h.HandleSuccessfulPayment(t.Context(), 42, sp))
	n, err := f.h.RetryPending(t.Context())
	require.NoError(t, err)
	require.Zero(t, n)
	require.Equal(t, 2, f.calls)
	require.Equal(t, 1, f.done["ch1"], "exactly one fulfilment")
}

func TestRetryPending(t *testing.T) {
	f := newFixture(t, WithClaimTTL(time.Minute))
	f.failN = 2
	for _, ch := range []string{"a", "b"} {
		require.NoError(t, f.h.HandleSuccessfulPayment(t.Context(), 1, success(ch, XTR, 5, f.payload(t, Order{Ref: ch}))),
			"recorded: acknowledged, retried from the ledger")
	}
	// A worker crashed holding c's claim.
	_, _, err := f.ledger.Record(t.Context(), Payment{ChargeID: "c", Currency: XTR, Payload: f.payload(t, Order{Ref: "c"})}, true)
	require.NoError(t, err)
	ok, err := f.ledger.Claim(t.Context(), "c", "crashed-worker", time.Minute)
	require.NoError(t, err)
	require.True(t, ok)

	n, err := f.h.RetryPending(t.Context())
	require.NoError(t, err)
	require.Equal(t, 2, n, "a and b; c is still claimed")
	f.advance(time.Minute)
	n, err = f.h.RetryPending(t.Context())
	require.NoError(t, err)
	require.Equal(t, 1, n, "c's claim expired")
	n, err = f.h.RetryPending(t.Context())
	require.NoError(t, err)
	require.Zero(t, n)
	require.Equal(t, map[string]int{"a": 1, "b": 1, "c": 1}, f.done)
}

// TestExactlyOnceConcurrent: 64 concurrent deliveries of each of 500
// successful_payment updates give exactly 500 fulfilments. Run with -race.
// Charges are delivered 10 at a time (640 goroutines at once), inside the
// race detector's goroutine limit.
func TestExactlyOnceConcurrent(t *testing.T) {
	const charges, deliveries, batch = 500, 64, 10
	codec := newTestCodec(t)
	ledger := NewMemoryLedger()
	var fulfilments atomic.Int64
	perCharge := make([]atomic.Int32, charges)
	fulfil := func(_ context.Context, _ Tx, p Payment, o Order) error {
		runtime.Gosched() // widen the window for a duplicate to slip in
		var i int
		if _, err := fmt.Sscanf(o.Ref, "order-%d", &i); err != nil {
			return err
		}
		perCharge[i].Add(1)
		fulfilments.Add(1)
		return nil
	}
	h, err := NewHandler(&fakeAPI{}, codec, ledger, fulfil)
	require.NoError(t, err)

	updates := make([]*botapi.Update, charges)
	for i := range updates {
		payload, err := codec.Encode(Order{Ref: fmt.Sprintf("order-%d", i), UserID: int64(i + 1)})
		require.NoError(t, err)
		updates[i] = &botapi.Update{Message: &botapi.Message{From: &botapi.User{ID: int64(i + 1)},
			SuccessfulPayment: success(fmt.Sprintf("charge-%d", i), XTR, 10, payload)}}
	}
	start := time.Now()
	for lo := 0; lo < charges; lo += batch {
		var wg sync.WaitGroup
		release := make(chan struct{})
		for i := lo; i < min(lo+batch, charges); i++ {
			for range deliveries {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-release
					if err := h.HandleUpdate(t.Context(), updates[i]); err != nil {
						t.Error(err)
					}
				}()
			}
		}
		close(release)
		wg.Wait()
	}
	elapsed := time.Since(start)
	require.Equal(t, int64(charges), fulfilments.Load())
	for i := range perCharge {
		require.Equal(t, int32(1), perCharge[i].Load(), "charge %d", i)
	}
	n := 0
	for p, err := range ledger.Since(t.Context(), time.Time{}) {
		require.NoError(t, err)
		require.Equal(t, StateFulfilled, p.State)
		n++
	}
	require.Equal(t, charges, n)
	t.Logf("%d deliveries of %d charges: %d fulfilments in %v (%.0f deliveries/s)",
		charges*deliveries, charges, fulfilments.Load(), elapsed, float64(charges*deliveries)/elapsed.Seconds())
}

// TestExactlyOnceConcurrentFailThenSucceed: 64 concurrent deliveries of one
// charge whose first fulfil attempt fails: the failing delivery reports an
// error: every delivery is acknowledged, and RetryPending (or a
// redelivery) fulfils exactly once.
func TestExactlyOnceConcurrentFailThenSucceed(t *testing.T) {
	f := newFixture(t)
	f.failN = 1
	sp := success("ch", XTR, 5, f.payload(t, Order{Ref: "o"}))
	var wg sync.WaitGroup
	var failures atomic.Int32
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if f.h.HandleSuccessfulPayment(t.Context(), 1, sp) != nil {
				failures.Add(1)
			}
		}()
	}
	wg.Wait()
	require.Zero(t, failures.Load(), "recorded: every delivery acknowledged")
	_, err := f.h.RetryPending(t.Context())
	require.NoError(t, err)
	require.Equal(t, 1, f.done["ch"])
}

func TestSubscriptionPayment(t *testing.T) {
	f := newFixture(t)
	exp := testNow.Add(SubscriptionPeriod)
	sp := success("sub1", XTR, 100, f.payload(t, Order{Ref: "club", UserID: 42}))
	sp.IsRecurring, sp.IsFirstRecurring, sp.SubscriptionExpirationDate = true, true, exp.Unix()
	require.NoError(t, f.h.HandleSuccessfulPayment(t.Context(), 42, sp))
	p, err := f.ledger.Get(t.Context(), "sub1")
	require.NoError(t, err)
	require.True(t, p.IsRecurring)
	require.True(t, p.IsFirstRecurring)
	require.Equal(t, exp, p.SubscriptionExpiration)

	require.NoError(t, f.h.CancelSubscription(t.Context(), 42, "sub1"))
	require.NoError(t, f.h.ResumeSubscription(t.Context(), 42, "sub1"))
	require.Equal(t, []botapi.EditUserStarSubscriptionParams{
		{UserID: 42, TelegramPaymentChargeID: "sub1", IsCanceled: true},
		{UserID: 42, TelegramPaymentChargeID: "sub1", IsCanceled: false},
	}, f.api.edits)
	require.ErrorIs(t, f.h.CancelSubscription(t.Context(), 43, "sub1"), ErrWrongUser)

	require.NoError(t, f.h.HandleSuccessfulPayment(t.Context(), 42, success("fiat", "USD", 500, f.payload(t, Order{Ref: "x"}))))
	require.ErrorIs(t, f.h.CancelSubscription(t.Context(), 42, "fiat"), ErrNotStars)
}

func TestRefund(t *testing.T) {
	ctx := t.Context()
	f := newFixture(t)
	require.NoError(t, f.h.HandleSuccessfulPayment(ctx, 42, success("ch1", XTR, 50, f.payload(t, Order{Ref: "o"}))))

	require.ErrorIs(t, f.h.Refund(ctx, 43, "ch1"), ErrWrongUser)
	require.NoError(t, f.h.Refund(ctx, 42, "ch1"))
	require.NoError(t, f.h.Refund(ctx, 42, "ch1"), "idempotent")
	require.Len(t, f.api.refunds, 1, "second refund does not call Telegram")
	p, err := f.ledger.Get(ctx, "ch1")
	require.NoError(t, err)
	require.Equal(t, StateRefunded, p.State)
	require.Equal(t, 1, f.refund["ch1"])

	// Telegram's refunded_payment for our own refund changes nothing more.
	u := &botapi.Update{Message: &botapi.Message{From: &botapi.User{ID: 42}, RefundedPayment: &botapi.RefundedPayment{
		Currency: XTR, TotalAmount: 50, TelegramPaymentChargeID: "ch1"}}}
	require.NoError(t, f.h.HandleUpdate(ctx, u))
	require.Equal(t, 1, f.refund["ch1"])

	// Provider payments cannot be refunded with refundStarPayment.
	require.NoError(t, f.h.HandleSuccessfulPayment(ctx, 42, success("fiat", "USD", 500, f.payload(t, Order{Ref: "x"}))))
	require.ErrorIs(t, f.h.Refund(ctx, 42, "fiat"), ErrNotStars)
}

func TestRefundAlreadyRefundedAtTelegram(t *testing.T) {
	ctx := t.Context()
	f := newFixture(t)
	require.NoError(t, f.h.HandleSuccessfulPayment(ctx, 42, success("ch1", XTR, 50, f.payload(t, Order{Ref: "o"}))))
	f.api.refunded = map[string]bool{"ch1": true} // refunded earlier, ledger update lost in a crash
	require.NoError(t, f.h.Refund(ctx, 42, "ch1"))
	p, err := f.ledger.Get(ctx, "ch1")
	require.NoError(t, err)
	require.Equal(t, StateRefunded, p.State)
}

func TestRefundUnknownChargeBlocksLateFulfilment(t *testing.T) {
	ctx := t.Context()
	f := newFixture(t)
	require.NoError(t, f.h.Refund(ctx, 42, "lost"))
	require.NoError(t, f.h.HandleSuccessfulPayment(ctx, 42, success("lost", XTR, 50, f.payload(t, Order{Ref: "o"}))))
	require.Zero(t, f.calls, "a refunded charge is never fulfilled")
	require.Zero(t, f.refund["lost"], "nothing was delivered, nothing to revoke")
}

func TestRefundedPaymentUpdate(t *testing.T) {
	ctx := t.Context()
	f := newFixture(t)
	require.NoError(t, f.h.HandleSuccessfulPayment(ctx, 42, success("ch1", XTR, 50, f.payload(t, Order{Ref: "o"}))))
	rp := &botapi.RefundedPayment{Currency: XTR, TotalAmount: 50, TelegramPaymentChargeID: "ch1"}
	require.NoError(t, f.h.HandleRefundedPayment(ctx, 42, rp))
	require.NoError(t, f.h.HandleRefundedPayment(ctx, 42, rp))
	p, err := f.ledger.Get(ctx, "ch1")
	require.NoError(t, err)
	require.Equal(t, StateRefunded, p.State)
	require.Equal(t, 1, f.refund["ch1"])

	// A refund of a payment never seen is recorded, so it is never fulfilled.
	require.NoError(t, f.h.HandleRefundedPayment(ctx, 42, &botapi.RefundedPayment{Currency: XTR, TelegramPaymentChargeID: "ch2"}))
	require.NoError(t, f.h.HandleSuccessfulPayment(ctx, 42, success("ch2", XTR, 50, f.payload(t, Order{Ref: "o"}))))
	require.Equal(t, 0, f.done["ch2"])
	require.Error(t, f.h.HandleRefundedPayment(ctx, 42, &botapi.RefundedPayment{}))
	require.Error(t, f.h.HandleSuccessfulPayment(ctx, 42, &botapi.SuccessfulPayment{}))
}

func TestRefundHookError(t *testing.T) {
	c := newTestCodec(t)
	ledger := NewMemoryLedger()
	h, err := NewHandler(&fakeAPI{}, c, ledger,
		func(context.Context, Tx, Payment, Order) error { return nil },
		WithRefundHook(func(context.Context, Tx, Payment) error { return errors.New("cannot revoke") }))
	require.NoError(t, err)
	require.NoError(t, h.HandleSuccessfulPayment(t.Context(), 1, success("ch", XTR, 5, "p")))
	require.NoError(t, h.Refund(t.Context(), 1, "ch"), "the refund is recorded; the hook is retried from the ledger")
	p, err := ledger.Get(t.Context(), "ch")
	require.NoError(t, err)
	require.True(t, p.RefundHookDue())
	_, err = h.RetryPending(t.Context())
	require.ErrorContains(t, err, "cannot revoke")
}

// TestRefundHookRetried: a refund hook that failed runs again on the
// redelivered refunded_payment, on a repeated Refund and from RetryPending,
// and never again once it has succeeded.
func TestRefundHookRetried(t *testing.T) {
	rp := func(charge string) *botapi.RefundedPayment {
		return &botapi.RefundedPayment{Currency: XTR, TotalAmount: 5, TelegramPaymentChargeID: charge}
	}
	tests := []struct {
		name  string
		first func(h *Handler, ctx context.Context) error // the refund whose hook fails
		retry func(h *Handler, ctx context.Context) error
	}{
		{"redelivered refunded_payment",
			func(h *Handler, ctx context.Context) error { return h.HandleRefundedPayment(ctx, 1, rp("ch")) },
			func(h *Handler, ctx context.Context) error { return h.HandleRefundedPayment(ctx, 1, rp("ch")) }},
		{"Refund again",
			func(h *Handler, ctx context.Context) error { return h.Refund(ctx, 1, "ch") },
			func(h *Handler, ctx context.Context) error { return h.Refund(ctx, 1, "ch") }},
		{"RetryPending",
			func(h *Handler, ctx context.Context) error { return h.HandleRefundedPayment(ctx, 1, rp("ch")) },
			func(h *Handler, ctx context.Context) error {
				n, err := h.RetryPending(ctx)
				if n != 1 {
					return fmt.Errorf("RetryPending ran %d, want 1", n)
				}
				return err
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			ledger := &MemoryLedger{Now: func() time.Time { return testNow }}
			var calls int
			h, err := NewHandler(&fakeAPI{}, newTestCodec(t), ledger,
				func(context.Context, Tx, Payment, Order) error { return nil },
				WithClock(func() time.Time { return testNow }),
				WithRefundHook(func(context.Context, Tx, Payment) error {
					calls++
					if calls == 1 {
						return errors.New("cannot revoke")
					}
					return nil
				}))
			require.NoError(t, err)
			require.NoError(t, h.HandleSuccessfulPayment(ctx, 1, success("ch", XTR, 5, "p")))

			require.NoError(t, tt.first(h, ctx), "the refund is recorded: acknowledged")
			p, err := ledger.Get(ctx, "ch")
			require.NoError(t, err)
			require.Equal(t, StateRefunded, p.State)
			require.True(t, p.RefundHookDoneAt.IsZero(), "the hook is pending")

			require.NoError(t, tt.retry(h, ctx))
			require.Equal(t, 2, calls, "the failed hook ran again")
			p, err = ledger.Get(ctx, "ch")
			require.NoError(t, err)
			require.Equal(t, testNow, p.RefundHookDoneAt)

			require.NoError(t, h.HandleRefundedPayment(ctx, 1, rp("ch")))
			require.NoError(t, h.Refund(ctx, 1, "ch"))
			n, err := h.RetryPending(ctx)
			require.NoError(t, err)
			require.Zero(t, n)
			require.Equal(t, 2, calls, "never again once it succeeded")
		})
	}
}

// TestRefundHookPanicReleasesClaim: a refund hook that panics is an error
// that releases its claim, so the redelivery runs it at once.
func TestRefundHookPanicReleasesClaim(t *testing.T) {
	var calls int
	h, err := NewHandler(&fakeAPI{}, newTestCodec(t), NewMemoryLedger(),
		func(context.Context, Tx, Payment, Order) error { return nil },
		WithClock(func() time.Time { return testNow }),
		WithRefundHook(func(context.Context, Tx, Payment) error {
			calls++
			if calls == 1 {
				panic("revocation bug")
			}
			return nil
		}))
	require.NoError(t, err)
	rp := &botapi.RefundedPayment{Currency: XTR, TotalAmount: 5, TelegramPaymentChargeID: "ch"}
	require.NoError(t, h.HandleSuccessfulPayment(t.Context(), 1, success("ch", XTR, 5, "p")))
	require.NoError(t, h.HandleRefundedPayment(t.Context(), 1, rp))
	require.NoError(t, h.HandleRefundedPayment(t.Context(), 1, rp))
	require.Equal(t, 2, calls)
}

func TestHandleUpdateIgnoresOthers(t *testing.T) {
	f := newFixture(t)
	require.NoError(t, f.h.HandleUpdate(t.Context(), nil))
	require.NoError(t, f.h.HandleUpdate(t.Context(), &botapi.Update{}))
	require.NoError(t, f.h.HandleUpdate(t.Context(), &botapi.Update{Message: &botapi.Message{Text: "hi"}}))
	// Without From, the private chat's id is the buyer.
	require.NoError(t, f.h.HandleUpdate(t.Context(), &botapi.Update{Message: &botapi.Message{Chat: botapi.Chat{ID: 9},
		SuccessfulPayment: success("c", XTR, 5, f.payload(t, Order{Ref: "o"}))}}))
	p, err := f.ledger.Get(t.Context(), "c")
	require.NoError(t, err)
	require.Equal(t, int64(9), p.UserID)
	require.Empty(t, f.api.answers)
}

// Handler is a webhook.UpdateHandler by shape (payments does not import webhook).
var _ interface {
	HandleUpdate(context.Context, *botapi.Update) error
} = (*Handler)(nil)

func TestPreCheckoutCheckPanics(t *testing.T) {
	f := newFixture(t, WithCheck(func(context.Context, Order, *botapi.PreCheckoutQuery) error { panic("bug") }))
	require.NoError(t, f.h.HandlePreCheckoutQuery(t.Context(), query("q", 1, XTR, 5, f.payload(t, Order{Ref: "o"}))))
	a := f.api.lastAnswer(t)
	require.False(t, a.OK)
	require.Equal(t, MsgUnavailable, a.ErrorMessage)
}

func TestDeclineError(t *testing.T) {
	err := Decline("Sold out.")
	var d *DeclineError
	require.ErrorAs(t, err, &d)
	require.Equal(t, "payments: declined: Sold out.", err.Error())
}

func TestRefundTelegramError(t *testing.T) {
	ctx := t.Context()
	f := newFixture(t)
	require.NoError(t, f.h.HandleSuccessfulPayment(ctx, 42, success("ch1", XTR, 50, f.payload(t, Order{Ref: "o"}))))
	f.api.refundErr = &botapi.Error{Method: "refundStarPayment", Code: 400, Description: "Bad Request: BALANCE_TOO_LOW"}
	err := f.h.Refund(ctx, 42, "ch1")
	require.ErrorIs(t, err, botapi.ErrBadRequest)
	p, err := f.ledger.Get(ctx, "ch1")
	require.NoError(t, err)
	require.Equal(t, StateFulfilled, p.State, "nothing recorded when Telegram refuses")
	require.Zero(t, f.refund["ch1"])
}

// FuzzPreCheckout sends arbitrary pre-checkout queries: each gets exactly one
// answer, and ok=true only for a payload Encode produced whose buyer and
// price match. Run: go test -run '^$' -fuzz FuzzPreCheckout -fuzztime 10s ./payments
func FuzzPreCheckout(f *testing.F) {
	c := newTestCodec(f)
	good, err := c.Encode(Order{Ref: "o1", UserID: 42, Currency: XTR, Amount: 50})
	require.NoError(f, err)
	f.Add(good, int64(42), XTR, int64(50))
	f.Add(good, int64(43), XTR, int64(50))
	f.Add(good, int64(42), "USD", int64(50))
	f.Add("order-1", int64(42), XTR, int64(50))
	f.Fuzz(func(t *testing.T, payload string, user int64, currency string, total int64) {
		if len(payload) > 4*MaxPayloadBytes || len(currency) > 8 {
			return
		}
		api := &fakeAPI{}
		h, err := NewHandler(api, c, NewMemoryLedger(), func(context.Context, Tx, Payment, Order) error { return nil },
			WithClock(func() time.Time { return testNow }))
		require.NoError(t, err)
		require.NoError(t, h.HandlePreCheckoutQuery(t.Context(), query("q", user, currency, total, payload)))
		require.Len(t, api.answers, 1)
		a := api.answers[0]
		if !a.OK {
			require.NotEmpty(t, a.ErrorMessage)
			return
		}
		o, err := c.DecodeAt(payload, testNow)
		require.NoError(t, err, "accepted a payload that does not verify")
		again, err := c.Encode(o)
		require.NoError(t, err)
		require.Equal(t, payload, again)
		require.NoError(t, o.CheckUser(user))
		require.NoError(t, o.checkPrice(currency, total))
	})
}

// TestFulfilPanicReleasesClaim: a fulfil callback that panics is an error
// (logged) that releases its claim, so the redelivery fulfils at once
// instead of waiting for the claim's lease to pass.
func TestFulfilPanicReleasesClaim(t *testing.T) {
	c := newTestCodec(t)
	ledger := NewMemoryLedger()
	var calls int
	h, err := NewHandler(&fakeAPI{}, c, ledger, func(context.Context, Tx, Payment, Order) error {
		calls++
		if calls == 1 {
			panic("warehouse client bug")
		}
		return nil
	}, WithClock(func() time.Time { return testNow }))
	require.NoError(t, err)
	payload, err := c.Encode(Order{Ref: "o1"})
	require.NoError(t, err)
	sp := success("ch", XTR, 5, payload)

	require.NoError(t, h.HandleSuccessfulPayment(t.Context(), 1, sp))
	p, err := ledger.Get(t.Context(), "ch")
	require.NoError(t, err)
	require.Equal(t, StatePaid, p.State, "the payment stays recorded")

	require.NoError(t, h.HandleSuccessfulPayment(t.Context(), 1, sp), "the redelivery claims the released payment")
	p, err = ledger.Get(t.Context(), "ch")
	require.NoError(t, err)
	require.Equal(t, StateFulfilled, p.State)
	require.Equal(t, 2, calls)
}

func (f *fakeAPI) AnswerShippingQuery(ctx context.Context, p *botapi.AnswerShippingQueryParams) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.shipping = append(f.shipping, *p)
	return f.answerErr
}
