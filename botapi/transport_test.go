package botapi

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// countedServer starts a server that counts the connections it accepts.
func countedServer(t *testing.T, h http.Handler, useTLS bool) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the failed handshake of TestTransportTLS
	if useTLS {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	return srv, &conns
}

// get sends a GET through hc and returns the body read to EOF.
func get(t *testing.T, hc *http.Client, u string) string {
	t.Helper()
	resp, err := hc.Get(u)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(b)
}

func echoHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		io.WriteString(w, r.Method+" "+r.URL.Path+" "+string(b))
	})
}

func TestTransportRoundTripAndReuse(t *testing.T) {
	srv, conns := countedServer(t, echoHandler(), false)
	tr := &Transport{}
	hc := &http.Client{Transport: tr}
	for range 5 {
		assert.Equal(t, "GET /a ", get(t, hc, srv.URL+"/a"))
		resp, err := hc.Post(srv.URL+"/b", "text/plain", strings.NewReader("hello"))
		require.NoError(t, err)
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
		assert.Equal(t, "POST /b hello", string(b))
	}
	assert.Equal(t, int32(1), conns.Load(), "one connection, reused")
	tr.CloseIdleConnections()
	assert.Equal(t, "GET /c ", get(t, hc, srv.URL+"/c"))
	assert.Equal(t, int32(2), conns.Load(), "idle connections were closed")
}

func TestTransportEmptyBodyReusesConn(t *testing.T) {
	srv, conns := countedServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}), false)
	hc := &http.Client{Transport: &Transport{}}
	for range 3 {
		resp, err := hc.Get(srv.URL)
		require.NoError(t, err)
		assert.Equal(t, http.StatusNoContent, resp.StatusCode)
		resp.Body.Close()
	}
	assert.Equal(t, int32(1), conns.Load())
}

func TestTransportServerClosedIdle(t *testing.T) {
	srv, conns := countedServer(t, echoHandler(), false)
	hc := &http.Client{Transport: &Transport{}}
	assert.Equal(t, "GET / ", get(t, hc, srv.URL))
	srv.CloseClientConnections()
	assert.Equal(t, "GET / ", get(t, hc, srv.URL))
	assert.Equal(t, int32(2), conns.Load())
}

func TestTransportBodyNotReadToEOFDropsConn(t *testing.T) {
	srv, conns := countedServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, strings.Repeat("x", 1000))
	}), false)
	hc := &http.Client{Transport: &Transport{}}
	resp, err := hc.Get(srv.URL)
	require.NoError(t, err)
	buf := make([]byte, 10)
	_, err = io.ReadFull(resp.Body, buf)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	assert.Len(t, get(t, hc, srv.URL), 1000)
	assert.Equal(t, int32(2), conns.Load(), "the half-read connection was not reused")
}

func TestTransportResponseCloseDropsConn(t *testing.T) {
	srv, conns := countedServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "close")
		io.WriteString(w, "bye")
	}), false)
	hc := &http.Client{Transport: &Transport{}}
	assert.Equal(t, "bye", get(t, hc, srv.URL))
	assert.Equal(t, "bye", get(t, hc, srv.URL))
	assert.Equal(t, int32(2), conns.Load())
}

func TestTransportCancelMidResponse(t *testing.T) {
	release := make(chan struct{})
	srv, conns := countedServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			io.WriteString(w, "partial")
			w.(http.Flusher).Flush()
			select {
			case <-release:
			case <-r.Context().Done():
			}
			return
		}
		io.WriteString(w, "fast")
	}), false)
	defer close(release)
	hc := &http.Client{Transport: &Transport{}}
	assert.Equal(t, "fast", get(t, hc, srv.URL))

	ctx, cancel := context.WithCancel(t.Context())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/slow", nil)
	require.NoError(t, err)
	resp, err := hc.Do(req)
	require.NoError(t, err)
	buf := make([]byte, len("partial"))
	_, err = io.ReadFull(resp.Body, buf)
	require.NoError(t, err)
	cancel()
	_, err = io.ReadAll(resp.Body) // returns once the cancel set the deadline
	require.ErrorIs(t, err, context.Canceled)
	resp.Body.Close()

	assert.Equal(t, "fast", get(t, hc, srv.URL))
	assert.Equal(t, int32(2), conns.Load(), "the cancelled request's connection was dropped")
}

func TestTransportCancelBeforeHeader(t *testing.T) {
	arrived := make(chan struct{})
	srv, _ := countedServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(arrived)
		<-r.Context().Done()
	}), false)
	hc := &http.Client{Transport: &Transport{}}
	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		<-arrived
		cancel()
	}()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	require.NoError(t, err)
	_, err = hc.Do(req)
	require.ErrorIs(t, err, context.Canceled)
}

