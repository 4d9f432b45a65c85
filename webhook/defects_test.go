package webhook

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/miniappkit/miniappkit/botapi"
	"github.com/stretchr/testify/require"
)

// newHandlerErr builds a Telegram handler, returning the construction error.
func newHandlerErr(secret string, h UpdateHandler, opts ...Option) (http.Handler, error) {
	hd, err := NewHandler(secret, h, opts...)
	if err != nil {
		return nil, err
	}
	return hd, nil
}

// mustHandler builds a Telegram handler that must construct.
func mustHandler(t testing.TB, secret string, h UpdateHandler, opts ...Option) http.Handler {
	t.Helper()
	hd, err := newHandlerErr(secret, h, opts...)
	require.NoError(t, err)
	return hd
}

// signalBody tells, on its first Read, that the server began reading the body.
type signalBody struct {
	io.ReadCloser
	once sync.Once
	read chan<- struct{}
}

func (b *signalBody) Read(p []byte) (int, error) {
	b.once.Do(func() { b.read <- struct{}{} })
	return b.ReadCloser.Read(p)
}

func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse + ms.StackInuse
}

// floodConns opens n connections to srv, each sending hdr (a request head
// with a large Content-Length) and one body byte, then holding. It returns
// once the server has either answered every connection or begun reading
// every body (read receives one value per body read), and the heap growth
// at that point.
func floodConns(t *testing.T, addr string, n int, hdr string, read <-chan struct{}, wantAnswers bool) uint64 {
	t.Helper()
	before := liveHeap()
	conns := make([]net.Conn, n)
	for i := range conns {
		c, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		t.Cleanup(func() { _ = c.Close() })
		_, err = io.WriteString(c, hdr+"x")
		require.NoError(t, err)
		conns[i] = c
	}
	if wantAnswers {
		for _, c := range conns {
			require.NoError(t, c.SetReadDeadline(time.Now().Add(30*time.Second)))
			var buf [12]byte
			_, err := io.ReadFull(c, buf[:])
			require.NoError(t, err)
			require.Equal(t, "HTTP/1.1 401", string(buf[:]))
		}
	} else {
		for range n {
			<-read
		}
	}
	after := liveHeap()
	if after < before {
		return 0
	}
	return after - before
}

// TestVerifyMiddlewareMemoryFlood: 200 slow, unauthenticated connections
// that declare a large body and send one byte pin at most 16 MiB, whether
// they lack the scheme's headers (rejected before the body is read) or
// carry a forged signature (the buffer grows only with the data).
func TestVerifyMiddlewareMemoryFlood(t *testing.T) {
	if raceEnabled {
		t.Skip("memory proof: skipped under -race")
	}
	const conns = 200
	const limit = 16 << 20
	std, err := NewStandard(swSecret)
	require.NoError(t, err)
	gh, err := NewGitHub("secret")
	require.NoError(t, err)
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	for _, tc := range []struct {
		name    string
		v       Verifier
		headers string
		cl      int
		answers bool
	}{
		{"standard without headers", std, "", DefaultMaxBodyBytes, true},
		{"github with a forged signature", gh, "X-Hub-Signature-256: sha256=" + strings.Repeat("0", 64) + "\r\n", githubMaxPayload, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			read := make(chan struct{}, conns)
			mw := VerifyMiddleware(tc.v)(ok)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				orig := r.Body
				r.Body = &signalBody{ReadCloser: orig, read: read}
				mw.ServeHTTP(w, r)
				r.Body = orig // net/http's own body type tells it not to drain a large rest
			}))
			t.Cleanup(srv.Close) // after the connections close
			hdr := "POST / HTTP/1.1\r\nHost: x\r\n" + tc.headers + "Content-Length: " + strconv.Itoa(tc.cl) + "\r\n\r\n"
			grew := floodConns(t, srv.Listener.Addr().String(), conns, hdr, read, tc.answers)
			t.Logf("%d connections: heap and stacks grew %.1f MiB", conns, float64(grew)/(1<<20))
			require.LessOrEqual(t, grew, uint64(limit))
		})
	}
}

// TestVerifyMiddlewareInFlightBudget: bodies read at once share a bounded
// budget; a request that would exceed it is answered 503 without reading on.
func TestVerifyMiddlewareRejectsBeforeReading(t *testing.T) {
	std, err := NewStandard(swSecret)
	require.NoError(t, err)
	h := VerifyMiddleware(std)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	body := &countingBody{r: strings.NewReader("{}")}
	req := httptest.NewRequest(http.MethodPost, "/", body)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	require.Equal(t, http.StatusUnauthorized, rec.Code)
	require.False(t, body.read.Load(), "no headers: the body is never read")
}

