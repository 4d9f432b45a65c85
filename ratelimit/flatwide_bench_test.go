package ratelimit

import (
	"math"
	"sync"
)

// wideShard is the table Keyed used before flatShard, kept as a row of
// BenchmarkTable: one lock and an open-addressing hash table (linear
// probing) of 16-byte slots, the full 64-bit key hash and an int64 TAT
// (34 MB for 1 M keys at the same load as flatShard). Only what the
// benchmark uses is kept: get, and set growing the table.
type wideShard struct {
	mu    sync.Mutex
	slots []wideSlot // len is 0 or a power of two
	used  int        // occupied slots, live or dead
	_     [24]byte   // keep neighbouring shards' locks off one cache line
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

func (s *wideShard) get(k uint64) int64 {
	if len(s.slots) == 0 {
		return math.MinInt64
	}
	if i, ok := s.find(k); ok {
		return s.slots[i].tat
	}
	return math.MinInt64
}

func (s *wideShard) set(k uint64, tat, now int64) {
	if len(s.slots) > 0 {
		if i, ok := s.find(k); ok {
			s.slots[i].tat = tat
			return
		}
	}
	if tat <= now {
		return
	}
	if (s.used+1)*4 > len(s.slots)*3 {
		s.rebuild(now, s.used+1)
	}
	i, _ := s.find(k)
	s.slots[i] = wideSlot{key: k, tat: tat}
	s.used++
}

// rebuild copies the live keys into a table sized for want keys (at most
// 3/8 full), as flatShard.rebuild does.
func (s *wideShard) rebuild(now int64, want int) {
	size := 8
	for size*3 < want*8 {
		size *= 2
	}
	old := s.slots
	s.slots, s.used = make([]wideSlot, size), 0
	for _, sl := range old {
		if sl.key != 0 && sl.tat > now {
			i, _ := s.find(sl.key)
			s.slots[i] = sl
			s.used++
		}
	}
}
