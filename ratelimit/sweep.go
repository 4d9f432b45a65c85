package ratelimit

import "time"

// Background sweep of a Keyed's dead keys.
//
// The sweep is a timer (time.AfterFunc, no goroutine while it waits),
// armed by the first insert of a key while none is pending and re-armed
// by each sweep that leaves live keys. A Keyed with no live key holds no
// timer, so an unused Keyed is collected as usual, and one a caller drops
// while keys are live is collected once they expire. Each sweep visits
// the 256 shards one at a time, holding one shard's lock for one pass over
// its table: the work is bounded by the live keys, spread over the
// period, and decisions on other shards go on meanwhile.

// minSweepEvery and maxSweepEvery bound the sweep period derived from
// the limit.
const (
	minSweepEvery = time.Second
	maxSweepEvery = time.Minute
)

// WithSweepEvery sets how often a [Keyed] drops the keys whose bucket is
// full again, in the background. The default (0) is the time a bucket
// takes to fill (burst/rate), within 1 s and 1 min: a key is dropped at
// most about one period after it could be. A negative d turns the
// background sweep off; idle keys are then dropped only when a shard
// grows and by [Keyed.Len].
func WithSweepEvery(d time.Duration) Option {
	return func(o *options) { o.sweepEvery = d }
}

// period returns the sweep period.
func (k *Keyed) period() time.Duration {
	if k.sweepEvery > 0 {
		return k.sweepEvery
	}
	p := k.params.Load()
	span := time.Duration(satAdd(p.g.tolerance, p.g.interval))
	return min(max(span, minSweepEvery), maxSweepEvery)
}

// armSweep starts the sweep timer unless one is pending or the sweep is
// off.
func (k *Keyed) armSweep() {
	if k.sweepEvery < 0 || k.armed.Load() || k.stopped.Load() {
		return
	}
	if k.armed.CompareAndSwap(false, true) {
		time.AfterFunc(k.period(), k.sweepTick)
	}
}

// sweepTick sweeps every shard and re-arms while keys are live. It
// clears armed first, so an insert during the sweep arms a timer of its
// own rather than counting on this one.
//
// A clock that has not moved since the last sweep (a test's fixed clock)
// cannot have expired anything: the timer is then not re-armed until the
// next insert.
func (k *Keyed) sweepTick() {
	k.armed.Store(false)
	if k.stopped.Load() {
		return
	}
	now := k.nowNS()
	if now == k.lastSweep.Swap(now) {
		return
	}
	if k.sweepAt(now) > 0 {
		k.armSweep()
	}
}

// Sweep drops the keys whose bucket is full again now, shard by shard,
// shrinking tables that have become mostly empty, and returns the number
// of live keys. The background sweep calls it; call it yourself when the
// background sweep is off.
func (k *Keyed) Sweep() int { return k.sweepAt(k.nowNS()) }

func (k *Keyed) sweepAt(now int64) int {
	n := 0
	for i := range k.shards {
		s := &k.shards[i]
		s.mu.Lock()
		s.sweep(k.seed, now)
		live, _ := s.live(now)
		n += live
		s.mu.Unlock()
	}
	return n
}

// Stop ends the background sweep for good. The Keyed keeps working; its
// idle keys are then dropped only when a shard grows, by [Keyed.Sweep] and
// by [Keyed.Len].
func (k *Keyed) Stop() { k.stopped.Store(true) }
