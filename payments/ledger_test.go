package payments

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestStateString(t *testing.T) {
	require.Equal(t, "paid", StatePaid.String())
	require.Equal(t, "fulfilled", StateFulfilled.String())
	require.Equal(t, "refunded", StateRefunded.String())
	require.Equal(t, "State(9)", State(9).String())
}

func TestMemoryLedgerRecord(t *testing.T) {
	ctx := t.Context()
	var l MemoryLedger // zero value is usable
	p, first, err := l.Record(ctx, Payment{ChargeID: "c1", Amount: 5})
	require.NoError(t, err)
	require.True(t, first)
	require.Equal(t, StatePaid, p.State)

	p, first, err = l.Record(ctx, Payment{ChargeID: "c1", Amount: 999})
	require.NoError(t, err)
	require.False(t, first)
	require.Equal(t, int64(5), p.Amount, "duplicate returns the stored payment")

	_, _, err = l.Record(ctx, Payment{})
	require.Error(t, err)

	_, err = l.Get(ctx, "nope")
	require.ErrorIs(t, err, ErrNotFound)
	_, err = l.Claim(ctx, "nope", "o", testNow, testNow)
	require.ErrorIs(t, err, ErrNotFound)
	require.ErrorIs(t, l.Release(ctx, "nope", "o"), ErrNotFound)
	_, err = l.SetState(ctx, "nope", StatePaid, StateFulfilled, testNow)
	require.ErrorIs(t, err, ErrNotFound)
}

func TestMemoryLedgerClaimAndStates(t *testing.T) {
	ctx := t.Context()
	l := NewMemoryLedger()
	_, _, err := l.Record(ctx, Payment{ChargeID: "c1"})
	require.NoError(t, err)

	ok, err := l.Claim(ctx, "c1", "a", testNow, testNow.Add(time.Minute))
	require.NoError(t, err)
	require.True(t, ok)
	ok, err = l.Claim(ctx, "c1", "b", testNow.Add(time.Second), testNow.Add(time.Minute))
	require.NoError(t, err)
	require.False(t, ok, "claim held")
	ok, err = l.Claim(ctx, "c1", "b", testNow.Add(time.Minute), testNow.Add(2*time.Minute))
	require.NoError(t, err)
	require.True(t, ok, "expired claim is retaken")

	require.NoError(t, l.Release(ctx, "c1", "a"), "a stale owner's release is a no-op")
	ok, err = l.Claim(ctx, "c1", "c", testNow.Add(time.Minute), testNow.Add(2*time.Minute))
	require.NoError(t, err)
	require.False(t, ok, "the stale owner did not free b's claim")

	require.NoError(t, l.Release(ctx, "c1", "b"))
	ok, err = l.Claim(ctx, "c1", "c", testNow, testNow.Add(time.Minute))
	require.NoError(t, err)
	require.True(t, ok, "released claim is retaken")

	ok, err = l.SetState(ctx, "c1", StatePaid, StateFulfilled, testNow)
	require.NoError(t, err)
	require.True(t, ok)
	ok, err = l.SetState(ctx, "c1", StatePaid, StateFulfilled, testNow)
	require.NoError(t, err)
	require.False(t, ok)
	ok, err = l.Claim(ctx, "c1", "d", testNow.Add(time.Hour), testNow.Add(2*time.Hour))
	require.NoError(t, err)
	require.False(t, ok, "fulfilled payments are not claimable")

	ok, err = l.SetState(ctx, "c1", StateFulfilled, StateRefunded, testNow.Add(time.Hour))
	require.NoError(t, err)
	require.True(t, ok)
	p, err := l.Get(ctx, "c1")
	require.NoError(t, err)
	require.Equal(t, StateRefunded, p.State)
	require.Equal(t, testNow, p.FulfilledAt)
	require.Equal(t, testNow.Add(time.Hour), p.RefundedAt)
}

func TestMemoryLedgerAllInRecordOrder(t *testing.T) {
	ctx := t.Context()
	l := NewMemoryLedger()
	for _, id := range []string{"z", "a", "m"} {
		_, _, err := l.Record(ctx, Payment{ChargeID: id})
		require.NoError(t, err)
	}
	var ids []string
	for p, err := range l.All(ctx) {
		require.NoError(t, err)
		ids = append(ids, p.ChargeID)
	}
	require.Equal(t, []string{"z", "a", "m"}, ids)
	for range l.All(ctx) {
		break // early stop is honoured
	}
}

func TestMemoryLedgerConcurrentRecordAndClaim(t *testing.T) {
	ctx := t.Context()
	l := NewMemoryLedger()
	var firsts, claims atomic.Int64
	var wg sync.WaitGroup
	for i := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			owner := fmt.Sprint(i)
			_, first, err := l.Record(ctx, Payment{ChargeID: "c"})
			if err != nil {
				t.Error(err)
				return
			}
			if first {
				firsts.Add(1)
			}
			ok, err := l.Claim(ctx, "c", owner, testNow, testNow.Add(time.Minute))
			if err != nil {
				t.Error(err)
				return
			}
			if ok {
				claims.Add(1)
			}
		}()
	}
	wg.Wait()
	require.Equal(t, int64(1), firsts.Load())
	require.Equal(t, int64(1), claims.Load())
}
