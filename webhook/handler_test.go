package webhook

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miniappkit/miniappkit/botapi"
	"github.com/stretchr/testify/require"
)

const testToken = "test_TOKEN-123"

func runSecretTokenVector(t *testing.T, v vector) {
	var ran atomic.Bool
	h := mustHandler(t, v.Secret, UpdateHandlerFunc(func(ctx context.Context, u *botapi.Update) error {
		ran.Store(true)
		return nil
	}))
	req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(v.body()))
	req.Header = v.header()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	st := checkSecretHeader(v.header(), v.Secret)
	switch {
	case v.ExpectValid:
		require.Equal(t, tokenOK, st)
		require.Equal(t, http.StatusOK, rec.Code)
		require.True(t, ran.Load())
	case v.ExpectedError == "missing_header":
		require.Equal(t, tokenMissing, st)
		require.Equal(t, http.StatusUnauthorized, rec.Code)
		require.False(t, ran.Load())
	case v.ExpectedError == "token_mismatch":
		require.Equal(t, tokenMismatch, st)
		require.Equal(t, http.StatusUnauthorized, rec.Code)
		require.False(t, ran.Load())
	default:
		t.Fatalf("unexpected case %q", v.ExpectedError)
	}
}

// countingBody records whether anything read it.
type countingBody struct {
	r    io.Reader
	read atomic.Bool
}

func (b *countingBody) Read(p []byte) (int, error) { b.read.Store(true); return b.r.Read(p) }
func (b *countingBody) Close() error               { return nil }

func updateBody(id int64) string { return `{"update_id":` + strconv.FormatInt(id, 10) + `}` }

