package botapi

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of [Transport].
const (
	// DefaultTransportIdleTimeout is how long an idle connection of a
	// [Transport] is kept when IdleConnTimeout is zero.
	DefaultTransportIdleTimeout = 30 * time.Second
)

// idleCheckAfter is how long a connection must have been idle before
// getIdle asks the kernel whether the server has closed it (one extra system
// call). A connection reused sooner skips the check; see the Transport doc,
// "Connection reuse and retries", for what that trades.
const idleCheckAfter = 100 * time.Millisecond

// aLongTimeAgo is a deadline in the past: setting it makes pending and
// future I/O on a connection fail at once.
var aLongTimeAgo = time.Unix(1, 0)

// Transport is an [http.RoundTripper] for HTTP/1.1 keep-alive connections
// over TCP and TLS that writes each request and reads its response on the
// calling goroutine, without the per-connection reader and writer goroutines
// of [http.Transport]. On a small, busy machine this makes a Bot API round
// trip markedly cheaper in CPU.
//
// It is the default: a [Client] made without [WithHTTPClient] sends through
// a Transport shared by all such clients (unless the program has replaced
// [http.DefaultTransport] with its own RoundTripper, which is then used). To
// combine it with settings of your own, give it in an http.Client:
//
//	botapi.New(token, botapi.WithHTTPClient(&http.Client{Transport: &botapi.Transport{}}))
//
// The zero value is ready to use; the fields must not change after first use.
// A Transport is safe for concurrent use by multiple goroutines.
//
// # Wire format
//
// A request with a body of known length (or none) is framed by the
// Transport itself, head and body in one write; others (a streamed upload of
// unknown length, sent chunked) go through [http.Request.Write]. Header field
// names must be tokens and values free of control characters, or the
// request fails naming the field only. Answers are read as HTTP/1.0 or
// HTTP/1.1: a status line and header fields of at most [MaxResponseHeadSize]
// bytes in all, then a body framed by Content-Length, by the chunked coding
// (chunk extensions and trailer fields are dropped; Response.Trailer stays
// nil), or by the end of the connection. A malformed answer (a bad status
// line, header field or chunk size, conflicting Content-Length values, an
// unknown transfer coding, obsolete line folding) fails with an error
// matching [ErrResponseHead]. Informational (1xx) answers are skipped; HEAD,
// 204 and 304 answers have no body. When the server breaks the connection
// while the request is being written, an answer it sent first (a 413 to an
// upload too large) is returned instead of the write error.
//
// # Delegation
//
// Requests it does not handle are sent through a clone of
// [http.DefaultTransport] (built on first need, with the same TLS config,
// dialer and idle limits): when [http.ProxyFromEnvironment] gives a proxy for
// the request (or the Proxy field's function does), when the scheme is not
// http or https, for CONNECT requests, protocol upgrades and requests with
// "Expect: 100-continue". No HTTP/2 is spoken: TLS connections offer only
// HTTP/1.1. Responses are not transparently decompressed (no
// Accept-Encoding is added).
//
// # Connection reuse and retries
//
// A connection returns to the idle pool of its host only after the response
// body was read to EOF with nothing left over and the response did not ask to
// close; closing the body before EOF, an error, or a cancelled context closes
// the connection. An idle connection is dropped once it has been idle for
// longer than IdleConnTimeout. One that has been idle for 100 ms or more is
// also checked (on Unix, one non-blocking peek at the socket) and dropped if
// the server has closed it or sent unexpected data; one reused sooner is not,
// which saves a system call per request on a busy connection. The trade-off:
// if a server closes a connection without "Connection: close" less than
// 100 ms after its last answer (a restart, not an idle timeout, which is far
// longer), the next request on it finds the connection closed before any
// answer, and the retry rule below decides.
//
// A request on a reused connection is retried once on a new connection, as
// [http.Transport] does, when (a) writing it failed before any byte reached
// the connection and its body can be replayed (no body, or req.GetBody set),
// or (b) the connection ended (EOF, or on Unix a reset) before any byte of
// the status line arrived and the request is replayable in net/http's sense:
// body replayable and method GET, HEAD, OPTIONS or TRACE, or an
// Idempotency-Key or X-Idempotency-Key header. So a POST such as sendMessage
// is never sent twice by the Transport once it may have reached the server;
// the [RetryPolicy] of the [Client] decides above it (it retries such a
// failure only for methods that are safe to repeat, or with RetryUnsafe).
//
// # Context
//
// The deadline and cancellation of the request's context bound the dial, the
// write, the response header and the body reads; the error then wraps
// ctx.Err(). A connection used by a cancelled request is never reused.
type Transport struct {
	// Proxy picks the proxy of a request, as [http.Transport.Proxy] does;
	// requests that get one are delegated (see Delegation). nil means
	// [http.ProxyFromEnvironment].
	Proxy func(*http.Request) (*url.URL, error)

	// DialContext dials TCP connections. nil means a net.Dialer with a 30 s
	// timeout and 30 s keep-alive.
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)

	// TLSClientConfig configures TLS for https requests; it is cloned, and
	// its ServerName set to the request's host when empty. nil means the
	// default configuration.
	TLSClientConfig *tls.Config

	// MaxIdleConnsPerHost bounds the idle connections kept per host. Zero
	// means DefaultMaxIdleConnsPerHost; a negative value disables reuse.
	MaxIdleConnsPerHost int

	// IdleConnTimeout is how long an idle connection is kept. Zero means
	// DefaultTransportIdleTimeout.
	IdleConnTimeout time.Duration

	mu   sync.Mutex
	idle map[string][]*persistConn // host key → idle connections, oldest first

	fallback http.RoundTripper // guarded by mu

	lastKey atomic.Pointer[hostKey]
}

