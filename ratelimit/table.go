package ratelimit

import (
	"math"
	"sync"
)

// sweepEvery is how often, in nanoseconds of the table's clock, a shard
// drops the keys whose state has expired.
const sweepEvery = int64(1e9)

// shard is one lock and one map of theoretical arrival times (ns since the
// owner's epoch). A key whose tat is at or before now holds no information
// (it behaves exactly like an absent key), so sweeps delete it; maps never
// shrink in Go, so a sweep that leaves far fewer keys than the peak copies
// the survivors into a fresh map.
type shard[K comparable] struct {
	mu        sync.Mutex
	m         map[K]int64
	peak      int
	nextSweep int64
	_         [32]byte // keep neighbouring shards' locks off one cache line
}

// get returns the tat stored for k, or math.MinInt64 when absent (an
// absent key conforms at any time). Callers hold mu.
func (s *shard[K]) get(k K) int64 {
	if tat, ok := s.m[k]; ok {
		return tat
	}
	return math.MinInt64
}

// set stores tat for k, deleting it when it holds no information at now.
// Callers hold mu.
func (s *shard[K]) set(k K, tat, now int64) {
	if tat <= now {
		delete(s.m, k)
		return
	}
	if s.m == nil {
		s.m = make(map[K]int64)
	}
	s.m[k] = tat
	if n := len(s.m); n > s.peak {
		s.peak = n
	}
}

// maybeSweep drops expired keys at most once per sweepEvery. Callers hold mu.
func (s *shard[K]) maybeSweep(now int64) {
	if now < s.nextSweep {
		return
	}
	s.nextSweep = now + sweepEvery
	for k, tat := range s.m {
		if tat <= now {
			delete(s.m, k)
		}
	}
	if n := len(s.m); s.peak > 64 && n < s.peak/4 {
		m := make(map[K]int64, n)
		for k, tat := range s.m {
			m[k] = tat
		}
		s.m = m
		s.peak = n
	}
}