func deliver(t *testing.T, h http.Handler, token, body string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/hook", strings.NewReader(body))
	if token != "" {
		req.Header.Set(HeaderSecretToken, token)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestHandlerOrderOfChecks(t *testing.T) {
	var runs atomic.Int32
	h := mustHandler(t, testToken, UpdateHandlerFunc(func(ctx context.Context, u *botapi.Update) error {
		runs.Add(1)
		return nil
	}), WithMaxBodyBytes(64))

	t.Run("method", func(t *testing.T) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
		require.Equal(t, http.StatusMethodNotAllowed, rec.Code)
		require.Equal(t, http.MethodPost, rec.Header().Get("Allow"))
	})
	for _, tc := range []struct {
		name, token string
	}{
		{"missing token", ""},
		{"wrong token", "test_TOKEN-124"},
		{"prefix of token", "test_TOKEN-12"},
		{"longer token", testToken + "x"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := &countingBody{r: strings.NewReader(updateBody(1))}
			req := httptest.NewRequest(http.MethodPost, "/", body)
			if tc.token != "" {
				req.Header.Set(HeaderSecretToken, tc.token)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			require.Equal(t, http.StatusUnauthorized, rec.Code)
			require.False(t, body.read.Load(), "the body is not read before the token is checked")
			require.NotContains(t, rec.Body.String(), "token", "no hint")
		})
	}
	for _, tc := range []struct{ name, body string }{
		{"over the limit", `{"update_id":5,"x":"` + strings.Repeat("a", 100) + `"}`},
		{"not JSON", `{"update_id":`},
		{"no update_id", `{"message":{}}`},
		{"wrong type", `{"update_id":"7"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := deliver(t, h, testToken, tc.body)
			require.Equal(t, http.StatusOK, rec.Code, "a permanent failure answers 200 so Telegram stops")
		})
	}
	require.Zero(t, runs.Load())
	rec := deliver(t, h, testToken, updateBody(9))
	require.Equal(t, http.StatusOK, rec.Code)
	require.Equal(t, int32(1), runs.Load())
}

func TestHandlerIPAllowList(t *testing.T) {
	h := mustHandler(t, testToken, UpdateHandlerFunc(func(context.Context, *botapi.Update) error { return nil }),
		WithIPAllowList(TelegramIPRanges()...))
	for _, tc := range []struct {
		remote string
		want   int
	}{
		{"149.154.167.220:443", http.StatusOK},
		{"91.108.6.1:1234", http.StatusOK},
		{"[::ffff:149.154.160.1]:1", http.StatusOK},
		{"149.154.176.1:443", http.StatusForbidden},
		{"192.0.2.1:443", http.StatusForbidden},
		{"[2001:db8::1]:443", http.StatusForbidden},
		{"garbage", http.StatusForbidden},
	} {
		t.Run(tc.remote, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(updateBody(1)))
			req.RemoteAddr = tc.remote
			req.Header.Set(HeaderSecretToken, testToken)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			require.Equal(t, tc.want, rec.Code)
		})
	}
	require.Equal(t, []netip.Prefix{netip.MustParsePrefix("149.154.160.0/20"), netip.MustParsePrefix("91.108.4.0/22")}, TelegramIPRanges())
}

func TestHandlerErrorReleasesAndPanicRecovers(t *testing.T) {
	var logs bytes.Buffer
	var calls atomic.Int32
	h := mustHandler(t, testToken, UpdateHandlerFunc(func(ctx context.Context, u *botapi.Update) error {
		switch calls.Add(1) {
		case 1:
			return errors.New("db down")
		case 2:
			panic("boom with a secret value")
		}
		return nil
	}), WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	require.Equal(t, http.StatusInternalServerError, deliver(t, h, testToken, updateBody(42)).Code)
	require.Equal(t, http.StatusInternalServerError, deliver(t, h, testToken, updateBody(42)).Code)
	require.Contains(t, logs.String(), "handler panicked")
	require.NotContains(t, logs.String(), "secret value", "the panic value is not logged")
	require.Equal(t, http.StatusOK, deliver(t, h, testToken, updateBody(42)).Code)
	require.Equal(t, http.StatusOK, deliver(t, h, testToken, updateBody(42)).Code, "duplicate")
	require.Equal(t, int32(3), calls.Load())
}

// failingStore fails every operation.
type failingStore struct{}

var errStoreDown = errors.New("store down")

func (failingStore) Claim(context.Context, string, string, time.Duration, []byte) (ClaimResult, error) {
	return ClaimResult{}, errStoreDown
}
func (failingStore) Complete(context.Context, string, string, time.Duration, []byte) error {
	return errStoreDown
}
func (failingStore) Release(context.Context, string, string) error { return errStoreDown }
func (failingStore) Extend(context.Context, string, string, time.Duration) error {
	return errStoreDown
}

func TestHandlerStoreErrorIs503(t *testing.T) {
	var runs atomic.Int32
	h := mustHandler(t, testToken, UpdateHandlerFunc(func(context.Context, *botapi.Update) error { runs.Add(1); return nil }),
		WithStore(failingStore{}))
	require.Equal(t, http.StatusServiceUnavailable, deliver(t, h, testToken, updateBody(1)).Code)
	require.Zero(t, runs.Load(), "the handler never runs without a claim")
}

func TestHandlerReply(t *testing.T) {
	h := mustHandler(t, testToken, UpdateHandlerFunc(func(ctx context.Context, u *botapi.Update) error {
		return SetReply(ctx, "sendMessage", map[string]any{"chat_id": 7, "text": "hi"})
	}))
	rec := deliver(t, h, testToken, updateBody(5))
	require.Equal(t, http.StatusOK, rec.Code)
	require.Equal(t, "application/json", rec.Header().Get("Content-Type"))
	require.JSONEq(t, `{"method":"sendMessage","chat_id":7,"text":"hi"}`, rec.Body.String())

	dup := deliver(t, h, testToken, updateBody(5))
	require.Equal(t, http.StatusOK, dup.Code)
	require.Empty(t, dup.Body.String(), "a duplicate never replays the reply")

	require.ErrorIs(t, SetReply(t.Context(), "sendMessage", nil), ErrNoReply)
}

func TestReplyEncode(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	for _, tc := range []struct {
		name   string
		params any
		want   string
	}{
		{"nil params", nil, `{"method":"getMe"}`},
		{"empty object", struct{}{}, `{"method":"getMe"}`},
		{"object", struct {
			ChatID int64 `json:"chat_id"`
		}{1}, `{"method":"getMe","chat_id":1}`},
		{"not an object", []int{1}, ``},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &replySlot{method: "getMe", params: tc.params}
			require.Equal(t, tc.want, string(s.encode(log, 1)))
		})
	}
}

// rawConn is a bare HTTP/1.1 client on one keep-alive connection: the
// exactly-once tests send tens of thousands of requests, and net/http's
// client machinery would cost more CPU than the server under test.
type rawConn struct {
	c   net.Conn
	br  *bufio.Reader
	req []byte
}

func dialRaw(t *testing.T, addr string) *rawConn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return &rawConn{c: c, br: bufio.NewReader(c)}
}

// post delivers update id and returns the status code.
func (r *rawConn) post(id int64) (int, error) {
	codes, err := r.postBatch([]int64{id}, nil)
	if err != nil {
		return 0, err
	}
	return codes[0], nil
}

// postBatch pipelines one delivery per id on the connection (one write),
// then reads the answers in order, appending their status codes to codes.
func (r *rawConn) postBatch(ids []int64, codes []int) ([]int, error) {
	r.req = r.req[:0]
	for _, id := range ids {
		body := updateBody(id)
		r.req = append(r.req, "POST /hook HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"...)
		r.req = append(r.req, HeaderSecretToken+": "+testToken+"\r\nContent-Length: "...)
		r.req = strconv.AppendInt(r.req, int64(len(body)), 10)
		r.req = append(r.req, "\r\n\r\n"...)
		r.req = append(r.req, body...)
	}
	if _, err := r.c.Write(r.req); err != nil {
		return codes, err
	}
	for range ids {
		resp, err := http.ReadResponse(r.br, nil)
		if err != nil {
			return codes, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		codes = append(codes, resp.StatusCode)
	}
	return codes, nil
}

// TestExactlyOnce: 64 concurrent identical deliveries of each of 1000
// update_ids through a real HTTP server run the handler exactly 1000 times,
// and every delivery is answered 200.
func TestExactlyOnce(t *testing.T) {
	// Each sender pipelines a few deliveries per write: every update still
	// reaches the server on 64 connections at once, with fewer syscalls.
	const senders, ids, pipeline = 64, 1000, 8
	// Fewer GC cycles: the test's garbage is net/http's, not ours.
	defer debug.SetGCPercent(debug.SetGCPercent(800))
	var perID [ids + 1]atomic.Int32
	var total atomic.Int64
	h := mustHandler(t, testToken, UpdateHandlerFunc(func(ctx context.Context, u *botapi.Update) error {
		perID[u.UpdateID].Add(1)
		total.Add(1)
		return nil
	}), WithStore(NewMemoryStore(2*ids)), WithInFlightWait(time.Minute))
	srv := httptest.NewServer(h)
	defer srv.Close()

	var wg sync.WaitGroup
	var bad atomic.Int64
	errs := make(chan error, senders)
	for range senders {
		rc := dialRaw(t, srv.Listener.Addr().String())
		wg.Go(func() {
			batch := make([]int64, 0, pipeline)
			var codes []int
			for id := int64(1); id <= ids; id++ {
				batch = append(batch, id)
				if len(batch) < pipeline && id < ids {
					continue
				}
				var err error
				codes, err = rc.postBatch(batch, codes[:0])
				if err != nil {
					errs <- err
					return
				}
				for _, code := range codes {
					if code != http.StatusOK {
						bad.Add(1)
					}
				}
				batch = batch[:0]
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Zero(t, bad.Load(), "every delivery answered 200")
	require.Equal(t, int64(ids), total.Load())
	for id := 1; id <= ids; id++ {
		require.Equal(t, int32(1), perID[id].Load(), "update %d", id)
	}
	t.Logf("%d deliveries, handler ran %d times", senders*ids, total.Load())
}

// TestExactlyOnceFirstAttemptFails: each update's first run fails (an error
// or a panic); senders retry every non-2xx as Telegram does. The update then
// runs again, and exactly one run per update succeeds.
func TestExactlyOnceFirstAttemptFails(t *testing.T) {
	for _, mode := range []string{"error", "panic"} {
		t.Run(mode, func(t *testing.T) {
			const senders, ids = 16, 100
			var attempts, successes [ids + 1]atomic.Int32
			h := mustHandler(t, testToken, UpdateHandlerFunc(func(ctx context.Context, u *botapi.Update) error {
				if attempts[u.UpdateID].Add(1) == 1 {
					if mode == "panic" {
						panic("first attempt")
					}
					return errors.New("first attempt")
				}
				successes[u.UpdateID].Add(1)
				return nil
			}), WithStore(NewMemoryStore(2*ids)), WithInFlightWait(time.Minute))
			srv := httptest.NewServer(h)
			defer srv.Close()
			var wg sync.WaitGroup
			var failures atomic.Int64
			for range senders {
				rc := dialRaw(t, srv.Listener.Addr().String())
				wg.Go(func() {
					for id := int64(1); id <= ids; id++ {
						for try := 0; try < 5; try++ { // Telegram's redelivery
							code, err := rc.post(id)
							if err == nil && code == http.StatusOK {
								break
							}
							failures.Add(1)
						}
					}
				})
			}
			wg.Wait()
			for id := 1; id <= ids; id++ {
				require.Equal(t, int32(1), successes[id].Load(), "update %d: never two successes", id)
				require.GreaterOrEqual(t, attempts[id].Load(), int32(2), "update %d ran again", id)
			}
			require.GreaterOrEqual(t, failures.Load(), int64(ids), "each first attempt answered 5xx")
		})
	}
}

// TestLeaseExpiresMidRun: a run outlives its lease, a redelivery claims the
// update and runs; the stale run then fails, and its release cannot delete
// the new claim.
func TestLeaseExpiresMidRun(t *testing.T) {
	var mu sync.Mutex
	now := time.Unix(1_700_000_000, 0)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	store := NewMemoryStore(16, WithStoreClock(clock))

	release := map[int]chan error{1: make(chan error), 2: make(chan error)}
	started := make(chan int, 2)
	var run atomic.Int32
	h := mustHandler(t, testToken, UpdateHandlerFunc(func(ctx context.Context, u *botapi.Update) error {
		n := int(run.Add(1))
		started <- n
		return <-release[n]
	}), WithStore(store), WithLease(30*time.Second), WithInFlightWait(0))

	codes := make(chan int, 2)
	go func() { codes <- deliver(t, h, testToken, updateBody(77)).Code }()
	require.Equal(t, 1, <-started)

	mu.Lock()
	now = now.Add(31 * time.Second) // the first run's lease has passed
	mu.Unlock()
	go func() { codes <- deliver(t, h, testToken, updateBody(77)).Code }()
	require.Equal(t, 2, <-started, "the redelivery took over the expired claim")

	release[1] <- errors.New("stale run fails")
	require.Equal(t, http.StatusInternalServerError, <-codes)
	// The stale owner's release did not delete the new claim:
	require.Equal(t, http.StatusServiceUnavailable, deliver(t, h, testToken, updateBody(77)).Code)

	release[2] <- nil
	require.Equal(t, http.StatusOK, <-codes)
	require.Equal(t, http.StatusOK, deliver(t, h, testToken, updateBody(77)).Code)
	require.Equal(t, int32(2), run.Load(), "the duplicate after completion did not run")
}

// inFlightSignal is a Store that reports each Claim that finds the key in
// flight, so a test knows a duplicate is waiting.
type inFlightSignal struct {
	Store
	inFlight chan struct{}
}

func (s *inFlightSignal) Claim(ctx context.Context, key, owner string, lease time.Duration, data []byte) (ClaimResult, error) {
	r, err := s.Store.Claim(ctx, key, owner, lease, data)
	if err == nil && r.State == InFlight {
		select {
		case s.inFlight <- struct{}{}:
		default:
		}
	}
	return r, err
}

// TestDuplicateWaitsForInFlight: a duplicate arriving during the run waits
// and is answered 200 once the first completes, without running.
func TestDuplicateWaitsForInFlight(t *testing.T) {
	gate := make(chan struct{})
	started := make(chan struct{})
	var runs atomic.Int32
	store := &inFlightSignal{Store: NewMemoryStore(8), inFlight: make(chan struct{}, 1)}
	h := mustHandler(t, testToken, UpdateHandlerFunc(func(ctx context.Context, u *botapi.Update) error {
		runs.Add(1)
		close(started)
		<-gate
		return nil
	}), WithStore(store), WithInFlightWait(time.Minute))
	first := make(chan int)
	go func() { first <- deliver(t, h, testToken, updateBody(8)).Code }()
	<-started
	second := make(chan int)
	go func() { second <- deliver(t, h, testToken, updateBody(8)).Code }()
	<-store.inFlight // the duplicate found the update in flight and is waiting
	close(gate)
	require.Equal(t, http.StatusOK, <-first)
	require.Equal(t, http.StatusOK, <-second)
	require.Equal(t, int32(1), runs.Load())
}

func TestDefaultBackoff(t *testing.T) {
	for _, tc := range []struct {
		attempt int
		lo, hi  time.Duration
	}{
		{1, 500 * time.Millisecond, time.Second},
		{2, time.Second, 2 * time.Second},
		{4, 4 * time.Second, 8 * time.Second},
		{7, 30 * time.Second, time.Minute},
		{100, 30 * time.Second, time.Minute},
		{0, 30 * time.Second, time.Minute},
	} {
		t.Run(fmt.Sprint(tc.attempt), func(t *testing.T) {
			for range 50 {
				d := DefaultBackoff(tc.attempt)
				require.GreaterOrEqual(t, d, tc.lo)
				require.LessOrEqual(t, d, tc.hi)
			}
		})
	}
}

// TestHandlerCancelledWhileWaitingIsNot200: a delivery whose context ends
// while it waits for another delivery of the same update is never
// acknowledged.
func TestHandlerCancelledWhileWaitingIsNot200(t *testing.T) {
	store := NewMemoryStore(8)
	ns, err := secretNamespace(testToken)
	require.NoError(t, err)
	_, err = store.Claim(t.Context(), updateKey(ns, 5), "someone-else", time.Hour, nil)
	require.NoError(t, err)
	h := mustHandler(t, testToken, UpdateHandlerFunc(func(context.Context, *botapi.Update) error { return nil }),
		WithStore(store), WithInFlightWait(time.Hour))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	req := httptest.NewRequestWithContext(ctx, http.MethodPost, "/", strings.NewReader(updateBody(5)))
	req.Header.Set(HeaderSecretToken, testToken)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	require.Equal(t, http.StatusServiceUnavailable, rec.Code)
}