func TestTransportTLS(t *testing.T) {
	srv, conns := countedServer(t, echoHandler(), true)
	base := srv.Client().Transport.(*http.Transport)
	hc := &http.Client{Transport: &Transport{TLSClientConfig: base.TLSClientConfig}}
	for range 3 {
		assert.Equal(t, "GET /tls ", get(t, hc, srv.URL+"/tls"))
	}
	assert.Equal(t, int32(1), conns.Load())

	// Without the test CA the handshake fails.
	_, err := (&http.Client{Transport: &Transport{}}).Get(srv.URL)
	require.Error(t, err)
}

// scriptedServer answers the first request on each connection and, on the
// connection's second request, closes it without answering.
func scriptedServer(t *testing.T) (addr string, conns *atomic.Int32) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	conns = new(atomic.Int32)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				req, err := http.ReadRequest(br)
				if err != nil {
					return
				}
				io.Copy(io.Discard, req.Body)
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
				if req, err = http.ReadRequest(br); err == nil {
					io.Copy(io.Discard, req.Body)
				}
			}()
		}
	}()
	return ln.Addr().String(), conns
}

func TestTransportRetryRule(t *testing.T) {
	addr, conns := scriptedServer(t)
	hc := &http.Client{Transport: &Transport{}}
	u := "http://" + addr + "/"

	assert.Equal(t, "ok", get(t, hc, u))
	// The reused connection ends before an answer: a GET is retried once on
	// a new connection.
	assert.Equal(t, "ok", get(t, hc, u))
	assert.Equal(t, int32(2), conns.Load())

	// A POST on the reused connection that may have reached the server is
	// not sent again...
	_, err := hc.Post(u, "text/plain", strings.NewReader("x"))
	require.ErrorIs(t, err, io.EOF)
	assert.Equal(t, int32(2), conns.Load())

	// ...unless it carries an idempotency key and can be replayed.
	assert.Equal(t, "ok", get(t, hc, u))
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader("x"))
	require.NoError(t, err)
	req.Header.Set("Idempotency-Key", "k1")
	resp, err := hc.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, int32(4), conns.Load())
}

func TestTransportStreamedUploadThroughClient(t *testing.T) {
	srv, conns := countedServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, "/bot"+testToken+"/sendDocument", r.URL.Path)
		assert.Equal(t, int64(-1), r.ContentLength, "streamed, chunked")
		assert.Equal(t, []part{
			{"chat_id", "", "42"},
			{"document", "big.bin", strings.Repeat("y", 100_000)},
		}, readParts(t, r))
		reply(w, 200, `{"ok":true,"result":{"message_id":7}}`)
	}), false)
	c := New(testToken, WithBaseURL(srv.URL), WithHTTPClient(&http.Client{Transport: &Transport{}}))
	for range 2 {
		var m Message
		err := c.Call(t.Context(), "sendDocument", map[string]any{
			"chat_id": 42, "document": Upload("big.bin", io.MultiReader(strings.NewReader(strings.Repeat("y", 100_000)))),
		}, &m)
		require.NoError(t, err)
		assert.Equal(t, int64(7), m.MessageID)
	}
	assert.Equal(t, int32(1), conns.Load())
}

func TestTransportProxyDelegates(t *testing.T) {
	var proxied atomic.Int32
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		proxied.Add(1)
		assert.Equal(t, "telegram.invalid", r.Host)
		io.WriteString(w, "via proxy")
	}))
	t.Cleanup(proxy.Close)
	pu, err := url.Parse(proxy.URL)
	require.NoError(t, err)
	tr := &Transport{Proxy: http.ProxyURL(pu)}
	hc := &http.Client{Transport: tr}
	assert.Equal(t, "via proxy", get(t, hc, "http://telegram.invalid/x"))
	assert.Equal(t, int32(1), proxied.Load())
	tr.CloseIdleConnections()
}

func TestTransportUnsupportedSchemeDelegates(t *testing.T) {
	_, err := (&http.Client{Transport: &Transport{}}).Get("ftp://example.invalid/")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "unsupported protocol scheme")
}

func TestTransportDialError(t *testing.T) {
	dialErr := errors.New("no route")
	tr := &Transport{DialContext: func(context.Context, string, string) (net.Conn, error) { return nil, dialErr }}
	_, err := (&http.Client{Transport: tr}).Post("http://telegram.invalid/", "text/plain", strings.NewReader("x"))
	require.ErrorIs(t, err, dialErr)
}

func TestTransportPoolBound(t *testing.T) {
	srv, _ := countedServer(t, echoHandler(), false)
	tr := &Transport{MaxIdleConnsPerHost: 1}
	hc := &http.Client{Transport: tr}
	r1, err := hc.Get(srv.URL)
	require.NoError(t, err)
	r2, err := hc.Get(srv.URL)
	require.NoError(t, err)
	for _, r := range []*http.Response{r1, r2} {
		_, err := io.ReadAll(r.Body)
		require.NoError(t, err)
		r.Body.Close()
	}
	tr.mu.Lock()
	n := 0
	for _, pcs := range tr.idle {
		n += len(pcs)
	}
	tr.mu.Unlock()
	assert.Equal(t, 1, n)
}

