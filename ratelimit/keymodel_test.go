package ratelimit

import (
	"hash/maphash"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/time/rate"
)

// exactKeyed is the reference for Keyed: GCRA with one int64 TAT per key
// in a map, no rounding, no table. With forget set it forgets a key once
// any decision's time has passed its TAT (Keyed may drop it from then on),
// which only matters when the clock goes back.
type exactKeyed struct {
	g      gcra
	tat    map[string]int64
	forget bool
	maxNow int64
}

func newExactKeyed(limit rate.Limit, burst int) *exactKeyed {
	iv := int64(math.Ceil(1e9 / float64(limit)))
	return &exactKeyed{g: gcra{interval: iv, tolerance: int64(max(burst, 1)-1) * iv}, tat: map[string]int64{}}
}

func (m *exactKeyed) get(key string) int64 {
	if tat, ok := m.tat[key]; ok && !(m.forget && tat <= m.maxNow) {
		return tat
	}
	return math.MinInt64
}

func (m *exactKeyed) allow(key string, now int64) bool {
	tat, wait := m.g.take(m.get(key), now)
	m.maxNow = max(m.maxNow, now)
	if wait == 0 {
		m.tat[key] = tat
	}
	return wait == 0
}

func (m *exactKeyed) reserve(key string, now int64) int64 {
	t := max(m.get(key), now)
	m.tat[key] = t + m.g.interval
	return max(t-m.g.tolerance-now, 0)
}

func (m *exactKeyed) delay(key string, now int64) int64 { return m.g.peek(m.get(key), now) }

func (m *exactKeyed) live(now int64) int {
	n := 0
	for _, tat := range m.tat {
		if tat > now {
			n++
		}
	}
	return n
}

// TestKeyedMatchesExactModel drives Keyed and the exact model through the
// same random decisions (Allow, Reserve, Delay) on limits whose TATs fit
// 1 ns units: every answer must be the same. Time mostly moves in steps
// below a second but also idles for minutes and hours (every shard
// swept), and reservations run up to a minute ahead.
func TestKeyedMatchesExactModel(t *testing.T) {
	for _, tc := range []struct {
		limit rate.Limit
		burst int
	}{{10, 1}, {2, 3}, {1, 1}, {0.5, 1}, {100, 50}} {
		t.Run(strconv.FormatFloat(float64(tc.limit), 'g', -1, 64)+"/"+strconv.Itoa(tc.burst), func(t *testing.T) {
			k := NewKeyed(tc.limit, tc.burst, WithClock(func() time.Time { return t0 }))
			m := newExactKeyed(tc.limit, tc.burst)
			r := rand.New(rand.NewPCG(1, uint64(tc.burst)))
			now := int64(0)
			for i := range 30_000 {
				switch p := r.IntN(1000); {
				case p < 2:
					now += int64(time.Duration(1+r.IntN(600)) * time.Minute)
				case p < 3:
					now += int64(10 * time.Hour)
				default:
					now += r.Int64N(int64(300 * time.Millisecond))
				}
				key := "k" + strconv.Itoa(r.IntN(64))
				at := t0.Add(time.Duration(now))
				switch p := r.IntN(10); {
				case p < 7:
					require.Equal(t, m.allow(key, now), k.AllowAt(key, at), "event %d: Allow(%s)", i, key)
				case p < 9:
					queue := r.IntN(100) == 0 // a queue of reservations 10 s ahead
					for first := true; first || queue && m.delay(key, now) < int64(10*time.Second); first = false {
						require.Equal(t, time.Duration(m.reserve(key, now)), k.ReserveN(key, at, 1).DelayFrom(at), "event %d: Reserve(%s)", i, key)
					}
				default:
					require.Equal(t, time.Duration(m.delay(key, now)), k.DelayAt(key, at), "event %d: Delay(%s)", i, key)
				}
			}
			require.Equal(t, m.live(now), k.LenAt(t0.Add(time.Duration(now))))
			later := t0.Add(time.Duration(now) + 2*time.Minute)
			require.Zero(t, k.LenAt(later))
		})
	}
}

