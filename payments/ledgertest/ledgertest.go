package ledgertest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miniappkit/miniappkit/payments"
)

// base is the fixed time the checks run at.
var base = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

type check struct {
	name string
	fn   func(ctx context.Context, l payments.Ledger) error
}

var checks = []check{
	{"RecordFirstThenDuplicate", recordFirstThenDuplicate},
	{"NotFound", notFound},
	{"ClaimLease", claimLease},
	{"SetStateCompareAndSet", setState},
	{"RefundHookClaim", refundHookClaim},
	{"AllInRecordOrder", allInOrder},
	{"ConcurrentRecordClaimSetState", concurrent},
}

// Run runs every check as a subtest of t, each on a ledger from newLedger.
func Run(t *testing.T, newLedger func(t *testing.T) payments.Ledger) {
	t.Helper()
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			if err := c.fn(t.Context(), newLedger(t)); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// Check runs every check, each on a ledger from newLedger, and returns the
// failures joined (nil if the ledger conforms).
func Check(ctx context.Context, newLedger func() payments.Ledger) error {
	var errs []error
	for _, c := range checks {
		if err := c.fn(ctx, newLedger()); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", c.name, err))
		}
	}
	return errors.Join(errs...)
}

func recordFirstThenDuplicate(ctx context.Context, l payments.Ledger) error {
	p := payments.Payment{ChargeID: "c1", UserID: 7, Currency: payments.XTR, Amount: 5, Payload: "p", PaidAt: base}
	got, first, err := l.Record(ctx, p)
	if err != nil {
		return err
	}
	if !first || got.State != payments.StatePaid || got.Amount != 5 {
		return fmt.Errorf("ledgertest: first Record = %+v, %v; want StatePaid, amount 5, true", got, first)
	}
	got, first, err = l.Record(ctx, payments.Payment{ChargeID: "c1", Amount: 999})
	if err != nil {
		return err
	}
	if first || got.Amount != 5 {
		return fmt.Errorf("ledgertest: duplicate Record = %+v, %v; want the stored payment, false", got, first)
	}
	stored, err := l.Get(ctx, "c1")
	if err != nil {
		return err
	}
	if stored.UserID != 7 || stored.Payload != "p" || !stored.PaidAt.Equal(base) {
		return fmt.Errorf("ledgertest: Get = %+v; fields not kept", stored)
	}
	got, first, err = l.Record(ctx, payments.Payment{ChargeID: "c2", State: payments.StateRefunded})
	if err != nil {
		return err
	}
	if !first || got.State != payments.StateRefunded {
		return fmt.Errorf("ledgertest: Record with a state = %+v, %v; want that state kept", got, first)
	}
	return nil
}

func notFound(ctx context.Context, l payments.Ledger) error {
	if _, err := l.Get(ctx, "nope"); !errors.Is(err, payments.ErrNotFound) {
		return fmt.Errorf("ledgertest: Get of an unknown charge: %v, want ErrNotFound", err)
	}
	if _, err := l.Claim(ctx, "nope", "o", base, base.Add(time.Minute)); !errors.Is(err, payments.ErrNotFound) {
		return fmt.Errorf("ledgertest: Claim of an unknown charge: %v, want ErrNotFound", err)
	}
	if _, err := l.SetState(ctx, "nope", payments.StatePaid, payments.StateFulfilled, base); !errors.Is(err, payments.ErrNotFound) {
		return fmt.Errorf("ledgertest: SetState of an unknown charge: %v, want ErrNotFound", err)
	}
	return nil
}

