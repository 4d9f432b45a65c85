package botapi_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
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
	bad := botapi.New("", botapi.WithBaseURL(closed))
	err = bad.AnswerPreCheckoutQuery(t.Context(), &botapi.AnswerPreCheckoutQueryParams{PreCheckoutQueryID: "q", OK: true})
	require.ErrorIs(t, err, botapi.ErrConfig)
	require.True(t, botapi.NotApplied(err), "a client with an invalid option sends nothing")
	require.False(t, botapi.NotApplied(nil))
	require.True(t, botapi.NotApplied(fmt.Errorf("x: %w", botapi.ErrCircuitOpen)))
	require.False(t, botapi.NotApplied(context.Canceled))
}

func ExampleNotApplied() {
	err := fmt.Errorf("answer: %w", botapi.ErrCircuitOpen)
	fmt.Println(botapi.NotApplied(err), botapi.NotApplied(context.DeadlineExceeded))
	// Output: true false
}

// openAfterFirst is a Breaker that allows the first attempt and refuses
// every later one, as a breaker that trips on that attempt's failure does.
type openAfterFirst struct {
	mu      sync.Mutex
	allowed bool
}

func (b *openAfterFirst) Allow() (func(error), error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.allowed {
		return nil, errors.New("open")
	}
	b.allowed = true
	return func(error) {}, nil
}

// TestNotAppliedAfterRetry: a call whose earlier attempt may have landed (a
// 5xx, then retried) is not proven unapplied by a later attempt's refusal,
// whether Telegram refused it (a second answer to a query is "query is too
// old" when the first did land), a 429 ended the wait, or the breaker
// refused the retry.
func TestNotAppliedAfterRetry(t *testing.T) {
	script := func(answers ...string) string {
		var mu sync.Mutex
		n := 0
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			mu.Lock()
			a := answers[min(n, len(answers)-1)]
			n++
			mu.Unlock()
			var code int
			_, _ = fmt.Sscanf(a, "%d", &code)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(code)
			_, _ = fmt.Fprintf(w, `{"ok":false,"error_code":%d,"description":"x","parameters":{"retry_after":3600}}`, code)
		}))
		t.Cleanup(srv.Close)
		return srv.URL
	}
	fast := func(int) time.Duration { return time.Millisecond }
	for _, tc := range []struct {
		name   string
		url    string
		policy botapi.RetryPolicy
		brk    botapi.Breaker
		method string
	}{
		{"answer RetryUnsafe 502 then 400", script("502", "400"), botapi.RetryPolicy{RetryUnsafe: true, Backoff: fast}, nil, "answerPreCheckoutQuery"},
		{"set 500 then 400", script("500", "400"), botapi.RetryPolicy{Backoff: fast}, nil, "setMyDescription"},
		{"set 500 then 429 too long", script("500", "429"), botapi.RetryPolicy{Backoff: fast}, nil, "setMyDescription"},
		{"set 500 then circuit open", script("500"), botapi.RetryPolicy{Backoff: fast}, &openAfterFirst{}, "setMyDescription"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := botapi.New("123456:TEST-token", botapi.WithBaseURL(tc.url),
				botapi.WithRetry(tc.policy), botapi.WithBreaker(tc.brk))
			var err error
			if tc.method == "answerPreCheckoutQuery" {
				err = c.AnswerPreCheckoutQuery(t.Context(), &botapi.AnswerPreCheckoutQueryParams{PreCheckoutQueryID: "q", OK: true})
			} else {
				err = c.SetMyDescription(t.Context(), &botapi.SetMyDescriptionParams{})
			}
			require.Error(t, err)
			require.False(t, botapi.NotApplied(err), "an earlier attempt may have landed: %v", err)
			require.False(t, botapi.NotApplied(fmt.Errorf("wrapped: %w", err)))
		})
	}
}

// onceLimiter lets the first send go and refuses every later one, as the
// admission of ratelimit.Telegram.Admit refuses a retry
// (ratelimit.ErrAdmissionUsed); with refuseAll, every send.
type onceLimiter struct {
	mu        sync.Mutex
	waits     int
	refuseAll bool
}

func (l *onceLimiter) Wait(context.Context, int64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.waits++
	if l.refuseAll || l.waits > 1 {
		return errors.New("admission used")
	}
	return nil
}

func (*onceLimiter) Backoff(int64, time.Duration) {}

// TestNotAppliedLimiterRefusal: an attempt the Limiter does not let go
// makes no request, so a call whose attempts were all either refused by
// the limiter or never left is not applied; one whose earlier attempt may
// have landed (RetryUnsafe after a 502) is not proven unapplied by the
// limiter's refusal of its retry.
func TestNotAppliedLimiterRefusal(t *testing.T) {
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadGateway)
		_, _ = io.WriteString(w, `{"ok":false,"error_code":502,"description":"Bad Gateway"}`)
	}))
	t.Cleanup(bad.Close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := "http://" + ln.Addr().String()
	require.NoError(t, ln.Close())
	fast := func(int) time.Duration { return time.Millisecond }
	for _, tc := range []struct {
		name   string
		url    string
		lim    *onceLimiter
		policy botapi.RetryPolicy
		want   bool
	}{
		{"refused at once", bad.URL, &onceLimiter{refuseAll: true}, botapi.RetryPolicy{Backoff: fast}, true},
		{"connect refused, retry refused", closed, &onceLimiter{}, botapi.RetryPolicy{Backoff: fast}, true},
		{"RetryUnsafe 502, retry refused", bad.URL, &onceLimiter{}, botapi.RetryPolicy{RetryUnsafe: true, Backoff: fast}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := botapi.New("123456:TEST-token", botapi.WithBaseURL(tc.url), botapi.WithRetry(tc.policy), botapi.WithLimiter(tc.lim))
			_, err := c.SendMessage(t.Context(), &botapi.SendMessageParams{ChatID: botapi.ChatID{ID: 42}, Text: "x"})
			require.Error(t, err)
			require.Equal(t, tc.want, botapi.NotApplied(err), "%v", err)
		})
	}
}