func TestTransportChunkedAnswerReusesConn(t *testing.T) {
	srv, conns := countedServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "part one, ")
		w.(http.Flusher).Flush() // no Content-Length: chunked
		io.WriteString(w, "part two")
	}), false)
	hc := &http.Client{Transport: &Transport{}}
	for range 3 {
		resp, err := hc.Get(srv.URL)
		require.NoError(t, err)
		assert.Equal(t, []string{"chunked"}, resp.TransferEncoding)
		assert.Equal(t, int64(-1), resp.ContentLength)
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, "part one, part two", string(b))
	}
	assert.Equal(t, int32(1), conns.Load())
}

func TestTransportSkipsInformationalAnswers(t *testing.T) {
	srv, conns := countedServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</style.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		w.Header().Del("Link")
		io.WriteString(w, "final")
	}), false)
	hc := &http.Client{Transport: &Transport{}}
	for range 2 {
		assert.Equal(t, "final", get(t, hc, srv.URL))
	}
	assert.Equal(t, int32(1), conns.Load())
}

func TestTransportHead(t *testing.T) {
	srv, conns := countedServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1234")
		if r.Method != http.MethodHead {
			io.WriteString(w, strings.Repeat("h", 1234))
		}
	}), false)
	hc := &http.Client{Transport: &Transport{}}
	for range 2 {
		resp, err := hc.Head(srv.URL)
		require.NoError(t, err)
		assert.Equal(t, int64(1234), resp.ContentLength)
		assert.Equal(t, http.NoBody, resp.Body)
		resp.Body.Close()
	}
	assert.Len(t, get(t, hc, srv.URL), 1234)
	assert.Equal(t, int32(1), conns.Load(), "a HEAD answer leaves the connection reusable")
}

func TestTransportDeadlineThenNone(t *testing.T) {
	srv, conns := countedServer(t, echoHandler(), false)
	hc := &http.Client{Transport: &Transport{}}
	ctx, cancel := context.WithTimeout(t.Context(), time.Hour)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/d", nil)
	require.NoError(t, err)
	resp, err := hc.Do(req)
	require.NoError(t, err)
	_, err = io.ReadAll(resp.Body)
	require.NoError(t, err)
	resp.Body.Close()
	// Without a deadline (context.Background) on the same connection.
	req, err = http.NewRequestWithContext(context.Background(), http.MethodGet, srv.URL+"/n", nil)
	require.NoError(t, err)
	resp, err = hc.Do(req)
	require.NoError(t, err)
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, "GET /n ", string(b))
	assert.Equal(t, int32(1), conns.Load())
}

// rawServer answers each request on a connection with the next of answers,
// then closes the connection.
func rawServer(t *testing.T, answers ...string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for _, a := range answers {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					io.Copy(io.Discard, req.Body)
					io.WriteString(c, a)
				}
			}()
		}
	}()
	return "http://" + ln.Addr().String() + "/"
}