func claimLease(ctx context.Context, l payments.Ledger) error {
	if _, _, err := l.Record(ctx, payments.Payment{ChargeID: "c"}); err != nil {
		return err
	}
	claim := func(owner string, now time.Time, want bool, what string) error {
		ok, err := l.Claim(ctx, "c", owner, now, now.Add(time.Minute))
		if err != nil {
			return err
		}
		if ok != want {
			return fmt.Errorf("ledgertest: Claim %s = %v, want %v", what, ok, want)
		}
		return nil
	}
	if err := claim("a", base, true, "of an unclaimed payment"); err != nil {
		return err
	}
	if err := claim("b", base.Add(59*time.Second), false, "while the lease is held"); err != nil {
		return err
	}
	if err := claim("b", base.Add(time.Minute), true, "when the lease has expired"); err != nil {
		return err
	}
	// a's lease expired and b took over: a's Release must not free b's claim.
	if err := l.Release(ctx, "c", "a"); err != nil {
		return err
	}
	if err := claim("c", base.Add(time.Minute), false, "after a stale owner's Release"); err != nil {
		return err
	}
	if err := l.Release(ctx, "c", "b"); err != nil {
		return err
	}
	if err := claim("c", base.Add(time.Minute), true, "after Release"); err != nil {
		return err
	}
	ok, err := l.SetState(ctx, "c", payments.StatePaid, payments.StateFulfilled, base)
	if err != nil {
		return err
	}
	if !ok {
		return errors.New("ledgertest: SetState paid→fulfilled by the claim holder failed")
	}
	return claim("d", base.Add(time.Hour), false, "of a fulfilled payment")
}

func refundHookClaim(ctx context.Context, l payments.Ledger) error {
	if _, err := l.ClaimRefundHook(ctx, "nope", "o", base, base.Add(time.Minute)); !errors.Is(err, payments.ErrNotFound) {
		return fmt.Errorf("ledgertest: ClaimRefundHook of an unknown charge: %v, want ErrNotFound", err)
	}
	if _, err := l.RefundHookDone(ctx, "nope", base); !errors.Is(err, payments.ErrNotFound) {
		return fmt.Errorf("ledgertest: RefundHookDone of an unknown charge: %v, want ErrNotFound", err)
	}
	if _, _, err := l.Record(ctx, payments.Payment{ChargeID: "c"}); err != nil {
		return err
	}
	claim := func(owner string, now time.Time, want bool, what string) error {
		ok, err := l.ClaimRefundHook(ctx, "c", owner, now, now.Add(time.Minute))
		if err != nil {
			return err
		}
		if ok != want {
			return fmt.Errorf("ledgertest: ClaimRefundHook %s = %v, want %v", what, ok, want)
		}
		return nil
	}
	if err := claim("a", base, false, "of a paid payment"); err != nil {
		return err
	}
	if ok, err := l.RefundHookDone(ctx, "c", base); err != nil || ok {
		return fmt.Errorf("ledgertest: RefundHookDone of a paid payment = %v, %v; want false, nil", ok, err)
	}
	// A fulfilment claim in flight when the refund lands: SetState drops it.
	if ok, err := l.Claim(ctx, "c", "fulfil", base, base.Add(time.Hour)); err != nil || !ok {
		return fmt.Errorf("ledgertest: Claim = %v, %v; want true, nil", ok, err)
	}
	if ok, err := l.SetState(ctx, "c", payments.StatePaid, payments.StateRefunded, base); err != nil || !ok {
		return fmt.Errorf("ledgertest: SetState paid→refunded = %v, %v; want true, nil", ok, err)
	}
	if err := claim("a", base, true, "of a refunded payment"); err != nil {
		return err
	}
	if err := claim("b", base.Add(59*time.Second), false, "while the lease is held"); err != nil {
		return err
	}
	if err := l.Release(ctx, "c", "fulfil"); err != nil { // the stale fulfilment ends
		return err
	}
	if err := claim("b", base.Add(59*time.Second), false, "after a stale owner's Release"); err != nil {
		return err
	}
	if err := l.Release(ctx, "c", "a"); err != nil { // the hook failed
		return err
	}
	if err := claim("b", base.Add(time.Second), true, "after Release"); err != nil {
		return err
	}
	if err := claim("c", base.Add(time.Minute+time.Second), true, "when the lease has expired"); err != nil {
		return err
	}
	done := base.Add(2 * time.Minute)
	if ok, err := l.RefundHookDone(ctx, "c", done); err != nil || !ok {
		return fmt.Errorf("ledgertest: RefundHookDone = %v, %v; want true, nil", ok, err)
	}
	if ok, err := l.RefundHookDone(ctx, "c", done.Add(time.Hour)); err != nil || ok {
		return fmt.Errorf("ledgertest: second RefundHookDone = %v, %v; want false, nil", ok, err)
	}
	p, err := l.Get(ctx, "c")
	if err != nil {
		return err
	}
	if !p.RefundHookDoneAt.Equal(done) || p.State != payments.StateRefunded {
		return fmt.Errorf("ledgertest: after RefundHookDone Get = %+v; want refunded, RefundHookDoneAt %v", p, done)
	}
	if err := claim("d", done.Add(time.Hour), false, "once the hook is done"); err != nil {
		return err
	}
	// A refund recorded directly (never seen paid) has its hook pending.
	if _, _, err := l.Record(ctx, payments.Payment{ChargeID: "r", State: payments.StateRefunded}); err != nil {
		return err
	}
	if ok, err := l.ClaimRefundHook(ctx, "r", "e", base, base.Add(time.Minute)); err != nil || !ok {
		return fmt.Errorf("ledgertest: ClaimRefundHook of a recorded refund = %v, %v; want true, nil", ok, err)
	}
	return nil
}

