package ratelimit

import (
	"hash/maphash"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"
)

// collidingKeys finds two keys whose hashes agree in their top 8 and low
// 32 bits (the 40-bit identity the old table kept).
func collidingKeys(seed maphash.Seed) (string, string) {
	seen := map[uint64]string{}
	for i := 0; ; i++ {
		key := "ip:" + strconv.Itoa(i)
		h := maphash.String(seed, key)
		id := h>>56<<32 | h&0xffffffff
		if other, ok := seen[id]; ok {
			return other, key
		}
		seen[id] = key
	}
}

func TestDefectKeyedExact(t *testing.T) {
	k := NewKeyed(1.0/3600, 1, WithClock(func() time.Time { return t0 }))
	a, b := collidingKeys(k.seed)
	require.True(t, k.AllowAt(a, t0))
	require.True(t, k.AllowAt(b, t0), "%s and %s are different clients", a, b)
}

func TestDefectKeyedSweepsInBackground(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := NewKeyed(10, 5)
		for i := range 20_000 {
			k.Allow("10.0." + strconv.Itoa(i>>8) + "." + strconv.Itoa(i&255))
		}
		time.Sleep(5 * time.Second)
		synctest.Wait()
		big := 0
		for i := range k.shards {
			if len(k.shards[i].index) > 8 {
				big++
			}
		}
		require.Zero(t, big, "shards still holding the flood's tables")
	})
}

func TestDefectKeyByIPUnixAndPorts(t *testing.T) {
	local := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("10.0.0.0/8")}
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.RemoteAddr = "@"
	r.Header.Set("X-Forwarded-For", "198.51.100.9")
	require.Equal(t, "198.51.100.9", keyOf(KeyByIP(local...), r), "unix socket peer behind a trusted local proxy")
	r.RemoteAddr = "10.1.1.1:80"
	r.Header.Set("X-Forwarded-For", "198.51.100.9:5555")
	require.Equal(t, "198.51.100.9", keyOf(KeyByIP(local...), r), "entry with a port")
	r.Header.Set("X-Forwarded-For", "[2001:db8::1]:443")
	require.Equal(t, "2001:db8::/64", keyOf(KeyByIP(local...), r), "v6 entry with a port")
}

func TestDefectMiddlewareAllocs(t *testing.T) {
	k := NewKeyed(1e9, 1000)
	h := Middleware(k, KeyByIP())(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.RemoteAddr = "203.0.113.7:4711"
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	require.Zero(t, testing.AllocsPerRun(1000, func() { h.ServeHTTP(w, r) }))
}

// TestKeyedSweepStopsOnFixedClock: a clock that does not move expires
// nothing, so the background timer stops instead of ticking forever (a
// test's Keyed is collected); the next insert arms it again.
func TestKeyedSweepStopsOnFixedClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := NewKeyed(1.0/3600, 1, WithClock(func() time.Time { return t0 }))
		require.True(t, k.AllowAt("a", t0))
		require.True(t, k.armed.Load())
		time.Sleep(3 * time.Hour)
		synctest.Wait()
		require.False(t, k.armed.Load())
		require.True(t, k.AllowAt("b", t0))
		require.True(t, k.armed.Load())
		k.Stop()
		time.Sleep(time.Hour)
		synctest.Wait()
		require.False(t, k.armed.Load(), "stopped")
	})
}
