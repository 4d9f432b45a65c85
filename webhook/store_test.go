package webhook

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// fakeClock is a manual clock for stores and verifiers.
type fakeClock struct{ t time.Time }

func newFakeClock() *fakeClock               { return &fakeClock{t: time.Unix(1_700_000_000, 0)} }
func (c *fakeClock) Now() time.Time          { return c.t }
func (c *fakeClock) Advance(d time.Duration) { c.t = c.t.Add(d) }

func TestMemoryStoreStates(t *testing.T) {
	ctx := t.Context()
	clk := newFakeClock()
	m := NewMemoryStore(16, WithStoreClock(clk.Now))

	r, err := m.Claim(ctx, "k", "a", time.Minute, []byte("fp"))
	require.NoError(t, err)
	require.Equal(t, Claimed, r.State)
	require.Nil(t, r.Data)

	r, err = m.Claim(ctx, "k", "b", time.Minute, nil)
	require.NoError(t, err)
	require.Equal(t, InFlight, r.State)
	require.Equal(t, []byte("fp"), r.Data)

	require.ErrorIs(t, m.Release(ctx, "k", "b"), ErrNotOwner, "only the owner releases")
	require.ErrorIs(t, m.Complete(ctx, "k", "b", time.Hour, nil), ErrNotOwner, "only the owner completes")
	require.NoError(t, m.Complete(ctx, "k", "a", time.Hour, []byte("resp")))

	r, err = m.Claim(ctx, "k", "b", time.Minute, nil)
	require.NoError(t, err)
	require.Equal(t, Done, r.State)
	require.Equal(t, []byte("resp"), r.Data)
	require.ErrorIs(t, m.Release(ctx, "k", "a"), ErrNotOwner, "a done key cannot be released")

	clk.Advance(time.Hour)
	r, err = m.Claim(ctx, "k", "c", time.Minute, nil)
	require.NoError(t, err)
	require.Equal(t, Claimed, r.State, "done is forgotten after its TTL")

	require.NoError(t, m.Release(ctx, "k", "c"))
	r, err = m.Claim(ctx, "k", "d", time.Minute, nil)
	require.NoError(t, err)
	require.Equal(t, Claimed, r.State, "release returns the key to absent")
	require.Equal(t, 1, m.Len())
}

// TestMemoryStoreLeaseTakeover: a lease that expires mid-run lets a new
// owner claim; the stale owner can then neither release nor complete it.
func TestMemoryStoreLeaseTakeover(t *testing.T) {
	ctx := t.Context()
	clk := newFakeClock()
	m := NewMemoryStore(4, WithStoreClock(clk.Now))
	r, err := m.Claim(ctx, "k", "stale", time.Second, nil)
	require.NoError(t, err)
	require.Equal(t, Claimed, r.State)
	clk.Advance(2 * time.Second)
	r, err = m.Claim(ctx, "k", "fresh", time.Minute, nil)
	require.NoError(t, err)
	require.Equal(t, Claimed, r.State)
	require.ErrorIs(t, m.Release(ctx, "k", "stale"), ErrNotOwner)
	require.ErrorIs(t, m.Complete(ctx, "k", "stale", time.Hour, nil), ErrNotOwner)
	r, err = m.Claim(ctx, "k", "third", time.Minute, nil)
	require.NoError(t, err)
	require.Equal(t, InFlight, r.State, "the fresh claim survived the stale owner")
	require.NoError(t, m.Complete(ctx, "k", "fresh", time.Hour, nil))
}

// TestMemoryStoreExpiredLeaseStillCompletes: an owner whose lease passed
// but whom nobody took over may still complete.
func TestMemoryStoreExpiredLeaseStillCompletes(t *testing.T) {
	ctx := t.Context()
	clk := newFakeClock()
	m := NewMemoryStore(4, WithStoreClock(clk.Now))
	_, err := m.Claim(ctx, "k", "a", time.Second, nil)
	require.NoError(t, err)
	clk.Advance(time.Minute)
	require.NoError(t, m.Complete(ctx, "k", "a", time.Hour, nil))
	r, err := m.Claim(ctx, "k", "b", time.Second, nil)
	require.NoError(t, err)
	require.Equal(t, Done, r.State)
}

