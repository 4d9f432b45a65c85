package webhook

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func idemRequest(method, target, key, body string) *http.Request {
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	if key != "" {
		r.Header.Set(HeaderIdempotencyKey, key)
	}
	r.Header.Set("X-User", "u1")
	return r
}

func serve(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

func requireProblem(t *testing.T, rec *httptest.ResponseRecorder, status int) {
	t.Helper()
	require.Equal(t, status, rec.Code)
	require.Equal(t, "application/problem+json", rec.Header().Get("Content-Type"))
	var p struct {
		Status int    `json:"status"`
		Title  string `json:"title"`
	}
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &p))
	require.Equal(t, status, p.Status)
	require.NotEmpty(t, p.Title)
}

func TestIdempotency(t *testing.T) {
	var runs atomic.Int32
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := runs.Add(1)
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("Location", "/orders/1")
		w.Header().Set("X-Not-Stored", "x")
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, "order for "+string(b)+" #"+string(rune('0'+n)))
	})
	h := idem(t, NewMemoryStore(64), IdempotencyOptions{
		Required:      true,
		Scope:         func(r *http.Request) string { return r.Header.Get("X-User") },
		StoredHeaders: []string{"location"},
	})(app)

	first := serve(h, idemRequest(http.MethodPost, "/orders", `"abc"`, "tea"))
	require.Equal(t, http.StatusCreated, first.Code)
	require.Equal(t, "order for tea #1", first.Body.String())

	retry := serve(h, idemRequest(http.MethodPost, "/orders", `"abc"`, "tea"))
	require.Equal(t, http.StatusCreated, retry.Code)
	require.Equal(t, first.Body.Bytes(), retry.Body.Bytes(), "byte for byte")
	require.Equal(t, "text/plain", retry.Header().Get("Content-Type"))
	require.Equal(t, "/orders/1", retry.Header().Get("Location"))
	require.Empty(t, retry.Header().Get("X-Not-Stored"))
	require.Equal(t, int32(1), runs.Load())

	t.Run("different body is 422", func(t *testing.T) {
		requireProblem(t, serve(h, idemRequest(http.MethodPost, "/orders", `"abc"`, "coffee")), http.StatusUnprocessableEntity)
	})
	t.Run("different path is 422", func(t *testing.T) {
		requireProblem(t, serve(h, idemRequest(http.MethodPost, "/refunds", `"abc"`, "tea")), http.StatusUnprocessableEntity)
	})
	t.Run("another client's key is its own", func(t *testing.T) {
		r := idemRequest(http.MethodPost, "/orders", `"abc"`, "tea")
		r.Header.Set("X-User", "u2")
		require.Equal(t, "order for tea #2", serve(h, r).Body.String())
	})
	t.Run("missing key is 400 when required", func(t *testing.T) {
		requireProblem(t, serve(h, idemRequest(http.MethodPost, "/orders", "", "tea")), http.StatusBadRequest)
	})
	t.Run("malformed keys are 400", func(t *testing.T) {
		for _, k := range []string{`"unterminated`, `"a"b`, `has space`, `""`, `"` + strings.Repeat("k", 256) + `"`, `"bad\escape"`} {
			requireProblem(t, serve(h, idemRequest(http.MethodPost, "/orders", k, "tea")), http.StatusBadRequest)
		}
		r := idemRequest(http.MethodPost, "/orders", `"a"`, "tea")
		r.Header.Add(HeaderIdempotencyKey, `"b"`)
		requireProblem(t, serve(h, r), http.StatusBadRequest)
	})
	t.Run("GET passes through", func(t *testing.T) {
		before := runs.Load()
		serve(h, idemRequest(http.MethodGet, "/orders", "", ""))
		require.Equal(t, before+1, runs.Load())
	})
}

func TestIdempotencyInFlightIs409(t *testing.T) {
	gate := make(chan struct{})
	started := make(chan struct{})
	h := idem(t, NewMemoryStore(8), IdempotencyOptions{})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-gate
		_, _ = io.WriteString(w, "ok")
	}))
	done := make(chan *httptest.ResponseRecorder)
	go func() { done <- serve(h, idemRequest(http.MethodPost, "/pay", "k1", "x")) }()
	<-started
	requireProblem(t, serve(h, idemRequest(http.MethodPost, "/pay", "k1", "x")), http.StatusConflict)
	requireProblem(t, serve(h, idemRequest(http.MethodPost, "/pay", "k1", "y")), http.StatusUnprocessableEntity)
	close(gate)
	require.Equal(t, "ok", (<-done).Body.String())
	require.Equal(t, "ok", serve(h, idemRequest(http.MethodPost, "/pay", "k1", "x")).Body.String())
}