// persistConn is one connection with its buffers.
type persistConn struct {
	t        *Transport
	key      string
	raw      net.Conn // the TCP connection, under TLS for https
	conn     net.Conn // raw or the tls.Conn over it
	tlsState *tls.ConnectionState
	br       *bufio.Reader
	bw       *bufio.Writer
	cw       countingWriter
	lr       io.LimitedReader // writeRequest's body reader, kept to save an allocation
	sc       wireScratch
	idleAt   time.Time
	deadline bool // a deadline is set on conn
}

// countingWriter counts the bytes that reached the connection and keeps the
// error of a failed write.
type countingWriter struct {
	w   net.Conn
	n   int64
	err error
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	if err != nil {
		c.err = err
	}
	return n, err
}

// RoundTrip implements [http.RoundTripper].
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	return t.roundTrip(req.Context(), req)
}

// roundTrip is RoundTrip with the context given apart, so that the [Client]
// can send a request it built without one (saving a copy of the request).
func (t *Transport) roundTrip(ctx context.Context, req *http.Request) (*http.Response, error) {
	if req.URL == nil {
		closeBody(req)
		return nil, errors.New("botapi: transport: nil request URL")
	}
	if !t.handles(req) {
		return t.fallbackTransport().RoundTrip(withContext(ctx, req))
	}
	proxyFn := t.Proxy
	if proxyFn == nil {
		proxyFn = http.ProxyFromEnvironment
	}
	if proxy, err := proxyFn(req); err != nil || proxy != nil {
		return t.fallbackTransport().RoundTrip(withContext(ctx, req))
	}
	if err := ctx.Err(); err != nil {
		closeBody(req)
		return nil, err
	}
	key := t.hostKey(req)
	pc, reused := t.getIdle(key)
	if pc == nil {
		var err error
		if pc, err = t.dial(ctx, req, key); err != nil {
			closeBody(req)
			return nil, err
		}
	}
	resp, retry, err := t.exchange(ctx, pc, req, reused)
	if err == nil || !retry {
		return resp, err
	}
	// One retry on a fresh connection (see the type's doc).
	if req.Body != nil && req.Body != http.NoBody {
		body, gerr := req.GetBody()
		if gerr != nil {
			return nil, err
		}
		r2 := *req
		r2.Body = body
		req = &r2
	}
	if pc, err = t.dial(ctx, req, key); err != nil {
		closeBody(req)
		return nil, err
	}
	resp, _, err = t.exchange(ctx, pc, req, false)
	return resp, err
}

// withContext returns req with ctx, copying req only when its context
// differs.
func withContext(ctx context.Context, req *http.Request) *http.Request {
	if req.Context() == ctx {
		return req
	}
	return req.WithContext(ctx)
}

// hostKey is the idle pool key of req: scheme://host:port. The key of the
// last host asked for is kept, so a client talking to one server builds it
// once.
func (t *Transport) hostKey(req *http.Request) string {
	if k := t.lastKey.Load(); k != nil && k.scheme == req.URL.Scheme && k.host == req.URL.Host {
		return k.key
	}
	k := &hostKey{scheme: req.URL.Scheme, host: req.URL.Host, key: req.URL.Scheme + "://" + canonicalAddr(req)}
	t.lastKey.Store(k)
	return k.key
}

