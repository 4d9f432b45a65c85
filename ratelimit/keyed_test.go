package ratelimit

import (
	"context"
	"strconv"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/time/rate"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func TestKeyedAllowAt(t *testing.T) {
	k := NewKeyed(2, 3, WithClock(func() time.Time { return t0 })) // 2/s, burst 3
	for i := range 3 {
		require.True(t, k.AllowAt("a", t0), "burst event %d", i)
	}
	require.False(t, k.AllowAt("a", t0))
	require.True(t, k.AllowAt("b", t0), "keys are independent")
	require.Equal(t, 500*time.Millisecond, k.DelayAt("a", t0))
	require.False(t, k.AllowAt("a", t0.Add(499*time.Millisecond)))
	require.True(t, k.AllowAt("a", t0.Add(500*time.Millisecond)))
	require.Equal(t, time.Duration(0), k.DelayAt("b", t0))
}

func TestKeyedReserveAt(t *testing.T) {
	k := NewKeyed(10, 1)
	require.Equal(t, time.Duration(0), k.ReserveAt("a", t0))
	require.Equal(t, 100*time.Millisecond, k.ReserveAt("a", t0))
	require.Equal(t, 200*time.Millisecond, k.ReserveAt("a", t0))
	require.False(t, k.AllowAt("a", t0.Add(250*time.Millisecond)))
	require.True(t, k.AllowAt("a", t0.Add(300*time.Millisecond)))
}

func TestKeyedInfAndZero(t *testing.T) {
	inf := NewKeyed(rate.Inf, 0)
	none := NewKeyed(0, 5)
	for range 100 {
		require.True(t, inf.AllowAt("x", t0))
		require.False(t, none.AllowAt("x", t0))
	}
	require.ErrorIs(t, none.Wait(t.Context(), "x"), ErrLimitExceeded)
	require.Equal(t, 0, inf.LenAt(t0))
}

func TestKeyedDropsIdleKeys(t *testing.T) {
	k := NewKeyed(1, 1) // a key lives one second after its event
	const n = 100_000
	for i := range n {
		require.True(t, k.AllowAt(strconv.Itoa(i), t0))
	}
	require.Equal(t, n, k.LenAt(t0))
	require.Equal(t, n, k.LenAt(t0.Add(999*time.Millisecond)))
	later := t0.Add(2 * time.Second)
	require.True(t, k.AllowAt("fresh", later))
	require.Equal(t, 1, k.LenAt(later))
	for i := range k.shards {
		require.LessOrEqual(t, k.shards[i].peak, 1, "shard %d kept its big map", i)
	}
}

func TestKeyedWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := NewKeyed(10, 1)
		start := time.Now()
		for range 5 {
			require.NoError(t, k.Wait(t.Context(), "a"))
		}
		require.Equal(t, 400*time.Millisecond, time.Since(start))
	})
}

func TestKeyedWaitDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := NewKeyed(1, 1)
		require.NoError(t, k.Wait(t.Context(), "a"))
		ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
		defer cancel()
		start := time.Now()
		require.ErrorIs(t, k.Wait(ctx, "a"), ErrLimitExceeded)
		require.Equal(t, time.Duration(0), time.Since(start), "fails at once")
		require.Equal(t, time.Second, k.Delay("a"), "reserved nothing")
	})
}

func TestKeyedWaitCancelGivesBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := NewKeyed(1, 1)
		require.NoError(t, k.Wait(t.Context(), "a"))
		ctx, cancel := context.WithCancel(t.Context())
		errc := make(chan error)
		go func() { errc <- k.Wait(ctx, "a") }()
		time.Sleep(100 * time.Millisecond)
		synctest.Wait()
		require.Equal(t, 1900*time.Millisecond, k.Delay("a"), "the waiter holds the next slot")
		cancel()
		require.ErrorIs(t, <-errc, context.Canceled)
		require.Equal(t, 900*time.Millisecond, k.Delay("a"), "and gave it back")
		ctx2, cancel2 := context.WithCancel(t.Context())
		cancel2()
		require.ErrorIs(t, k.Wait(ctx2, "a"), context.Canceled)
	})
}