// junkSignatures returns a webhook-signature value of about size bytes of
// well-formed but wrong v1a entries.
func junkSignatures(size int) string {
	sig := make([]byte, ed25519.SignatureSize)
	_, _ = rand.Read(sig)
	entry := "v1a," + base64.StdEncoding.EncodeToString(sig)
	var b strings.Builder
	for b.Len() < size {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(entry)
	}
	return b.String()
}

func edVerifier(t testing.TB) (*Standard, ed25519.PrivateKey) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	v, err := NewStandardPublicKey("whpk_" + base64.StdEncoding.EncodeToString(pub))
	require.NoError(t, err)
	return v, priv
}

// TestStandardSignatureHeaderBounds: a huge or many-entry webhook-signature
// header is rejected as invalid before any signature is checked.
func TestStandardSignatureHeaderBounds(t *testing.T) {
	v, _ := edVerifier(t)
	now := strconv.FormatInt(time.Now().Unix(), 10)
	for _, tc := range []struct {
		name string
		sig  string
	}{
		{"1 MiB of entries", junkSignatures(1 << 20)},
		{"too many entries", junkSignatures(maxSignatureEntries*93 + 1)},
		{"one huge entry", "v1a," + strings.Repeat("A", maxSignatureHeaderBytes)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			h.Set("webhook-id", "msg_1")
			h.Set("webhook-timestamp", now)
			h.Set("webhook-signature", tc.sig)
			require.ErrorIs(t, v.Verify(h, []byte("{}")), ErrInvalidHeader)
		})
	}
}

// BenchmarkStandardJunkHeader: the CPU an unauthenticated request with a
// 1 MiB webhook-signature header of well-formed Ed25519 entries costs.
func BenchmarkStandardJunkHeader(b *testing.B) {
	v, _ := edVerifier(b)
	h := http.Header{}
	h.Set("webhook-id", "msg_1")
	h.Set("webhook-timestamp", strconv.FormatInt(time.Now().Unix(), 10))
	h.Set("webhook-signature", junkSignatures(1<<20))
	b.ReportAllocs()
	for b.Loop() {
		if v.Verify(h, []byte("{}")) == nil {
			b.Fatal("junk verified")
		}
	}
}

// TestStandardLongSecret: whsec_ secrets over 64 bytes verify, as they do
// in the reference libraries.
func TestStandardLongSecret(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 100)
	secret := "whsec_" + base64.StdEncoding.EncodeToString(key)
	now := time.Unix(1_700_000_000, 0)
	v, err := NewStandard(secret, fixedClock(now))
	require.NoError(t, err)
	s, err := NewSigner(secret)
	require.NoError(t, err)
	h := http.Header{}
	s.SetHeaders(h, "msg_1", now, []byte("{}"))
	require.NoError(t, v.Verify(h, []byte("{}")))
}

// TestStandardSvixHeaders: svix-* headers are used only when webhook-id is
// absent, whatever other webhook-* headers are present.
func TestStandardSvixHeaders(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	v, err := NewStandard(swSecret, fixedClock(now))
	require.NoError(t, err)
	s, err := NewSigner(swSecret)
	require.NoError(t, err)
	body := []byte("{}")
	good := http.Header{}
	s.SetHeaders(good, "msg_svix", now, body)

	svixOnly := http.Header{}
	svixOnly.Set("svix-id", good.Get("webhook-id"))
	svixOnly.Set("svix-timestamp", good.Get("webhook-timestamp"))
	svixOnly.Set("svix-signature", good.Get("webhook-signature"))
	svixOnly.Set("webhook-timestamp", "garbage") // a stray webhook-* header without webhook-id
	require.NoError(t, v.Verify(svixOnly, body))
	require.Equal(t, "msg_svix", StandardWebhookID(svixOnly))

	both := svixOnly.Clone()
	both.Set("webhook-id", "msg_other") // webhook-id present: the webhook-* set is used
	require.ErrorIs(t, v.Verify(both, body), ErrMissingHeader, "no webhook-signature: svix-signature is not mixed in")
	require.Equal(t, "msg_other", StandardWebhookID(both))
}

