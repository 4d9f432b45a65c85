package ratelimit

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash/maphash"
	"math"
	"math/bits"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// keyedShards is the number of independently locked shards of a Keyed.
const keyedShards = 256

// minTAT is the TAT of an absent key: it conforms at any time.
const minTAT = math.MinInt64

// Keyed is a rate limiter per key (a user id, a client IP): each key gets
// its own token bucket of the same rate and burst, in the sense of
// [rate.Limiter], kept as one GCRA timestamp (TAT) per live key. Keys are
// exact: a key is found by a 64-bit hash (random seed per process) and
// confirmed by comparing the whole key, which the table stores, so two
// clients never share a bucket. A live key costs about 30 bytes (its
// bytes, an 8-byte TAT and a 4-byte index entry, see the package's
// benchmarks) and a decision allocates nothing.
//
// A key whose bucket is full again holds no state and is dropped: a
// background sweep (a timer, armed while any key is live, see
// [WithSweepEvery]) rebuilds the tables without them, so memory tracks
// the keys active within the last burst/rate, even when traffic stops
// after a flood.
//
// Methods come in pairs as in [rate.Limiter]: Allow is AllowAt(key, now);
// the At and N variants take an explicit time and a number of events.
// Times are exact to the nanosecond; the clock may go back (AllowAt with
// an earlier time), and then decisions stay on the strict side.
//
// A Keyed is safe for concurrent use by multiple goroutines. Use
// [NewKeyed]; the zero value is not usable.
type Keyed struct {
	shards     [keyedShards]keyShard
	params     atomic.Pointer[keyParams]
	setMu      sync.Mutex // serializes SetLimit and SetBurst
	seed       maphash.Seed
	clock      func() time.Time
	epoch      time.Time
	mono       bool          // clock is time.Now and epoch has a monotonic reading
	sweepEvery time.Duration // 0: from the limit; < 0: no background sweep
	armed      atomic.Bool   // a sweep timer is pending
	stopped    atomic.Bool
	lastSweep  atomic.Int64 // the clock at the last background sweep
}

// keyParams is a Keyed's limit, replaced as a whole by SetLimit and
// SetBurst.
type keyParams struct {
	g     gcra
	limit rate.Limit
	burst int
	inf   bool  // every event conforms
	none  bool  // no event conforms
	at    int64 // when it replaced the previous limit (ns since the epoch)
	// scale is the interval a key's debt is counted in: the limit's, or
	// for 0 and Inf the last other limit's (0 when there was none).
	scale int64
	gen   uint64 // how many limits came before it
}

func newKeyParams(limit rate.Limit, burst int) *keyParams {
	burst = max(burst, 1)
	p := &keyParams{limit: limit, burst: burst}
	switch {
	case limit == rate.Inf:
		p.inf = true
	case limit <= 0:
		p.none = true
	default:
		// Bounds keep the time arithmetic in range: an interval of at
		// most 2^61 ns (73 years) and a tolerance of at most 2^61 ns
		// (a lower tolerance is stricter).
		iv := int64(maxSpan)
		if f := math.Ceil(1e9 / float64(limit)); f < maxSpan {
			iv = int64(f)
		}
		tol := int64(maxSpan)
		if b := int64(burst - 1); b <= maxSpan/iv {
			tol = b * iv
		}
		p.g = gcra{interval: iv, tolerance: tol}
		p.scale = iv
	}
	return p
}

// maxSpan bounds a Keyed's interval and tolerance, in ns.
const maxSpan = 1 << 61

// NewKeyed returns a limiter per key allowing events at limit per second
// with bursts of at most burst (burst < 1 is taken as 1), the model of
// [rate.NewLimiter]. Of the options [WithClock] and [WithSweepEvery]
// apply. limit [rate.Inf] allows every event; limit <= 0 allows none.
func NewKeyed(limit rate.Limit, burst int, opts ...Option) *Keyed {
	o := newOptions(opts)
	k := &Keyed{seed: maphash.MakeSeed(), clock: o.clock, sweepEvery: o.sweepEvery}
	k.epoch = o.clock()
	// time.Since on a time with a monotonic reading reads only the
	// monotonic clock, half the cost of time.Now (which reads the wall
	// clock too); it is the same reading time.Now's Sub would use.
	k.mono = !o.customClock && k.epoch.Round(0) != k.epoch
	k.params.Store(newKeyParams(limit, burst))
	k.lastSweep.Store(math.MinInt64)
	return k
}

