package ratelimit

import (
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/miniappkit/miniappkit/initdata"
	"github.com/miniappkit/miniappkit/problem"
)

// A KeyFunc names the client of a request: it appends the key to dst and
// returns the result, or returns dst unchanged (empty) when it cannot name
// the client. It must not keep dst. Appending to a buffer the middleware
// reuses is what keeps a request's decision free of allocations.
type KeyFunc func(dst []byte, r *http.Request) []byte

// keyBufSize is the capacity of the buffers the middleware hands to a
// KeyFunc; a longer key is appended to a fresh slice.
const keyBufSize = 64

var keyBufs = sync.Pool{New: func() any { return new([keyBufSize]byte) }}

// Middleware limits requests per key with l. key names the request's
// client (see [KeyByIP] and [KeyByUser]).
//
// Every answer carries the IETF draft's RateLimit-Limit (the burst),
// RateLimit-Remaining (requests the client may still make at once) and
// RateLimit-Reset (seconds until its bucket is full again) headers. A
// request over its key's limit never reaches next: it is answered by the
// deny handler ([WithDenyHandler]), by default 429 Too Many Requests with
// an RFC 9457 problem+json body, after Retry-After (whole seconds, at
// least 1) has been set. A request the key function cannot name (an
// empty key) is refused with 403 Forbidden: it must neither share one
// bucket with every other unnamed request nor pass unlimited.
//
// With the default clock a request's decision allocates nothing for a key
// of up to 64 bytes while the header values (the burst, the remaining
// count, the seconds until the bucket is full) are under 1024; each larger
// value costs two small allocations (an hourly limit's RateLimit-Reset
// past 1024 s, for one).
//
// Of the options only [WithDenyHandler] applies. Panics if l or key is
// nil (a programming error, found at startup).
func Middleware(l *Keyed, key KeyFunc, opts ...Option) func(http.Handler) http.Handler {
	if l == nil || key == nil {
		panic("ratelimit: Middleware needs a limiter and a key function")
	}
	o := newOptions(opts)
	deny := o.deny
	if deny == nil {
		deny = http.HandlerFunc(tooMany)
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			buf := keyBufs.Get().(*[keyBufSize]byte)
			k := key(buf[:0], r)
			if len(k) == 0 {
				keyBufs.Put(buf)
				problem.Error(w, http.StatusForbidden, "the client could not be identified")
				return
			}
			sk := l.skeyOfBytes(k)
			d := l.decideKey(&sk, l.nowNS())
			keyBufs.Put(buf)
			h := w.Header()
			h["Ratelimit-Limit"] = intValue(int64(d.Limit))
			h["Ratelimit-Remaining"] = intValue(int64(d.Remaining))
			h["Ratelimit-Reset"] = intValue(seconds(d.Reset, 0))
			if d.Allowed {
				next.ServeHTTP(w, r)
				return
			}
			h["Retry-After"] = intValue(seconds(d.RetryAfter, 1))
			deny.ServeHTTP(w, r)
		})
	}
}

// WithDenyHandler sets the handler that answers a request over its limit
// in [Middleware]; the RateLimit and Retry-After headers are set when it
// runs. The default answers 429 with an RFC 9457 problem+json body.
func WithDenyHandler(h http.Handler) Option {
	return func(o *options) { o.deny = h }
}

// seconds rounds d up to whole seconds, at least lo, at most MaxInt32.
func seconds(d time.Duration, lo int64) int64 {
	const most = 1<<31 - 1
	if d >= most*time.Second {
		return most
	}
	return max(int64((d+time.Second-1)/time.Second), lo)
}

// headerInts holds header values for small numbers, so a response's
// headers are set without an allocation. The net/http server only reads
// header values; a handler that replaces a header with Set leaves these
// untouched.
var headerInts = func() [1024][]string {
	var v [1024][]string
	for i := range v {
		v[i] = []string{strconv.Itoa(i)}
	}
	return v
}()

func intValue(n int64) []string {
	if n >= 0 && n < int64(len(headerInts)) {
		return headerInts[n][:1:1]
	}
	return []string{strconv.FormatInt(n, 10)}
}

