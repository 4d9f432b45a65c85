package webhook

import (
	"bytes"
	"net/http"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

// discardWriter is a ResponseWriter that counts and drops the body, so the
// test's own recording does not count as the middleware's memory.
type discardWriter struct {
	h      http.Header
	status int
	n      int64
}

func (d *discardWriter) Header() http.Header { return d.h }
func (d *discardWriter) WriteHeader(code int) {
	if d.status == 0 {
		d.status = code
	}
}
func (d *discardWriter) Write(p []byte) (int, error) {
	if d.status == 0 {
		d.status = http.StatusOK
	}
	d.n += int64(len(p))
	return len(p), nil
}

// TestIdempotencyResponseBudget: 64 concurrent requests each answering 1
// MiB (the default MaxResponseBytes) hold at most the default in-flight
// response budget (32 MiB) in buffered responses, not 64 MiB; every
// client gets its whole response, and a retry of every key never runs the
// operation again (a response the budget could not keep is answered 500
// "not kept" on retry, like one too large). Before the fix the live heap
// grew by 64 MiB while the handlers were parked.
func TestIdempotencyResponseBudget(t *testing.T) {
	if raceEnabled {
		t.Skip("memory proof: runs without -race")
	}
	const n = 64
	const size = 1<<20 - 64 // within MaxResponseBytes
	chunk := bytes.Repeat([]byte("r"), 32<<10)
	var runs [n]atomic.Int32
	wrote := make(chan struct{}, n)
	release := make(chan struct{})
	var park atomic.Bool
	park.Store(true)
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i, _ := strconv.Atoi(r.Header.Get("X-I"))
		runs[i].Add(1)
		w.Header().Set("Content-Type", "application/octet-stream")
		for left := size; left > 0; left -= len(chunk) {
			_, _ = w.Write(chunk[:min(left, len(chunk))])
		}
		if park.Load() {
			wrote <- struct{}{}
			<-release
		}
	})
	h := idem(t, NewMemoryStore(2*n), IdempotencyOptions{})(app)
	req := func(i int) *http.Request {
		r := idemRequest(http.MethodPost, "/pay", "key-"+strconv.Itoa(i), "{}")
		r.Header.Set("X-I", strconv.Itoa(i))
		return r
	}

	runtime.GC()
	var before, during runtime.MemStats
	runtime.ReadMemStats(&before)
	var wg sync.WaitGroup
	outs := make([]*discardWriter, n)
	for i := range n {
		outs[i] = &discardWriter{h: http.Header{}}
		wg.Go(func() {
			h.ServeHTTP(outs[i], req(i))
			if outs[i].status == http.StatusServiceUnavailable {
				wrote <- struct{}{} // refused before running: never parks
			}
		})
	}
	for range n {
		<-wrote
	}
	runtime.GC()
	runtime.ReadMemStats(&during)
	close(release)
	wg.Wait()
	growth := int64(during.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("live heap growth with %d parked 1 MiB responses: %.1f MiB", n, float64(growth)/(1<<20))
	require.Less(t, growth, int64(DefaultMaxInFlightBytes+4<<20), "buffered responses over the budget")

	park.Store(false)
	kept, notKept, refused := 0, 0, 0
	for i := range n {
		if outs[i].status == http.StatusServiceUnavailable {
			require.Equal(t, int32(0), runs[i].Load(), "key %d refused after running", i)
			refused++
			first := &discardWriter{h: http.Header{}}
			h.ServeHTTP(first, req(i)) // the client's retry runs it
			outs[i] = first
		}
		require.Equal(t, http.StatusOK, outs[i].status)
		require.Equal(t, int64(size), outs[i].n, "request %d: response not streamed whole", i)
		rec := serve(h, req(i))
		require.Equal(t, int32(1), runs[i].Load(), "key %d ran twice", i)
		switch rec.Code {
		case http.StatusOK:
			require.Equal(t, size, rec.Body.Len())
			require.Equal(t, "true", rec.Header().Get(HeaderIdempotentReplayed))
			kept++
		default:
			requireProblem(t, rec, http.StatusInternalServerError)
			notKept++
		}
	}
	t.Logf("refused before running (then retried) %d, replayed %d, not kept %d", refused, kept, notKept)
	require.Positive(t, kept)
}

// TestIdempotencyResponseBudgetFullRefusesBeforeRunning: when the budget
// cannot hold even a response's first chunk, the request is answered 503
// with Retry-After before the handler runs, and the key is free for the
// retry, which runs once.
func TestIdempotencyResponseBudgetFullRefusesBeforeRunning(t *testing.T) {
	var runs atomic.Int32
	entered := make(chan struct{})
	release := make(chan struct{})
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		runs.Add(1)
		_, _ = w.Write(bytes.Repeat([]byte("x"), 8<<10))
		if r.Header.Get("X-Park") != "" {
			close(entered)
			<-release
		}
	})
	h := idem(t, NewMemoryStore(8), IdempotencyOptions{MaxResponseBytes: 8 << 10, MaxInFlightResponseBytes: 8 << 10})(app)
	first := idemRequest(http.MethodPost, "/", "a", "{}")
	first.Header.Set("X-Park", "1")
	done := make(chan struct{})
	go func() { defer close(done); serve(h, first) }()
	<-entered
	rec := serve(h, idemRequest(http.MethodPost, "/", "b", "{}"))
	requireProblem(t, rec, http.StatusServiceUnavailable)
	require.NotEmpty(t, rec.Header().Get("Retry-After"))
	require.Equal(t, int32(1), runs.Load(), "refused request ran")
	close(release)
	<-done
	rec = serve(h, idemRequest(http.MethodPost, "/", "b", "{}"))
	require.Equal(t, http.StatusOK, rec.Code)
	require.Equal(t, int32(2), runs.Load())
}

func TestIdempotencyResponseBudgetOption(t *testing.T) {
	_, err := Idempotency(NewMemoryStore(1), IdempotencyOptions{MaxResponseBytes: 2 << 20, MaxInFlightResponseBytes: 1 << 20})
	require.Error(t, err)
	_, err = Idempotency(NewMemoryStore(1), IdempotencyOptions{MaxInFlightResponseBytes: -1})
	require.Error(t, err)
}
