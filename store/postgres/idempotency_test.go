package postgres

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/miniappkit/miniappkit/webhook"
)

// TestIdempotencyStore: webhook.Idempotency on the engine's store replays
// the first final answer, headers and all, and runs the operation once.
func TestIdempotencyStore(t *testing.T) {
	skipWithoutServer(t)
	var runs atomic.Int32
	mw, err := webhook.Idempotency(newTestDB(t).IdempotencyStore(), webhook.IdempotencyOptions{Required: true})
	require.NoError(t, err)
	h := mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		runs.Add(1)
		w.Header().Set("Location", "/orders/1")
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, `{"order":1}`)
	}))
	send := func(body string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, "/orders", strings.NewReader(body))
		req.Header.Set("Idempotency-Key", `"k-1"`)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	first := send("tea")
	require.Equal(t, http.StatusCreated, first.Code)
	again := send("tea")
	require.Equal(t, http.StatusCreated, again.Code)
	require.Equal(t, `{"order":1}`, again.Body.String())
	require.Equal(t, "true", again.Header().Get(webhook.HeaderIdempotentReplayed))
	require.Equal(t, http.StatusUnprocessableEntity, send("coffee").Code)
	require.Equal(t, int32(1), runs.Load())
}
