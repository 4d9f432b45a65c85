package redis

import (
	"strings"
	"testing"

	"github.com/miniappkit/miniappkit/ratelimit"
)

// hashed is the part of key Redis Cluster hashes to pick its slot: the
// text between the first '{' and the first '}' after it when that is not
// empty, else the whole key (https://redis.io/docs/latest/operate/oss_and_stack/reference/cluster-spec/#hash-tags).
// Keys whose hashed parts are equal live in one slot.
func hashed(key string) string {
	if i := strings.IndexByte(key, '{'); i >= 0 {
		if j := strings.IndexByte(key[i+1:], '}'); j > 0 {
			return key[i+1 : i+1+j]
		}
	}
	return key
}

func TestHashedFollowsClusterSpec(t *testing.T) {
	for key, want := range map[string]string{
		"{user1000}.following": "user1000",
		"foo{}{bar}":           "foo{}{bar}",
		"foo{{bar}}zap":        "{bar",
		"foo{bar}{zap}":        "bar",
		"plain":                "plain",
	} {
		if got := hashed(key); got != want {
			t.Errorf("hashed(%q) = %q, want %q", key, got, want)
		}
	}
}

var clusterPrefixes = []string{DefaultKeyPrefix, "app{7}:", "x{", "}{", "a{b"}

// TestBroadcastLogKeysShareSlot: the three keys of a broadcast, which
// openScript takes together, hash to one slot for any id and prefix (in a
// cluster a script over keys of two slots fails with CROSSSLOT).
func TestBroadcastLogKeysShareSlot(t *testing.T) {
	for _, prefix := range clusterPrefixes {
		l := New(nil, WithKeyPrefix(prefix)).BroadcastLog()
		for _, id := range []string{"", "news", "a}b", "{x}", "}", "{"} {
			list, entries, lease := l.keys(id)
			if hashed(list) != hashed(entries) || hashed(list) != hashed(lease) {
				t.Errorf("prefix %q, id %q: %q, %q and %q hash to different slots", prefix, id, list, entries, lease)
			}
		}
	}
}

// TestRateKeysShareSlot: every cell of a decision, which rateScript takes
// together, hashes to one slot.
func TestRateKeysShareSlot(t *testing.T) {
	for _, prefix := range clusterPrefixes {
		s := New(nil, WithKeyPrefix(prefix)).RateStore()
		first := hashed(s.rateKey(ratelimit.Key{}))
		for _, k := range []ratelimit.Key{{Kind: 1, ID: 1}, {Kind: 2, ID: -100}, {Kind: 3, ID: 1 << 40}} {
			if got := hashed(s.rateKey(k)); got != first {
				t.Errorf("prefix %q: %q hashes to %q, not %q", prefix, s.rateKey(k), got, first)
			}
		}
	}
}

// TestKeyPrefixEmptyHashTagRejected: a prefix starting an empty hash tag
// would make Redis hash every whole key, so it fails at construction.
func TestKeyPrefixEmptyHashTagRejected(t *testing.T) {
	for _, prefix := range []string{"{}", "app{}:", "a}{}"} {
		if err := New(nil, WithKeyPrefix(prefix)).err; err == nil || !strings.Contains(err.Error(), "empty hash tag") {
			t.Errorf("prefix %q: error %v, want one naming the empty hash tag", prefix, err)
		}
	}
}

// TestUpdateQueueKeysShareSlot: the keys of a queue, which its scripts
// take together, hash to one slot for any queue name and prefix.
func TestUpdateQueueKeysShareSlot(t *testing.T) {
	for _, prefix := range clusterPrefixes {
		for _, name := range []string{"", "updates", "a}b", "{x}", "}", "{"} {
			q := New(nil, WithKeyPrefix(prefix)).UpdateQueue(name, 0)
			for _, k := range q.keys[1:] {
				if hashed(k) != hashed(q.keys[0]) {
					t.Errorf("prefix %q, name %q: %q and %q hash to different slots", prefix, name, q.keys[0], k)
				}
			}
		}
	}
}
