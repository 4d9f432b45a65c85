package ledgertest

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miniappkit/miniappkit/botapi"
	"github.com/miniappkit/miniappkit/payments"
)

// StressConfig sets up [Stress]. Zero fields take the defaults named.
type StressConfig struct {
	Charges    int     // distinct charges; default 500
	Deliveries int     // concurrent deliveries of each successful_payment; default 64
	Batch      int     // charges delivered at once; default 10
	LedgerFail float64 // probability that a ledger call fails; default 0.05
	FulfilFail float64 // probability that a fulfilment fails; default 0.05
	Expire     float64 // probability that a claim is taken with a lease that ends at once; default 0.05
	RefundPart float64 // share of charges refunded concurrently; default 0.10
	// DuplicatePart is the share of orders (among those not refunded) paid
	// twice: a second charge of the same one-time order delivered
	// concurrently with the first, which the handler must refund. Default
	// 0.10; negative: none.
	DuplicatePart float64
	Seed          uint64 // default: from the time, logged
	// NoRefundHook runs the handler without a refund hook: a refund after
	// fulfilment is then complete once Telegram refunded, and the drain
	// requires it to leave the pending set.
	NoRefundHook bool

	// Effect, if set, is the fulfilment's effect, written through the
	// ledger's transaction (a row in the same database); Effects then reads
	// back how many times each charge's effect committed. Unset, effects are
	// counted in memory when the fulfilment returns nil.
	Effect  func(ctx context.Context, tx payments.Tx, chargeID string) error
	Effects func(ctx context.Context) (map[string]int, error)
}

func (c *StressConfig) defaults() {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.Charges, 500)
	def(&c.Deliveries, 64)
	def(&c.Batch, 10)
	deff := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		}
	}
	deff(&c.LedgerFail, 0.05)
	deff(&c.FulfilFail, 0.05)
	deff(&c.Expire, 0.05)
	deff(&c.RefundPart, 0.10)
	deff(&c.DuplicatePart, 0.10)
	if c.Seed == 0 {
		c.Seed = uint64(time.Now().UnixNano())
	}
}

// StressResult is what [Stress] counted.
type StressResult struct {
	Fulfilled        int // charges fulfilled (once each)
	Duplicates       int // second charges of an order, refunded once each
	RefundedBefore   int // charges refunded before any fulfilment
	RefundedAfter    int // charges refunded after their fulfilment (hook ran once)
	InjectedFailures int64
	Elapsed          time.Duration
}

