package webhook

import "hash/maphash"

func hash1(m *MemoryStore, key string) uint64 { return maphash.String(m.seed1, key) }
func hash2(m *MemoryStore, key string) uint64 { return maphash.String(m.seed2, key) }