// ErrLimitExceeded is returned by [Keyed.Wait] and [Telegram.Wait] when the
// wait cannot end before the context's deadline, the limit allows no
// events at all, or more events are asked for at once than the burst.
var ErrLimitExceeded = errors.New("ratelimit: wait would exceed the limit or the context deadline")

func (k *Keyed) ns(t time.Time) int64 { return int64(t.Sub(k.epoch)) }

// nowNS is ns(k.clock()), with one clock read.
func (k *Keyed) nowNS() int64 {
	if k.mono {
		return int64(time.Since(k.epoch))
	}
	return k.ns(k.clock())
}

// skeyOf returns key as the shards store it.
func (k *Keyed) skeyOf(key string) skey {
	if len(key) > maxKeyLen {
		d := sha256.Sum256([]byte(key))
		s := string(d[:])
		return skey{h: maphash.String(k.seed, s), s: s, dig: true}
	}
	return skey{h: maphash.String(k.seed, key), s: key}
}

// skeyOfBytes is skeyOf for a key in a buffer of the caller's, which the
// skey uses and does not copy (the table copies a key it inserts): the
// middleware decides on its reused buffer with no allocation. The hash is
// the same as skeyOf's (maphash.Bytes equals maphash.String on the same
// bytes).
func (k *Keyed) skeyOfBytes(key []byte) skey {
	if len(key) > maxKeyLen {
		d := sha256.Sum256(key)
		s := string(d[:])
		return skey{h: maphash.String(k.seed, s), s: s, dig: true}
	}
	return skey{h: maphash.Bytes(k.seed, key), b: key}
}

func (k *Keyed) shard(sk *skey) *keyShard { return &k.shards[sk.h>>56] }

