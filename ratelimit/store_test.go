package ratelimit

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestMemoryStoreTakeIsAllOrNothing(t *testing.T) {
	var m MemoryStore // the zero value is ready
	a := Cell{Key: Key{KindChat, 1}, Interval: time.Second}
	g := Cell{Key: Key{KindGlobal, 0}, Interval: 100 * time.Millisecond}
	ctx := t.Context()
	v, err := m.Take(ctx, t0, []Cell{a, g})
	require.NoError(t, err)
	require.True(t, v.OK)
	// The chat does not conform: nothing changes, not even the global cell.
	b := Cell{Key: Key{KindChat, 2}, Interval: time.Second}
	v, _ = m.Take(ctx, t0.Add(200*time.Millisecond), []Cell{a, b, g})
	require.Equal(t, Verdict{Wait: 800 * time.Millisecond, Cell: 0}, v)
	v, _ = m.Take(ctx, t0.Add(200*time.Millisecond), []Cell{b, g})
	require.True(t, v.OK)
	v, _ = m.Peek(ctx, t0.Add(250*time.Millisecond), []Cell{g})
	require.Equal(t, Verdict{Wait: 50 * time.Millisecond}, v)
	require.Equal(t, 2, m.Len(t0.Add(250*time.Millisecond)), "two chat keys; bot-wide cells are not keys")
	require.Equal(t, 0, m.Len(t0.Add(2*time.Second)))
}

func TestMemoryStoreBlock(t *testing.T) {
	m := NewMemoryStore()
	c := Cell{Key: Key{KindChat, 5}, Interval: time.Second, Tolerance: 2 * time.Second}
	require.NoError(t, m.Block(t.Context(), c, t0.Add(time.Minute)))
	v, _ := m.Peek(t.Context(), t0, []Cell{c})
	require.Equal(t, time.Minute, v.Wait)
	v, _ = m.Take(t.Context(), t0.Add(time.Minute), []Cell{c})
	require.True(t, v.OK)
}

func TestMemoryStoreShrinks(t *testing.T) {
	m := NewMemoryStore()
	for i := range 10_000 {
		_, _ = m.Take(t.Context(), t0, []Cell{{Key: Key{KindChat, int64(i + 1)}, Interval: time.Second}})
	}
	require.Equal(t, 10_000, m.s.peak)
	require.Equal(t, 0, m.Len(t0.Add(time.Second)))
	require.Equal(t, 0, m.s.peak, "map rebuilt")
}

func TestKindString(t *testing.T) {
	for k, s := range map[Kind]string{KindChat: "chat", KindGroup: "group", KindGlobal: "global", KindPaid: "paid", 0: "unknown"} {
		require.Equal(t, s, k.String())
	}
}
