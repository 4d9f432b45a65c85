package ratelimit

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miniappkit/miniappkit/initdata"
	"github.com/stretchr/testify/require"
)

func TestKeyByIP(t *testing.T) {
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}
	for _, tc := range []struct {
		name    string
		trusted []netip.Prefix
		remote  string
		xff     []string
		want    string
	}{
		{"peer v4", nil, "203.0.113.7:5555", nil, "203.0.113.7"},
		{"header ignored without trust", nil, "203.0.113.7:5555", []string{"1.2.3.4"}, "203.0.113.7"},
		{"header ignored from untrusted peer", proxies, "203.0.113.7:5555", []string{"1.2.3.4"}, "203.0.113.7"},
		{"trusted proxy", proxies, "10.1.2.3:80", []string{"198.51.100.9"}, "198.51.100.9"},
		{"rightmost untrusted", proxies, "10.1.2.3:80", []string{"6.6.6.6, 198.51.100.9, 10.9.9.9"}, "198.51.100.9"},
		{"several header lines", proxies, "10.1.2.3:80", []string{"6.6.6.6", "198.51.100.9"}, "198.51.100.9"},
		{"malformed stops at the hop", proxies, "10.1.2.3:80", []string{"6.6.6.6, garbage, 10.9.9.9"}, "10.9.9.9"},
		{"all trusted", proxies, "10.1.2.3:80", []string{"10.4.4.4"}, "10.4.4.4"},
		{"v6 keyed by /64", nil, "[2001:db8:1:2:3:4:5:6]:443", nil, "2001:db8:1:2::/64"},
		{"v4-mapped v6", nil, "[::ffff:203.0.113.7]:443", nil, "203.0.113.7"},
		{"zone dropped", nil, "[fe80::1%eth0]:443", nil, "fe80::/64"},
		{"bad peer fails closed", proxies, "nonsense", []string{"1.2.3.4"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.RemoteAddr = tc.remote
			for _, v := range tc.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			require.Equal(t, tc.want, keyOf(KeyByIP(tc.trusted...), r))
		})
	}
}

// keyOf runs a key function on r.
func keyOf(f KeyFunc, r *http.Request) string { return string(f(nil, r)) }

func TestKeyByUser(t *testing.T) {
	key := KeyByUser(KeyByIP())
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.RemoteAddr = "203.0.113.7:1"
	require.Equal(t, "203.0.113.7", keyOf(key, r))
	r = r.WithContext(initdata.NewContext(r.Context(), initdata.InitData{User: &initdata.User{ID: 777}}))
	require.Equal(t, "user:777", keyOf(key, r))
	require.Equal(t, "", keyOf(KeyByUser(nil), httptest.NewRequest(http.MethodGet, "/", nil)))
}

func TestMiddleware(t *testing.T) {
	now := t0
	k := NewKeyed(0.5, 1, WithClock(func() time.Time { return now })) // one per 2 s
	h := Middleware(k, KeyByIP())(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))
	do := func(remote string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = remote
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	require.Equal(t, http.StatusNoContent, do("1.1.1.1:1").Code)
	w := do("1.1.1.1:3")
	require.Equal(t, http.StatusTooManyRequests, w.Code)
	require.Equal(t, "2", w.Header().Get("Retry-After"))
	require.Equal(t, http.StatusNoContent, do("2.2.2.2:1").Code, "other clients unaffected")
	now = now.Add(1500 * time.Millisecond)
	require.Equal(t, "1", do("1.1.1.1:3").Header().Get("Retry-After"), "rounded up")
	now = now.Add(500 * time.Millisecond)
	require.Equal(t, http.StatusNoContent, do("1.1.1.1:3").Code)
	require.Panics(t, func() { Middleware(nil, KeyByIP()) })
}