func TestMemoryStoreCapacity(t *testing.T) {
	ctx := t.Context()
	clk := newFakeClock()
	m := NewMemoryStore(3, WithStoreClock(clk.Now))
	for i := range 3 {
		k := strconv.Itoa(i)
		_, err := m.Claim(ctx, k, "o", time.Second, nil)
		require.NoError(t, err)
	}
	_, err := m.Claim(ctx, "x", "o", time.Second, nil)
	require.ErrorIs(t, err, ErrStoreFull, "the oldest entry is in flight: nothing to evict")
	require.Equal(t, 3, m.Len())

	require.NoError(t, m.Complete(ctx, "0", "o", time.Hour, nil))
	r, err := m.Claim(ctx, "x", "o", time.Second, nil)
	require.NoError(t, err)
	require.Equal(t, Claimed, r.State, "the oldest, done, is evicted")
	require.Equal(t, 3, m.Len())
	r, err = m.Claim(ctx, "0", "o", time.Second, nil)
	require.ErrorIs(t, err, ErrStoreFull)
	require.Zero(t, r.State)

	clk.Advance(2 * time.Second) // every lease has passed: all evictable
	for i := range 10 {
		_, err := m.Claim(ctx, fmt.Sprint("y", i), "o", time.Second, nil)
		require.NoError(t, err)
		require.LessOrEqual(t, m.Len(), 3)
		clk.Advance(2 * time.Second)
	}
	require.ErrorIs(t, m.Release(ctx, "y0", "o"), ErrNotOwner, "evicted")
}

// TestMemoryStoreReleasedSlotReused: releasing the newest entry (a failed
// update) frees its slot at once, even while the oldest entry is in flight.
func TestMemoryStoreReleasedSlotReused(t *testing.T) {
	ctx := t.Context()
	m := NewMemoryStore(2, WithStoreClock(newFakeClock().Now))
	for _, k := range []string{"a", "b"} {
		_, err := m.Claim(ctx, k, "o", time.Minute, nil)
		require.NoError(t, err)
	}
	require.NoError(t, m.Release(ctx, "b", "o"))
	require.Equal(t, 1, m.Len())
	for range 3 { // claim and release the free slot repeatedly
		r, err := m.Claim(ctx, "c", "o", time.Minute, nil)
		require.NoError(t, err, "one entry of two is live: not full")
		require.Equal(t, Claimed, r.State)
		require.NoError(t, m.Release(ctx, "c", "o"))
	}
	r, err := m.Claim(ctx, "a", "o2", time.Minute, nil)
	require.NoError(t, err)
	require.Equal(t, InFlight, r.State, "the in-flight entry was kept")
}

func TestMemoryStoreRejectsBadArgs(t *testing.T) {
	m := NewMemoryStore(1)
	_, err := m.Claim(t.Context(), "k", "o", 0, nil)
	require.Error(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = m.Claim(ctx, "k", "o", time.Second, nil)
	require.ErrorIs(t, err, context.Canceled)
	require.Panics(t, func() { NewMemoryStore(-1) })
	require.Equal(t, DefaultStoreCapacity, NewMemoryStore(0).Cap())
}

// TestMemoryStoreModel drives random operations against the store and a
// plain map model, checking every answer (this exercises the index's
// backward-shift deletion and the ring's eviction).
func TestMemoryStoreModel(t *testing.T) {
	ctx := t.Context()
	clk := newFakeClock()
	const capacity = 64
	m := NewMemoryStore(capacity, WithStoreClock(clk.Now))
	type ent struct {
		owner string
		done  bool
		exp   time.Time
		order int
	}
	model := map[string]*ent{}
	order := 0
	rng := rand.New(rand.NewPCG(1, 2))
	steps := 50_000
	if raceEnabled {
		steps = 5_000
	}
	for step := range steps {
		key := strconv.Itoa(rng.IntN(200))
		owner := strconv.Itoa(rng.IntN(3))
		e := model[key]
		held := present(m, key)
		switch op := rng.IntN(10); {
		case op < 5:
			r, err := m.Claim(ctx, key, owner, 10*time.Second, nil)
			if e != nil && clk.Now().Before(e.exp) {
				require.NoError(t, err, "step %d", step)
				want := InFlight
				if e.done {
					want = Done
				}
				require.Equal(t, want, r.State, "step %d", step)
				break
			}
			if err != nil {
				require.ErrorIs(t, err, ErrStoreFull, "step %d", step)
				// The model's oldest live entry must be in flight.
				break
			}
			require.Equal(t, Claimed, r.State, "step %d", step)
			order++
			model[key] = &ent{owner: owner, exp: clk.Now().Add(10 * time.Second), order: order}
		case op < 7:
			err := m.Complete(ctx, key, owner, 30*time.Second, nil)
			if e != nil && e.owner == owner && held { // done by owner already: completed again
				require.NoError(t, err, "step %d", step)
				e.done, e.exp = true, clk.Now().Add(30*time.Second)
			} else {
				require.ErrorIs(t, err, ErrNotOwner, "step %d", step)
			}
		case op < 9:
			err := m.Release(ctx, key, owner)
			if e != nil && !e.done && e.owner == owner && held {
				require.NoError(t, err, "step %d", step)
				delete(model, key)
			} else {
				require.ErrorIs(t, err, ErrNotOwner, "step %d", step)
			}
		default:
			clk.Advance(time.Duration(rng.IntN(3)) * time.Second)
		}
		// Drop model entries the store evicted.
		for k := range model {
			if !present(m, k) {
				delete(model, k)
			}
		}
		require.LessOrEqual(t, m.Len(), capacity)
		require.Equal(t, len(model), m.Len(), "step %d", step)
	}
}

// present reports whether the store holds an entry for key (white box).
func present(m *MemoryStore, key string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, _, ok := m.find(hash1(m, key), hash2(m, key))
	return ok
}

// TestMemoryStoreBytesPerEntry measures the heap a MemoryStore of capacity
// 1 M takes, full: at most 64 bytes per entry.
func TestMemoryStoreBytesPerEntry(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("memory proof: allocates ~50 MB; runs without -race")
	}
	const capacity = 1 << 20
	before := heapInUse()
	m := NewMemoryStore(capacity)
	ctx := t.Context()
	var key []byte
	for i := range capacity {
		key = strconv.AppendInt(key[:0], int64(i), 10)
		_, err := m.Claim(ctx, string(key), "o", time.Hour, nil)
		require.NoError(t, err)
	}
	after := heapInUse()
	perEntry := float64(after-before) / capacity
	t.Logf("MemoryStore, capacity %d, full: %.1f bytes/entry", capacity, perEntry)
	require.LessOrEqual(t, perEntry, 64.0)
	require.Equal(t, capacity, m.Len())
	runtime.KeepAlive(m)
}

