package ratelimit

import (
	"context"
	"errors"
	"hash/maphash"
	"math"
	"time"

	"golang.org/x/time/rate"
)

// keyedShards is the number of independently locked shards of a Keyed.
const keyedShards = 256

// Keyed is a rate limiter per key (a chat id, a user id, a client IP): each
// key gets its own token bucket of the same rate and burst, in the sense of
// [rate.Limiter], kept lean as one GCRA timestamp per live key in an 8-byte
// slot of an open-addressing table: about 17 bytes per live key in all,
// with no allocation per key or per decision. Keys are hashed with a
// per-process random seed and spread over 256 independently locked shards.
// A key whose bucket is full again holds no state and is dropped, so memory
// tracks the keys active within the last burst/rate, not every key ever
// seen.
//
// Methods come in pairs as in [rate.Limiter]: Allow is AllowAt(key,
// now); the At variants take an explicit time, for tests.
//
// A Keyed is safe for concurrent use by multiple goroutines. Use
// [NewKeyed]; the zero value is not usable.
//
// # Approximations
//
// The 8-byte slot costs two approximations, both on the strict side: the
// events Keyed lets through for a key conform to the exact token bucket,
// so no stretch of time holds more of them than [rate.Limiter] would let
// through.
//
// A key is known by 40 bits of its hash: 8 pick the shard, 32 stay in the
// slot. Two live keys share a bucket, and so its allowance, with
// probability about n²/2^41 among n live keys (an expected 0.45 pairs at a
// million live keys, 0.00005 at ten thousand). The seed is random per
// process, so clients cannot choose keys that collide with another's.
//
// A timestamp is kept in whole units after a per-shard base. When the
// bucket's span, burst/rate, is at most about 2.7 s, units are 1 ns and
// Keyed is exact. Longer spans get coarser units, the smallest power of
// two of at least (span + 1 s)/2^31.8 ns (1 ms at one event an hour, burst
// 1000): the clock is read in whole units and each interval is lengthened
// by at most two units to make up for it, which lowers the sustained rate
// by a fraction below burst × 1.5·10^-9 (and lengthens a wait by less
// than a unit).
//
// The clock may go back (AllowAt with an earlier time): decisions stay on
// the strict side, except that a key already dropped as idle is not
// remembered.
type Keyed struct {
	// shards come first: a Keyed is a large allocation, page-aligned, so
	// each 128-byte shard header starts a cache line (see flatShard).
	shards [keyedShards]flatShard
	g      gcra
	inf    bool // rate.Inf: every event conforms
	none   bool // limit <= 0: no event conforms
	seed   maphash.Seed
	clock  func() time.Time
	epoch  time.Time
	mono   bool // clock is time.Now and epoch has a monotonic reading
}

// NewKeyed returns a limiter per key allowing events at limit per second
// with bursts of at most burst (burst < 1 is taken as 1), the model of
// [rate.NewLimiter]. Of the options only [WithClock] applies. limit [rate.Inf] allows every event; limit <= 0 allows
// none.
func NewKeyed(limit rate.Limit, burst int, opts ...Option) *Keyed {
	o := newOptions(opts)
	k := &Keyed{seed: maphash.MakeSeed(), clock: o.clock}
	k.epoch = o.clock()
	// time.Since on a time with a monotonic reading reads only the
	// monotonic clock, half the cost of time.Now (which reads the wall
	// clock too); it is the same reading time.Now's Sub would use.
	k.mono = !o.customClock && k.epoch.Round(0) != k.epoch
	switch {
	case limit == rate.Inf:
		k.inf = true
	case limit <= 0:
		k.none = true
	default:
		// Bounds keep the time arithmetic in range: an interval of at
		// most 2^61 ns (73 years) and a tolerance of at most 2^61 ns
		// (a lower tolerance is stricter).
		iv := int64(maxSpan)
		if f := math.Ceil(1e9 / float64(limit)); f < maxSpan {
			iv = int64(f)
		}
		tol := int64(maxSpan)
		if b := int64(max(burst, 1) - 1); b <= maxSpan/iv {
			tol = b * iv
		}
		k.g = gcra{interval: iv, tolerance: tol}
	}
	shift := unitShift(k.g.tolerance + k.g.interval)
	k.g = k.g.quantize(shift)
	for i := range k.shards {
		k.shards[i].nextSweep = math.MinInt64
		k.shards[i].shift = shift
	}
	return k
}

// ErrLimitExceeded is returned by [Keyed.Wait] and [Telegram.Wait] when the
// wait cannot end before the context's deadline, or the limit allows no
// events at all.
var ErrLimitExceeded = errors.New("ratelimit: wait would exceed the limit or the context deadline")

func (k *Keyed) ns(t time.Time) int64 { return int64(t.Sub(k.epoch)) }

// nowNS is ns(k.clock()), with one clock read.
func (k *Keyed) nowNS() int64 {
	if k.mono {
		return int64(time.Since(k.epoch))
	}
	return k.ns(k.clock())
}

// maxSpan bounds a Keyed's interval and tolerance, in ns.
const maxSpan = 1 << 61