// FuzzKeyByIP checks the forwarding-header walk on arbitrary input: no
// panic, the key is "" or an address/prefix, and without trusted proxies
// the header never matters. Run: go test -run '^$' -fuzz FuzzKeyByIP ./ratelimit
func FuzzKeyByIP(f *testing.F) {
	f.Add("10.1.2.3:80", "6.6.6.6, 198.51.100.9, 10.9.9.9")
	f.Add("[fd00::1]:80", "[2001:db8::1]:99, fd00::2")
	f.Add("10.0.0.1:1", ",,, ,")
	f.Add("nonsense", "1.2.3.4")
	trusted := KeyByIP(netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8"))
	plain := KeyByIP()
	f.Fuzz(func(t *testing.T, remote, xff string) {
		if len(remote)+len(xff) > 4096 {
			return
		}
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = remote
		r.Header.Set("X-Forwarded-For", xff)
		k := keyOf(trusted, r)
		if k != "" {
			if _, err := netip.ParseAddr(k); err != nil {
				_, err := netip.ParsePrefix(k)
				require.NoError(t, err, "key %q", k)
			}
		}
		p1 := keyOf(plain, r)
		r.Header.Del("X-Forwarded-For")
		require.Equal(t, p1, keyOf(plain, r))
	})
}

func TestMiddlewareHeadersAndDeny(t *testing.T) {
	now := t0
	k := NewKeyed(2, 3, WithClock(func() time.Time { return now })) // 2/s, burst 3
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	do := func(h http.Handler, remote string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = remote
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	h := Middleware(k, KeyByIP())(ok)
	for i, want := range []string{"2", "1", "0"} {
		w := do(h, "1.1.1.1:1")
		require.Equal(t, http.StatusNoContent, w.Code, i)
		require.Equal(t, "3", w.Header().Get("RateLimit-Limit"))
		require.Equal(t, want, w.Header().Get("RateLimit-Remaining"))
		require.Equal(t, strconv.Itoa((i+2)/2), w.Header().Get("RateLimit-Reset"), "seconds until the bucket is full, rounded up")
	}
	w := do(h, "1.1.1.1:1")
	require.Equal(t, http.StatusTooManyRequests, w.Code)
	require.Equal(t, "application/problem+json", w.Header().Get("Content-Type"))
	require.JSONEq(t, `{"type":"about:blank","title":"Too Many Requests","status":429,"detail":"rate limit exceeded; retry after the time in Retry-After"}`, w.Body.String())
	require.Equal(t, "1", w.Header().Get("Retry-After"))
	require.Equal(t, "0", w.Header().Get("RateLimit-Remaining"))

	var denied int
	custom := Middleware(k, KeyByIP(), WithDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		denied++
		require.Equal(t, "1", w.Header().Get("Retry-After"), "headers are set when the deny handler runs")
		w.WriteHeader(http.StatusServiceUnavailable)
	})))(ok)
	require.Equal(t, http.StatusServiceUnavailable, do(custom, "1.1.1.1:1").Code)
	require.Equal(t, 1, denied)

	w = do(h, "@")
	require.Equal(t, http.StatusForbidden, w.Code, "a client with no key is refused")
	require.Equal(t, "application/problem+json", w.Header().Get("Content-Type"))
}

// TestMiddlewareAllocsLongKey: a key up to the middleware's buffer (64
// bytes, as a KeyFunc of a route and a user id makes) is decided without
// an allocation, like a short one. Before the fix a key of 33 to 64 bytes
// cost one: the decision took it as a string converted from the buffer,
// which Go copies to the heap past 32 bytes.
func TestMiddlewareAllocsLongKey(t *testing.T) {
	for _, n := range []int{1, 32, 33, keyBufSize} {
		key := []byte(strings.Repeat("k", n))
		k := NewKeyed(1, 1000) // every request allowed, the key stays live
		h := Middleware(k, func(dst []byte, _ *http.Request) []byte { return append(dst, key...) })(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		require.Zero(t, testing.AllocsPerRun(100, func() { h.ServeHTTP(w, r) }), "key of %d bytes", n)
	}
	// The middleware's key and the same key given as a string are one.
	for _, n := range []int{33, maxKeyLen + 1} {
		key := []byte(strings.Repeat("k", n))
		k := NewKeyed(1, 2)
		h := Middleware(k, func(dst []byte, _ *http.Request) []byte { return append(dst, key...) })(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
		require.True(t, k.Allow(string(key)))
		require.False(t, k.Allow(string(key)), "key of %d bytes: the burst of 2 spent", n)
		require.Equal(t, 1, k.Len())
	}
}

// TestKeyByIPTrustedMappedPrefix: a trusted prefix written in its
// IPv4-mapped IPv6 form (as a dual-stack listener reports the peers,
// "::ffff:10.0.0.0/104") trusts the same proxies as "10.0.0.0/8": the
// peers and entries are compared unmapped. Before the fix it matched
// nothing, so every client behind the proxy got the proxy's own key, one
// bucket for all ("expected: 198.51.100.9, actual: 10.1.2.3"). A prefix
// that is not valid (the zero netip.Prefix of an unchecked parse) panics
// at construction rather than silently trusting nothing.
func TestKeyByIPTrustedMappedPrefix(t *testing.T) {
	mapped := KeyByIP(netip.MustParsePrefix("::ffff:10.0.0.0/104"), netip.MustParsePrefix("::ffff:192.0.2.1/128"))
	for _, remote := range []string{"10.1.2.3:80", "[::ffff:10.1.2.3]:80", "192.0.2.1:80"} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = remote
		r.Header.Set("X-Forwarded-For", "198.51.100.9, 10.9.9.9")
		require.Equal(t, "198.51.100.9", keyOf(mapped, r), remote)
	}
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.RemoteAddr = "203.0.113.7:80"
	r.Header.Set("X-Forwarded-For", "198.51.100.9")
	require.Equal(t, "203.0.113.7", keyOf(mapped, r), "an untrusted peer")
	require.Panics(t, func() { KeyByIP(netip.Prefix{}) })
}
