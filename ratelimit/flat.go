package ratelimit

import (
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// flatShard is one lock and an open-addressing hash table (linear probing)
// of 8-byte slots, key fingerprint → TAT: one cache miss per decision, no
// per-key allocation, and half the memory of 16-byte slots (about 17
// bytes per live key, 17 MB for a million keys).
//
// A slot holds 32 bits of the key's hash (fp, never 0; 0 marks an empty
// slot), whose low bits are also the slot's home index, so the table can
// be rebuilt from its slots alone; and the key's TAT as rel, in units of
// 1<<shift ns after base, rounded up, so a stored TAT is never earlier
// than the true one and the limiter errs only on the strict side. A TAT a
// slot cannot hold (more than 2^32-2 units after base: reservations far
// ahead, or time going backwards by more than the range) is kept exactly
// in far, and its slot says so with rel == relFar.
//
// A key whose TAT has passed is dead: it stays in its slot (a later event
// for the key reuses it) until the sweep. The sweep runs at most once per
// second of the clock, and at once when the clock goes back before base:
// it moves base to now (in whole units, so live TATs are unchanged) and
// rebuilds the table without the dead keys when they take a quarter of it
// or more, shrinking it when most keys have gone. So base is never more
// than a second behind a decision's now, and a live TAT, at most
// tolerance+interval after now, always fits in a slot.
//
// A decision's one cache miss is its slot. [Keyed.Allow], which reads the
// clock, calls prefetch before it, so the miss and the clock read overlap:
// view, a copy of slots published atomically at each rebuild, lets it
// find the slot's address without the lock.
//
// The header is 128 bytes: the fields every decision reads fill the first
// cache line, far (rarely used) and padding the second, so neighbouring
// shards never share a line.
//
// The zero value is an empty shard with 1 ns units.
type flatShard struct {
	mu        sync.Mutex
	slots     []flatSlot // len is 0 or a power of two
	used      int32      // occupied slots, live or dead
	shift     uint32     // a TAT unit is 1<<shift ns
	base      int64      // a slot's TAT is base + rel<<shift
	nextSweep int64
	view      atomic.Pointer[[]flatSlot] // slots as of the last rebuild; nil when empty

	far map[uint32]int64 // exact TATs of the slots with rel == relFar
	_   [56]byte
}

// prefetch asks the CPU to start loading fp's home slot into the cache,
// without the lock: the table may be rebuilt meanwhile, and then the hint
// is wasted, never wrong, since a prefetch reads nothing the program sees.
func (s *flatShard) prefetch(fp uint32) {
	if v := s.view.Load(); v != nil {
		t := *v
		prefetchSlot(&t[int(fp)&(len(t)-1)])
	}
}

// flatSlot is one key of a flatShard.
type flatSlot struct {
	fp  uint32 // 0: empty
	rel uint32 // TAT in units after the shard's base, or relFar
}

// relFar in a slot's rel means its TAT is in the shard's far map.
const relFar = math.MaxUint32

// maxUnitShift bounds a TAT unit at 2^30 ns (about 1 s), so that
// rel<<shift never overflows.
const maxUnitShift = 30

// unitShift returns the shift of the TAT unit for a limit whose live TATs
// lie at most span ns after now: the smallest power of two for which a
// slot's range covers span plus a sweep period (base is at most that far
// behind now), with an eighth to spare. Units are 1 ns, and the limiter
// exact, whenever span is at most about 2.7 s; a slow limit with a large
// burst gets coarser units (1 unit per 2^31.8 ns of span).
func unitShift(span int64) uint32 {
	s := uint32(0)
	for s < maxUnitShift && (span+sweepEvery)>>s > relFar/8*7 {
		s++
	}
	return s
}

// flatFP maps a key hash to a fingerprint: its low 32 bits, 0 (the empty
// mark) taken as 1.
func flatFP(h uint64) uint32 {
	if fp := uint32(h); fp != 0 {
		return fp
	}
	return 1
}

// floor returns now on the shard's clock, which ticks once per unit: the
// last tick at or before now. Ticks are base plus whole units, and base
// only ever moves by whole units, so the ticks never change.
func (s *flatShard) floor(now int64) int64 {
	return s.base + (now-s.base)>>s.shift<<s.shift
}

// quantize returns g for a clock ticking every 1<<shift ns (see
// [flatShard.floor]): the interval rounded up to whole units plus one
// unit, and the tolerance as many intervals as before. An event is seen
// at most one unit before it happens, and the unit added to the interval
// makes up for that: any two events the quantized g lets through are at
// least as far apart as g requires of them, so the events it lets through
// conform to g (and, in any stretch of time, are no more than g would let
// through). The sustained rate is lower by at most 2 units per interval.
// With shift 0 the clock is exact and g is returned as it is.
func (g gcra) quantize(shift uint32) gcra {
	if shift == 0 {
		return g
	}
	u := int64(1) << shift
	iv := (g.interval+u-1)>>shift<<shift + u
	return gcra{interval: iv, tolerance: g.tolerance / g.interval * iv}
}

// find returns the index of fp's slot, or of the empty slot where it would
// go, and whether it was found. The table must not be full.
func (s *flatShard) find(fp uint32) (int, bool) {
	mask := len(s.slots) - 1
	for i := int(fp) & mask; ; i = (i + 1) & mask {
		switch s.slots[i].fp {
		case fp:
			return i, true
		case 0:
			return i, false
		}
	}
}

// tatOf returns the TAT of the occupied slot i. Callers hold mu.
func (s *flatShard) tatOf(i int) int64 {
	sl := s.slots[i]
	if sl.rel == relFar {
		return s.far[sl.fp]
	}
	return s.base + int64(sl.rel)<<s.shift
}

// put stores fp with tat, rounded up to a whole unit, in slot i, and
// returns the TAT as stored. A TAT before base is stored as base: when
// base <= now such a TAT is dead either way; only with the clock gone back
// (by less than backSlack after a sweep) is it made a little stricter.
// Callers hold mu.
func (s *flatShard) put(i int, fp uint32, tat int64) int64 {
	if s.slots[i].rel == relFar && s.far != nil {
		if delete(s.far, fp); len(s.far) == 0 {
			s.far = nil
		}
	}
	d := tat - s.base
	if d <= 0 {
		s.slots[i] = flatSlot{fp: fp}
		return s.base
	}
	r := (d-1)>>s.shift + 1 // ceil(d / unit)
	if r >= relFar {
		if s.far == nil {
			s.far = make(map[uint32]int64)
		}
		s.far[fp] = tat
		s.slots[i] = flatSlot{fp: fp, rel: relFar}
		return tat
	}
	s.slots[i] = flatSlot{fp: fp, rel: uint32(r)}
	return s.base + r<<s.shift
}

// get returns fp's TAT, or math.MinInt64 when absent. Callers hold mu.
func (s *flatShard) get(fp uint32) int64 {
	if len(s.slots) == 0 {
		return math.MinInt64
	}
	if i, ok := s.find(fp); ok {
		return s.tatOf(i)
	}
	return math.MinInt64
}

// set stores fp's TAT and returns it as stored (rounded up). Callers hold
// mu.
func (s *flatShard) set(fp uint32, tat, now int64) int64 {
	if len(s.slots) > 0 {
		if i, ok := s.find(fp); ok {
			return s.put(i, fp, tat)
		}
	}
	if tat <= now {
		return tat // an absent key and a dead one behave alike
	}
	return s.insert(fp, tat, now)
}

// insert stores the absent fp with tat, growing the table when it would
// be more than 3/4 full, and returns the TAT as stored. Callers hold mu.
func (s *flatShard) insert(fp uint32, tat, now int64) int64 {
	if (int(s.used)+1)*4 > len(s.slots)*3 {
		s.rebuild(now, s.live(now)+1)
	}
	i, _ := s.find(fp)
	s.used++
	return s.put(i, fp, tat)
}

// take applies one GCRA decision for fp at now (on the shard's clock, see
// floor; g quantized to its unit) with a single probe of the table: it
// updates fp's TAT in place, or inserts it, when the event conforms, and
// reports whether it does. Callers hold mu.
func (s *flatShard) take(fp uint32, g gcra, now int64) bool {
	i, found := 0, false
	tat := int64(math.MinInt64)
	if len(s.slots) > 0 {
		if i, found = s.find(fp); found {
			tat = s.tatOf(i)
		}
	}
	newTAT, wait := g.take(tat, s.floor(now))
	switch {
	case wait != 0:
		return false
	case found:
		s.put(i, fp, newTAT)
		return true
	case newTAT <= now:
		return true // an absent key and a dead one behave alike
	}
	s.insert(fp, newTAT, now)
	return true
}

// live counts the keys whose TAT is after now. Callers hold mu.
func (s *flatShard) live(now int64) int {
	n := 0
	for i, sl := range s.slots {
		if sl.fp != 0 && s.tatOf(i) > now {
			n++
		}
	}
	return n
}

// rebuild copies the live keys into a table sized for want keys (at most
// 3/8 full), keeping base. Callers hold mu.
func (s *flatShard) rebuild(now int64, want int) {
	size := 8
	for size*3 < want*8 {
		size *= 2
	}
	old, far := s.slots, s.far
	s.slots, s.used, s.far = nil, 0, nil
	var view *[]flatSlot
	if want > 0 {
		t := make([]flatSlot, size)
		s.slots, view = t, &t
	}
	s.view.Store(view)
	for _, sl := range old {
		if sl.fp == 0 {
			continue
		}
		tat := s.base + int64(sl.rel)<<s.shift
		if sl.rel == relFar {
			tat = far[sl.fp]
		}
		if tat <= now {
			continue
		}
		i, _ := s.find(sl.fp)
		s.slots[i] = sl
		s.used++
		if sl.rel == relFar {
			if s.far == nil {
				s.far = make(map[uint32]int64)
			}
			s.far[sl.fp] = tat
		}
	}
}

// rebase moves base to now, in whole units, re-expressing every slot's
// TAT (exactly: a TAT before the new base is dead at now and stays dead)
// and returning the number of live keys. When the clock went back, TATs
// move further from base and those past a slot's range go to far. Callers
// hold mu.
func (s *flatShard) rebase(now int64) int {
	old := s.base
	k := (now - old) >> s.shift // whole units to move base by; < 0 when time went back
	s.base += k << s.shift
	n := 0
	for i := range s.slots {
		sl := &s.slots[i]
		if sl.fp == 0 {
			continue
		}
		if sl.rel != relFar {
			if r := max(int64(sl.rel)-k, 0); r < relFar {
				sl.rel = uint32(r)
				if r<<s.shift > now-s.base {
					n++
				}
				continue
			}
		}
		// A TAT from far, or one the move put past a slot's range.
		tat := s.far[sl.fp]
		if sl.rel != relFar {
			tat = old + int64(sl.rel)<<s.shift
		}
		s.put(i, sl.fp, tat)
		if tat > now {
			n++
		}
	}
	return n
}

// backSlack is how far, in ns, the clock may go back before base without
// a sweep: a TAT stored meanwhile before base is stored as base, a little
// stricter (less than backSlack). Further back, the sweep moves base back.
const backSlack = int64(time.Millisecond)

// maybeSweep rebases the shard at most once per sweepEvery, and at once
// when the clock went back more than backSlack before base, and drops the
// dead keys when they take a quarter of the table or more. Callers hold mu.
func (s *flatShard) maybeSweep(now int64) {
	if now < s.nextSweep && now >= s.base-backSlack {
		return
	}
	s.nextSweep = now + sweepEvery
	if s.used == 0 {
		s.base = now
		return
	}
	if n := s.rebase(now); (int(s.used)-n)*4 >= len(s.slots) || n*8 < len(s.slots) {
		s.rebuild(now, n)
	}
}
