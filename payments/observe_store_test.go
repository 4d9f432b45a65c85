package payments

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestObserveLedger(t *testing.T) {
	var events []StoreEvent
	rec := func(_ context.Context, e StoreEvent) { events = append(events, e) }
	mem := NewMemoryLedger()
	require.Same(t, mem, ObserveLedger(mem, nil).(*MemoryLedger), "no observer, no wrapper")

	f := newFixture(t)
	f.h.ledger = ObserveLedger(f.ledger, rec)
	ctx := t.Context()
	require.NoError(t, f.h.HandleSuccessfulPayment(ctx, 42, success("ch1", XTR, 50, f.payload(t, Order{Ref: "o"}))))
	require.NoError(t, f.h.Refund(ctx, 42, "ch1"))
	_, err := f.h.ledger.Get(ctx, "nope")
	require.ErrorIs(t, err, ErrNotFound)
	for range f.h.ledger.Since(ctx, time.Time{}) {
		break // an iteration stopped early is reported too
	}
	ok, err := f.h.ledger.Reserve(ctx, "o2", "h", time.Minute)
	require.NoError(t, err)
	require.True(t, ok)
	_, _ = f.h.ledger.ByOrder(ctx, "o")
	f.advance(time.Hour)
	_, err = f.h.RetryPending(ctx)
	require.NoError(t, err)

	counts := map[string]int{}
	for _, e := range events {
		assert.Equal(t, "payments.Ledger", e.Store)
		assert.Equal(t, "*payments.MemoryLedger", e.Impl)
		counts[e.Op]++
	}
	for _, op := range []string{"Record", "Claim", "Fulfil", "Get", "Refund", "Since", "Reserve", "ByOrder", "Pending"} {
		assert.Positive(t, counts[op], op)
	}
	var notFound bool
	for _, e := range events {
		if e.Op == "Get" && e.Err != nil {
			notFound = true
			assert.ErrorIs(t, e.Err, ErrNotFound)
		}
	}
	assert.True(t, notFound)
}
