package ratelimit

import (
	"strconv"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/require"
)

// keyIdentity is what a Keyed knows of a key: its shard and its
// fingerprint (see the Approximations section of [Keyed]).
type keyIdentity struct {
	shard *flatShard
	fp    uint32
}

func identity(k *Keyed, key string) keyIdentity {
	s, fp := k.shardOf(key)
	return keyIdentity{s, fp}
}

// keyGen hands out keys whose identities in one Keyed are pairwise
// distinct. Tests that count on n distinct keys getting n buckets use it:
// with a random seed per process, n plain keys share a bucket with
// probability about n²/2^41 (0.45 % at 100 000 keys), which is the
// documented approximation, tested on its own by
// TestKeyedCollisionSharesBucket, not a flake to put up with.
type keyGen struct {
	k    *Keyed
	seen map[keyIdentity]bool
	next int
}

func newKeyGen(k *Keyed) *keyGen { return &keyGen{k: k, seen: make(map[keyIdentity]bool)} }

// keys returns n keys, each prefix followed by a number, whose identities
// differ from each other and from every key this keyGen returned before.
func (g *keyGen) keys(prefix string, n int) []string {
	out := make([]string, 0, n)
	for len(out) < n {
		key := prefix + strconv.Itoa(g.next)
		g.next++
		if id := identity(g.k, key); !g.seen[id] {
			g.seen[id] = true
			out = append(out, key)
		}
	}
	return out
}

// TestKeyedCollisionSharesBucket finds two distinct keys with the same
// identity (a birthday search over about 2^21 keys, so it takes a few
// hundred milliseconds; with 2^41 identities the search almost surely
// succeeds) and checks the documented approximation: they share one
// bucket, so together they get one key's allowance, never more.
func TestKeyedCollisionSharesBucket(t *testing.T) {
	if testing.Short() {
		t.Skip("birthday search over millions of keys")
	}
	k := NewKeyed(1, 2, WithClock(func() time.Time { return t0 })) // 1/s, burst 2
	seen := make(map[keyIdentity]int32, 1<<21)
	var a, b string
	for i := int32(0); i < 1<<23 && a == ""; i++ {
		key := strconv.Itoa(int(i))
		id := identity(k, key)
		if other, ok := seen[id]; ok {
			a, b = strconv.Itoa(int(other)), key
		}
		seen[id] = i
	}
	require.NotEmpty(t, a, "no collision among 2^23 keys: identities are wider than documented")
	require.True(t, k.AllowAt(a, t0))
	require.True(t, k.AllowAt(b, t0), "b spends a's second token")
	require.False(t, k.AllowAt(a, t0), "the shared bucket is empty")
	require.False(t, k.AllowAt(b, t0))
	require.True(t, k.AllowAt("other", t0), "any other identity is its own bucket")
}

// TestFlatShardHeaderSize pins the shard header at two cache lines (see
// flatShard): a field added without adjusting the padding fails here.
func TestFlatShardHeaderSize(t *testing.T) {
	require.Equal(t, uintptr(128), unsafe.Sizeof(flatShard{}))
}