// TestKeyedNeverMoreThanRateLimiter checks, per key, in every
// prefix of a random run, Keyed lets through no more events than
// rate.Limiter with the same limit and burst; the events it lets through
// conform to the exact GCRA, replayed on their own; and over the run it
// lets through no less than rate.Limiter minus one event (and the 1 ns
// rounding of the interval).
func TestKeyedNeverMoreThanRateLimiter(t *testing.T) {
	for _, tc := range []struct {
		limit rate.Limit
		burst int
	}{{1.0 / 3600, 1000}, {1.0 / 60, 5}, {0.5, 2}, {100, 1000}, {3, 10}} {
		t.Run(strconv.FormatFloat(float64(tc.limit), 'g', -1, 64)+"/"+strconv.Itoa(tc.burst), func(t *testing.T) {
			k := NewKeyed(tc.limit, tc.burst, WithClock(func() time.Time { return t0 }))
			exact := newExactKeyed(tc.limit, tc.burst).g
			unit := 1.0 // TATs are exact ns
			iv := float64(exact.interval)
			r := rand.New(rand.NewPCG(2, uint64(tc.burst)))
			const keys = 8
			var lims [keys]*rate.Limiter
			var got, want [keys]int
			var replay [keys]int64 // exact GCRA's TAT over Keyed's accepted events
			for i := range lims {
				lims[i] = rate.NewLimiter(tc.limit, tc.burst)
				replay[i] = math.MinInt64
			}
			now := int64(0)
			for i := range 40_000 {
				// Saturating: about four attempts per interval, some bursts.
				if r.IntN(8) != 0 {
					now += r.Int64N(exact.interval / 2)
				}
				j := r.IntN(keys)
				at := t0.Add(time.Duration(now))
				if k.AllowAt(strconv.Itoa(j), at) {
					got[j]++
					tat, wait := exact.take(replay[j], now)
					require.Zero(t, wait, "event %d, key %d: Keyed let through an event the exact GCRA rejects", i, j)
					replay[j] = tat
				}
				if lims[j].AllowN(at, 1) {
					want[j]++
				}
				require.LessOrEqual(t, got[j], want[j], "event %d, key %d: more than rate.Limiter", i, j)
			}
			for j := range keys {
				floor := float64(want[j])*iv/(iv+2*unit) - 1
				require.GreaterOrEqual(t, float64(got[j]), floor, "key %d: %d of rate.Limiter's %d", j, got[j], want[j])
			}
		})
	}
}

// TestKeyedTimeBackwards moves the clock back (AllowAt with an earlier
// time, after a sweep rebased the shards on the later one): each key's
// decisions match the exact model until they first differ, and the first
// difference is always Keyed refusing, never letting more through. The
// model forgets a key once the clock has passed its TAT, as Keyed may (it
// drops idle keys; the clock going back does not bring them back). A
// decision far in the future does not block the keys at the present.
func TestKeyedTimeBackwards(t *testing.T) {
	for _, tc := range []struct {
		limit rate.Limit
		burst int
	}{{1, 2}, {10, 1}, {1.0 / 3600, 1000}} {
		t.Run(strconv.FormatFloat(float64(tc.limit), 'g', -1, 64)+"/"+strconv.Itoa(tc.burst), func(t *testing.T) {
			k := NewKeyed(tc.limit, tc.burst, WithClock(func() time.Time { return t0 }))
			m := newExactKeyed(tc.limit, tc.burst)
			m.forget = true
			r := rand.New(rand.NewPCG(3, uint64(tc.burst)))
			diverged := map[string]bool{}
			now := int64(time.Hour)
			for i := range 20_000 {
				switch p := r.IntN(100); {
				case p < 3:
					now -= r.Int64N(int64(30 * time.Second)) // back
				case p < 4:
					now -= int64(10 * time.Minute)
				default:
					now += r.Int64N(m.g.interval)
				}
				key := "k" + strconv.Itoa(r.IntN(16))
				got := k.AllowAt(key, t0.Add(time.Duration(now)))
				if diverged[key] {
					continue
				}
				if want := m.allow(key, now); got != want {
					require.False(t, got, "event %d: Keyed let %s through where the exact model refuses", i, key)
					diverged[key] = true
				}
			}
		})
	}
	t.Run("far future", func(t *testing.T) {
		k := NewKeyed(1, 1, WithClock(func() time.Time { return t0 }))
		require.True(t, k.AllowAt("a", t0))
		require.True(t, k.AllowAt("a", t0.Add(365*24*time.Hour)))
		for i := range 1000 {
			require.True(t, k.AllowAt("b"+strconv.Itoa(i), t0.Add(time.Second)), "key %d", i)
		}
		require.False(t, k.AllowAt("a", t0.Add(time.Second)), "a's TAT is a year ahead")
		require.False(t, k.AllowAt("b1", t0.Add(1500*time.Millisecond)))
		require.True(t, k.AllowAt("b1", t0.Add(2*time.Second)))
	})
}

