package main

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestOrderBook(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	b := newOrderBook()
	p, ok := productByID("theme")
	require.True(t, ok)

	o := b.create(42, p, now)
	require.Len(t, o.ID, 16)
	require.Equal(t, statusPending, o.Status)
	require.Empty(t, b.paidBy(42), "an unpaid order is not listed")

	got, changed, err := b.markPaid(o.ID, "charge-1", now.Add(time.Minute))
	require.NoError(t, err)
	require.True(t, changed)
	require.Equal(t, statusPaid, got.Status)
	require.Equal(t, "charge-1", got.ChargeID)

	_, changed, err = b.markPaid(o.ID, "charge-1", now.Add(2*time.Minute))
	require.NoError(t, err)
	require.False(t, changed, "a second payment record changes nothing")

	paid := b.paidBy(42)
	require.Len(t, paid, 1)
	require.Equal(t, now.Add(time.Minute), paid[0].PaidAt)
	require.Empty(t, b.paidBy(7), "another user sees none of it")

	_, _, err = b.markPaid("nope", "c", now)
	require.ErrorIs(t, err, errOrderNotFound)
}

func TestOrderBookBoundsPendingPerUser(t *testing.T) {
	b := newOrderBook()
	p := catalog[0]
	first := b.create(1, p, time.Time{})
	for range maxPendingPerUser {
		b.create(1, p, time.Time{})
	}
	_, ok := b.get(first.ID)
	require.False(t, ok, "the oldest unpaid order is dropped")
	require.Len(t, b.pending[1], maxPendingPerUser)
	_, _, err := b.markPaid(first.ID, "c", time.Time{})
	require.ErrorIs(t, err, errOrderNotFound)
}

func TestOrderBookConcurrentPayments(t *testing.T) {
	b := newOrderBook()
	o := b.create(5, catalog[1], time.Time{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	changes := 0
	for range 32 {
		wg.Go(func() {
			_, changed, err := b.markPaid(o.ID, "charge", time.Time{})
			require.NoError(t, err)
			if changed {
				mu.Lock()
				changes++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	require.Equal(t, 1, changes)
	require.Len(t, b.paidBy(5), 1)
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