// satAdd is a+b for b >= 0, saturating at math.MaxInt64.
func satAdd(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// cost is n intervals, saturating at maxSpan.
func (p *keyParams) cost(n int) int64 {
	if int64(n) > maxSpan/p.g.interval {
		return maxSpan
	}
	return int64(n) * p.g.interval
}

// take applies one GCRA decision for n events of sk at now: when they
// conform it stores the new TAT and returns it with wait 0; otherwise it
// changes nothing and returns the current TAT and the wait until they
// would conform. Callers hold s.mu.
func (k *Keyed) take(s *keyShard, sk *skey, now int64, n int, p *keyParams) (tat, wait int64) {
	switch {
	case p.inf:
		return minTAT, 0
	case p.none:
		return minTAT, math.MaxInt64
	}
	off := s.lookup(sk)
	cur := int64(minTAT)
	if off >= 0 {
		cur = s.tatAt(off)
	}
	newTAT := satAdd(max(cur, now), p.cost(n))
	if at := newTAT - p.g.interval - p.g.tolerance; at > now {
		return cur, at - now
	}
	if off >= 0 {
		s.setTAT(off, newTAT)
	} else if !s.insert(k.seed, sk, newTAT, now) {
		return cur, int64(time.Second) // the shard is full: refuse, try later
	} else {
		k.armSweep()
	}
	return newTAT, 0
}

// Allow reports whether an event for key may happen now, and if so counts
// it.
func (k *Keyed) Allow(key string) bool {
	p := k.params.Load()
	if p.inf || p.none {
		return p.inf
	}
	sk := k.skeyOf(key)
	s := k.shard(&sk)
	now := k.nowNS()
	p = k.lock(s)
	_, wait := k.take(s, &sk, now, 1, p)
	s.mu.Unlock()
	return wait == 0
}

// AllowAt reports whether an event for key may happen at t, and if so
// counts it.
func (k *Keyed) AllowAt(key string, t time.Time) bool { return k.AllowN(key, t, 1) }

// AllowN reports whether n events for key may happen at t, and if so
// counts them. It is false when n exceeds the burst.
func (k *Keyed) AllowN(key string, t time.Time, n int) bool {
	p := k.params.Load()
	if p.inf || p.none || n <= 0 {
		return p.inf || n <= 0
	}
	if n > p.burst {
		// Not left to the GCRA test: with a huge burst its tolerance
		// and n's cost are both capped (maxSpan) and would pass.
		return false
	}
	sk := k.skeyOf(key)
	s := k.shard(&sk)
	p = k.lock(s)
	_, wait := k.take(s, &sk, k.ns(t), n, p)
	s.mu.Unlock()
	return wait == 0
}

// A Decision is what [Keyed.Decide] found: whether the event was allowed
// and the state of the key's bucket after it, as the middleware's
// RateLimit and Retry-After headers report it.
type Decision struct {
	// Allowed says the event was counted.
	Allowed bool
	// Limit is the burst: how many events the key may make at once.
	Limit int
	// Remaining is how many more events the key may make at once now.
	Remaining int
	// Reset is how long until the bucket is full again.
	Reset time.Duration
	// RetryAfter is, when not Allowed, how long until the event would be.
	RetryAfter time.Duration
}

// Decide is Allow, reporting the bucket's state too.
func (k *Keyed) Decide(key string) Decision {
	return k.decide(key, k.nowNS())
}

// DecideAt is Decide at time t.
func (k *Keyed) DecideAt(key string, t time.Time) Decision { return k.decide(key, k.ns(t)) }

func (k *Keyed) decide(key string, now int64) Decision {
	p := k.params.Load()
	if p.inf || p.none {
		return decideFixed(p)
	}
	sk := k.skeyOf(key)
	return k.decideKey(&sk, now)
}

// decideFixed is the decision of a limit that allows every event or none.
func decideFixed(p *keyParams) Decision {
	d := Decision{Allowed: p.inf, Limit: p.burst}
	if p.inf {
		d.Remaining = p.burst
	} else {
		d.RetryAfter = math.MaxInt64
	}
	return d
}

// decideKey is decide for a key already hashed.
func (k *Keyed) decideKey(sk *skey, now int64) Decision {
	p := k.params.Load()
	if p.inf || p.none {
		return decideFixed(p)
	}
	s := k.shard(sk)
	p = k.lock(s)
	if p.inf || p.none {
		s.mu.Unlock()
		return decideFixed(p)
	}
	tat, wait := k.take(s, sk, now, 1, p)
	s.mu.Unlock()
	d := Decision{Limit: p.burst}
	d.Allowed = wait == 0
	d.RetryAfter = time.Duration(wait)
	if ahead := tat - now; ahead > 0 {
		d.Reset = time.Duration(ahead)
		if room := p.g.tolerance + p.g.interval - ahead; room > 0 {
			d.Remaining = int(room / p.g.interval)
		}
	} else {
		d.Remaining = p.burst
	}
	return d
}

// Delay returns how long until an event for key would be allowed, without
// counting one; 0 means now.
func (k *Keyed) Delay(key string) time.Duration { return k.delay(key, k.nowNS()) }

// DelayAt is Delay at time t. It returns [math.MaxInt64] when the limit
// allows no events.
func (k *Keyed) DelayAt(key string, t time.Time) time.Duration { return k.delay(key, k.ns(t)) }

func (k *Keyed) delay(key string, now int64) time.Duration {
	p := k.params.Load()
	if p.inf {
		return 0
	}
	if p.none {
		return math.MaxInt64
	}
	sk := k.skeyOf(key)
	s := k.shard(&sk)
	p = k.lock(s)
	defer s.mu.Unlock()
	switch {
	case p.inf:
		return 0
	case p.none:
		return math.MaxInt64
	}
	return time.Duration(p.g.peek(s.get(&sk), now))
}

// A Reservation is events for one key counted ahead of time by
// [Keyed.Reserve] or [Keyed.ReserveN]: the caller waits [Reservation.Delay],
// then acts, or gives the events back with [Reservation.Cancel]. A
// Reservation is not safe for concurrent use.
type Reservation struct {
	k      *Keyed
	sk     skey
	ok     bool
	n      int
	act    int64 // ns since the Keyed's epoch when the events may happen
	tat    int64 // the key's TAT as the reservation left it
	cost   int64
	p      *keyParams // the limit tat and cost are kept in
	closed bool
}

// OK reports whether the events were reserved: false when n exceeds the
// burst or the limit allows no events. A Reservation that is not OK holds
// nothing.
func (r *Reservation) OK() bool { return r.ok }

// Delay is DelayFrom(now).
func (r *Reservation) Delay() time.Duration { return r.DelayFrom(r.k.clock()) }

// DelayFrom returns how long after t the reserved events may happen: 0
// means at once. It returns [math.MaxInt64] when the reservation is not
// OK.
func (r *Reservation) DelayFrom(t time.Time) time.Duration {
	if !r.ok {
		return math.MaxInt64
	}
	return time.Duration(max(r.act-r.k.ns(t), 0))
}

// Cancel is CancelAt(now).
func (r *Reservation) Cancel() { r.CancelAt(r.k.clock()) }

// CancelAt gives the reserved events back, as if they had not been
// reserved, when they have not happened yet at t and no later event of the
// key was counted since (which was scheduled after them; giving them back
// then could let two events through closer than the limit allows), at the
// limit of now when [Keyed.SetLimit] changed it once since (after two
// changes, nothing is given back). A second call does nothing.
func (r *Reservation) CancelAt(t time.Time) {
	if !r.ok || r.closed || r.cost == 0 {
		return
	}
	r.closed = true
	now := r.k.ns(t)
	if r.act <= now {
		return
	}
	s := r.k.shard(&r.sk)
	p := r.k.lock(s)
	defer s.mu.Unlock()
	tat, cost, ok := r.tat, r.cost, true
	if p != r.p {
		tat, cost, ok = r.rescaled(p)
	}
	if off := s.lookup(&r.sk); ok && off >= 0 && s.tatAt(off) == tat {
		s.setTAT(off, tat-cost)
	}
}

// rescaled returns the reservation's TAT and cost as SetLimit brought
// them to p (see keyShard.rescale), when p is the limit right after the
// reservation's; ok is false when the limit changed more than once since
// (the events are then not given back).
func (r *Reservation) rescaled(p *keyParams) (tat, cost int64, ok bool) {
	from := r.p
	if p.gen != from.gen+1 {
		return 0, 0, false
	}
	if from.scale == 0 || p.scale == 0 || from.scale == p.scale {
		return r.tat, r.cost, true
	}
	tat = r.tat
	if c := p.at; tat > c {
		tat = satAdd(c, scaleDebt(tat-c, p.scale, from.scale))
	}
	// The cost in p's intervals, rounded down: never give back more.
	hi, lo := bits.Mul64(uint64(r.cost), uint64(p.scale))
	if hi >= uint64(from.scale) {
		return tat, maxSpan, true
	}
	q, _ := bits.Div64(hi, lo, uint64(from.scale))
	return tat, int64(min(q, maxSpan)), true
}

// Reserve is ReserveN(key, now, 1).
func (k *Keyed) Reserve(key string) *Reservation { return k.ReserveN(key, k.clock(), 1) }

// ReserveN counts n events for key at t, whether or not they are allowed
// yet, and returns a [Reservation] saying how long the caller must wait
// before acting on them. Like [rate.Limiter.ReserveN], a caller that will
// not wait must cancel the reservation rather than act.
func (k *Keyed) ReserveN(key string, t time.Time, n int) *Reservation {
	r, _ := k.reserve(key, k.ns(t), n, math.MaxInt64)
	return r
}

// reserve counts n events at or after now if they can happen within
// maxWait, and returns the reservation and the wait (also when it is too
// long).
func (k *Keyed) reserve(key string, now int64, n int, maxWait int64) (*Reservation, int64) {
	p := k.params.Load()
	r := &Reservation{k: k, n: n, act: now}
	switch {
	case p.inf || n <= 0:
		r.ok = true
		return r, 0
	case p.none || n > p.burst:
		return r, math.MaxInt64
	}
	r.sk = k.skeyOf(key)
	s := k.shard(&r.sk)
	p = k.lock(s)
	defer s.mu.Unlock()
	switch {
	case p.inf:
		r.ok = true
		return r, 0
	case p.none || n > p.burst:
		return r, math.MaxInt64
	}
	off := s.lookup(&r.sk)
	cur := int64(minTAT)
	if off >= 0 {
		cur = s.tatAt(off)
	}
	r.cost, r.p = p.cost(n), p
	r.tat = satAdd(max(cur, now), r.cost)
	wait := max(r.tat-p.g.interval-p.g.tolerance-now, 0)
	if wait > maxWait {
		return r, wait
	}
	if off >= 0 {
		s.setTAT(off, r.tat)
	} else if !s.insert(k.seed, &r.sk, r.tat, now) {
		return r, math.MaxInt64
	} else {
		k.armSweep()
	}
	r.ok, r.act = true, now+wait
	return r, wait
}

// Wait is WaitN(ctx, key, 1).
func (k *Keyed) Wait(ctx context.Context, key string) error { return k.WaitN(ctx, key, 1) }

// WaitN blocks until n events for key may happen, and counts them. It
// returns ctx.Err() at once if ctx has ended; [ErrLimitExceeded] at once
// if n exceeds the burst, the limit allows no events, or the wait would
// pass ctx's deadline; and ctx.Err() if ctx ends while waiting, giving the
// reserved events back.
func (k *Keyed) WaitN(ctx context.Context, key string, n int) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if p := k.params.Load(); !p.inf && n > p.burst {
		return fmt.Errorf("%w: %d events exceed the burst %d", ErrLimitExceeded, n, p.burst)
	}
	now := k.clock()
	maxWait := int64(math.MaxInt64)
	if dl, ok := ctx.Deadline(); ok {
		maxWait = int64(dl.Sub(now))
	}
	r, wait := k.reserve(key, k.ns(now), n, maxWait)
	if !r.ok {
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
		r.CancelAt(k.clock())
		return ctx.Err()
	}
}

