package ratelimit

import (
	"math"
	"sync"
)

// wideShard is the table Keyed used before flatShard, kept as a row of
// BenchmarkTable: one lock and an open-addressing hash table (linear probing)
// of 16-byte slots, key hash → TAT: one cache miss per decision and no
// per-key allocation. Keys are already uniform hashes, so the low bits
// index the table. A key whose TAT has passed is dead: it stays in its
// slot (a later event for the key reuses it) until the sweep, at most once
// per second of the clock, rebuilds the table without the dead keys,
// shrinking it when most keys have gone.
type wideShard struct {
	mu        sync.Mutex
	slots     []wideSlot // len is 0 or a power of two
	used      int        // occupied slots, live or dead
	nextSweep int64
	_         [24]byte // keep neighbouring shards' locks off one cache line
}

type wideSlot struct {
	key uint64 // 0: empty
	tat int64
}

// wideKey maps a hash to a slot key: 0 marks an empty slot.
func wideKey(h uint64) uint64 {
	if h == 0 {
		return 1
	}
	return h
}

// find returns the index of k's slot, or of the empty slot where it would
// go, and whether it was found. The table must not be full.
func (s *wideShard) find(k uint64) (int, bool) {
	mask := len(s.slots) - 1
	for i := int(k) & mask; ; i = (i + 1) & mask {
		switch s.slots[i].key {
		case k:
			return i, true
		case 0:
			return i, false
		}
	}
}

// get returns k's TAT, or math.MinInt64 when absent. Callers hold mu.
func (s *wideShard) get(k uint64) int64 {
	if len(s.slots) == 0 {
		return math.MinInt64
	}
	if i, ok := s.find(k); ok {
		return s.slots[i].tat
	}
	return math.MinInt64
}

// set stores k's TAT. Callers hold mu.
func (s *wideShard) set(k uint64, tat, now int64) {
	if len(s.slots) > 0 {
		if i, ok := s.find(k); ok {
			s.slots[i].tat = tat
			return
		}
	}
	if tat <= now {
		return // an absent key and a dead one behave alike
	}
	if (s.used+1)*4 > len(s.slots)*3 {
		s.rebuild(now, s.live(now)+1)
	}
	i, _ := s.find(k)
	s.slots[i] = wideSlot{key: k, tat: tat}
	s.used++
}

// take applies one GCRA decision for k at now with a single probe of the
// table: it updates k's TAT in place, or inserts it, when the event
// conforms, and reports whether it does. Callers hold mu.
func (s *wideShard) take(k uint64, g gcra, now int64) bool {
	i, found := 0, false
	tat := int64(math.MinInt64)
	if len(s.slots) > 0 {
		if i, found = s.find(k); found {
			tat = s.slots[i].tat
		}
	}
	newTAT, wait := g.take(tat, now)
	switch {
	case wait != 0:
		return false
	case found:
		s.slots[i].tat = newTAT
		return true
	case newTAT <= now:
		return true // an absent key and a dead one behave alike
	}
	if (s.used+1)*4 > len(s.slots)*3 {
		s.rebuild(now, s.live(now)+1)
		i, _ = s.find(k)
	}
	s.slots[i] = wideSlot{key: k, tat: newTAT}
	s.used++
	return true
}

// live counts the keys whose TAT is after now. Callers hold mu.
func (s *wideShard) live(now int64) int {
	n := 0
	for _, sl := range s.slots {
		if sl.key != 0 && sl.tat > now {
			n++
		}
	}
	return n
}

// rebuild copies the live keys into a table sized for want keys (at most
// 3/8 full). Callers hold mu.
func (s *wideShard) rebuild(now int64, want int) {
	size := 8
	for size*3 < want*8 {
		size *= 2
	}
	old := s.slots
	s.slots, s.used = nil, 0
	if want > 0 {
		s.slots = make([]wideSlot, size)
	}
	for _, sl := range old {
		if sl.key != 0 && sl.tat > now {
			i, _ := s.find(sl.key)
			s.slots[i] = sl
			s.used++
		}
	}
}

// maybeSweep drops the dead keys at most once per sweepEvery, when they
// take a quarter of the table or more. Callers hold mu.
func (s *wideShard) maybeSweep(now int64) {
	if now < s.nextSweep {
		return
	}
	s.nextSweep = now + sweepEvery
	if s.used == 0 {
		return
	}
	if n := s.live(now); (s.used-n)*4 >= len(s.slots) || n*8 < len(s.slots) {
		s.rebuild(now, n)
	}
}