// Stress runs a payments.Handler on l under faults and checks exactly-once:
// cfg.Deliveries concurrent deliveries of each of cfg.Charges
// successful_payment updates, each ledger call failing with probability
// cfg.LedgerFail (before it runs, or, for the calls that change the
// ledger, after: changed but reported failed), each fulfilment failing with cfg.FulfilFail, claims
// taken with a lease that expires at once with cfg.Expire, and refunds
// issued concurrently for cfg.RefundPart of the charges. It then drains
// the ledger with RetryPending (faults off) and requires: every charge
// fulfilled exactly once or refunded before fulfilment; every refund hook
// run once, only for a fulfilled charge and after its fulfilment; each
// refund made once at (fake) Telegram; no duplicate effect.
func Stress(t *testing.T, l payments.Ledger, cfg StressConfig) StressResult {
	t.Helper()
	cfg.defaults()
	t.Logf("ledgertest.Stress seed %d", cfg.Seed)
	ctx := t.Context()
	fl := &faultyLedger{Ledger: l, rng: rand.New(rand.NewPCG(cfg.Seed, 1)), fail: cfg.LedgerFail, expire: cfg.Expire}
	api := &stressAPI{refunded: map[string]int{}}
	codec, err := payments.NewCodec(payments.Key{ID: 1, Secret: []byte("ledgertest stress secret, 32 B.")})
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu      sync.Mutex
		seq     int
		effects = map[string]int{}
		fulfAt  = map[string]int{} // event number of the fulfilment
		hooks   = map[string][]int{}
		frng    = rand.New(rand.NewPCG(cfg.Seed, 2))
	)
	fulfil := func(ctx context.Context, tx payments.Tx, p payments.Payment, _ payments.Order) error {
		mu.Lock()
		bad := frng.Float64() < cfg.FulfilFail
		mu.Unlock()
		if bad {
			return errors.New("ledgertest: injected fulfil failure")
		}
		if cfg.Effect != nil {
			if err := cfg.Effect(ctx, tx, p.ChargeID); err != nil {
				return err
			}
		}
		mu.Lock()
		defer mu.Unlock()
		seq++
		fulfAt[p.ChargeID] = seq
		if cfg.Effect == nil {
			effects[p.ChargeID]++
		}
		return nil
	}
	hook := func(_ context.Context, _ payments.Tx, p payments.Payment) error {
		mu.Lock()
		defer mu.Unlock()
		if frng.Float64() < cfg.FulfilFail {
			return errors.New("ledgertest: injected refund hook failure")
		}
		seq++
		hooks[p.ChargeID] = append(hooks[p.ChargeID], seq)
		return nil
	}
	opts := []payments.Option{payments.WithClaimTTL(2 * time.Second)}
	if !cfg.NoRefundHook {
		opts = append(opts, payments.WithRefundHook(hook))
	}
	h, err := payments.NewHandler(api, codec, fl, fulfil, opts...)
	if err != nil {
		t.Fatal(err)
	}
	updates := make([]*botapi.Update, cfg.Charges)
	charge := func(i int) string { return "stress-" + strconv.Itoa(i) }
	for i := range updates {
		payload, err := codec.Encode(payments.Order{Ref: "order-" + strconv.Itoa(i), UserID: int64(i + 1)})
		if err != nil {
			t.Fatal(err)
		}
		updates[i] = &botapi.Update{Message: &botapi.Message{From: &botapi.User{ID: int64(i + 1)},
			SuccessfulPayment: &botapi.SuccessfulPayment{Currency: payments.XTR, TotalAmount: 5, InvoicePayload: payload,
				TelegramPaymentChargeID: charge(i)}}}
	}
	refundRNG := rand.New(rand.NewPCG(cfg.Seed, 3))
	toRefund := map[int]bool{}
	dupOf := map[int]*botapi.Update{} // the second charge of order i
	dupCharge := func(i int) string { return charge(i) + "-dup" }
	for i := range cfg.Charges {
		switch r := refundRNG.Float64(); {
		case r < cfg.RefundPart:
			toRefund[i] = true
		case r < cfg.RefundPart+cfg.DuplicatePart:
			u := *updates[i]
			m := *u.Message
			sp := *m.SuccessfulPayment
			sp.TelegramPaymentChargeID = dupCharge(i)
			m.SuccessfulPayment, u.Message = &sp, &m
			dupOf[i] = &u
		}
	}
	start := time.Now()
	for lo := 0; lo < cfg.Charges; lo += cfg.Batch {
		var wg sync.WaitGroup
		release := make(chan struct{})
		for i := lo; i < min(lo+cfg.Batch, cfg.Charges); i++ {
			for d := range cfg.Deliveries {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-release
					// A delivery whose Record failed is redelivered.
					for h.HandleUpdate(ctx, updates[i]) != nil {
					}
				}()
				if u := dupOf[i]; u != nil && d%2 == 0 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						<-release
						for h.HandleUpdate(ctx, u) != nil {
						}
					}()
				}
				if toRefund[i] && d == cfg.Deliveries/2 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						<-release
						for h.Refund(ctx, int64(i+1), charge(i)) != nil {
						}
					}()
				}
			}
		}
		close(release)
		wg.Wait()
	}
	fl.off.Store(true)
	if err := drain(ctx, h, l); err != nil {
		t.Fatal(err)
	}
	res := StressResult{InjectedFailures: fl.injected.Load(), Elapsed: time.Since(start)}
	if cfg.Effects != nil {
		if effects, err = cfg.Effects(ctx); err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for i := range cfg.Charges {
		if dupOf[i] != nil {
			continue // checked below, with its second charge
		}
		id := charge(i)
		p, err := l.Get(ctx, id)
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		n := effects[id]
		switch {
		case n > 1:
			t.Errorf("%s: fulfilment effect committed %d times", id, n)
		case n == 1 && p.FulfilledAt.IsZero():
			t.Errorf("%s: fulfilled but the ledger has no FulfilledAt: %+v", id, p)
		case n == 0 && p.State != payments.StateRefunded:
			t.Errorf("%s: neither fulfilled nor refunded: %+v", id, p)
		case n == 0 && !p.FulfilledAt.IsZero():
			t.Errorf("%s: ledger says fulfilled, no effect: %+v", id, p)
		}
		hs := hooks[id]
		switch {
		case p.State == payments.StateRefunded && n == 1 && cfg.NoRefundHook:
			if len(hs) != 0 || p.RefundHookDue() {
				t.Errorf("%s: refunded after fulfilment with no refund hook: hooks at %v, %+v; want none, and no hook due", id, hs, p)
			}
			res.RefundedAfter++
		case p.State == payments.StateRefunded && n == 1:
			if len(hs) != 1 || (cfg.Effect == nil && hs[0] < fulfAt[id]) {
				t.Errorf("%s: refunded after fulfilment: hooks at %v, fulfilment at %d; want one hook after it", id, hs, fulfAt[id])
			}
			res.RefundedAfter++
		case p.State == payments.StateRefunded:
			if len(hs) != 0 {
				t.Errorf("%s: refunded before fulfilment, yet the refund hook ran %d times", id, len(hs))
			}
			res.RefundedBefore++
		default:
			if len(hs) != 0 {
				t.Errorf("%s: not refunded, yet the refund hook ran", id)
			}
			res.Fulfilled++
		}
		if p.State == payments.StateRefunded && !toRefund[i] {
			t.Errorf("%s: refunded, never asked to be", id)
		}
		if toRefund[i] && p.State != payments.StateRefunded {
			t.Errorf("%s: refund lost: %+v", id, p)
		}
	}
	// Telegram's side: every refund asked for, and every duplicate charge,
	// refunded there exactly once; nothing else refunded.
	wantRefunds := map[string]bool{}
	for i := range toRefund {
		wantRefunds[charge(i)] = true
	}
	for i := range dupOf {
		// Either charge of the order may be recorded first; the other is the duplicate.
		first, second := charge(i), dupCharge(i)
		a, aerr := l.Get(ctx, first)
		b, berr := l.Get(ctx, second)
		if aerr != nil || berr != nil {
			t.Fatalf("order %d: %v, %v", i, aerr, berr)
		}
		if a.DuplicateOf != "" {
			first, second, a, b = second, first, b, a
		}
		if a.DuplicateOf != "" || b.DuplicateOf != first {
			t.Errorf("order %d paid twice: DuplicateOf %q and %q; want one charge the duplicate of the other", i, a.DuplicateOf, b.DuplicateOf)
			continue
		}
		if effects[second] != 0 || b.State != payments.StateRefunded || !b.FulfilledAt.IsZero() || len(hooks[second]) != 0 {
			t.Errorf("%s, a duplicate of %s: %d effects, %d hooks, %+v; want refunded, never fulfilled", second, first, effects[second], len(hooks[second]), b)
		}
		if effects[first] != 1 || a.State != payments.StateFulfilled {
			t.Errorf("%s, the order's first charge: %d effects, %+v; want fulfilled once", first, effects[first], a)
		}
		wantRefunds[second] = true
		res.Duplicates++
		res.Fulfilled++
	}
	got := api.refundedCopy()
	for id := range wantRefunds {
		if got[id] != 1 {
			t.Errorf("%s: refunded %d times at Telegram, want once", id, got[id])
		}
	}
	for id := range got {
		if !wantRefunds[id] {
			t.Errorf("%s: refunded at Telegram, never asked to be", id)
		}
	}
	return res
}