func TestIdempotencyFailuresRelease(t *testing.T) {
	var runs atomic.Int32
	h := idem(t, NewMemoryStore(8), IdempotencyOptions{MaxResponseBytes: 8})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch runs.Add(1) {
		case 1:
			http.Error(w, "down", http.StatusServiceUnavailable)
		case 2:
			panic("boom")
		default:
			_, _ = io.WriteString(w, "ok")
		}
	}))
	require.Equal(t, http.StatusServiceUnavailable, serve(h, idemRequest(http.MethodPost, "/", "k", "")).Code)
	requireProblem(t, serve(h, idemRequest(http.MethodPost, "/", "k", "")), http.StatusInternalServerError)
	require.Equal(t, "ok", serve(h, idemRequest(http.MethodPost, "/", "k", "")).Body.String())
	require.Equal(t, "ok", serve(h, idemRequest(http.MethodPost, "/", "k", "")).Body.String())
	require.Equal(t, int32(3), runs.Load())
}

func TestIdempotencyStoreErrorIs503(t *testing.T) {
	var runs atomic.Int32
	h := idem(t, failingStore{}, IdempotencyOptions{})(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { runs.Add(1) }))
	requireProblem(t, serve(h, idemRequest(http.MethodPost, "/", "k", "")), http.StatusServiceUnavailable)
	require.Zero(t, runs.Load())
}

func TestIdempotencyTTL(t *testing.T) {
	clk := newFakeClock()
	var runs atomic.Int32
	h := idem(t, NewMemoryStore(8, WithStoreClock(clk.Now)), IdempotencyOptions{TTL: time.Hour})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { runs.Add(1) }))
	serve(h, idemRequest(http.MethodPost, "/", "k", ""))
	serve(h, idemRequest(http.MethodPost, "/", "k", ""))
	require.Equal(t, int32(1), runs.Load())
	clk.Advance(time.Hour)
	serve(h, idemRequest(http.MethodPost, "/", "k", ""))
	require.Equal(t, int32(2), runs.Load(), "forgotten after the TTL")
}

func TestParseIdempotencyKey(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{`"8e03978e-40d5-43e8-bc93-6894a57f9324"`, "8e03978e-40d5-43e8-bc93-6894a57f9324", true},
		{`8e03978e-40d5`, "8e03978e-40d5", true},
		{`"with space"`, "with space", true},
		{`"esc\"aped\\"`, `esc"aped\`, true},
		{`""`, "", false},
		{``, "", false},
		{`"x`, "", false},
		{`"x"y`, "", false},
		{`"\n"`, "", false},
		{"\"tab\t\"", "", false},
		{`a"b`, "", false},
		{"é", "", false},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := parseIdempotencyKey([]string{tc.in}, 64)
			if !tc.ok {
				require.ErrorIs(t, err, ErrInvalidHeader)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

// TestIdempotencyConcurrent: concurrent requests with one key run the
// handler once; the others get 409 (in flight) or the stored response.
func TestIdempotencyConcurrent(t *testing.T) {
	var runs atomic.Int32
	gate := make(chan struct{})
	h := idem(t, NewMemoryStore(8), IdempotencyOptions{})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		runs.Add(1)
		<-gate
		_, _ = io.WriteString(w, "done")
	}))
	const n = 32
	codes := make(chan int, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() { codes <- serve(h, idemRequest(http.MethodPost, "/", "same", "x")).Code })
	}
	// Every request but the running one has answered 409 by now, or is
	// about to; release the first and collect.
	for len(codes) < n-1 {
		runtime.Gosched()
	}
	close(gate)
	wg.Wait()
	close(codes)
	counts := map[int]int{}
	for c := range codes {
		counts[c]++
	}
	require.Equal(t, int32(1), runs.Load())
	require.Equal(t, map[int]int{http.StatusOK: 1, http.StatusConflict: n - 1}, counts)
	require.Equal(t, "done", serve(h, idemRequest(http.MethodPost, "/", "same", "x")).Body.String())
}
