package ledgertest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miniappkit/miniappkit/payments"
)

// base is a fixed PaidAt the checks record with.
var base = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// lease is a claim that outlives any check; a ttl of 0 makes a claim that
// has expired the moment it is taken, which is how the checks test expiry
// on a ledger whose clock they cannot move (SQL now(), Redis TIME).
const lease = time.Hour

type check struct {
	name string
	fn   func(ctx context.Context, l payments.Ledger) error
}

var checks = []check{
	{"RecordFirstThenDuplicate", recordFirstThenDuplicate},
	{"NotFound", notFound},
	{"ClaimLease", claimLease},
	{"Fencing", fencing},
	{"FulfilCommitsWithState", fulfilCommits},
	{"RefundBeforeFulfil", refundBeforeFulfil},
	{"RefundDuringFulfil", refundDuringFulfil},
	{"RefundAfterFulfil", refundAfterFulfil},
	{"RefundHook", refundHook},
	{"Reservations", reservations},
	{"ReservedAgainNotReleased", reservedAgainNotReleased},
	{"OncePerOrder", oncePerOrder},
	{"KnownChargeBindsNoOrder", knownChargeBindsNoOrder},
	{"Pending", pending},
	{"Since", since},
	{"Concurrent", concurrent},
	{"PreCheckoutFailureReleasesReservation", preCheckoutFailureReleases},
	{"PreCheckoutUnknownAnswerKeepsReservation", preCheckoutUnknownAnswerKeeps},
	{"PreCheckoutRedeliveredKeepsReservation", preCheckoutRedeliveredKeeps},
	{"RefundWithoutHookCompletes", refundWithoutHookCompletes},
	{"RepeatedWrites", repeatedWrites},
	{"RefundInsideFulfilRefused", refundInsideFulfilRefused},
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

func fail(format string, args ...any) error { return fmt.Errorf("ledgertest: "+format, args...) }

func nop(context.Context, payments.Tx) error { return nil }

func record(ctx context.Context, l payments.Ledger, id string) error {
	_, _, err := l.Record(ctx, payments.Payment{ChargeID: id, UserID: 1, Currency: payments.XTR, Amount: 5}, false)
	return err
}

func get(ctx context.Context, l payments.Ledger, id string) (payments.Payment, error) {
	return l.Get(ctx, id)
}

func wantClaim(ctx context.Context, l payments.Ledger, id, owner string, ttl time.Duration, want bool, what string) error {
	ok, err := l.Claim(ctx, id, owner, ttl)
	if err != nil {
		return err
	}
	if ok != want {
		return fail("Claim %s = %v, want %v", what, ok, want)
	}
	return nil
}

func recordFirstThenDuplicate(ctx context.Context, l payments.Ledger) error {
	p := payments.Payment{ChargeID: "c1", UserID: 7, Currency: payments.XTR, Amount: 5, Payload: "p", PaidAt: base,
		OrderRef: "o1", ShippingOptionID: "post", IsRecurring: true, IsFirstRecurring: true,
		SubscriptionExpiration: base.Add(30 * 24 * time.Hour)}
	got, first, err := l.Record(ctx, p, true)
	if err != nil {
		return err
	}
	if !first || got.State != payments.StatePaid || got.Amount != 5 {
		return fail("first Record = %+v, %v; want StatePaid, amount 5, true", got, first)
	}
	got, first, err = l.Record(ctx, payments.Payment{ChargeID: "c1", Amount: 999}, true)
	if err != nil {
		return err
	}
	if first || got.Amount != 5 {
		return fail("duplicate Record = %+v, %v; want the stored payment, false", got, first)
	}
	stored, err := get(ctx, l, "c1")
	if err != nil {
		return err
	}
	if stored.UserID != 7 || stored.Payload != "p" || !stored.PaidAt.Equal(base) || stored.OrderRef != "o1" ||
		stored.ShippingOptionID != "post" || !stored.IsRecurring || !stored.IsFirstRecurring ||
		!stored.SubscriptionExpiration.Equal(p.SubscriptionExpiration) || stored.DuplicateOf != "" {
		return fail("Get = %+v; fields not kept", stored)
	}
	got, first, err = l.Record(ctx, payments.Payment{ChargeID: "c2", State: payments.StateRefunded}, false)
	if err != nil {
		return err
	}
	if !first || got.State != payments.StateRefunded || got.PaidAt.IsZero() || got.RefundedAt.IsZero() {
		return fail("Record of a refund = %+v, %v; want refunded, PaidAt and RefundedAt stamped", got, first)
	}
	if got.RefundHookDue() {
		return fail("a refund recorded without a fulfilment has its refund hook due")
	}
	return nil
}

func notFound(ctx context.Context, l payments.Ledger) error {
	calls := map[string]func() error{
		"Get":             func() error { _, err := l.Get(ctx, "nope"); return err },
		"Claim":           func() error { _, err := l.Claim(ctx, "nope", "o", lease); return err },
		"Fulfil":          func() error { _, err := l.Fulfil(ctx, "nope", "o", nop); return err },
		"Refund":          func() error { _, err := l.Refund(ctx, "nope"); return err },
		"ClaimRefundHook": func() error { _, err := l.ClaimRefundHook(ctx, "nope", "o", lease); return err },
		"RefundHookDone":  func() error { _, err := l.RefundHookDone(ctx, "nope", "o", nop); return err },
	}
	for _, name := range []string{"Get", "Claim", "Fulfil", "Refund", "ClaimRefundHook", "RefundHookDone"} {
		if err := calls[name](); !errors.Is(err, payments.ErrNotFound) {
			return fail("%s of an unknown charge: %v, want ErrNotFound", name, err)
		}
	}
	ps, err := l.ByOrder(ctx, "nope")
	if err != nil || len(ps) != 0 {
		return fail("ByOrder of an unknown order = %v, %v; want none, nil", ps, err)
	}
	return nil
}

func claimLease(ctx context.Context, l payments.Ledger) error {
	if err := record(ctx, l, "c"); err != nil {
		return err
	}
	steps := []struct {
		owner string
		ttl   time.Duration
		want  bool
		what  string
	}{
		{"a", 0, true, "of an unclaimed payment"},
		{"b", lease, true, "when the lease has expired"},
		{"c", lease, false, "while the lease is held"},
	}
	for _, s := range steps {
		if err := wantClaim(ctx, l, "c", s.owner, s.ttl, s.want, s.what); err != nil {
			return err
		}
	}
	// a's lease expired and b took over: a's Release must not free b's claim.
	if err := l.Release(ctx, "c", "a"); err != nil {
		return err
	}
	if err := wantClaim(ctx, l, "c", "c", lease, false, "after a stale owner's Release"); err != nil {
		return err
	}
	if err := l.Release(ctx, "c", "b"); err != nil {
		return err
	}
	if err := wantClaim(ctx, l, "c", "c", lease, true, "after Release"); err != nil {
		return err
	}
	if _, err := l.Fulfil(ctx, "c", "c", nop); err != nil {
		return err
	}
	return wantClaim(ctx, l, "c", "d", lease, false, "of a fulfilled payment")
}

func fencing(ctx context.Context, l payments.Ledger) error {
	if err := record(ctx, l, "c"); err != nil {
		return err
	}
	if err := wantClaim(ctx, l, "c", "stale", 0, true, "with a lease that ends at once"); err != nil {
		return err
	}
	ran := false
	_, err := l.Fulfil(ctx, "c", "stale", func(context.Context, payments.Tx) error { ran = true; return nil })
	if !errors.Is(err, payments.ErrClaimLost) || ran {
		return fail("Fulfil by an owner whose lease expired: ran %v, %v; want not run, ErrClaimLost", ran, err)
	}
	if err := wantClaim(ctx, l, "c", "live", lease, true, "after the stale owner's lease"); err != nil {
		return err
	}
	_, err = l.Fulfil(ctx, "c", "stale", func(context.Context, payments.Tx) error { ran = true; return nil })
	if !errors.Is(err, payments.ErrClaimLost) || ran {
		return fail("Fulfil by a stale owner: ran %v, %v; want not run, ErrClaimLost", ran, err)
	}
	if _, err := l.Fulfil(ctx, "c", "nobody", nop); !errors.Is(err, payments.ErrClaimLost) {
		return fail("Fulfil by an owner that never claimed: %v, want ErrClaimLost", err)
	}
	p, err := get(ctx, l, "c")
	if err != nil {
		return err
	}
	if p.State != payments.StatePaid {
		return fail("after fenced Fulfils the payment is %v, want paid", p.State)
	}
	if _, err := l.Fulfil(ctx, "c", "live", nop); err != nil {
		return fail("Fulfil by the live owner: %v", err)
	}
	if _, err := l.Fulfil(ctx, "c", "live", nop); !errors.Is(err, payments.ErrClaimLost) {
		return fail("second Fulfil by the same owner: %v, want ErrClaimLost", err)
	}
	return nil
}

func fulfilCommits(ctx context.Context, l payments.Ledger) error {
	if err := record(ctx, l, "c"); err != nil {
		return err
	}
	if err := wantClaim(ctx, l, "c", "a", lease, true, "of a paid payment"); err != nil {
		return err
	}
	boom := errors.New("warehouse offline")
	_, err := l.Fulfil(ctx, "c", "a", func(context.Context, payments.Tx) error { return boom })
	if !errors.Is(err, boom) {
		return fail("Fulfil whose fn fails: %v, want fn's error", err)
	}
	p, err := get(ctx, l, "c")
	if err != nil {
		return err
	}
	if p.State != payments.StatePaid || !p.FulfilledAt.IsZero() {
		return fail("after a failed fn: %+v; want paid, not fulfilled", p)
	}
	if err := wantClaim(ctx, l, "c", "b", lease, true, "after a failed fulfilment (its claim ends)"); err != nil {
		return err
	}
	runs := 0
	got, err := l.Fulfil(ctx, "c", "b", func(context.Context, payments.Tx) error { runs++; return nil })
	if err != nil || runs != 1 {
		return fail("Fulfil = %v, fn ran %d times; want nil, 1", err, runs)
	}
	if got.State != payments.StateFulfilled || got.FulfilledAt.IsZero() {
		return fail("Fulfil returned %+v; want fulfilled with FulfilledAt", got)
	}
	p, err = get(ctx, l, "c")
	if err != nil {
		return err
	}
	if p.State != payments.StateFulfilled || !p.FulfilledAt.Equal(got.FulfilledAt) {
		return fail("after Fulfil Get = %+v; want what Fulfil returned", p)
	}
	return nil
}

func refundBeforeFulfil(ctx context.Context, l payments.Ledger) error {
	// Unclaimed: the refund applies at once, and the payment is never fulfilled.
	if err := record(ctx, l, "u"); err != nil {
		return err
	}
	p, err := l.Refund(ctx, "u")
	if err != nil {
		return err
	}
	if p.State != payments.StateRefunded || !p.FulfilledAt.IsZero() || p.RefundHookDue() {
		return fail("Refund of an unclaimed paid payment = %+v; want refunded, no hook due", p)
	}
	if err := wantClaim(ctx, l, "u", "a", lease, false, "of a refunded payment"); err != nil {
		return err
	}
	// Claimed, not yet fulfilling: the refund waits for the claim, and
	// Fulfil applies it instead of running fn.
	if err := record(ctx, l, "c"); err != nil {
		return err
	}
	if err := wantClaim(ctx, l, "c", "a", lease, true, "of a paid payment"); err != nil {
		return err
	}
	p, err = l.Refund(ctx, "c")
	if err != nil {
		return err
	}
	if p.State != payments.StatePaid || !p.RefundRequested {
		return fail("Refund under a live claim = %+v; want paid with RefundRequested", p)
	}
	if err := wantClaim(ctx, l, "c", "b", 0, false, "with a refund requested"); err != nil {
		return err
	}
	ran := false
	p, err = l.Fulfil(ctx, "c", "a", func(context.Context, payments.Tx) error { ran = true; return nil })
	if err != nil || ran || p.State != payments.StateRefunded || !p.FulfilledAt.IsZero() {
		return fail("Fulfil with a refund requested = %+v, %v, ran %v; want refunded, not fulfilled, fn not run", p, err, ran)
	}
	// Claimed, fulfilment fails: Release applies the waiting refund.
	if err := record(ctx, l, "r"); err != nil {
		return err
	}
	if err := wantClaim(ctx, l, "r", "a", lease, true, "of a paid payment"); err != nil {
		return err
	}
	if _, err := l.Refund(ctx, "r"); err != nil {
		return err
	}
	if err := l.Release(ctx, "r", "a"); err != nil {
		return err
	}
	p, err = get(ctx, l, "r")
	if err != nil {
		return err
	}
	if p.State != payments.StateRefunded || !p.FulfilledAt.IsZero() {
		return fail("Release with a refund requested: %+v; want refunded, not fulfilled", p)
	}
	// Claim expired (the worker crashed): a Refund now applies.
	if err := record(ctx, l, "x"); err != nil {
		return err
	}
	if err := wantClaim(ctx, l, "x", "crashed", 0, true, "of a paid payment"); err != nil {
		return err
	}
	p, err = l.Refund(ctx, "x")
	if err != nil || p.State != payments.StateRefunded {
		return fail("Refund over an expired claim = %+v, %v; want refunded", p, err)
	}
	if _, err := l.Fulfil(ctx, "x", "crashed", nop); !errors.Is(err, payments.ErrClaimLost) {
		return fail("Fulfil of a refunded payment: %v, want ErrClaimLost", err)
	}
	return nil
}

func refundDuringFulfil(ctx context.Context, l payments.Ledger) error {
	if err := record(ctx, l, "c"); err != nil {
		return err
	}
	if err := wantClaim(ctx, l, "c", "a", lease, true, "of a paid payment"); err != nil {
		return err
	}
	refunded := make(chan error, 1)
	var during payments.Payment
	got, err := l.Fulfil(ctx, "c", "a", func(context.Context, payments.Tx) error {
		go func() {
			p, err := l.Refund(ctx, "c")
			during = p
			refunded <- err
		}()
		// The refund either waits for this fulfilment (a row lock) or is
		// recorded as requested; give it the chance to do either.
		select {
		case err := <-refunded:
			refunded <- err
		case <-time.After(200 * time.Millisecond):
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := <-refunded; err != nil {
		return err
	}
	if during.State == payments.StateRefunded && during.FulfilledAt.IsZero() {
		return fail("a refund during fulfilment was applied before it: %+v", during)
	}
	p, err := get(ctx, l, "c")
	if err != nil {
		return err
	}
	if p.State != payments.StateRefunded || p.FulfilledAt.IsZero() || !p.RefundHookDue() {
		return fail("after a refund during fulfilment: %+v (Fulfil returned %v); want refunded after fulfilled, hook due", p, got.State)
	}
	return nil
}

func refundAfterFulfil(ctx context.Context, l payments.Ledger) error {
	if err := record(ctx, l, "c"); err != nil {
		return err
	}
	if err := wantClaim(ctx, l, "c", "a", lease, true, "of a paid payment"); err != nil {
		return err
	}
	if _, err := l.Fulfil(ctx, "c", "a", nop); err != nil {
		return err
	}
	p, err := l.Refund(ctx, "c")
	if err != nil {
		return err
	}
	if p.State != payments.StateRefunded || p.RefundedAt.IsZero() || p.FulfilledAt.IsZero() || !p.RefundHookDue() {
		return fail("Refund of a fulfilled payment = %+v; want refunded, hook due", p)
	}
	again, err := l.Refund(ctx, "c")
	if err != nil || !again.RefundedAt.Equal(p.RefundedAt) || again.State != payments.StateRefunded {
		return fail("second Refund = %+v, %v; want unchanged", again, err)
	}
	return nil
}

func refundHook(ctx context.Context, l payments.Ledger) error {
	if err := record(ctx, l, "c"); err != nil {
		return err
	}
	claimHook := func(owner string, ttl time.Duration, want bool, what string) error {
		ok, err := l.ClaimRefundHook(ctx, "c", owner, ttl)
		if err != nil {
			return err
		}
		if ok != want {
			return fail("ClaimRefundHook %s = %v, want %v", what, ok, want)
		}
		return nil
	}
	if err := claimHook("a", lease, false, "of a paid payment"); err != nil {
		return err
	}
	if err := wantClaim(ctx, l, "c", "f", lease, true, "of a paid payment"); err != nil {
		return err
	}
	if _, err := l.Fulfil(ctx, "c", "f", nop); err != nil {
		return err
	}
	if err := claimHook("a", lease, false, "of a fulfilled payment"); err != nil {
		return err
	}
	if _, err := l.Refund(ctx, "c"); err != nil {
		return err
	}
	if err := claimHook("stale", 0, true, "of a refunded, fulfilled payment"); err != nil {
		return err
	}
	if err := claimHook("a", lease, true, "when the lease has expired"); err != nil {
		return err
	}
	if err := claimHook("b", lease, false, "while the lease is held"); err != nil {
		return err
	}
	if _, err := l.RefundHookDone(ctx, "c", "stale", nop); !errors.Is(err, payments.ErrClaimLost) {
		return fail("RefundHookDone by a stale owner: %v, want ErrClaimLost", err)
	}
	boom := errors.New("cannot revoke")
	if _, err := l.RefundHookDone(ctx, "c", "a", func(context.Context, payments.Tx) error { return boom }); !errors.Is(err, boom) {
		return fail("RefundHookDone whose fn fails: %v, want fn's error", err)
	}
	if err := claimHook("b", lease, true, "after a failed hook (its claim ends)"); err != nil {
		return err
	}
	p, err := l.RefundHookDone(ctx, "c", "b", nop)
	if err != nil || p.RefundHookDoneAt.IsZero() || p.RefundHookDue() {
		return fail("RefundHookDone = %+v, %v; want RefundHookDoneAt stamped", p, err)
	}
	if _, err := l.RefundHookDone(ctx, "c", "b", nop); !errors.Is(err, payments.ErrClaimLost) {
		return fail("second RefundHookDone: %v, want ErrClaimLost", err)
	}
	return claimHook("d", lease, false, "once the hook is done")
}

func reservations(ctx context.Context, l payments.Ledger) error {
	reserve := func(order, holder string, ttl time.Duration, want bool, what string) error {
		ok, err := l.Reserve(ctx, order, holder, ttl)
		if err != nil {
			return err
		}
		if ok != want {
			return fail("Reserve %s = %v, want %v", what, ok, want)
		}
		return nil
	}
	steps := []struct {
		holder string
		ttl    time.Duration
		want   bool
		what   string
	}{
		{"q1", 0, true, "of a new order"},
		{"q2", lease, true, "after the reservation expired"},
		{"q3", lease, false, "while another query holds it"},
		{"q2", lease, true, "again by its holder (a redelivered query)"},
	}
	for _, s := range steps {
		if err := reserve("o", s.holder, s.ttl, s.want, s.what); err != nil {
			return err
		}
	}
	if _, _, err := l.Record(ctx, payments.Payment{ChargeID: "c", OrderRef: "o"}, true); err != nil {
		return err
	}
	if err := reserve("o", "q2", lease, false, "of a paid order, even by its holder"); err != nil {
		return err
	}
	if err := reserve("o2", "q4", lease, true, "of another order"); err != nil {
		return err
	}
	return releaseReservation(ctx, l, reserve)
}

// releaseReservation: ReleaseReservation ends its holder's reservation at
// once, and only its holder's: never a later query's reservation of the
// same order, never an order's binding to its charge.
func releaseReservation(ctx context.Context, l payments.Ledger, reserve func(order, holder string, ttl time.Duration, want bool, what string) error) error {
	release := func(order, holder string) error { return l.ReleaseReservation(ctx, order, holder) }
	if err := reserve("r", "q1", lease, true, "of a new order"); err != nil {
		return err
	}
	if err := release("r", "q1"); err != nil {
		return err
	}
	if err := reserve("r", "q2", lease, true, "right after its holder released it"); err != nil {
		return err
	}
	if err := release("r", "q1"); err != nil { // q1 again (a redelivered query): q2's stays
		return err
	}
	if err := reserve("r", "q3", lease, false, "after a former holder's release (the release must be fenced by holder)"); err != nil {
		return err
	}
	// An expired reservation taken over by a later query: the first
	// holder's release leaves the later one alone.
	if err := reserve("s", "q1", 0, true, "of a new order"); err != nil {
		return err
	}
	if err := reserve("s", "q2", lease, true, "after the reservation expired"); err != nil {
		return err
	}
	if err := release("s", "q1"); err != nil {
		return err
	}
	if err := reserve("s", "q3", lease, false, "after the expired holder's release"); err != nil {
		return err
	}
	if err := release("none", "q1"); err != nil {
		return fail("ReleaseReservation of an order never reserved: %v, want nil", err)
	}
	// A paid order stays bound, whoever releases.
	if _, _, err := l.Record(ctx, payments.Payment{ChargeID: "cs", OrderRef: "s"}, true); err != nil {
		return err
	}
	if err := release("s", "q2"); err != nil {
		return err
	}
	return reserve("s", "q4", lease, false, "of a paid order after its reservation was released")
}

// reservedAgainNotReleased: a holder that reserves an order it holds
// already (its pre_checkout_query delivered again) pins the reservation:
// ReleaseReservation by that holder then changes nothing, since its first
// answer may have landed and Telegram be charging, and the reservation
// ends with its ttl. The pin is the holder's: once another holder takes
// the order (after it expired), or the order was released before the
// holder came again, a release works as before.
func reservedAgainNotReleased(ctx context.Context, l payments.Ledger) error {
	reserve := func(order, holder string, ttl time.Duration, want bool, what string) error {
		ok, err := l.Reserve(ctx, order, holder, ttl)
		if err != nil {
			return err
		}
		if ok != want {
			return fail("Reserve %s = %v, want %v", what, ok, want)
		}
		return nil
	}
	release := func(order, holder string) error { return l.ReleaseReservation(ctx, order, holder) }
	// The query is delivered again after its ok answer: its refused
	// second answer (or the first, if the second landed) releases nothing.
	for _, s := range []struct {
		holder string
		want   bool
		what   string
	}{
		{"q1", true, "of a new order"},
		{"q1", true, "again by its holder (a redelivered query)"},
	} {
		if err := reserve("o", s.holder, lease, s.want, s.what); err != nil {
			return err
		}
	}
	if err := release("o", "q1"); err != nil {
		return err
	}
	if err := reserve("o", "q2", lease, false, "after the release of a holder that had reserved it twice (its first answer may have landed)"); err != nil {
		return err
	}
	// Released before the query came again: its first answer had no
	// effect, so the second reservation is a first one, released at once.
	for _, step := range []func() error{
		func() error { return reserve("r", "q1", lease, true, "of a new order") },
		func() error { return release("r", "q1") },
		func() error { return reserve("r", "q1", lease, true, "by the holder that released it") },
		func() error { return release("r", "q1") },
		func() error {
			return reserve("r", "q2", lease, true, "after a release by a holder whose earlier reservation had been released (no pin)")
		},
	} {
		if err := step(); err != nil {
			return err
		}
	}
	// A pinned reservation expired and was taken by another holder: the
	// pin was q1's, so q2's release works.
	for _, step := range []func() error{
		func() error { return reserve("s", "q1", lease, true, "of a new order") },
		func() error { return reserve("s", "q1", 0, true, "again by its holder, expiring at once") },
		func() error { return reserve("s", "q2", lease, true, "after the pinned reservation expired") },
		func() error { return release("s", "q2") },
		func() error {
			return reserve("s", "q3", lease, true, "after the release by a holder that reserved it once (the pin was another holder's)")
		},
	} {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}

func oncePerOrder(ctx context.Context, l payments.Ledger) error {
	first, _, err := l.Record(ctx, payments.Payment{ChargeID: "c1", OrderRef: "o", Currency: payments.XTR}, true)
	if err != nil {
		return err
	}
	dup, _, err := l.Record(ctx, payments.Payment{ChargeID: "c2", OrderRef: "o", Currency: payments.XTR}, true)
	if err != nil {
		return err
	}
	if first.DuplicateOf != "" || dup.DuplicateOf != "c1" {
		return fail("two charges of one order: DuplicateOf %q, %q; want \"\", \"c1\"", first.DuplicateOf, dup.DuplicateOf)
	}
	again, _, err := l.Record(ctx, payments.Payment{ChargeID: "c2", OrderRef: "o"}, true)
	if err != nil || again.DuplicateOf != "c1" {
		return fail("redelivered duplicate = %+v, %v; want DuplicateOf kept", again, err)
	}
	if err := wantClaim(ctx, l, "c2", "a", lease, true, "of a duplicate (to refund it)"); err != nil {
		return err
	}
	if _, err := l.Fulfil(ctx, "c2", "a", nop); !errors.Is(err, payments.ErrClaimLost) {
		return fail("Fulfil of a duplicate: %v, want ErrClaimLost", err)
	}
	p, err := l.Refund(ctx, "c2")
	if err != nil || p.State != payments.StateRefunded || p.RefundHookDue() {
		return fail("Refund of a claimed duplicate = %+v, %v; want refunded at once, no hook due", p, err)
	}
	// Repeatable purchases: no binding.
	rep, _, err := l.Record(ctx, payments.Payment{ChargeID: "c3", OrderRef: "o"}, false)
	if err != nil || rep.DuplicateOf != "" {
		return fail("Record without oncePerOrder = %+v, %v; want no DuplicateOf", rep, err)
	}
	ps, err := l.ByOrder(ctx, "o")
	if err != nil {
		return err
	}
	var ids []string
	for _, p := range ps {
		ids = append(ids, p.ChargeID)
	}
	if !slices.Equal(ids, []string{"c1", "c2", "c3"}) {
		return fail("ByOrder = %v, want [c1 c2 c3] (record order)", ids)
	}
	return nil
}

// knownChargeBindsNoOrder: Record of a charge the ledger holds already
// changes nothing, not even the order binding. A charge refunded before its
// successful_payment arrived (Handler.Refund of a charge the ledger did not
// hold, or refunded_payment first) must not take the order when its late
// successful_payment is recorded as a one-time order's charge.
func knownChargeBindsNoOrder(ctx context.Context, l payments.Ledger) error {
	if _, _, err := l.Record(ctx, payments.Payment{ChargeID: "r", UserID: 1, Currency: payments.XTR, State: payments.StateRefunded}, false); err != nil {
		return err
	}
	late, first, err := l.Record(ctx, payments.Payment{ChargeID: "r", UserID: 1, Currency: payments.XTR, OrderRef: "o"}, true)
	if err != nil {
		return err
	}
	if first || late.State != payments.StateRefunded {
		return fail("Record of a known charge = %+v, first %v; want the stored, refunded payment", late, first)
	}
	ok, err := l.Reserve(ctx, "o", "q", lease)
	if err != nil {
		return err
	}
	if !ok {
		return fail("Reserve of an order only a known, refunded charge was re-recorded for = false; want true (no charge bound it)")
	}
	p, _, err := l.Record(ctx, payments.Payment{ChargeID: "s", UserID: 1, Currency: payments.XTR, OrderRef: "o"}, true)
	if err != nil {
		return err
	}
	if p.DuplicateOf != "" {
		return fail("first charge recorded for the order = %+v; want no DuplicateOf (the order was bound by a charge Record did not store)", p)
	}
	return nil
}

func pending(ctx context.Context, l payments.Ledger) error {
	for _, id := range []string{"paid", "claimed", "fulfilled", "refunded", "hookdue", "hookdone", "expired", "requested"} {
		if err := record(ctx, l, id); err != nil {
			return err
		}
	}
	if _, _, err := l.Record(ctx, payments.Payment{ChargeID: "dup0", OrderRef: "o"}, true); err != nil {
		return err
	}
	if _, _, err := l.Record(ctx, payments.Payment{ChargeID: "dup", OrderRef: "o"}, true); err != nil {
		return err
	}
	fulfil := func(id string) error {
		if err := wantClaim(ctx, l, id, "w", lease, true, "of "+id); err != nil {
			return err
		}
		_, err := l.Fulfil(ctx, id, "w", nop)
		return err
	}
	for _, id := range []string{"dup0", "fulfilled", "hookdue", "hookdone"} {
		if err := fulfil(id); err != nil {
			return err
		}
	}
	for _, id := range []string{"refunded", "hookdue", "hookdone"} {
		if _, err := l.Refund(ctx, id); err != nil {
			return err
		}
	}
	if ok, err := l.ClaimRefundHook(ctx, "hookdone", "h", lease); err != nil || !ok {
		return fail("ClaimRefundHook = %v, %v", ok, err)
	}
	if _, err := l.RefundHookDone(ctx, "hookdone", "h", nop); err != nil {
		return err
	}
	if err := wantClaim(ctx, l, "claimed", "w", lease, true, "of claimed"); err != nil {
		return err
	}
	if err := wantClaim(ctx, l, "expired", "w", 0, true, "of expired"); err != nil {
		return err
	}
	if err := wantClaim(ctx, l, "requested", "w", lease, true, "of requested"); err != nil {
		return err
	}
	if _, err := l.Refund(ctx, "requested"); err != nil { // waits for the claim
		return err
	}
	var got []string
	for p, err := range l.Pending(ctx, 0) {
		if err != nil {
			return err
		}
		got = append(got, p.ChargeID)
	}
	slices.Sort(got)
	want := []string{"dup", "expired", "hookdue", "paid"}
	if !slices.Equal(got, want) {
		return fail("Pending(0) = %v, want %v (paid with no live claim, duplicates, hooks due)", got, want)
	}
	for p, err := range l.Pending(ctx, lease) {
		if err != nil {
			return err
		}
		return fail("Pending(1h) yielded %s, recorded just now", p.ChargeID)
	}
	return nil
}

func since(ctx context.Context, l payments.Ledger) error {
	for i, id := range []string{"z", "a", "m"} {
		if _, _, err := l.Record(ctx, payments.Payment{ChargeID: id, PaidAt: base.Add(time.Duration(i) * time.Hour)}, false); err != nil {
			return err
		}
	}
	collect := func(t time.Time) ([]string, error) {
		var got []string
		for p, err := range l.Since(ctx, t) {
			if err != nil {
				return nil, err
			}
			got = append(got, p.ChargeID)
		}
		return got, nil
	}
	for _, tc := range []struct {
		from time.Time
		want []string
	}{
		{time.Time{}, []string{"z", "a", "m"}},
		{base.Add(time.Hour), []string{"a", "m"}},
		{base.Add(3 * time.Hour), nil},
	} {
		got, err := collect(tc.from)
		if err != nil {
			return err
		}
		if !slices.Equal(got, tc.want) {
			return fail("Since(%v) = %v, want %v (record order)", tc.from, got, tc.want)
		}
	}
	return nil
}

func concurrent(ctx context.Context, l payments.Ledger) error {
	const workers = 32
	for _, id := range []string{"f", "r"} {
		if err := record(ctx, l, id); err != nil {
			return err
		}
	}
	var firsts, dups, claims, reserves, fulfils, runs atomic.Int32
	errs := make(chan error, 8*workers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			owner := strconv.Itoa(i)
			p, first, err := l.Record(ctx, payments.Payment{ChargeID: "c" + owner, OrderRef: "order"}, true)
			if err != nil {
				errs <- err
				return
			}
			if first && p.DuplicateOf == "" {
				firsts.Add(1)
			} else if first {
				dups.Add(1)
			}
			if ok, err := l.Reserve(ctx, "other", owner, lease); err != nil {
				errs <- err
			} else if ok {
				reserves.Add(1)
			}
			ok, err := l.Claim(ctx, "f", owner, lease)
			if err != nil {
				errs <- err
				return
			}
			if !ok {
				return
			}
			claims.Add(1)
			p, err = l.Fulfil(ctx, "f", owner, func(context.Context, payments.Tx) error { runs.Add(1); return nil })
			if err != nil {
				errs <- err
				return
			}
			if !p.FulfilledAt.IsZero() {
				// Not a refund that landed between the claim and Fulfil
				// (applied instead of fn: Fulfil commits nothing).
				fulfils.Add(1)
			}
		}()
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			if _, err := l.Refund(ctx, "f"); err != nil {
				errs <- err
			}
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	if firsts.Load() != 1 || dups.Load() != workers-1 || reserves.Load() != 1 {
		return fail("%d workers recording one order: %d first charges, %d duplicates, %d reservations; want 1, %d, 1",
			workers, firsts.Load(), dups.Load(), reserves.Load(), workers-1)
	}
	if claims.Load() > 1 || runs.Load() > 1 || fulfils.Load() != runs.Load() {
		return fail("%d workers: %d claims, %d fulfil runs, %d commits; want at most 1 each, runs = commits",
			workers, claims.Load(), runs.Load(), fulfils.Load())
	}
	p, err := get(ctx, l, "f")
	if err != nil {
		return err
	}
	if p.State != payments.StateRefunded || (runs.Load() == 1) != !p.FulfilledAt.IsZero() {
		return fail("after racing fulfilment and refunds: %+v, %d fulfil runs; want refunded, fulfilled iff fn ran", p, runs.Load())
	}
	return nil
}

// repeatedWrites: each write repeated by its caller after it took effect,
// as a caller does when the write's reply was lost (a driver reporting a
// cancelled context after its statement committed, a connection reset
// after COMMIT), and the owner's Release that follows a Fulfil or
// RefundHookDone reported failed: a repeated Record returns the stored
// payment, not first; a Release after the completion changes nothing (the
// payment stays fulfilled, its hook done); a repeated Release is a no-op
// and frees the claim; a repeated ReleaseReservation frees the order.
func repeatedWrites(ctx context.Context, l payments.Ledger) error {
	p := payments.Payment{ChargeID: "c", UserID: 1, Currency: payments.XTR, Amount: 5, OrderRef: "o"}
	first, ok, err := l.Record(ctx, p, true)
	if err != nil || !ok {
		return fail("Record = %v, %v; want first", ok, err)
	}
	again, ok, err := l.Record(ctx, p, true)
	if err != nil || ok || again.ChargeID != "c" || again.DuplicateOf != "" || !again.PaidAt.Equal(first.PaidAt) {
		return fail("repeated Record = %+v, %v, %v; want the stored payment, not first, no duplicate", again, ok, err)
	}
	// A claim released twice is free.
	if won, err := l.Claim(ctx, "c", "a", lease); err != nil || !won {
		return fail("Claim = %v, %v; want won", won, err)
	}
	for i := range 2 {
		if err := l.Release(ctx, "c", "a"); err != nil {
			return fail("Release #%d: %v", i+1, err)
		}
	}
	if won, err := l.Claim(ctx, "c", "b", lease); err != nil || !won {
		return fail("Claim after a repeated Release = %v, %v; want won", won, err)
	}
	// A fulfilment reported failed: its owner's Release changes nothing.
	done, err := l.Fulfil(ctx, "c", "b", nop)
	if err != nil || done.State != payments.StateFulfilled {
		return fail("Fulfil = %+v, %v; want fulfilled", done, err)
	}
	if err := l.Release(ctx, "c", "b"); err != nil {
		return fail("Release after Fulfil: %v", err)
	}
	got, err := l.Get(ctx, "c")
	if err != nil || got.State != payments.StateFulfilled || !got.FulfilledAt.Equal(done.FulfilledAt) {
		return fail("after Fulfil and Release: %+v, %v; want fulfilled, FulfilledAt kept", got, err)
	}
	if won, err := l.Claim(ctx, "c", "c2", lease); err != nil || won {
		return fail("Claim of a fulfilled payment after Release = %v, %v; want not won", won, err)
	}
	// The refund, repeated; then the hook reported failed and released.
	for i := range 2 {
		r, err := l.Refund(ctx, "c")
		if err != nil || r.State != payments.StateRefunded || !r.RefundHookDue() {
			return fail("Refund #%d = %+v, %v; want refunded, hook due", i+1, r, err)
		}
	}
	if won, err := l.ClaimRefundHook(ctx, "c", "h", lease); err != nil || !won {
		return fail("ClaimRefundHook = %v, %v; want won", won, err)
	}
	if _, err := l.RefundHookDone(ctx, "c", "h", nop); err != nil {
		return fail("RefundHookDone: %v", err)
	}
	if err := l.Release(ctx, "c", "h"); err != nil {
		return fail("Release after RefundHookDone: %v", err)
	}
	got, err = l.Get(ctx, "c")
	if err != nil || got.State != payments.StateRefunded || got.RefundHookDue() {
		return fail("after RefundHookDone and Release: %+v, %v; want refunded, hook done", got, err)
	}
	if won, err := l.ClaimRefundHook(ctx, "c", "h2", lease); err != nil || won {
		return fail("ClaimRefundHook after the hook was done = %v, %v; want not won", won, err)
	}
	// A reservation released twice is free for the next query.
	if ok, err := l.Reserve(ctx, "r", "q1", lease); err != nil || !ok {
		return fail("Reserve = %v, %v; want reserved", ok, err)
	}
	for i := range 2 {
		if err := l.ReleaseReservation(ctx, "r", "q1"); err != nil {
			return fail("ReleaseReservation #%d: %v", i+1, err)
		}
	}
	if ok, err := l.Reserve(ctx, "r", "q2", lease); err != nil || !ok {
		return fail("Reserve by the next query after a repeated release = %v, %v; want reserved", ok, err)
	}
	return nil
}
