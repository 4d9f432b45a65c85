package botapi_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/miniappkit/miniappkit/botapi"
)

// TestNotApplied: the calls whose failure proves Telegram did not apply
// them (a refusal, a request that never left) and those whose fate is
// unknown (an answer lost after the request was written, a 5xx, a
// deadline), through a real client on loopback.
func TestNotApplied(t *testing.T) {
	answer := func(status int, body string) string {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_, _ = io.WriteString(w, body)
		}))
		t.Cleanup(srv.Close)
		return srv.URL
	}
	dropped := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
			_ = conn.Close()
		}
	}))
	t.Cleanup(dropped.Close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := "http://" + ln.Addr().String()
	require.NoError(t, ln.Close())
	release := make(chan struct{})
	stalled := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(stalled.Close)
	t.Cleanup(func() { close(release) }) // runs first

	for _, tc := range []struct {
		name, url string
		want      bool
	}{
		{"400 refused", answer(400, `{"ok":false,"error_code":400,"description":"Bad Request: query is too old and response timeout expired or query ID is invalid"}`), true},
		{"429 refused", answer(429, `{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 5","parameters":{"retry_after":5}}`), true},
		{"403 refused", answer(403, `{"ok":false,"error_code":403,"description":"Forbidden: bot was blocked by the user"}`), true},
		{"connection refused", closed, true},
		{"502 unknown", answer(502, `<html>Bad Gateway</html>`), false},
		{"500 unknown", answer(500, `{"ok":false,"error_code":500,"description":"Internal Server Error"}`), false},
		{"dropped after the request", dropped.URL, false},
		{"deadline while waiting", stalled.URL, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := botapi.New("123456:TEST-token", botapi.WithBaseURL(tc.url),
				botapi.WithRetry(botapi.RetryPolicy{MaxAttempts: 1}))
			ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
			defer cancel()
			err := c.AnswerPreCheckoutQuery(ctx, &botapi.AnswerPreCheckoutQueryParams{PreCheckoutQueryID: "q", OK: true})
			require.Error(t, err)
			require.Equal(t, tc.want, botapi.NotApplied(err), "%v", err)
			require.Equal(t, tc.want, botapi.NotApplied(fmt.Errorf("wrapped: %w", err)))
		})
	}
	require.False(t, botapi.NotApplied(nil))
	require.True(t, botapi.NotApplied(fmt.Errorf("x: %w", botapi.ErrCircuitOpen)))
	require.False(t, botapi.NotApplied(context.Canceled))
}

func ExampleNotApplied() {
	err := fmt.Errorf("answer: %w", botapi.ErrCircuitOpen)
	fmt.Println(botapi.NotApplied(err), botapi.NotApplied(context.DeadlineExceeded))
	// Output: true false
}