// hostKey caches the pool key of one scheme and URL host.
type hostKey struct{ scheme, host, key string }

// handles reports whether the request is one the Transport sends itself.
func (t *Transport) handles(req *http.Request) bool {
	if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
		return false
	}
	if req.Method == http.MethodConnect || req.URL.Host == "" {
		return false
	}
	if req.Header.Get("Upgrade") != "" || strings.EqualFold(req.Header.Get("Expect"), "100-continue") {
		return false
	}
	return true
}

// fallbackTransport returns the delegate for requests the Transport does not
// handle.
func (t *Transport) fallbackTransport() http.RoundTripper {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.fallback != nil {
		return t.fallback
	}
	dt, ok := http.DefaultTransport.(*http.Transport)
	if !ok {
		t.fallback = http.DefaultTransport
	} else {
		dt = dt.Clone()
		if t.TLSClientConfig != nil {
			dt.TLSClientConfig = t.TLSClientConfig.Clone()
		}
		if t.Proxy != nil {
			dt.Proxy = t.Proxy
		}
		if t.DialContext != nil {
			dt.DialContext = t.DialContext
		}
		dt.MaxIdleConnsPerHost = t.maxIdle()
		if dt.MaxIdleConnsPerHost < 0 {
			dt.DisableKeepAlives = true
		}
		dt.IdleConnTimeout = t.idleTimeout()
		t.fallback = dt
	}
	return t.fallback
}

func (t *Transport) maxIdle() int {
	if t.MaxIdleConnsPerHost == 0 {
		return DefaultMaxIdleConnsPerHost
	}
	return t.MaxIdleConnsPerHost
}

func (t *Transport) idleTimeout() time.Duration {
	if t.IdleConnTimeout <= 0 {
		return DefaultTransportIdleTimeout
	}
	return t.IdleConnTimeout
}

// CloseIdleConnections closes the idle connections of the Transport and of
// its delegate; [http.Client.CloseIdleConnections] calls it.
func (t *Transport) CloseIdleConnections() {
	t.mu.Lock()
	idle, fb := t.idle, t.fallback
	t.idle = nil
	t.mu.Unlock()
	for _, pcs := range idle {
		for _, pc := range pcs {
			pc.conn.Close()
		}
	}
	if ci, ok := fb.(interface{ CloseIdleConnections() }); ok {
		ci.CloseIdleConnections()
	}
}

// canonicalAddr is host:port of the request URL, with the scheme's default
// port.
func canonicalAddr(req *http.Request) string {
	host, port := req.URL.Hostname(), req.URL.Port()
	if port == "" {
		port = "80"
		if req.URL.Scheme == "https" {
			port = "443"
		}
	}
	return net.JoinHostPort(host, port)
}

// getIdle takes the newest live idle connection for key, closing stale ones.
func (t *Transport) getIdle(key string) (*persistConn, bool) {
	now := time.Now()
	timeout := t.idleTimeout()
	for {
		t.mu.Lock()
		pcs := t.idle[key]
		if len(pcs) == 0 {
			t.mu.Unlock()
			return nil, false
		}
		pc := pcs[len(pcs)-1]
		pcs[len(pcs)-1] = nil
		t.idle[key] = pcs[:len(pcs)-1]
		t.mu.Unlock()
		idle := now.Sub(pc.idleAt)
		if idle > timeout || idle >= idleCheckAfter && !connAlive(pc.raw) {
			pc.conn.Close()
			continue
		}
		return pc, true
	}
}

// putIdle returns pc to the pool, or closes it if the pool is full.
func (t *Transport) putIdle(pc *persistConn) {
	limit := t.maxIdle()
	pc.idleAt = time.Now()
	t.mu.Lock()
	if limit > 0 && len(t.idle[pc.key]) < limit {
		if t.idle == nil {
			t.idle = make(map[string][]*persistConn)
		}
		t.idle[pc.key] = append(t.idle[pc.key], pc)
		t.mu.Unlock()
		return
	}
	t.mu.Unlock()
	pc.conn.Close()
}