// tooMany is the default deny handler: 429 as RFC 9457 problem+json.
func tooMany(w http.ResponseWriter, _ *http.Request) {
	problem.Error(w, http.StatusTooManyRequests, "rate limit exceeded; retry after the time in Retry-After")
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
// own claims). Entries may carry a port ("198.51.100.9:5555",
// "[2001:db8::1]:443"); it is ignored. A malformed entry ends the walk
// there: the key is then that hop's peer, never an address the client
// chose.
//
// A peer on a unix socket (a proxy on the same host) counts as loopback:
// trust 127.0.0.0/8 or ::1/128 to read its X-Forwarded-For. It fails
// closed: a request whose client it cannot name (an untrusted unix
// socket, an unparsable peer) gets no key, and [Middleware] refuses it.
// Addresses are compared unmapped: a trusted prefix may be written either
// way ("10.0.0.0/8" or "::ffff:10.0.0.0/104"). KeyByIP panics on a prefix
// that is not valid.
func KeyByIP(trusted ...netip.Prefix) KeyFunc {
	trust := make([]netip.Prefix, 0, len(trusted))
	for _, p := range trusted {
		trust = append(trust, unmapPrefix(p))
	}
	isTrusted := func(a netip.Addr) bool {
		for _, p := range trust {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}
	return func(dst []byte, r *http.Request) []byte {
		peer, ok := parseAddr(r.RemoteAddr, true)
		if !ok {
			if !unixPeer(r.RemoteAddr) {
				return dst
			}
			switch {
			case isTrusted(loopback4):
				peer = loopback4
			case isTrusted(loopback6):
				peer = loopback6
			default:
				return dst
			}
		}
		if len(trust) == 0 || !isTrusted(peer) {
			return appendIPKey(dst, peer)
		}
		return appendIPKey(dst, walkForwarded(r.Header.Values("X-Forwarded-For"), peer, isTrusted))
	}
}

// unmapPrefix returns p with an IPv4-mapped IPv6 prefix of /96 or longer
// ("::ffff:10.0.0.0/104") as the IPv4 prefix it covers ("10.0.0.0/8"),
// since addresses are compared unmapped. It panics on a prefix that is not
// valid (the zero Prefix of a parse whose error was dropped): trusting
// nothing by mistake would give every client behind the proxy one key.
func unmapPrefix(p netip.Prefix) netip.Prefix {
	if !p.IsValid() {
		panic("ratelimit: KeyByIP given an invalid prefix " + strconv.Quote(p.String()))
	}
	if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
		return netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p
}

var (
	loopback4 = netip.AddrFrom4([4]byte{127, 0, 0, 1})
	loopback6 = netip.IPv6Loopback()
)

// unixPeer reports whether a RemoteAddr is a unix socket's: net/http
// gives the peer's socket name, "" or "@" when unnamed (as a client's
// socket usually is), a path or "@name" (Linux abstract) otherwise.
func unixPeer(s string) bool {
	return s == "" || s[0] == '@' || s[0] == '/'
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
			a, ok := parseAddr(strings.TrimSpace(entry), true)
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

// parseAddr parses an IP address, with a port when withPort allows one
// ("1.2.3.4:80", "[2001:db8::1]:443"), unmapping IPv4-in-IPv6 and dropping
// any zone.
func parseAddr(s string, withPort bool) (netip.Addr, bool) {
	if s == "" || len(s) > 64 {
		return netip.Addr{}, false
	}
	if withPort && (s[0] == '[' || strings.Count(s, ":") == 1) {
		// host:port (tried first: a failed parse allocates its error).
		if ap, err := netip.ParseAddrPort(s); err == nil {
			return ap.Addr().Unmap().WithZone(""), true
		}
		if s[0] == '[' && s[len(s)-1] == ']' {
			s = s[1 : len(s)-1]
		}
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap().WithZone(""), true
}

// appendIPKey appends the key of a: the address for IPv4, the /64 for
// IPv6.
func appendIPKey(dst []byte, a netip.Addr) []byte {
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.AppendTo(dst)
	}
	return a.AppendTo(dst)
}

// KeyByUser returns a key function naming a request by the Telegram user
// id of its validated initData, as put in the request's context by
// initdata.Middleware (so mount this limiter inside it). Requests without a
// user get fallback's key (for example [KeyByIP]), or none when fallback
// is nil (and [Middleware] refuses them). User keys ("user:<id>") never
// collide with IP keys.
func KeyByUser(fallback KeyFunc) KeyFunc {
	return func(dst []byte, r *http.Request) []byte {
		if d, ok := initdata.FromContext(r.Context()); ok && d.User != nil {
			return strconv.AppendInt(append(dst, "user:"...), d.User.ID, 10)
		}
		if fallback != nil {
			return fallback(dst, r)
		}
		return dst
	}
}
