package botapi

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// recordingObserver keeps every event.
type recordingObserver struct {
	mu       sync.Mutex
	calls    []CallEvent
	attempts []AttemptEvent
	ctxs     []context.Context
}

func (r *recordingObserver) ObserveAttempt(_ context.Context, e AttemptEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.attempts = append(r.attempts, e)
}

func (r *recordingObserver) ObserveCall(ctx context.Context, e CallEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, e)
	r.ctxs = append(r.ctxs, ctx)
}

// scripted is an in-memory transport answering each request with the next
// of its answers (status, body), the last one repeated.
type scripted struct {
	mu      sync.Mutex
	answers [][2]any
	n       int
}

func (s *scripted) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, r.Body)
		r.Body.Close()
	}
	if err := r.Context().Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	a := s.answers[min(s.n, len(s.answers)-1)]
	s.n++
	s.mu.Unlock()
	return &http.Response{
		StatusCode: a[0].(int),
		Header:     http.Header{"Content-Type": {"application/json"}},
		Body:       io.NopCloser(strings.NewReader(a[1].(string))),
		Request:    r,
	}, nil
}

func scriptedClient(obs Observer, answers ...[2]any) (*Client, *scripted) {
	tr := &scripted{answers: answers}
	opts := []Option{
		WithHTTPClient(&http.Client{Transport: tr}),
		WithRetry(RetryPolicy{Backoff: func(int) time.Duration { return 2 * time.Second }}),
	}
	if obs != nil {
		opts = append(opts, WithObserver(obs))
	}
	return New(testToken, opts...), tr
}

const (
	answerOK   = `{"ok":true,"result":true}`
	answer429  = `{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 3","parameters":{"retry_after":3}}`
	answer502  = `{"ok":false,"error_code":502,"description":"Bad Gateway"}`
	answer403  = `{"ok":false,"error_code":403,"description":"Forbidden: bot was blocked by the user"}`
	answerHTML = `<html>oops</html>`
)

type ctxKey struct{}

func TestObserverCallWithRetries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		obs := &recordingObserver{}
		c, _ := scriptedClient(obs, [2]any{429, answer429}, [2]any{502, answer502}, [2]any{200, answerOK})
		ctx := context.WithValue(t.Context(), ctxKey{}, "update-span")
		start := time.Now()
		var ok bool
		require.NoError(t, c.Call(ctx, "setMyName", map[string]any{"name": "x"}, &ok))
		require.True(t, ok)

		require.Len(t, obs.calls, 1)
		e := obs.calls[0]
		assert.Equal(t, "setMyName", e.Method)
		assert.Equal(t, start, e.Start)
		// 3 s retry_after, then 2 s backoff after the 502; no time passes
		// otherwise in the bubble.
		assert.Equal(t, 5*time.Second, e.Duration)
		assert.Equal(t, 3, e.Attempts)
		assert.Equal(t, 200, e.Status)
		assert.Equal(t, ClassOK, e.Class)
		require.NoError(t, e.Err)
		assert.Equal(t, 1, e.RateLimited)
		assert.Equal(t, 3*time.Second, e.RetryAfterWait)
		assert.Equal(t, "update-span", obs.ctxs[0].Value(ctxKey{}), "the observer sees the caller's context")

		require.Len(t, obs.attempts, 3)
		classes := []ErrorClass{obs.attempts[0].Class, obs.attempts[1].Class, obs.attempts[2].Class}
		assert.Equal(t, []ErrorClass{ClassTooManyRequests, ClassServer, ClassOK}, classes)
		assert.Equal(t, []int{429, 502, 200}, []int{obs.attempts[0].Status, obs.attempts[1].Status, obs.attempts[2].Status})
		assert.Equal(t, 3*time.Second, obs.attempts[0].RetryAfter)
		assert.Zero(t, obs.attempts[1].RetryAfter)
		for i, a := range obs.attempts {
			assert.Equal(t, i+1, a.Attempt)
			assert.Equal(t, "api.telegram.org", a.ServerAddress)
			assert.Equal(t, 443, a.ServerPort)
		}
		assert.Equal(t, start.Add(3*time.Second), obs.attempts[1].Start)
	})
}