// TestKeyedLongIdle leaves keys with an hour-long interval idle for ten
// hours: each key gets back exactly the ten events its bucket refilled.
func TestKeyedLongIdle(t *testing.T) {
	k := NewKeyed(1.0/3600, 1000, WithClock(func() time.Time { return t0 }))
	const keys = 500
	ks := distinctKeys("", keys)
	for _, key := range ks {
		for range 1000 {
			require.True(t, k.AllowAt(key, t0))
		}
		require.False(t, k.AllowAt(key, t0))
	}
	later := t0.Add(10*time.Hour + time.Second)
	for _, key := range ks {
		for e := range 10 {
			require.True(t, k.AllowAt(key, later), "key %s event %d", key, e)
		}
		require.False(t, k.AllowAt(key, later), "key %s", key)
	}
	require.Equal(t, keys, k.LenAt(later))
}

// TestKeyShardSameHash gives two keys the same 64-bit hash: the full-key
// check keeps their buckets apart.
func TestKeyShardSameHash(t *testing.T) {
	var s keyShard
	seed := maphash.MakeSeed()
	a := &skey{h: 0xdeadbeef, s: "a"}
	b := &skey{h: 0xdeadbeef, s: "b"}
	s.rebuild(seed, 0, 2, 64) // room for both: no rebuild rehashes them
	require.True(t, s.insert(seed, a, 100, 0))
	require.Equal(t, int64(100), s.get(a))
	require.Equal(t, int64(minTAT), s.get(b), "same hash, other key: absent")
	require.True(t, s.insert(seed, b, 200, 0))
	require.Equal(t, int64(100), s.get(a))
	require.Equal(t, int64(200), s.get(b))
	long := strings.Repeat("x", maxKeyLen+1)
	k := NewKeyed(1.0/3600, 1, WithClock(func() time.Time { return t0 }))
	require.True(t, k.AllowAt(long, t0))
	require.False(t, k.AllowAt(long, t0), "a long key is stored as its digest")
	require.True(t, k.AllowAt(long+"y", t0))
	d := k.skeyOf(long)
	require.True(t, d.dig)
	require.True(t, k.AllowAt(d.s, t0), "a key equal to another's digest is still its own")
}

// TestKeyedAllowAllocs checks that a decision allocates nothing, for a
// key already in the table and for one already dropped.
func TestKeyedAllowAllocs(t *testing.T) {
	k := NewKeyed(1.0/3600, 1000, WithClock(func() time.Time { return t0 }))
	keys := make([]string, 10_000)
	for i := range keys {
		keys[i] = strconv.Itoa(i)
		k.Allow(keys[i])
	}
	i := 0
	require.Zero(t, testing.AllocsPerRun(10_000, func() {
		k.Allow(keys[i%len(keys)])
		k.AllowAt(keys[i%len(keys)], t0)
		i++
	}))
}

// FuzzKeyedExact decides on hostile keys (any bytes, any length, long
// ones stored as digests) against the exact model: every answer the same,
// so no two keys ever share a bucket. Run: go test -run '^$' -fuzz FuzzKeyedExact ./ratelimit
func FuzzKeyedExact(f *testing.F) {
	f.Add([]byte("a\nb\na\n\n" + strings.Repeat("x", 300) + "\n" + strings.Repeat("x", 301)))
	f.Add([]byte("203.0.113.7\n2001:db8::/64\nuser:1\nuser:1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<16 {
			return
		}
		k := NewKeyed(1, 2, WithClock(func() time.Time { return t0 }), WithSweepEvery(-1))
		m := newExactKeyed(1, 2)
		now := int64(0)
		for i, key := range strings.Split(string(data), "\n") {
			now += int64(i%3) * int64(300*time.Millisecond)
			if got, want := k.AllowAt(key, t0.Add(time.Duration(now))), m.allow(key, now); got != want {
				t.Fatalf("decision %d on %q: Keyed %v, exact %v", i, key, got, want)
			}
		}
	})
}
