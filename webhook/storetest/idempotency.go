package storetest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/miniappkit/miniappkit/webhook"
)

// Idempotency checks [webhook.Idempotency] on s (fresh and empty): a
// repeated request with the same key and body replays the first final
// answer, headers and all, marked replayed; the same key with another body
// is refused with 422; the operation runs once.
func Idempotency(t *testing.T, s webhook.Store) {
	t.Helper()
	var runs atomic.Int32
	mw, err := webhook.Idempotency(s, webhook.IdempotencyOptions{Required: true})
	if err != nil {
		t.Fatal(err)
	}
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
	if first := send("tea"); first.Code != http.StatusCreated {
		t.Fatalf("first: %d, want 201", first.Code)
	}
	again := send("tea")
	if again.Code != http.StatusCreated || again.Body.String() != `{"order":1}` {
		t.Fatalf("repeat: %d %q, want 201 {\"order\":1}", again.Code, again.Body.String())
	}
	if got := again.Header().Get(webhook.HeaderIdempotentReplayed); got != "true" {
		t.Fatalf("repeat: %s = %q, want true", webhook.HeaderIdempotentReplayed, got)
	}
	if code := send("coffee").Code; code != http.StatusUnprocessableEntity {
		t.Fatalf("same key, other body: %d, want 422", code)
	}
	if n := runs.Load(); n != 1 {
		t.Fatalf("the operation ran %d times, want once", n)
	}
}