// dial opens a new connection for req.
func (t *Transport) dial(ctx context.Context, req *http.Request, key string) (*persistConn, error) {
	dial := t.DialContext
	if dial == nil {
		d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
		dial = d.DialContext
	}
	addr := canonicalAddr(req)
	raw, err := dial(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	conn := raw
	if req.URL.Scheme == "https" {
		cfg := t.TLSClientConfig.Clone()
		if cfg == nil {
			cfg = &tls.Config{}
		}
		if cfg.ServerName == "" {
			cfg.ServerName = req.URL.Hostname()
		}
		cfg.NextProtos = []string{"http/1.1"}
		tc := tls.Client(raw, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			raw.Close()
			return nil, err
		}
		conn = tc
	}
	pc := &persistConn{t: t, key: key, raw: raw, conn: conn}
	if tc, ok := conn.(*tls.Conn); ok {
		st := tc.ConnectionState()
		pc.tlsState = &st
	}
	pc.cw.w = conn
	pc.br = bufio.NewReaderSize(conn, 4096)
	pc.bw = bufio.NewWriterSize(&pc.cw, 4096)
	return pc, nil
}

// exchange writes req on pc and reads the response header. retry reports that
// the request may be sent again on a new connection (see the type's doc).
func (t *Transport) exchange(ctx context.Context, pc *persistConn, req *http.Request, reused bool) (resp *http.Response, retry bool, err error) {
	if d, ok := ctx.Deadline(); ok {
		pc.conn.SetDeadline(d)
		pc.deadline = true
	} else if pc.deadline {
		pc.conn.SetDeadline(time.Time{})
		pc.deadline = false
	}
	var stop func() bool
	if ctx.Done() != nil { // context.Background has none: nothing to watch
		stop = context.AfterFunc(ctx, func() { pc.raw.SetDeadline(aLongTimeAgo) })
	}
	fail := func(err error) error {
		if stop != nil {
			stop()
		}
		pc.conn.Close()
		if cerr := ctx.Err(); cerr != nil {
			return fmt.Errorf("botapi: transport: %w (%v)", cerr, err)
		}
		return err
	}

	pc.cw.n, pc.cw.err = 0, nil
	var werr error
	if canFastWrite(req) {
		werr = writeRequest(pc.bw, req, &pc.lr) // closes req.Body
	} else {
		werr = req.Write(pc.bw) // chunked bodies and the unusual; closes req.Body
	}
	if werr == nil {
		werr = pc.bw.Flush()
	}
	if werr != nil && pc.cw.err != nil && pc.cw.n > 0 && ctx.Err() == nil {
		// The connection failed mid-request: the server may have answered
		// early (413 for an upload too large) and closed. Its answer, if it
		// is there in full, is the result, as with http.Transport. The
		// server has closed its end, so this read does not wait.
		if resp, err := t.readAnswer(ctx, pc, req, stop, false); err == nil {
			return resp, false, nil
		}
	}
	if werr != nil {
		nothingWritten := pc.cw.n == 0
		pc.bw.Reset(&pc.cw)
		retry = reused && nothingWritten && ctx.Err() == nil &&
			(req.Body == nil || req.Body == http.NoBody || req.GetBody != nil)
		return nil, retry, fail(werr)
	}

	// An EOF (or a reset) before the first byte of the answer is net/http's
	// errServerClosedIdle.
	if _, err := pc.br.Peek(1); err != nil {
		retry = reused && (err == io.EOF || isConnReset(err)) && ctx.Err() == nil && isReplayable(req)
		return nil, retry, fail(err)
	}
	resp, err = t.readAnswer(ctx, pc, req, stop, true)
	if err != nil {
		return nil, false, fail(err)
	}
	return resp, false, nil
}

// readAnswer reads the answer to req from pc: the head, skipping 1xx
// answers, and a body that releases pc (to the pool if reuse allows and the
// body is read to EOF). On error the caller closes pc.
func (t *Transport) readAnswer(ctx context.Context, pc *persistConn, req *http.Request, stop func() bool, reuse bool) (*http.Response, error) {
	var (
		resp *http.Response
		head responseHead
		err  error
	)
	for {
		resp = &http.Response{Request: req, TLS: pc.tlsState}
		if head, err = readResponseHead(pc.br, &pc.sc, req.Method, resp); err != nil {
			return nil, err
		}
		// Skip informational answers; 101 is never asked for.
		if resp.StatusCode >= 100 && resp.StatusCode < 200 && resp.StatusCode != http.StatusSwitchingProtocols {
			continue
		}
		break
	}
	if resp.StatusCode == http.StatusSwitchingProtocols {
		return nil, errors.New("botapi: transport: unexpected 101 Switching Protocols")
	}
	b := &transportBody{pc: pc, stop: stop, ctx: ctx, reuse: reuse && !resp.Close && !req.Close,
		framing: head.framing, left: head.length}
	if head.framing == framingNone {
		resp.Body = http.NoBody
		b.finish(true)
		return resp, nil
	}
	if head.framing == framingChunked {
		b.chunked = chunkedReader{br: pc.br, sc: &pc.sc}
	}
	resp.Body = b
	return resp, nil
}

// isReplayable mirrors net/http's rule for retrying a request after a reused
// connection ended without an answer.
func isReplayable(req *http.Request) bool {
	if req.Body != nil && req.Body != http.NoBody && req.GetBody == nil {
		return false
	}
	switch req.Method {
	case "", http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return true
	}
	_, k1 := req.Header["Idempotency-Key"]
	_, k2 := req.Header["X-Idempotency-Key"]
	return k1 || k2
}

// transportBody is the response body: it reads the body's framing from the
// connection, returns the connection to the pool at EOF and closes it
// otherwise.
type transportBody struct {
	pc      *persistConn
	stop    func() bool // nil when the context cannot be cancelled
	ctx     context.Context
	reuse   bool
	framing bodyFraming
	left    int64 // framingLength: bytes left
	chunked chunkedReader

	mu   sync.Mutex // held by Read across the read, and by Close
	done bool
	eof  bool

	// own guards the hand-back of the connection against a Close that
	// aborts a Read in progress: Close sets aborted (and a past read
	// deadline) only while the body still owns the connection, and finish
	// then closes it instead of pooling it.
	own      sync.Mutex
	released bool
	aborted  bool
}

func (b *transportBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.eof {
		return 0, io.EOF
	}
	if b.done {
		return 0, errors.New("botapi: transport: read on closed response body")
	}
	if len(p) == 0 {
		return 0, nil
	}
	var (
		n   int
		err error
	)
	switch b.framing {
	case framingLength:
		if int64(len(p)) > b.left {
			p = p[:b.left]
		}
		n, err = b.pc.br.Read(p)
		b.left -= int64(n)
		if b.left == 0 {
			err = io.EOF
		} else if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
	case framingChunked:
		n, err = b.chunked.Read(p)
	default: // framingClose
		n, err = b.pc.br.Read(p)
	}
	switch {
	case err == io.EOF:
		b.eof = true
		b.finish(true)
	case err != nil:
		b.finish(false)
		if cerr := b.ctx.Err(); cerr != nil {
			err = fmt.Errorf("botapi: transport: %w (%v)", cerr, err)
		}
	}
	return n, err
}

// Close releases the connection. A Read blocked on the network at the
// time is aborted (it returns an error), as with [http.Transport]'s
// bodies, rather than Close waiting for it.
func (b *transportBody) Close() error {
	if !b.mu.TryLock() {
		b.own.Lock()
		if !b.released {
			b.aborted = true
			b.pc.conn.SetReadDeadline(aLongTimeAgo)
		}
		b.own.Unlock()
		b.mu.Lock()
	}
	defer b.mu.Unlock()
	if !b.done {
		b.finish(false)
	}
	return nil
}

// finish releases the connection: to the pool if atEOF and reusable, else
// closed. Called once, with b.mu held (or before b is shared).
func (b *transportBody) finish(atEOF bool) {
	b.done = true
	pc := b.pc
	b.own.Lock()
	defer b.own.Unlock()
	b.released = true
	if b.aborted {
		pc.conn.Close()
		return
	}
	// stop reports false if the context already fired and set a past
	// deadline: the connection is then not reused.
	stopped := b.stop == nil || b.stop()
	if !stopped || !atEOF || !b.reuse || b.framing == framingClose || pc.br.Buffered() > 0 || pc.t.maxIdle() < 0 {
		pc.conn.Close()
		return
	}
	if pc.deadline {
		if err := pc.conn.SetDeadline(time.Time{}); err != nil {
			pc.conn.Close()
			return
		}
		pc.deadline = false
	}
	pc.t.putIdle(pc)
}

// closeBody closes the body of a request the Transport will not send, as a
// RoundTripper must.
func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}
