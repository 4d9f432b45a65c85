package ratelimit

import (
	"context"
	"hash/maphash"
	"math"
	"strconv"
	"sync"
	"sync/atomic"
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

func TestKeyedReserveN(t *testing.T) {
	k := NewKeyed(10, 3, WithClock(func() time.Time { return t0 }))
	delay := func(r *Reservation) time.Duration { require.True(t, r.OK()); return r.DelayFrom(t0) }
	require.Equal(t, time.Duration(0), delay(k.ReserveN("a", t0, 1)))
	require.Equal(t, time.Duration(0), delay(k.ReserveN("a", t0, 2)), "the rest of the burst")
	require.Equal(t, 100*time.Millisecond, delay(k.ReserveN("a", t0, 1)))
	r := k.ReserveN("a", t0, 2)
	require.Equal(t, 300*time.Millisecond, delay(r))
	r.CancelAt(t0.Add(50 * time.Millisecond))
	r.CancelAt(t0.Add(50 * time.Millisecond)) // a second cancel gives nothing more back
	require.Equal(t, 200*time.Millisecond, k.DelayAt("a", t0), "the cancelled events came back")
	require.False(t, k.ReserveN("a", t0, 4).OK(), "more than the burst")
	r1, r2 := k.ReserveN("b", t0, 3), k.ReserveN("b", t0, 1)
	r1.CancelAt(t0)
	require.Equal(t, 200*time.Millisecond, k.DelayAt("b", t0), "a later reservation keeps the earlier in place")
	require.Equal(t, 100*time.Millisecond, r2.DelayFrom(t0))
	require.False(t, k.AllowAt("a", t0.Add(150*time.Millisecond)))
	require.True(t, k.AllowAt("a", t0.Add(200*time.Millisecond)))
}

func TestKeyedAllowN(t *testing.T) {
	k := NewKeyed(10, 5, WithClock(func() time.Time { return t0 }))
	require.True(t, k.AllowN("a", t0, 3))
	require.False(t, k.AllowN("a", t0, 3), "two left")
	require.True(t, k.AllowN("a", t0, 2))
	require.False(t, k.AllowN("a", t0, 6), "never more than the burst")
	require.True(t, k.AllowN("a", t0.Add(300*time.Millisecond), 3))
	require.True(t, k.AllowN("a", t0, 0))
	require.ErrorIs(t, k.WaitN(t.Context(), "a", 6), ErrLimitExceeded)
}

func TestKeyedSetLimit(t *testing.T) {
	k := NewKeyed(1, 1, WithClock(func() time.Time { return t0 }))
	require.True(t, k.AllowAt("a", t0))
	require.False(t, k.AllowAt("a", t0.Add(100*time.Millisecond)))
	k.SetLimit(10)
	require.Equal(t, rate.Limit(10), k.Limit())
	require.True(t, k.AllowAt("b", t0))
	require.False(t, k.AllowAt("b", t0.Add(50*time.Millisecond)))
	require.True(t, k.AllowAt("b", t0.Add(100*time.Millisecond)), "the new rate applies")
	k.SetBurst(3)
	require.Equal(t, 3, k.Burst())
	require.True(t, k.AllowN("c", t0, 3))
	k.SetLimit(0)
	require.False(t, k.AllowAt("d", t0))
	k.SetLimit(rate.Inf)
	require.True(t, k.AllowN("d", t0, 100))
}

func TestKeyedDecide(t *testing.T) {
	k := NewKeyed(2, 3, WithClock(func() time.Time { return t0 }))
	require.Equal(t, Decision{Allowed: true, Limit: 3, Remaining: 2, Reset: 500 * time.Millisecond}, k.DecideAt("a", t0))
	require.Equal(t, Decision{Allowed: true, Limit: 3, Remaining: 1, Reset: time.Second}, k.DecideAt("a", t0))
	require.Equal(t, Decision{Allowed: true, Limit: 3, Remaining: 0, Reset: 1500 * time.Millisecond}, k.DecideAt("a", t0))
	require.Equal(t, Decision{Limit: 3, Reset: 1500 * time.Millisecond, RetryAfter: 500 * time.Millisecond}, k.DecideAt("a", t0))
	require.Equal(t, Decision{Allowed: true, Limit: 3, Remaining: 0, Reset: 1500 * time.Millisecond}, k.DecideAt("a", t0.Add(500*time.Millisecond)))
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
	k := NewKeyed(1, 1, WithClock(func() time.Time { return t0 })) // a key lives one second after its event
	const n = 100_000
	for _, key := range distinctKeys("", n) {
		require.True(t, k.AllowAt(key, t0), key)
	}
	require.Equal(t, n, k.LenAt(t0))
	require.Equal(t, n, k.LenAt(t0.Add(999*time.Millisecond)))
	later := t0.Add(2 * time.Second)
	require.True(t, k.AllowAt("fresh", later))
	require.Equal(t, 1, k.LenAt(later))
	for i := range k.shards {
		require.LessOrEqual(t, len(k.shards[i].index), 8, "shard %d kept its big table", i)
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

func TestKeyShardGrowsAndShrinks(t *testing.T) {
	var s keyShard
	seed := maphash.MakeSeed()
	sk := func(i int) *skey {
		key := "k" + strconv.Itoa(i)
		return &skey{h: maphash.String(seed, key), s: key}
	}
	for i := range 10_000 {
		require.True(t, s.insert(seed, sk(i), 100, 0))
	}
	n, _ := s.live(0)
	require.Equal(t, 10_000, n)
	require.LessOrEqual(t, s.used*4, len(s.index)*3, "at most 3/4 full")
	for i := range 10_000 {
		require.Equal(t, int64(100), s.get(sk(i)))
	}
	s.sweep(seed, 100)
	require.Empty(t, s.index, "all dead: table dropped")
	require.Nil(t, s.recs)
	require.True(t, s.insert(seed, sk(7), 200, 100))
	require.Equal(t, int64(200), s.get(sk(7)))
	require.Equal(t, int64(minTAT), s.get(sk(8)))
}

// TestKeyedMonotonicClock checks that with the default clock Allow, Delay
// and Reserve (which read only the monotonic clock) agree with the
// explicit-time methods given time.Now, and that a custom clock is used
// as given.
func TestKeyedMonotonicClock(t *testing.T) {
	t.Run("default clock", func(t *testing.T) {
		k := NewKeyed(1.0/3600, 2) // one event an hour, burst 2
		require.True(t, k.mono)
		require.True(t, k.Allow("a"))
		require.True(t, k.AllowAt("a", time.Now()))
		require.False(t, k.Allow("a"), "burst spent, next event in an hour")
		require.Greater(t, k.Delay("a"), 59*time.Minute)
		require.LessOrEqual(t, k.Delay("a"), time.Hour)
		require.Equal(t, time.Duration(0), k.Reserve("b").Delay())
		require.Equal(t, time.Duration(0), k.Reserve("b").Delay())
		require.Greater(t, k.Reserve("b").Delay(), 59*time.Minute)
	})
	t.Run("custom clock", func(t *testing.T) {
		now := t0
		k := NewKeyed(1, 1, WithClock(func() time.Time { return now }))
		require.False(t, k.mono)
		require.True(t, k.Allow("a"))
		require.False(t, k.Allow("a"))
		require.Equal(t, time.Second, k.Delay("a"))
		now = now.Add(time.Second)
		require.True(t, k.Allow("a"))
	})
	t.Run("clock without monotonic reading", func(t *testing.T) {
		k := NewKeyed(1, 1, WithClock(func() time.Time { return time.Now().Round(0) }))
		require.False(t, k.mono)
	})
}

// TestKeyedConcurrentRebuild decides on a few hot keys from several
// goroutines while others insert many keys (rebuilding the tables under
// the same shard locks): no update may be lost, so each hot key lets
// exactly its burst through.
func TestKeyedConcurrentRebuild(t *testing.T) {
	const burst = 100
	k := NewKeyed(1.0/3600, burst, WithClock(func() time.Time { return t0 }))
	hot := distinctKeys("hot", 4)
	cold := distinctKeys("cold", 40_000)
	var allowed [4]atomic.Int64
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for i := range 2000 {
				if k.AllowAt(hot[i%4], t0) {
					allowed[i%4].Add(1)
				}
			}
		})
	}
	for g := range 2 {
		wg.Go(func() {
			for _, key := range cold[g*20_000 : (g+1)*20_000] {
				k.AllowAt(key, t0)
			}
		})
	}
	wg.Wait()
	for i := range allowed {
		require.Equal(t, int64(burst), allowed[i].Load(), "hot key %d", i)
	}
	require.Equal(t, 40_004, k.LenAt(t0))
}

