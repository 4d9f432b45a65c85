package webhook

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestIdempotencyInformational: a handler that sends 103 Early Hints
// before its answer gets its answer through, and the answer (not the 103)
// is what is stored and replayed. Before, the 103 was recorded as the
// status: the handler's WriteHeader(201) was swallowed (the client got an
// implicit 200) and retries got the 103 replayed.
func TestIdempotencyInformational(t *testing.T) {
	var runs atomic.Int32
	h := idem(t, NewMemoryStore(8), IdempotencyOptions{})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		runs.Add(1)
		w.Header().Set("Link", "</style.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, "made")
	}))
	srv := httptest.NewServer(h)
	defer srv.Close()
	post := func() (int, string, string) {
		req, err := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader("{}"))
		require.NoError(t, err)
		req.Header.Set(HeaderIdempotencyKey, `"k1"`)
		resp, err := srv.Client().Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, string(b), resp.Header.Get(HeaderIdempotentReplayed)
	}
	code, body, replayed := post()
	require.Equal(t, http.StatusCreated, code)
	require.Equal(t, "made", body)
	require.Empty(t, replayed)
	code, body, replayed = post()
	require.Equal(t, http.StatusCreated, code)
	require.Equal(t, "made", body)
	require.Equal(t, "true", replayed)
	require.Equal(t, int32(1), runs.Load())
}
