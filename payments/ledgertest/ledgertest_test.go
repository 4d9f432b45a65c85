package ledgertest_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/miniappkit/miniappkit/payments"
	"github.com/miniappkit/miniappkit/payments/ledgertest"
)

func TestMemoryLedger(t *testing.T) {
	ledgertest.Run(t, func(*testing.T) payments.Ledger { return payments.NewMemoryLedger() })
}

// leakyLedger grants every claim: two deliveries could both fulfil.
type leakyLedger struct{ *payments.MemoryLedger }

func (leakyLedger) Claim(context.Context, string, string, time.Duration) (bool, error) {
	return true, nil
}

// unfencedLedger lets any owner fulfil.
type unfencedLedger struct{ *payments.MemoryLedger }

func (l unfencedLedger) Fulfil(ctx context.Context, id, _ string, fn payments.TxFunc) (payments.Payment, error) {
	if err := fn(ctx, nil); err != nil {
		return payments.Payment{}, err
	}
	return l.MemoryLedger.Refund(ctx, id)
}

// forgetfulLedger records every payment as new.
type forgetfulLedger struct{ *payments.MemoryLedger }

func (l forgetfulLedger) Record(ctx context.Context, p payments.Payment, once bool) (payments.Payment, bool, error) {
	stored, _, err := l.MemoryLedger.Record(ctx, p, once)
	return stored, true, err
}

// bindingLedger binds a one-time order even when the charge is known (as
// a data-modifying CTE that commits while its INSERT does nothing would).
type bindingLedger struct{ *payments.MemoryLedger }

func (l bindingLedger) Record(ctx context.Context, p payments.Payment, once bool) (payments.Payment, bool, error) {
	if _, err := l.Get(ctx, p.ChargeID); err == nil && once && p.OrderRef != "" {
		if _, _, err := l.MemoryLedger.Record(ctx, payments.Payment{ChargeID: p.ChargeID + "#bound", OrderRef: p.OrderRef}, true); err != nil {
			return payments.Payment{}, false, err
		}
	}
	return l.MemoryLedger.Record(ctx, p, once)
}

// unpinnedLedger forgets that a holder reserved its order before: a
// re-reservation is taken as a first one, so the holder's release frees it.
type unpinnedLedger struct{ *payments.MemoryLedger }

func (l unpinnedLedger) Reserve(ctx context.Context, ref, holder string, ttl time.Duration) (bool, error) {
	if err := l.MemoryLedger.ReleaseReservation(ctx, ref, holder); err != nil {
		return false, err
	}
	return l.MemoryLedger.Reserve(ctx, ref, holder, ttl)
}

func TestCheckCatchesBrokenLedgers(t *testing.T) {
	for _, tc := range []struct {
		name string
		make func() payments.Ledger
		want []string
	}{
		{"claims always granted", func() payments.Ledger { return leakyLedger{payments.NewMemoryLedger()} },
			[]string{"ClaimLease", "Concurrent"}},
		{"duplicates reported as first", func() payments.Ledger { return forgetfulLedger{payments.NewMemoryLedger()} },
			[]string{"RecordFirstThenDuplicate"}},
		{"no fencing", func() payments.Ledger { return unfencedLedger{payments.NewMemoryLedger()} },
			[]string{"Fencing", "FulfilCommitsWithState"}},
		{"known charge binds its order", func() payments.Ledger { return bindingLedger{payments.NewMemoryLedger()} },
			[]string{"KnownChargeBindsNoOrder"}},
		{"re-reservation not pinned", func() payments.Ledger { return unpinnedLedger{payments.NewMemoryLedger()} },
			[]string{"ReservedAgainNotReleased", "PreCheckoutRedeliveredKeepsReservation"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := ledgertest.Check(t.Context(), tc.make)
			if err == nil {
				t.Fatal("Check accepted a broken ledger")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Check error %q does not name %s", err, w)
				}
			}
		})
	}
}

func ExampleCheck() {
	err := ledgertest.Check(context.Background(), func() payments.Ledger { return payments.NewMemoryLedger() })
	fmt.Println(err)
	// Output: <nil>
}

// TestStressMemory: 64 duplicate deliveries x 500 charges under faults on
// the memory ledger; exactly once.
func TestStressMemory(t *testing.T) {
	res := ledgertest.Stress(t, payments.NewMemoryLedger(), ledgertest.StressConfig{})
	t.Logf("%+v", res)
}

// TestStressMemoryNoRefundHook: the same without a refund hook; every
// refund after fulfilment leaves the pending set (the drain ends).
func TestStressMemoryNoRefundHook(t *testing.T) {
	res := ledgertest.Stress(t, payments.NewMemoryLedger(), ledgertest.StressConfig{Charges: 200, Deliveries: 16, RefundPart: 0.3, NoRefundHook: true})
	t.Logf("%+v", res)
	if res.RefundedAfter == 0 {
		t.Error("no charge refunded after its fulfilment: the run proved nothing about refunds without a hook")
	}
}

// TestTwoProcessesMemory: two handlers on one memory ledger (the kit's
// own check of TwoProcesses, which the engines run on two clients).
func TestTwoProcessesMemory(t *testing.T) {
	l := payments.NewMemoryLedger()
	ledgertest.TwoProcesses(t, [2]payments.Ledger{l, l}, nil, nil)
}
