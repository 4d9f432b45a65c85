package main

import (
	"context"
	"database/sql"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/miniappkit/miniappkit/payments"
)

// inTx runs fn in a transaction on the SQLite writer, as the ledger runs a
// fulfilment.
func inTx(t *testing.T, st *state, fn func(tx payments.Tx) error) {
	t.Helper()
	db := st.db.(liteDB).db
	tx, err := db.BeginTx(t.Context(), nil)
	require.NoError(t, err)
	if err := fn(tx); err != nil {
		require.NoError(t, tx.Rollback())
		require.NoError(t, err)
	}
	require.NoError(t, tx.Commit())
}

func TestOrderBook(t *testing.T) {
	ctx := t.Context()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	st := testState(t)
	b := &orderBook{db: st.db}
	p, ok := productByID("theme")
	require.True(t, ok)

	o, err := b.create(ctx, 42, p, now)
	require.NoError(t, err)
	require.Len(t, o.ID, 16)
	require.Equal(t, statusPending, o.Status)
	paid, err := b.listBy(ctx, 42, statusPaid)
	require.NoError(t, err)
	require.Empty(t, paid, "an unpaid order is not listed")

	pay := payments.Order{Ref: o.ID, UserID: 42, Product: p.ID}
	inTx(t, st, func(tx payments.Tx) error {
		changed, err := b.markPaid(ctx, tx, pay, "charge-1", now.Add(time.Minute))
		require.True(t, changed)
		return err
	})
	inTx(t, st, func(tx payments.Tx) error {
		changed, err := b.markPaid(ctx, tx, pay, "charge-1", now.Add(2*time.Minute))
		require.False(t, changed, "a second payment record changes nothing")
		return err
	})
	got, err := b.get(ctx, o.ID)
	require.NoError(t, err)
	require.Equal(t, statusPaid, got.Status)
	require.Equal(t, "charge-1", got.ChargeID)
	require.Equal(t, "Midnight theme", got.Title)

	paid, err = b.listBy(ctx, 42, statusPaid)
	require.NoError(t, err)
	require.Len(t, paid, 1)
	require.Equal(t, now.Add(time.Minute), paid[0].PaidAt)
	other, err := b.listBy(ctx, 7, statusPaid)
	require.NoError(t, err)
	require.Empty(t, other, "another user sees none of it")

	_, err = b.get(ctx, "nope")
	require.ErrorIs(t, err, errOrderNotFound)

	inTx(t, st, func(tx payments.Tx) error {
		r, err := b.markRefunded(ctx, tx, "charge-1")
		require.Equal(t, o.ID, r.ID)
		return err
	})
	got, err = b.get(ctx, o.ID)
	require.NoError(t, err)
	require.Equal(t, statusRefunded, got.Status)
}

// A paid order the book no longer holds (dropped while unpaid) is rebuilt
// from the signed payload, once.
func TestOrderBookRestoresDroppedOrder(t *testing.T) {
	ctx := t.Context()
	st := testState(t)
	b := &orderBook{db: st.db}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	old, err := b.create(ctx, 1, catalog[0], now)
	require.NoError(t, err)
	young, err := b.create(ctx, 1, catalog[0], now.Add(unpaidKept))
	require.NoError(t, err)
	n, err := b.purge(ctx, now.Add(unpaidKept+time.Minute))
	require.NoError(t, err)
	require.Equal(t, int64(1), n)
	_, err = b.get(ctx, old.ID)
	require.ErrorIs(t, err, errOrderNotFound, "the old unpaid order is dropped")
	_, err = b.get(ctx, young.ID)
	require.NoError(t, err, "a younger one is kept")

	pay := payments.Order{Ref: old.ID, UserID: 1, Product: catalog[0].ID}
	inTx(t, st, func(tx payments.Tx) error {
		changed, err := b.markPaid(ctx, tx, pay, "c", now)
		require.True(t, changed)
		return err
	})
	got, err := b.get(ctx, old.ID)
	require.NoError(t, err)
	require.Equal(t, statusPaid, got.Status)
}

func TestOrderBookConcurrentPayments(t *testing.T) {
	ctx := context.Background()
	st := testState(t)
	b := &orderBook{db: st.db}
	o, err := b.create(ctx, 5, catalog[1], time.Time{})
	require.NoError(t, err)
	db := st.db.(liteDB).db
	var wg sync.WaitGroup
	var mu sync.Mutex
	changes := 0
	for range 16 {
		wg.Go(func() {
			tx, err := db.BeginTx(ctx, &sql.TxOptions{})
			require.NoError(t, err)
			changed, err := b.markPaid(ctx, tx, payments.Order{Ref: o.ID, UserID: 5, Product: o.ProductID}, "charge", time.Time{})
			require.NoError(t, err)
			require.NoError(t, tx.Commit())
			if changed {
				mu.Lock()
				changes++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	require.Equal(t, 1, changes)
	paid, err := b.listBy(ctx, 5, statusPaid)
	require.NoError(t, err)
	require.Len(t, paid, 1)
}

func TestCatalogFitsInvoiceLimits(t *testing.T) {
	seen := map[string]bool{}
	for _, p := range catalog {
		require.False(t, seen[p.ID], "duplicate id %s", p.ID)
		seen[p.ID] = true
		require.NotEmpty(t, p.Title)
		require.LessOrEqual(t, len([]rune(p.Title)), 32, p.ID)
		require.NotEmpty(t, p.Description)
		require.LessOrEqual(t, len([]rune(p.Description)), 255, p.ID)
		require.Positive(t, p.Stars, p.ID)
	}
}