func setState(ctx context.Context, l payments.Ledger) error {
	if _, _, err := l.Record(ctx, payments.Payment{ChargeID: "c"}); err != nil {
		return err
	}
	at := base.Add(time.Hour)
	for _, s := range []struct {
		from, to payments.State
		want     bool
	}{
		{payments.StateFulfilled, payments.StateRefunded, false}, // not fulfilled yet
		{payments.StatePaid, payments.StateFulfilled, true},
		{payments.StatePaid, payments.StateFulfilled, false},
		{payments.StateFulfilled, payments.StateRefunded, true},
	} {
		ok, err := l.SetState(ctx, "c", s.from, s.to, at)
		if err != nil {
			return err
		}
		if ok != s.want {
			return fmt.Errorf("ledgertest: SetState %v→%v = %v, want %v", s.from, s.to, ok, s.want)
		}
	}
	p, err := l.Get(ctx, "c")
	if err != nil {
		return err
	}
	if p.State != payments.StateRefunded || !p.FulfilledAt.Equal(at) || !p.RefundedAt.Equal(at) {
		return fmt.Errorf("ledgertest: after paid→fulfilled→refunded: %+v", p)
	}
	return nil
}

func allInOrder(ctx context.Context, l payments.Ledger) error {
	want := []string{"z", "a", "m"}
	for _, id := range want {
		if _, _, err := l.Record(ctx, payments.Payment{ChargeID: id}); err != nil {
			return err
		}
	}
	var got []string
	for p, err := range l.All(ctx) {
		if err != nil {
			return err
		}
		got = append(got, p.ChargeID)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		return fmt.Errorf("ledgertest: All = %v, want %v (record order)", got, want)
	}
	return nil
}

func concurrent(ctx context.Context, l payments.Ledger) error {
	const workers = 32
	if _, _, err := l.Record(ctx, payments.Payment{ChargeID: "cas"}); err != nil {
		return err
	}
	var firsts, claims, sets atomic.Int32
	errs := make(chan error, 3*workers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	count := func(n *atomic.Int32, ok bool, err error) {
		if err != nil {
			errs <- err
		} else if ok {
			n.Add(1)
		}
	}
	for i := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, first, err := l.Record(ctx, payments.Payment{ChargeID: "c"})
			count(&firsts, first, err)
			ok, err := l.Claim(ctx, "c", strconv.Itoa(i), base, base.Add(time.Minute))
			count(&claims, ok, err)
			ok, err = l.SetState(ctx, "cas", payments.StatePaid, payments.StateFulfilled, base)
			count(&sets, ok, err)
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	if firsts.Load() != 1 || claims.Load() != 1 || sets.Load() != 1 {
		return fmt.Errorf("ledgertest: %d concurrent workers: %d first records, %d claims, %d transitions; want 1 each",
			workers, firsts.Load(), claims.Load(), sets.Load())
	}
	return nil
}