// drain runs RetryPending until the ledger has nothing pending; claims left
// by injected Release failures expire within the claim TTL.
func drain(ctx context.Context, h *payments.Handler, l payments.Ledger) error {
	deadline := time.Now().Add(time.Minute)
	for {
		_, rerr := h.RetryPending(ctx)
		left := 0
		for _, err := range l.Pending(ctx, -time.Hour) {
			if err != nil {
				return err
			}
			left++
		}
		if left == 0 && rerr == nil && !stillClaimed(ctx, l) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("ledgertest: %d payments still pending after a minute of RetryPending: %v", left, rerr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// stillClaimed reports whether a payment with work left is claimed (not
// yielded by Pending): such a claim ends within the TTL.
func stillClaimed(ctx context.Context, l payments.Ledger) bool {
	for p, err := range l.Since(ctx, time.Time{}) {
		if err != nil || p.State == payments.StatePaid || p.RefundHookDue() {
			return true
		}
	}
	return false
}

// faultyLedger fails ledger calls at random and shortens leases.
type faultyLedger struct {
	payments.Ledger
	mu       sync.Mutex
	rng      *rand.Rand
	fail     float64
	expire   float64
	off      atomic.Bool
	injected atomic.Int64
}

var errInjected = errors.New("ledgertest: injected ledger failure")

func (f *faultyLedger) roll(p float64) bool {
	if f.off.Load() {
		return false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.rng.Float64() < p
}

func (f *faultyLedger) failing() error {
	if f.roll(f.fail) {
		f.injected.Add(1)
		return errInjected
	}
	return nil
}

// lost fails a call that ran (its change made, its reply lost) with
// probability fail/2.
func (f *faultyLedger) lost(err error) error {
	if err == nil && f.roll(f.fail/2) {
		f.injected.Add(1)
		return errInjected
	}
	return err
}

func (f *faultyLedger) Record(ctx context.Context, p payments.Payment, once bool) (payments.Payment, bool, error) {
	if err := f.failing(); err != nil {
		return payments.Payment{}, false, err
	}
	stored, first, err := f.Ledger.Record(ctx, p, once)
	if err == nil && f.roll(f.fail/2) { // stored, reply lost
		f.injected.Add(1)
		return payments.Payment{}, false, errInjected
	}
	return stored, first, err
}

func (f *faultyLedger) Get(ctx context.Context, id string) (payments.Payment, error) {
	if err := f.failing(); err != nil {
		return payments.Payment{}, err
	}
	return f.Ledger.Get(ctx, id)
}

func (f *faultyLedger) Reserve(ctx context.Context, orderRef, holder string, ttl time.Duration) (bool, error) {
	if err := f.failing(); err != nil {
		return false, err
	}
	ok, err := f.Ledger.Reserve(ctx, orderRef, holder, ttl)
	if err = f.lost(err); err != nil {
		return false, err
	}
	return ok, nil
}

func (f *faultyLedger) ReleaseReservation(ctx context.Context, orderRef, holder string) error {
	if err := f.failing(); err != nil {
		return err
	}
	return f.lost(f.Ledger.ReleaseReservation(ctx, orderRef, holder))
}

func (f *faultyLedger) Claim(ctx context.Context, id, owner string, ttl time.Duration) (bool, error) {
	if err := f.failing(); err != nil {
		return false, err
	}
	if f.roll(f.expire) {
		ttl = 0
	}
	ok, err := f.Ledger.Claim(ctx, id, owner, ttl)
	if err = f.lost(err); err != nil {
		return false, err
	}
	return ok, nil
}

func (f *faultyLedger) Release(ctx context.Context, id, owner string) error {
	if err := f.failing(); err != nil {
		return err
	}
	return f.lost(f.Ledger.Release(ctx, id, owner))
}

func (f *faultyLedger) Fulfil(ctx context.Context, id, owner string, fn payments.TxFunc) (payments.Payment, error) {
	if err := f.failing(); err != nil {
		return payments.Payment{}, err
	}
	p, err := f.Ledger.Fulfil(ctx, id, owner, fn)
	if err = f.lost(err); err != nil {
		return payments.Payment{}, err
	}
	return p, nil
}

func (f *faultyLedger) Refund(ctx context.Context, id string) (payments.Payment, error) {
	if err := f.failing(); err != nil {
		return payments.Payment{}, err
	}
	p, err := f.Ledger.Refund(ctx, id)
	if err = f.lost(err); err != nil {
		return payments.Payment{}, err
	}
	return p, nil
}

func (f *faultyLedger) ClaimRefundHook(ctx context.Context, id, owner string, ttl time.Duration) (bool, error) {
	if err := f.failing(); err != nil {
		return false, err
	}
	if f.roll(f.expire) {
		ttl = 0
	}
	return f.Ledger.ClaimRefundHook(ctx, id, owner, ttl)
}

func (f *faultyLedger) RefundHookDone(ctx context.Context, id, owner string, fn payments.TxFunc) (payments.Payment, error) {
	if err := f.failing(); err != nil {
		return payments.Payment{}, err
	}
	p, err := f.Ledger.RefundHookDone(ctx, id, owner, fn)
	if err = f.lost(err); err != nil {
		return payments.Payment{}, err
	}
	return p, nil
}

func (f *faultyLedger) Pending(ctx context.Context, olderThan time.Duration) iter.Seq2[payments.Payment, error] {
	if err := f.failing(); err != nil {
		return func(yield func(payments.Payment, error) bool) { yield(payments.Payment{}, err) }
	}
	return f.Ledger.Pending(ctx, olderThan)
}

// stressAPI is Telegram's refund side: refundStarPayment refunds a charge
// once and answers CHARGE_ALREADY_REFUNDED after (refunded counts the
// refunds made, never more than one a charge; tries counts every call).
type stressAPI struct {
	mu       sync.Mutex
	refunded map[string]int
	tries    int
}

func (a *stressAPI) refundedCopy() map[string]int {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make(map[string]int, len(a.refunded))
	for k, v := range a.refunded {
		out[k] = v
	}
	return out
}

func (a *stressAPI) RefundStarPayment(_ context.Context, p *botapi.RefundStarPaymentParams) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.tries++
	return refundOnce(a.refunded, p.TelegramPaymentChargeID)
}

func (*stressAPI) AnswerPreCheckoutQuery(context.Context, *botapi.AnswerPreCheckoutQueryParams) error {
	return nil
}

func (*stressAPI) AnswerShippingQuery(context.Context, *botapi.AnswerShippingQueryParams) error {
	return nil
}

func (*stressAPI) EditUserStarSubscription(context.Context, *botapi.EditUserStarSubscriptionParams) error {
	return nil
}

func (*stressAPI) GetStarTransactions(context.Context, *botapi.GetStarTransactionsParams) (*botapi.StarTransactions, error) {
	return &botapi.StarTransactions{}, nil
}