// distinctKeys returns n distinct keys.
func distinctKeys(prefix string, n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = prefix + strconv.Itoa(i)
	}
	return keys
}

// TestKeyedAllowConcurrentGrowth runs Allow from several goroutines while
// the tables grow: every decision is right.
func TestKeyedAllowConcurrentGrowth(t *testing.T) {
	k := NewKeyed(1.0/3600, 1) // one event per key an hour: all first events pass, no second
	keys := distinctKeys("", 40_000)
	var wg sync.WaitGroup
	var refused atomic.Int64
	for g := range 4 {
		wg.Go(func() {
			for _, key := range keys[g*10_000 : (g+1)*10_000] {
				if !k.Allow(key) {
					refused.Add(1)
				}
			}
		})
	}
	wg.Wait()
	require.Zero(t, refused.Load())
	for _, key := range keys[:100] {
		require.False(t, k.Allow(key), key)
	}
	require.Equal(t, len(keys), k.Len())
}

// TestKeyedAllowNHugeBurst: AllowN refuses more events than the burst
// however large the burst, as its doc says. Before the fix a burst past
// about 2.3e9 at 1 per second (its tolerance capped at 2^61 ns) let
// AllowN take any n at once: AllowN(key, t, 2^41) with burst 2^40 was
// true.
func TestKeyedAllowNHugeBurst(t *testing.T) {
	k := NewKeyed(1, 1<<40, WithClock(func() time.Time { return t0 }))
	require.False(t, k.AllowN("a", t0, 1<<41), "more than the burst")
	require.False(t, k.AllowN("a", t0, math.MaxInt), "more than the burst")
	require.True(t, k.AllowN("a", t0, 1<<40), "the whole burst")
	require.Equal(t, 1, k.LenAt(t0))
}

