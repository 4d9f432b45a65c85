package botapi

import (
	"net/http"
	"sync"
	"time"
)

// Settings of the default HTTP transport, a clone of [http.DefaultTransport]
// tuned for talking to one host (see [WithHTTPClient]).
const (
	// DefaultMaxIdleConnsPerHost is how many idle connections to the Bot
	// API server the default transport keeps (net/http's default is 2). It
	// is at least the concurrency a bot reaches: a webhook delivers at most
	// 100 updates at once (max_connections), and Telegram's 30 messages per
	// second at a few hundred milliseconds each keep about ten calls in
	// flight.
	DefaultMaxIdleConnsPerHost = 100
	// DefaultTLSHandshakeTimeout bounds a TLS handshake, so a server that
	// accepts the connection and stays silent fails the call even when its
	// context has no deadline.
	DefaultTLSHandshakeTimeout = 10 * time.Second
	// DefaultResponseHeaderTimeout bounds the wait for an answer's head
	// once the request is written: the longest long poll Telegram holds
	// ([MaxPollTimeout]) plus [PollMargin].
	DefaultResponseHeaderTimeout = MaxPollTimeout + PollMargin
)

// defaultRoundTripper is the transport of the clients made without
// WithHTTPClient, shared by all of them so they share one connection pool:
// a clone of http.DefaultTransport (its proxy, dialer and TLS settings,
// taken when the first client is made) with the settings above. If the
// program has replaced http.DefaultTransport with a RoundTripper of its own,
// that one is used as it is.
var defaultRoundTripper = sync.OnceValue(func() http.RoundTripper {
	dt, ok := http.DefaultTransport.(*http.Transport)
	if !ok {
		return http.DefaultTransport
	}
	t := dt.Clone()
	t.ForceAttemptHTTP2 = true
	t.MaxIdleConns = max(t.MaxIdleConns, DefaultMaxIdleConnsPerHost)
	t.MaxIdleConnsPerHost = DefaultMaxIdleConnsPerHost
	if t.TLSHandshakeTimeout == 0 {
		t.TLSHandshakeTimeout = DefaultTLSHandshakeTimeout
	}
	t.ResponseHeaderTimeout = DefaultResponseHeaderTimeout
	return t
})
