package ratelimit

import (
	"math"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/miniappkit/miniappkit/initdata"
)

// Middleware limits requests per key with l: key names the request's
// client (see [KeyByIP] and [KeyByUser]); a request over its key's limit
// is answered 429 Too Many Requests with a Retry-After header (whole
// seconds, at least 1) and a short body, and never reaches next. All
// requests whose key is "" share one bucket.
//
// Panics if l or key is nil (a programming error, found at startup).
func Middleware(l *Keyed, key func(*http.Request) string) func(http.Handler) http.Handler {
	if l == nil || key == nil {
		panic("ratelimit: Middleware needs a limiter and a key function")
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			k := key(r)
			now := l.clock()
			if l.AllowAt(k, now) {
				next.ServeHTTP(w, r)
				return
			}
			d := l.DelayAt(k, now)
			secs := int64(math.MaxInt32)
			if d < math.MaxInt32*time.Second {
				secs = max(int64((d+time.Second-1)/time.Second), 1)
			}
			w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
			http.Error(w, "too many requests", http.StatusTooManyRequests)
		})
	}
}

// KeyByIP returns a key function naming a request by its client's IP
// address: an IPv4 address, or the /64 prefix of an IPv6 address (one
// client usually holds a whole /64).
//
// With no trusted prefixes it uses the connection's peer address
// (r.RemoteAddr) only, and ignores forwarding headers, which any client can
// set. Give the prefixes of your own reverse proxies to trust them: when the
// peer is in a trusted prefix, the client is the rightmost address of
// X-Forwarded-For that is not itself trusted (every hop appends the address
// it received from, so entries left of an untrusted one are the client's
// own claims). A malformed header entry ends the walk there: the key is
// then that hop's peer, never an address the client chose. It fails
// closed: a request without a parsable peer address gets the key "".
func KeyByIP(trusted ...netip.Prefix) func(*http.Request) string {
	trust := append([]netip.Prefix(nil), trusted...)
	isTrusted := func(a netip.Addr) bool {
		for _, p := range trust {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}
	return func(r *http.Request) string {
		peer, ok := parseAddr(r.RemoteAddr, true)
		if !ok {
			return ""
		}
		if len(trust) == 0 || !isTrusted(peer) {
			return ipKey(peer)
		}
		return ipKey(walkForwarded(r.Header.Values("X-Forwarded-For"), peer, isTrusted))
	}
}

// walkForwarded returns the rightmost untrusted address of the
// X-Forwarded-For values, starting from a trusted peer; a malformed entry
// stops the walk at the hop before it.
func walkForwarded(values []string, peer netip.Addr, trusted func(netip.Addr) bool) netip.Addr {
	client := peer
	for i := len(values) - 1; i >= 0; i-- {
		v := values[i]
		for v != "" {
			entry := v
			if j := strings.LastIndexByte(v, ','); j >= 0 {
				entry, v = v[j+1:], v[:j]
			} else {
				v = ""
			}
			a, ok := parseAddr(strings.TrimSpace(entry), false)
			if !ok {
				return client
			}
			client = a
			if !trusted(a) {
				return client
			}
		}
	}
	return client
}

// parseAddr parses an IP address, optionally with a port, unmapping
// IPv4-in-IPv6 and dropping any zone.
func parseAddr(s string, withPort bool) (netip.Addr, bool) {
	if s == "" || len(s) > 64 {
		return netip.Addr{}, false
	}
	if withPort {
		if h, _, err := net.SplitHostPort(s); err == nil {
			s = h
		}
	} else if strings.HasPrefix(s, "[") {
		if h, _, err := net.SplitHostPort(s); err == nil {
			s = h
		}
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap().WithZone(""), true
}

// ipKey is the key of a: the address for IPv4, the /64 for IPv6.
func ipKey(a netip.Addr) string {
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

// KeyByUser returns a key function naming a request by the Telegram user
// id of its validated initData, as put in the request's context by
// initdata.Middleware (so mount this limiter inside it). Requests without a
// user get fallback's key (for example [KeyByIP]), or "" when fallback is
// nil. User keys ("user:<id>") never collide with IP keys.
func KeyByUser(fallback func(*http.Request) string) func(*http.Request) string {
	return func(r *http.Request) string {
		if d, ok := initdata.FromContext(r.Context()); ok && d.User != nil {
			return "user:" + strconv.FormatInt(d.User.ID, 10)
		}
		if fallback != nil {
			return fallback(r)
		}
		return ""
	}
}