// TestKeyedSetLimitKeepsTokens: SetLimit keeps what each key owes in
// events, as rate.Limiter.SetLimit keeps its tokens, so the new rate
// applies to keys already limited: raised from 1 per hour to 10 per
// second, a key that spent its burst a minute ago may go again in about
// 100 ms, not in 59 minutes; lowered again, its debt is stretched. The
// answers are checked against a rate.Limiter given the same events.
// Before the fix the key waited out the old rate ("Should be true: 99ms
// after SetLimit(10)"): the TAT, a time, was kept as it was.
func TestKeyedSetLimitKeepsTokens(t *testing.T) {
	now := t0
	k := NewKeyed(1.0/3600, 1, WithClock(func() time.Time { return now }))
	ref := rate.NewLimiter(1.0/3600, 1)
	both := func(at time.Duration, want bool, msg string) {
		t.Helper()
		require.Equal(t, want, ref.AllowN(t0.Add(at), 1), "rate.Limiter: %s", msg)
		require.Equal(t, want, k.AllowAt("a", t0.Add(at)), msg)
	}
	both(0, true, "the burst")
	both(time.Minute, false, "spent")

	now = t0.Add(time.Minute)
	k.SetLimit(10)
	ref.SetLimitAt(now, 10)
	require.True(t, k.AllowAt("b", now), "another key is untouched")
	both(time.Minute+98*time.Millisecond, false, "98ms after SetLimit(10)")
	both(time.Minute+99*time.Millisecond, true, "99ms after SetLimit(10)")

	now = t0.Add(time.Minute + 150*time.Millisecond)
	k.SetLimit(1)
	ref.SetLimitAt(now, 1)
	// "a" owed 49 ms at 10/s (0.49 events): 490 ms at 1/s.
	both(time.Minute+639*time.Millisecond, false, "lowered: the debt is stretched")
	both(time.Minute+641*time.Millisecond, true, "lowered: paid at the new rate")

	now = t0.Add(2 * time.Minute)
	k.SetLimit(0)
	require.False(t, k.AllowAt("a", now))
	k.SetLimit(rate.Inf)
	require.True(t, k.AllowAt("a", now))
	k.SetLimit(1)
	require.True(t, k.AllowAt("a", now), "a key idle through 0 and Inf is full")
	require.False(t, k.AllowAt("a", now))
}

