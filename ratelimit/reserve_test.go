package ratelimit

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"
)

// Reserve: the ready cells must conform now; the rest are reserved at the
// earliest time all conform, within maxWait; otherwise nothing changes.
func TestMemoryStoreReserve(t *testing.T) {
	m := NewMemoryStore()
	ctx := t.Context()
	a := Cell{Key: Key{KindChat, 1}, Interval: time.Second}
	b := Cell{Key: Key{KindChat, 2}, Interval: time.Second}
	g := Cell{Key: Key{KindGlobal, 0}, Interval: 100 * time.Millisecond}

	v, err := m.Reserve(ctx, t0, []Cell{a, g}, 1, 0)
	require.NoError(t, err)
	require.Equal(t, Verdict{OK: true}, v, "everything conforms: now")
	v, _ = m.Reserve(ctx, t0, []Cell{b, g}, 1, 99*time.Millisecond)
	require.Equal(t, Verdict{Wait: 100 * time.Millisecond, Cell: 1}, v, "beyond maxWait: refused")
	v, _ = m.Peek(ctx, t0, []Cell{b})
	require.True(t, v.OK, "a refused Reserve changed nothing")

	v, _ = m.Reserve(ctx, t0, []Cell{b, g}, 1, 100*time.Millisecond)
	require.Equal(t, Verdict{OK: true, Wait: 100 * time.Millisecond}, v, "reserved at the global cell's time")
	v, _ = m.Peek(ctx, t0, []Cell{g})
	require.Equal(t, 200*time.Millisecond, v.Wait, "the next global slot is after the reserved one")
	v, _ = m.Peek(ctx, t0.Add(time.Second), []Cell{b})
	require.Equal(t, 100*time.Millisecond, v.Wait, "the chat counts from the reserved time")

	v, _ = m.Reserve(ctx, t0.Add(50*time.Millisecond), []Cell{a, g}, 1, time.Hour)
	require.Equal(t, Verdict{Wait: 950 * time.Millisecond, Cell: 0}, v, "a ready cell is not waited for, however long maxWait")
	v, _ = m.Peek(ctx, t0, []Cell{g})
	require.Equal(t, 200*time.Millisecond, v.Wait, "nothing changed")

	// Take is Reserve with every cell ready and no wait.
	v, _ = m.Reserve(ctx, t0.Add(200*time.Millisecond), []Cell{g}, 1, 0)
	require.Equal(t, Verdict{OK: true}, v)
	v, _ = m.Take(ctx, t0.Add(200*time.Millisecond), []Cell{g})
	require.Equal(t, Verdict{Wait: 100 * time.Millisecond}, v)
}

// remoteStore is a MemoryStore a round trip away, as Redis is: each call
// reaches it after half of rtt, is decided on its own clock (the caller's
// now is ignored) and answers after the other half.
type remoteStore struct {
	*MemoryStore
	rtt, ahead time.Duration
	calls      atomic.Int64
}

func (r *remoteStore) trip() func() {
	r.calls.Add(1)
	time.Sleep(r.rtt / 2)
	return func() { time.Sleep(r.rtt / 2) }
}

func (r *remoteStore) Peek(ctx context.Context, _ time.Time, cells []Cell) (Verdict, error) {
	defer r.trip()()
	return r.MemoryStore.Peek(ctx, time.Now(), cells)
}

func (r *remoteStore) Take(ctx context.Context, _ time.Time, cells []Cell) (Verdict, error) {
	defer r.trip()()
	return r.MemoryStore.Take(ctx, time.Now(), cells)
}

func (r *remoteStore) Reserve(ctx context.Context, _ time.Time, cells []Cell, ready int, maxWait time.Duration) (Verdict, error) {
	defer r.trip()()
	return r.MemoryStore.Reserve(ctx, time.Now(), cells, ready, maxWait)
}

func (r *remoteStore) ReserveAhead() time.Duration { return r.ahead }

// On a store a round trip away, a bulk sender's sends go out exactly one
// bot-wide interval apart: the slot is reserved before it comes. Before
// reservations each slot lost the waiter's wake-up and a round trip (it
// learnt its wait, slept, then took the slot): 90 sends took 90 x (33.3 ms
// + 5 ms) instead of 89 x 33.3 ms.
func TestTelegramReservesAheadOnRemoteStore(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := &remoteStore{MemoryStore: NewMemoryStore(), rtt: 5 * time.Millisecond, ahead: 25 * time.Millisecond}
		s := newTelegram(t, WithStore(ObserveStore(store, func(context.Context, StoreEvent) {})))
		iv := s.cs.Load().global.Interval
		ctx := WithLane(t.Context(), Bulk)
		var at []time.Time
		for i := range 90 {
			require.NoError(t, s.Wait(ctx, int64(i+1)))
			at = append(at, time.Now())
		}
		for i := 1; i < len(at); i++ {
			require.Equal(t, iv, at[i].Sub(at[i-1]), "send %d", i)
		}
		require.LessOrEqual(t, store.calls.Load(), int64(2*90), "at most one refusal (the slot too far) and one reservation per send")
		require.Zero(t, s.Stats().Missed)
	})
}

// A slot woken for too late is refused and counted; Wait then reserves
// another.
func TestSlotMissed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var skew atomic.Int64 // the clock jumps ahead: a stalled process
		clock := func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
		store := &remoteStore{MemoryStore: NewMemoryStore(), ahead: 25 * time.Millisecond}
		s := newTelegram(t, WithStore(store), WithClock(clock))
		half := s.cs.Load().global.Interval / 2
		ctx := WithLane(t.Context(), Bulk)

		slot, err := s.Reserve(ctx, 1)
		require.NoError(t, err)
		skew.Store(int64(half))
		require.NoError(t, slot.Wait(ctx), "half an interval late is still in time")

		slot, err = s.Reserve(ctx, 2)
		require.NoError(t, err)
		require.Positive(t, slot.Delay())
		skew.Add(int64(slot.Delay() + half + 1))
		require.ErrorIs(t, slot.Wait(ctx), ErrSlotMissed)
		require.Equal(t, int64(1), s.Stats().Missed)

		var none Slot // from an admission: no wait
		require.NoError(t, none.Wait(ctx))
		require.Zero(t, none.Delay())
	})
}

// Slot.Wait with a context that has ended returns ctx.Err(), also for a
// slot that has come, as the zero Slot's does: a caller that stops
// sending on a cancel (the broadcast package) learns it here, not only
// when the slot is still ahead.
func TestSlotWaitEndedContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newTelegram(t)
		ctx, cancel := context.WithCancel(WithLane(t.Context(), Bulk))
		slot, err := s.Reserve(ctx, 1)
		require.NoError(t, err)
		require.Zero(t, slot.Delay(), "the first send's slot is now")
		cancel()
		require.ErrorIs(t, slot.Wait(ctx), context.Canceled)

		var none Slot
		require.ErrorIs(t, none.Wait(ctx), context.Canceled)
	})
}