// Limit returns the rate, in events per second.
func (k *Keyed) Limit() rate.Limit { return k.params.Load().limit }

// Burst returns the burst.
func (k *Keyed) Burst() int { return k.params.Load().burst }

// SetLimit changes the rate for every key from now on. Each key keeps
// what it owes, in events, as [rate.Limiter.SetLimit] keeps its tokens,
// and pays it at the new rate: a key that just spent its burst waits one
// new interval per event, whether the limit went up or down. Under a limit
// of 0 or [rate.Inf] a key's debt runs out at the rate before, and counts
// at the next rate after. SetLimit visits every shard in turn, holding one
// lock at a time (a pass over its live keys); a decision on a shard not
// visited yet brings it to the new rate first.
func (k *Keyed) SetLimit(limit rate.Limit) {
	k.setMu.Lock()
	defer k.setMu.Unlock()
	k.setParams(newKeyParams(limit, k.params.Load().burst))
}

// SetBurst changes the burst for every key from now on (burst < 1 is
// taken as 1). Each key keeps what it owes, in events: one that spent
// its whole burst of b may make b' - b more at once under a burst b' > b,
// and waits b - b' more intervals under a smaller one.
func (k *Keyed) SetBurst(burst int) {
	k.setMu.Lock()
	defer k.setMu.Unlock()
	k.setParams(newKeyParams(k.params.Load().limit, burst))
}

// setParams makes p the limit and brings every shard to it. Callers hold
// setMu, so a shard is at most one limit behind: the one before p.
func (k *Keyed) setParams(p *keyParams) {
	p.at = k.nowNS()
	old := k.params.Load()
	if p.scale == 0 {
		p.scale = old.scale
	}
	p.gen = old.gen + 1
	k.params.Store(p)
	for i := range k.shards {
		k.lock(&k.shards[i])
		k.shards[i].mu.Unlock()
	}
}

// lock locks s and returns the limit, having brought s's keys to it when
// SetLimit changed it since s was last locked this way. Every decision
// locks its shard with it, so that its TATs and the limit agree.
func (k *Keyed) lock(s *keyShard) *keyParams {
	s.mu.Lock()
	p := k.params.Load()
	if s.ver != p {
		s.rescale(s.ver, p)
		s.ver = p
	}
	return p
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
		s.sweep(k.seed, now)
		live, _ := s.live(now)
		n += live
		s.mu.Unlock()
	}
	return n
}