// TestKeyedSetLimitRacesDecisions: SetLimit and SetBurst running while
// decisions are made on the same keys never let a key exceed the largest
// burst in use when no time passes (the clock stands still): a limit
// change keeps what each key owes, rounded up, and the burst's changes are
// what the key may spend. A second round switches between 0, Inf and a
// rate under Decide, Delay and reservations (a limit of 0 or Inf between
// a caller's first look and its shard's lock must not reach the GCRA
// arithmetic). Run with -race.
func TestKeyedSetLimitRacesDecisions(t *testing.T) {
	for _, round := range []struct {
		limits []rate.Limit
		count  bool
	}{
		{[]rate.Limit{0.5, 1000, 0, 10, 3}, true},
		{[]rate.Limit{rate.Inf, 0, 10}, false},
	} {
		k := NewKeyed(10, 5, WithClock(func() time.Time { return t0 }))
		const workers, rounds = 4, 2000
		stop := make(chan struct{})
		setter := make(chan struct{})
		go func() {
			defer close(setter)
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				k.SetLimit(round.limits[i%len(round.limits)])
				k.SetBurst(1 + i%5)
			}
		}()
		allowed := make([]int, workers)
		var wg sync.WaitGroup
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				key := "k" + strconv.Itoa(w)
				for i := range rounds {
					switch i % 4 {
					case 0:
						if r := k.ReserveN(key, t0, 1); r.OK() && r.DelayFrom(t0) == 0 {
							allowed[w]++
						} else {
							r.CancelAt(t0)
						}
					case 1:
						k.DelayAt(key, t0)
					case 2:
						if k.DecideAt(key, t0).Allowed {
							allowed[w]++
						}
					case 3:
						if k.AllowAt(key, t0) {
							allowed[w]++
						}
					}
				}
			}()
		}
		wg.Wait()
		close(stop)
		<-setter
		if round.count {
			for w, n := range allowed {
				require.LessOrEqual(t, n, 5, "key %d: more events than the largest burst with no time passing", w)
			}
		}
	}
}

// TestKeyedCancelAfterSetLimit: a reservation cancelled after SetLimit
// (no later event of the key counted) gives its events back, as its doc
// promises and as rate.Limiter's does: WaitN whose ctx ends gives back
// what it reserved, whatever the limit did meanwhile. Before the fix
// SetLimit's rescaling of the key's TAT made the cancel find a TAT it did
// not leave, and it gave nothing back: the key waited for an event that
// never happened.
func TestKeyedCancelAfterSetLimit(t *testing.T) {
	for _, limit := range []rate.Limit{2, 0.5, 1} {
		now := t0
		k := NewKeyed(1, 1, WithClock(func() time.Time { return now }))
		ref := rate.NewLimiter(1, 1)
		require.True(t, k.AllowAt("a", now))
		require.True(t, ref.AllowN(now, 1))
		r := k.ReserveN("a", now, 1)
		rr := ref.ReserveN(now, 1)
		require.Equal(t, rr.DelayFrom(now), r.DelayFrom(now))

		now = t0.Add(100 * time.Millisecond)
		k.SetLimit(limit)
		ref.SetLimitAt(now, limit)
		r.CancelAt(now)
		rr.CancelAt(now)
		want := ref.ReserveN(now, 1).DelayFrom(now)
		require.Equal(t, want, k.DelayAt("a", now), "SetLimit(%v), then the cancel", limit)
	}
}