// TestMemoryStoreHeapFlat pushes 1 M distinct ids through a store of
// capacity 100 k: the heap after 1 M is what it was after the first 100 k.
func TestMemoryStoreHeapFlat(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("memory proof: 1 M operations; runs without -race")
	}
	const capacity, total = 100_000, 1_000_000
	clk := newFakeClock()
	m := NewMemoryStore(capacity, WithStoreClock(clk.Now))
	ctx := t.Context()
	var key []byte
	var atCap uint64
	for i := range total {
		key = strconv.AppendInt(key[:0], int64(i), 10)
		k := string(key)
		_, err := m.Claim(ctx, k, "o", time.Minute, nil)
		require.NoError(t, err)
		require.NoError(t, m.Complete(ctx, k, "o", 24*time.Hour, nil))
		if i == capacity-1 {
			atCap = heapInUse()
		}
	}
	end := heapInUse()
	t.Logf("heap in use after %d ids: %d B; after %d ids: %d B (capacity %d, Len %d)", capacity, atCap, total, end, capacity, m.Len())
	require.Equal(t, capacity, m.Len())
	require.Less(t, float64(end), float64(atCap)*1.1+1<<20, "heap grew")
	runtime.KeepAlive(m)
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

func BenchmarkMemoryStore(b *testing.B) {
	m := NewMemoryStore(1 << 16)
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		var key []byte
		i := rand.Int64()
		for pb.Next() {
			i++
			key = strconv.AppendInt(key[:0], i, 10)
			k := string(key)
			if _, err := m.Claim(ctx, k, "o", time.Minute, nil); err != nil {
				b.Fatal(err)
			}
			if err := m.Complete(ctx, k, "o", time.Hour, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestMemoryStoreConcurrentClaims: of many concurrent claims of one key,
// exactly one wins, for every key.
func TestMemoryStoreConcurrentClaims(t *testing.T) {
	m := NewMemoryStore(1024)
	const goroutines, keys = 16, 200
	var wins [keys]atomic.Int32
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for k := range keys {
				r, err := m.Claim(context.Background(), strconv.Itoa(k), strconv.Itoa(g), time.Minute, nil)
				if err != nil {
					t.Error(err)
					return
				}
				if r.State == Claimed {
					wins[k].Add(1)
				}
			}
		})
	}
	wg.Wait()
	for k := range keys {
		require.Equal(t, int32(1), wins[k].Load(), "key %d", k)
	}
}