// TestSubSecondTolerance: a tolerance below a second is honoured.
func TestSubSecondTolerance(t *testing.T) {
	sent := time.Unix(1_700_000_000, 0)
	s, err := NewSigner(swSecret)
	require.NoError(t, err)
	h := http.Header{}
	s.SetHeaders(h, "msg_1", sent, []byte("{}"))
	for _, tc := range []struct {
		now  time.Time
		want error
	}{
		{sent.Add(400 * time.Millisecond), nil},
		{sent.Add(700 * time.Millisecond), ErrTimestampTooOld},
		{sent.Add(-700 * time.Millisecond), ErrTimestampTooNew},
	} {
		v, err := NewStandard(swSecret, fixedClock(tc.now), WithTolerance(500*time.Millisecond))
		require.NoError(t, err)
		if tc.want == nil {
			require.NoError(t, v.Verify(h, []byte("{}")))
		} else {
			require.ErrorIs(t, v.Verify(h, []byte("{}")), tc.want)
		}
		st, err := NewStripe("whsec_x", fixedClock(tc.now), WithTolerance(500*time.Millisecond))
		require.NoError(t, err)
		sh := http.Header{}
		sh.Set("Stripe-Signature", SignStripe("whsec_x", sent, []byte("{}")))
		if tc.want == ErrTimestampTooOld {
			require.ErrorIs(t, st.Verify(sh, []byte("{}")), ErrTimestampTooOld)
		} else {
			require.NoError(t, st.Verify(sh, []byte("{}")))
		}
	}
}

// TestHandlerFailsClosed: an empty secret token or an empty allow-list is
// refused at construction.
func TestHandlerFailsClosed(t *testing.T) {
	ok := UpdateHandlerFunc(func(context.Context, *botapi.Update) error { return nil })
	for name, build := range map[string]func() (http.Handler, error){
		"empty secret":         func() (http.Handler, error) { return newHandlerErr("", ok) },
		"empty allow-list":     func() (http.Handler, error) { return newHandlerErr(testToken, ok, WithIPAllowList()) },
		"malformed secret":     func() (http.Handler, error) { return newHandlerErr("bad token!", ok) },
		"nil handler":          func() (http.Handler, error) { return newHandlerErr(testToken, nil) },
		"bad option":           func() (http.Handler, error) { return newHandlerErr(testToken, ok, WithLease(-1)) },
		"volatile async queue": func() (http.Handler, error) { return newHandlerErr(testToken, ok, WithAsync(NewMemoryQueue(1))) },
	} {
		t.Run(name, func(t *testing.T) {
			h, err := build()
			require.Error(t, err)
			require.Nil(t, h)
		})
	}
}

// TestTwoBotsShareStore: two bots' handlers on one Store each run their
// own update 123456789.
func TestTwoBotsShareStore(t *testing.T) {
	store := NewMemoryStore(16)
	var a, b atomic.Int32
	ha := mustHandler(t, "bot_A_secret", UpdateHandlerFunc(func(context.Context, *botapi.Update) error { a.Add(1); return nil }), WithStore(store))
	hb := mustHandler(t, "bot_B_secret", UpdateHandlerFunc(func(context.Context, *botapi.Update) error { b.Add(1); return nil }), WithStore(store))
	require.Equal(t, http.StatusOK, deliver(t, ha, "bot_A_secret", updateBody(123456789)).Code)
	require.Equal(t, http.StatusOK, deliver(t, hb, "bot_B_secret", updateBody(123456789)).Code)
	require.Equal(t, int32(1), a.Load())
	require.Equal(t, int32(1), b.Load(), "bot B's update ran")
}

// TestDroppedUpdateLogsID: the log lines of dropped updates carry update_id.
func TestDroppedUpdateLogsID(t *testing.T) {
	var logs bytes.Buffer
	h := mustHandler(t, testToken, UpdateHandlerFunc(func(context.Context, *botapi.Update) error { return nil }),
		WithMaxBodyBytes(64), WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	for _, body := range []string{
		`{"update_id":7001,"message":{"text":"` + strings.Repeat("a", 100) + `"}}`, // over the limit
		`{"update_id":7002,"message":[]}`,                                          // not an update
	} {
		logs.Reset()
		require.Equal(t, http.StatusOK, deliver(t, h, testToken, body).Code)
		require.Contains(t, logs.String(), "update dropped")
		require.Contains(t, logs.String(), "update_id="+body[13:17])
	}
}

// idem builds Idempotency middleware that must construct.
func idem(t testing.TB, s Store, o IdempotencyOptions) func(http.Handler) http.Handler {
	t.Helper()
	mw, err := Idempotency(s, o)
	require.NoError(t, err)
	return mw
}

// TestIdempotencyStoresFinalAnswersOnly: temporary answers (401, 403, 429,
// 5xx) are not stored, so a retry runs again.
func TestIdempotencyStoresFinalAnswersOnly(t *testing.T) {
	for _, code := range []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusTooManyRequests, http.StatusServiceUnavailable} {
		t.Run(strconv.Itoa(code), func(t *testing.T) {
			var runs atomic.Int32
			h := idem(t, NewMemoryStore(8), IdempotencyOptions{})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if runs.Add(1) == 1 {
					w.Header().Set("Retry-After", "3")
					w.WriteHeader(code)
					return
				}
				w.WriteHeader(http.StatusCreated)
			}))
			first := serve(h, idemRequest(http.MethodPost, "/", "k", "b"))
			require.Equal(t, code, first.Code)
			require.Equal(t, "3", first.Header().Get("Retry-After"))
			require.Equal(t, http.StatusCreated, serve(h, idemRequest(http.MethodPost, "/", "k", "b")).Code)
			require.Equal(t, int32(2), runs.Load())
		})
	}
}