func TestObserverCallFailures(t *testing.T) {
	tests := []struct {
		name     string
		answers  [][2]any
		policy   RetryPolicy
		class    ErrorClass
		attempts int
		status   int
		limited  int
	}{
		{name: "forbidden", answers: [][2]any{{403, answer403}}, class: ClassForbidden, attempts: 1, status: 403},
		{name: "invalid response", answers: [][2]any{{502, answerHTML}}, policy: RetryPolicy{MaxAttempts: 1}, class: ClassInvalidResponse, attempts: 1, status: 502},
		{name: "429 not waited", answers: [][2]any{{429, answer429}}, policy: RetryPolicy{MaxRetryAfter: -1}, class: ClassTooManyRequests, attempts: 1, status: 429, limited: 1},
		{name: "5xx given up", answers: [][2]any{{502, answer502}}, policy: RetryPolicy{MaxAttempts: 2, Backoff: func(int) time.Duration { return 0 }}, class: ClassServer, attempts: 2, status: 502},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obs := &recordingObserver{}
			c := New(testToken, WithHTTPClient(&http.Client{Transport: &scripted{answers: tt.answers}}),
				WithRetry(tt.policy), WithObserver(obs))
			err := c.Call(t.Context(), "getChat", map[string]any{"chat_id": 1}, nil)
			require.Error(t, err)
			require.Len(t, obs.calls, 1)
			e := obs.calls[0]
			assert.Equal(t, tt.class, e.Class)
			assert.Equal(t, tt.attempts, e.Attempts)
			assert.Equal(t, tt.status, e.Status)
			assert.Equal(t, tt.limited, e.RateLimited)
			assert.Zero(t, e.RetryAfterWait)
			assert.Equal(t, err, e.Err)
			assert.Len(t, obs.attempts, tt.attempts)
		})
	}

	t.Run("config", func(t *testing.T) {
		obs := &recordingObserver{}
		c := New("", WithObserver(obs))
		require.ErrorIs(t, c.Call(t.Context(), "getMe", nil, nil), ErrConfig)
		require.Len(t, obs.calls, 1)
		assert.Equal(t, ClassConfig, obs.calls[0].Class)
		assert.Zero(t, obs.calls[0].Attempts)
		assert.Empty(t, obs.attempts)
	})
	t.Run("canceled", func(t *testing.T) {
		obs := &recordingObserver{}
		c, _ := scriptedClient(obs, [2]any{200, answerOK})
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		require.Error(t, c.Call(ctx, "getMe", nil, nil))
		require.Len(t, obs.calls, 1)
		assert.Equal(t, ClassCanceled, obs.calls[0].Class)
	})
}

// sleepyLimiter makes every Wait last a second.
type sleepyLimiter struct{}

func (sleepyLimiter) Wait(ctx context.Context, _ int64) error {
	return sleepCtx(ctx, time.Second)
}
func (sleepyLimiter) Backoff(int64, time.Duration) {}

func TestObserverLimiterWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		obs := &recordingObserver{}
		tr := &scripted{answers: [][2]any{{200, `{"ok":true,"result":{"message_id":1,"date":0,"chat":{"id":7,"type":"private"}}}`}}}
		c := New(testToken, WithHTTPClient(&http.Client{Transport: tr}), WithLimiter(sleepyLimiter{}), WithObserver(obs))
		_, err := c.SendMessage(t.Context(), &SendMessageParams{ChatID: ChatID{ID: 7}, Text: "hi"})
		require.NoError(t, err)
		require.Len(t, obs.calls, 1)
		assert.Equal(t, time.Second, obs.calls[0].LimiterWait)
		assert.Equal(t, time.Second, obs.calls[0].Duration)
		assert.Equal(t, "sendMessage", obs.calls[0].Method)
	})
}

func TestObserverServerAddress(t *testing.T) {
	obs := &recordingObserver{}
	c := New(testToken, WithBaseURL("http://127.0.0.1:8081"), WithObserver(obs),
		WithHTTPClient(&http.Client{Transport: &scripted{answers: [][2]any{{200, answerOK}}}}))
	require.NoError(t, c.Call(t.Context(), "getMe", nil, nil))
	require.Len(t, obs.attempts, 1)
	assert.Equal(t, "127.0.0.1", obs.attempts[0].ServerAddress)
	assert.Equal(t, 8081, obs.attempts[0].ServerPort)
	assert.NotContains(t, c.String(), testToken)
}

func TestClassify(t *testing.T) {
	assert.Equal(t, ClassOK, Classify(nil))
	assert.Equal(t, ClassConflict, Classify(&Error{Code: 409}))
	assert.Equal(t, ClassClient, Classify(&Error{Code: 418}))
	assert.Equal(t, ClassUnauthorized, Classify(&Error{Code: 401}))
	assert.Equal(t, ClassNotFound, Classify(&Error{Code: 404}))
	assert.Equal(t, ClassBadRequest, Classify(&Error{Code: 400}))
	assert.Equal(t, ClassTimeout, Classify(context.DeadlineExceeded))
	assert.Equal(t, ClassNetwork, Classify(&netError{method: "getMe", err: io.ErrUnexpectedEOF}))
	assert.Equal(t, ClassOther, Classify(io.EOF))
}

// BenchmarkObserver measures a call through an in-memory transport with no
// observer (the path every user without one takes) and with a no-op one.
// The "none" row must allocate what main's client allocates per call.
func BenchmarkObserver(b *testing.B) {
	for _, bc := range []struct {
		name string
		obs  Observer
	}{{"none", nil}, {"noop", noopObserver{}}} {
		b.Run(bc.name, func(b *testing.B) {
			c, _ := scriptedClient(bc.obs, [2]any{200, answerOK})
			p := &SetMyNameParams{Name: Ptr("bench")}
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if err := c.Call(ctx, "setMyName", p, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

type noopObserver struct{}

func (noopObserver) ObserveAttempt(context.Context, AttemptEvent) {}
func (noopObserver) ObserveCall(context.Context, CallEvent)       {}