func TestTransportMalformedAnswer(t *testing.T) {
	u := rawServer(t, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxy")
	_, err := (&http.Client{Transport: &Transport{}}).Get(u)
	require.ErrorIs(t, err, ErrResponseHead)
}

func TestTransportHTTP10AnswerUntilClose(t *testing.T) {
	u := rawServer(t, "HTTP/1.0 200 OK\r\n\r\nuntil close")
	tr := &Transport{}
	hc := &http.Client{Transport: tr}
	assert.Equal(t, "until close", get(t, hc, u))
	assert.Equal(t, "until close", get(t, hc, u))
	tr.mu.Lock()
	defer tr.mu.Unlock()
	for _, pcs := range tr.idle {
		assert.Empty(t, pcs, "a body delimited by close leaves no idle connection")
	}
}

func TestClientDirectRedactsTransportErrors(t *testing.T) {
	u := rawServer(t, "HTTP/1.1 200 OK\r\nX-Bad name: 1\r\n\r\n")
	c := New(testToken, WithBaseURL(strings.TrimSuffix(u, "/")), WithRetry(RetryPolicy{MaxAttempts: 1}))
	require.NotNil(t, c.direct)
	_, err := c.GetMe(t.Context())
	require.ErrorIs(t, err, ErrNetwork)
	require.ErrorIs(t, err, ErrResponseHead)
	var ue *url.Error
	require.ErrorAs(t, err, &ue)
	assert.NotContains(t, err.Error(), testToken)
	assert.Contains(t, err.Error(), "/bot<redacted>/getMe")
}

// earlyAnswerConn is a connection whose server answers after the first
// writeLimit bytes of the request and then breaks the connection.
type earlyAnswerConn struct {
	net.Conn   // nil: only the methods below are called
	writeLimit int
	written    int
	answer     *strings.Reader
}

func (c *earlyAnswerConn) Write(p []byte) (int, error) {
	if room := c.writeLimit - c.written; len(p) > room {
		c.written += room
		return room, errors.New("write: broken pipe")
	}
	c.written += len(p)
	return len(p), nil
}

func (c *earlyAnswerConn) Read(p []byte) (int, error) {
	if c.written < c.writeLimit {
		return 0, errors.New("read before the answer: the test would hang")
	}
	return c.answer.Read(p)
}

func (c *earlyAnswerConn) Close() error                     { return nil }
func (c *earlyAnswerConn) SetDeadline(time.Time) error      { return nil }
func (c *earlyAnswerConn) SetReadDeadline(time.Time) error  { return nil }
func (c *earlyAnswerConn) SetWriteDeadline(time.Time) error { return nil }

func TestTransportEarlyAnswer(t *testing.T) {
	const answer = "HTTP/1.1 413 Request Entity Too Large\r\nContent-Type: application/json\r\nContent-Length: 69\r\nConnection: close\r\n\r\n" +
		`{"ok":false,"error_code":413,"description":"Request Entity Too Large"}`
	dials := 0
	tr := &Transport{DialContext: func(context.Context, string, string) (net.Conn, error) {
		dials++
		return &earlyAnswerConn{writeLimit: 10_000, answer: strings.NewReader(answer)}, nil
	}}
	c := New(testToken, WithBaseURL("http://telegram.invalid"), WithHTTPClient(&http.Client{Transport: tr}))
	for _, name := range []string{"known length (JSON)", "streamed (multipart)"} {
		t.Run(name, func(t *testing.T) {
			params := map[string]any{"chat_id": 1, "text": strings.Repeat("t", 100_000)}
			if name != "known length (JSON)" {
				params = map[string]any{"chat_id": 1, "document": Upload("big.bin", strings.NewReader(strings.Repeat("d", 100_000)))}
			}
			err := c.Call(t.Context(), "sendDocument", params, nil)
			var apiErr *Error
			require.ErrorAs(t, err, &apiErr, "the server's answer, not the broken pipe")
			assert.Equal(t, http.StatusRequestEntityTooLarge, apiErr.Code)
		})
	}
	assert.Equal(t, 2, dials, "one attempt each: a 413 is not retried")

	// Without an answer, the write error is the result.
	tr = &Transport{DialContext: func(context.Context, string, string) (net.Conn, error) {
		return &earlyAnswerConn{writeLimit: 10, answer: strings.NewReader("")}, nil
	}}
	_, err := (&http.Client{Transport: tr}).Post("http://telegram.invalid/", "text/plain", strings.NewReader(strings.Repeat("x", 100)))
	require.ErrorContains(t, err, "broken pipe")
}

// A Close from another goroutine aborts a Read blocked on the network, as
// with http.Transport's bodies, instead of waiting for the server; the
// connection is dropped, never pooled with the past deadline on it.
func TestTransportCloseAbortsBlockedRead(t *testing.T) {
	release := make(chan struct{})
	srv, conns := countedServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			io.WriteString(w, "partial")
			w.(http.Flusher).Flush()
			select {
			case <-release:
			case <-r.Context().Done():
			}
			return
		}
		io.WriteString(w, "fast")
	}), false)
	defer close(release)
	entered := make(chan struct{}, 64) // a Read of a connection began
	var d net.Dialer
	tr := &Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return signalConn{c, entered}, nil
	}}
	hc := &http.Client{Transport: tr}
	assert.Equal(t, "fast", get(t, hc, srv.URL))

	resp, err := hc.Get(srv.URL + "/slow")
	require.NoError(t, err)
	buf := make([]byte, len("partial"))
	_, err = io.ReadFull(resp.Body, buf)
	require.NoError(t, err)
	for len(entered) > 0 {
		<-entered
	}
	readErr := make(chan error, 1)
	go func() {
		_, err := io.ReadAll(resp.Body) // blocks: the server holds the rest
		readErr <- err
	}()
	<-entered                             // the Read holds the body and waits on the network
	require.NoError(t, resp.Body.Close()) // returns though the server never answers
	require.Error(t, <-readErr)

	assert.Equal(t, "fast", get(t, hc, srv.URL))
	assert.Equal(t, int32(2), conns.Load(), "the aborted body's connection was dropped")
}

// signalConn reports each Read it begins on entered.
type signalConn struct {
	net.Conn
	entered chan<- struct{}
}

func (c signalConn) Read(p []byte) (int, error) {
	select {
	case c.entered <- struct{}{}:
	default:
	}
	return c.Conn.Read(p)
}