// TestIdempotencyReplayHeaders: a replay keeps Retry-After and says
// Idempotent-Replayed: true; a 409 carries Retry-After.
func TestIdempotencyReplayHeaders(t *testing.T) {
	gate := make(chan struct{})
	entered := make(chan struct{})
	h := idem(t, NewMemoryStore(8), IdempotencyOptions{})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			close(entered)
			<-gate
		}
		w.Header().Set("Retry-After", "120")
		w.WriteHeader(http.StatusAccepted)
	}))
	first := serve(h, idemRequest(http.MethodPost, "/", "k", ""))
	require.Empty(t, first.Header().Get("Idempotent-Replayed"))
	again := serve(h, idemRequest(http.MethodPost, "/", "k", ""))
	require.Equal(t, http.StatusAccepted, again.Code)
	require.Equal(t, "120", again.Header().Get("Retry-After"))
	require.Equal(t, "true", again.Header().Get("Idempotent-Replayed"))

	done := make(chan struct{})
	go func() { serve(h, idemRequest(http.MethodPost, "/slow", "s", "")); close(done) }()
	<-entered
	busy := serve(h, idemRequest(http.MethodPost, "/slow", "s", ""))
	require.Equal(t, http.StatusConflict, busy.Code)
	require.NotEmpty(t, busy.Header().Get("Retry-After"))
	close(gate)
	<-done
}

// TestIdempotencyLease: the handler's context ends at the lease, and a
// retry during an overlong run never runs it a second time.
func TestIdempotencyLease(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var runs atomic.Int32
		ctxEnded := make(chan time.Duration, 1)
		h := idem(t, NewMemoryStore(8), IdempotencyOptions{Lease: time.Second})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			runs.Add(1)
			start := time.Now()
			select {
			case <-r.Context().Done():
				ctxEnded <- time.Since(start)
			case <-time.After(time.Hour):
				ctxEnded <- -1
			}
			time.Sleep(5 * time.Second) // a handler that goes on past its context
			w.WriteHeader(http.StatusCreated)
		}))
		done := make(chan int)
		go func() { done <- serve(h, idemRequest(http.MethodPost, "/", "k", "")).Code }()
		require.Equal(t, time.Second, <-ctxEnded, "the context ends at the lease")
		time.Sleep(2 * time.Second) // well past the lease, the first still runs
		require.Equal(t, http.StatusConflict, serve(h, idemRequest(http.MethodPost, "/", "k", "")).Code)
		require.Equal(t, http.StatusCreated, <-done)
		require.Equal(t, http.StatusCreated, serve(h, idemRequest(http.MethodPost, "/", "k", "")).Code)
		require.Equal(t, int32(1), runs.Load())
	})
}

// TestIdempotencyOversizeResponse: a response over MaxResponseBytes is
// sent once; a retry gets an error, never a second run.
func TestIdempotencyOversizeResponse(t *testing.T) {
	var runs atomic.Int32
	h := idem(t, NewMemoryStore(8), IdempotencyOptions{MaxResponseBytes: 8})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		runs.Add(1)
		_, _ = io.WriteString(w, "a response of more than 8 bytes")
	}))
	first := serve(h, idemRequest(http.MethodPost, "/", "k", ""))
	require.Equal(t, http.StatusOK, first.Code)
	require.Equal(t, "a response of more than 8 bytes", first.Body.String())
	again := serve(h, idemRequest(http.MethodPost, "/", "k", ""))
	require.Equal(t, int32(1), runs.Load(), "never run twice")
	requireProblem(t, again, http.StatusInternalServerError)
}

var _ = fmt.Sprint