func (k *Keyed) shardOf(key string) (*flatShard, uint32) {
	h := maphash.String(k.seed, key)
	// The top 8 bits pick the shard; the low 32 are the fingerprint,
	// whose low bits pick the slot within the shard.
	return &k.shards[h>>(64-8)], flatFP(h)
}

// Allow reports whether an event for key may happen now, and if so counts it.
func (k *Keyed) Allow(key string) bool {
	if k.inf || k.none {
		return k.inf
	}
	s, h := k.shardOf(key)
	s.prefetch(h) // the slot's cache miss overlaps the clock read
	return k.allow(s, h, k.nowNS())
}

// AllowAt reports whether an event for key may happen at t, and if so
// counts it.
func (k *Keyed) AllowAt(key string, t time.Time) bool {
	if k.inf || k.none {
		return k.inf
	}
	s, h := k.shardOf(key)
	return k.allow(s, h, k.ns(t))
}

// allow is AllowAt at now, in nanoseconds since the epoch, for the key of
// shard s and fingerprint h.
func (k *Keyed) allow(s *flatShard, h uint32, now int64) bool {
	s.mu.Lock()
	s.maybeSweep(now)
	ok := s.take(h, k.g, now)
	s.mu.Unlock()
	return ok
}

// Delay returns how long until an event for key would be allowed, without
// counting one; 0 means now.
func (k *Keyed) Delay(key string) time.Duration { return k.delay(key, k.nowNS()) }

// DelayAt is Delay at time t. It returns [math.MaxInt64] when the limit
// allows no events.
func (k *Keyed) DelayAt(key string, t time.Time) time.Duration { return k.delay(key, k.ns(t)) }

func (k *Keyed) delay(key string, now int64) time.Duration {
	if k.inf {
		return 0
	}
	if k.none {
		return math.MaxInt64
	}
	s, h := k.shardOf(key)
	s.mu.Lock()
	d := k.g.peek(s.get(h), s.floor(now))
	s.mu.Unlock()
	return time.Duration(d)
}

// Reserve counts an event for key now, whether or not it is allowed yet,
// and returns how long the caller must wait before acting on it (0: act
// now). Like [rate.Limiter.Reserve], a caller that will not wait must not
// act; use [Keyed.Allow] then.
func (k *Keyed) Reserve(key string) time.Duration {
	d, _ := k.reserve(key, k.nowNS(), math.MaxInt64)
	return time.Duration(d)
}

// ReserveAt is Reserve at time t. It returns [math.MaxInt64] and counts
// nothing when the limit allows no events.
func (k *Keyed) ReserveAt(key string, t time.Time) time.Duration {
	d, _ := k.reserve(key, k.ns(t), math.MaxInt64)
	return time.Duration(d)
}

// reserve counts an event at or after now if it can happen within maxWait,
// returning the wait and the tat it stored (for giving the slot back).
func (k *Keyed) reserve(key string, now, maxWait int64) (wait, tat int64) {
	if k.inf {
		return 0, 0
	}
	if k.none {
		return math.MaxInt64, 0
	}
	s, h := k.shardOf(key)
	s.mu.Lock()
	s.maybeSweep(now)
	now = s.floor(now)
	t := max(s.get(h), now)
	wait = max(t-k.g.tolerance-now, 0)
	if wait > maxWait {
		s.mu.Unlock()
		return wait, 0
	}
	tat = s.set(h, t+k.g.interval, now)
	s.mu.Unlock()
	return wait, tat
}

// giveBack undoes a reservation whose tat is still the latest for key.
func (k *Keyed) giveBack(key string, tat, now int64) {
	s, h := k.shardOf(key)
	s.mu.Lock()
	if s.get(h) == tat {
		s.set(h, tat-k.g.interval, now)
	}
	s.mu.Unlock()
}

// Wait blocks until an event for key may happen, and counts it. It returns
// ctx.Err() at once if ctx has ended, [ErrLimitExceeded] at once if the
// wait would pass ctx's deadline or the limit allows no events, and
// ctx.Err() if ctx ends while waiting, giving the reserved slot back.
func (k *Keyed) Wait(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	now := k.clock()
	maxWait := int64(math.MaxInt64)
	if dl, ok := ctx.Deadline(); ok {
		maxWait = int64(dl.Sub(now))
	}
	n := k.ns(now)
	wait, tat := k.reserve(key, n, maxWait)
	if wait > maxWait || k.none {
		return ErrLimitExceeded
	}
	if wait == 0 {
		return nil
	}
	t := time.NewTimer(time.Duration(wait))
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		k.giveBack(key, tat, k.ns(k.clock()))
		return ctx.Err()
	}
}

// Len returns the number of keys holding state, after dropping the expired
// ones (so it also returns their memory, see [Keyed]).
func (k *Keyed) Len() int { return k.LenAt(k.clock()) }

// LenAt is Len at time t.
func (k *Keyed) LenAt(t time.Time) int {
	now := k.ns(t)
	n := 0
	for i := range k.shards {
		s := &k.shards[i]
		s.mu.Lock()
		s.nextSweep = math.MinInt64
		s.maybeSweep(now)
		n += s.live(now)
		s.mu.Unlock()
	}
	return n
}
