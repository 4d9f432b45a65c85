package otel

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/miniappkit/miniappkit/botapi"
	"github.com/miniappkit/miniappkit/webhook"
)

const (
	testToken  = "123456:AAH-test-token"
	testSecret = "s3cret_token"
)

// harness is an Observer over in-memory exporters.
type harness struct {
	obs    *Observer
	reader *sdkmetric.ManualReader
	spans  *tracetest.SpanRecorder
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	h := &harness{reader: sdkmetric.NewManualReader(), spans: tracetest.NewSpanRecorder()}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(h.reader))
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(h.spans))
	obs, err := New(WithMeterProvider(mp), WithTracerProvider(tp))
	require.NoError(t, err)
	h.obs = obs
	return h
}

// metric returns the collected metric named name.
func (h *harness) metric(t *testing.T, name string) metricdata.Metrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	require.NoError(t, h.reader.Collect(context.Background(), &rm))
	for _, sm := range rm.ScopeMetrics {
		require.Equal(t, ScopeName, sm.Scope.Name)
		for _, m := range sm.Metrics {
			if m.Name == name {
				return m
			}
		}
	}
	t.Fatalf("no metric %q", name)
	return metricdata.Metrics{}
}

// attrs turns a set into a map for comparison.
func attrs(s attribute.Set) map[string]any {
	m := map[string]any{}
	for _, kv := range s.ToSlice() {
		m[string(kv.Key)] = kv.Value.AsInterface()
	}
	return m
}

// histCounts maps each data point's attributes (as a map) to its count.
func histCounts(t *testing.T, m metricdata.Metrics) []pointCount {
	t.Helper()
	h, ok := m.Data.(metricdata.Histogram[float64])
	require.True(t, ok, "%s is a float64 histogram", m.Name)
	var out []pointCount
	for _, dp := range h.DataPoints {
		out = append(out, pointCount{attrs(dp.Attributes), int64(dp.Count), dp.Sum})
	}
	return out
}

func sumPoints(t *testing.T, m metricdata.Metrics) []pointCount {
	t.Helper()
	s, ok := m.Data.(metricdata.Sum[int64])
	require.True(t, ok, "%s is an int64 sum", m.Name)
	require.True(t, s.IsMonotonic)
	var out []pointCount
	for _, dp := range s.DataPoints {
		out = append(out, pointCount{attrs(dp.Attributes), dp.Value, 0})
	}
	return out
}

type pointCount struct {
	attrs map[string]any
	count int64
	sum   float64
}

// find returns the point whose attributes are exactly want.
func find(t *testing.T, points []pointCount, want map[string]any) pointCount {
	t.Helper()
	for _, p := range points {
		if assert.ObjectsAreEqual(want, p.attrs) {
			return p
		}
	}
	t.Fatalf("no point with attributes %v among %v", want, points)
	return pointCount{}
}

// fakeTelegram answers by method: setMyName true, getChat 403, sendPoll
// 429 once then true.
type fakeTelegram struct {
	mu    sync.Mutex
	polls int
}

func (f *fakeTelegram) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, r.Body)
		r.Body.Close()
	}
	status, body := 200, `{"ok":true,"result":true}`
	switch {
	case strings.HasSuffix(r.URL.Path, "/getChat"):
		status, body = 403, `{"ok":false,"error_code":403,"description":"Forbidden: bot was blocked by the user"}`
	case strings.HasSuffix(r.URL.Path, "/setChatTitle"):
		f.mu.Lock()
		f.polls++
		first := f.polls == 1
		f.mu.Unlock()
		if first {
			status, body = 429, `{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 2","parameters":{"retry_after":2}}`
		}
	}
	return &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader(body)), Request: r}, nil
}

func deliver(h http.Handler, secret, body string) int {
	req := httptest.NewRequest(http.MethodPost, "/hook", strings.NewReader(body))
	if secret != "" {
		req.Header.Set(webhook.HeaderSecretToken, secret)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w.Code
}

const messageUpdate = `{"update_id":42,"message":{"message_id":1,"date":0,"chat":{"id":7,"type":"private"},"text":"hi"}}`

// TestUpdateParentsItsCalls: the update's span is the parent of the Bot API
// calls its handler makes through the handler's context; names, kinds,
// attributes and statuses are as documented.
func TestUpdateParentsItsCalls(t *testing.T) {
	hs := newHarness(t)
	client := botapi.New(testToken, botapi.WithObserver(hs.obs),
		botapi.WithHTTPClient(&http.Client{Transport: &fakeTelegram{}}))
	hook, herr := webhook.NewHandler(testSecret, webhook.UpdateHandlerFunc(func(ctx context.Context, u *botapi.Update) error {
		if err := client.Call(ctx, "setMyName", map[string]string{"name": "x"}, nil); err != nil {
			return err
		}
		_ = client.Call(ctx, "getChat", map[string]int64{"chat_id": 7}, nil) // 403
		return nil
	}), webhook.WithObserver(hs.obs))
	require.NoError(t, herr)

	require.Equal(t, http.StatusOK, deliver(hook, testSecret, messageUpdate))
	require.NoError(t, client.Call(t.Context(), "setMyName", map[string]string{"name": "y"}, nil)) // outside any update

	spans := hs.spans.Ended()
	require.Len(t, spans, 4)
	byName := map[string][]sdktrace.ReadOnlySpan{}
	for _, s := range spans {
		byName[s.Name()] = append(byName[s.Name()], s)
	}
	require.Len(t, byName["update message"], 1)
	update := byName["update message"][0]
	assert.Equal(t, trace.SpanKindServer, update.SpanKind())
	assert.False(t, update.Parent().IsValid(), "the update is a root span here")
	assert.Equal(t, map[string]any{
		"miniappkit.update.kind":    "message",
		"miniappkit.update.source":  "webhook",
		"miniappkit.update.id":      int64(42),
		"miniappkit.update.attempt": int64(1),
		"miniappkit.update.dedupe":  "new",
		"miniappkit.update.result":  "ok",
		"http.response.status_code": int64(200),
	}, attrs(attribute.NewSet(update.Attributes()...)))

	require.Len(t, byName["botapi setMyName"], 2)
	inUpdate, outside := byName["botapi setMyName"][0], byName["botapi setMyName"][1]
	if !inUpdate.Parent().IsValid() {
		inUpdate, outside = outside, inUpdate
	}
	getChat := byName["botapi getChat"][0]
	for _, call := range []sdktrace.ReadOnlySpan{inUpdate, getChat} {
		assert.Equal(t, trace.SpanKindClient, call.SpanKind())
		assert.Equal(t, update.SpanContext().SpanID(), call.Parent().SpanID(), "%s is the update's child", call.Name())
		assert.Equal(t, update.SpanContext().TraceID(), call.SpanContext().TraceID())
		assert.False(t, call.StartTime().Before(update.StartTime()))
		assert.False(t, call.EndTime().After(update.EndTime()))
	}
	assert.False(t, outside.Parent().IsValid(), "a call outside an update is a root span")
	assert.NotEqual(t, update.SpanContext().TraceID(), outside.SpanContext().TraceID())

	assert.Equal(t, map[string]any{
		"miniappkit.botapi.method":   "setMyName",
		"miniappkit.botapi.attempts": int64(1),
		"http.response.status_code":  int64(200),
	}, attrs(attribute.NewSet(inUpdate.Attributes()...)))
	assert.Equal(t, codes.Unset, inUpdate.Status().Code)
	assert.Equal(t, map[string]any{
		"miniappkit.botapi.method":   "getChat",
		"miniappkit.botapi.attempts": int64(1),
		"http.response.status_code":  int64(403),
		"error.type":                 "forbidden",
	}, attrs(attribute.NewSet(getChat.Attributes()...)))
	assert.Equal(t, codes.Error, getChat.Status().Code)

	// Metrics of the same run.
	httpPoints := histCounts(t, hs.metric(t, "http.client.request.duration"))
	base := map[string]any{
		"http.request.method": "POST", "server.address": "api.telegram.org", "server.port": int64(443),
	}
	with := func(extra map[string]any) map[string]any {
		m := map[string]any{}
		for k, v := range base {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	assert.Equal(t, int64(2), find(t, httpPoints, with(map[string]any{"miniappkit.botapi.method": "setMyName", "http.response.status_code": int64(200)})).count)
	assert.Equal(t, int64(1), find(t, httpPoints, with(map[string]any{"miniappkit.botapi.method": "getChat", "http.response.status_code": int64(403), "error.type": "forbidden"})).count)
	assert.Equal(t, "s", hs.metric(t, "http.client.request.duration").Unit)

	callPoints := histCounts(t, hs.metric(t, "miniappkit.botapi.call.duration"))
	assert.Equal(t, int64(2), find(t, callPoints, map[string]any{"miniappkit.botapi.method": "setMyName"}).count)
	assert.Equal(t, int64(1), find(t, callPoints, map[string]any{"miniappkit.botapi.method": "getChat", "error.type": "forbidden"}).count)

	updPoints := histCounts(t, hs.metric(t, "miniappkit.update.duration"))
	assert.Equal(t, int64(1), find(t, updPoints, map[string]any{
		"miniappkit.update.kind": "message", "miniappkit.update.source": "webhook",
		"miniappkit.update.dedupe": "new", "miniappkit.update.result": "ok",
	}).count)
	hPoints := histCounts(t, hs.metric(t, "miniappkit.update.handler.duration"))
	assert.Equal(t, int64(1), find(t, hPoints, map[string]any{
		"miniappkit.update.kind": "message", "miniappkit.update.source": "webhook", "miniappkit.update.result": "ok",
	}).count)
}

// TestUpdateOutcomes: duplicates, failures and rejections are counted by
// their outcome.
func TestUpdateOutcomes(t *testing.T) {
	hs := newHarness(t)
	fail := true
	hook, herr := webhook.NewHandler(testSecret, webhook.UpdateHandlerFunc(func(ctx context.Context, u *botapi.Update) error {
		if fail {
			fail = false
			return io.ErrUnexpectedEOF
		}
		return nil
	}), webhook.WithObserver(hs.obs))
	require.NoError(t, herr)
	require.Equal(t, http.StatusInternalServerError, deliver(hook, testSecret, messageUpdate))
	require.Equal(t, http.StatusOK, deliver(hook, testSecret, messageUpdate))
	require.Equal(t, http.StatusOK, deliver(hook, testSecret, messageUpdate)) // duplicate
	require.Equal(t, http.StatusUnauthorized, deliver(hook, "wrong", messageUpdate))
	require.Equal(t, http.StatusUnauthorized, deliver(hook, "", messageUpdate))

	pts := histCounts(t, hs.metric(t, "miniappkit.update.duration"))
	key := func(dedupe, result string) map[string]any {
		return map[string]any{"miniappkit.update.kind": "message", "miniappkit.update.source": "webhook",
			"miniappkit.update.dedupe": dedupe, "miniappkit.update.result": result}
	}
	assert.Equal(t, int64(1), find(t, pts, key("new", "error")).count)
	assert.Equal(t, int64(1), find(t, pts, key("new", "ok")).count)
	assert.Equal(t, int64(1), find(t, pts, key("duplicate", "ok")).count)
	assert.Len(t, pts, 3)

	rej := sumPoints(t, hs.metric(t, "miniappkit.webhook.rejected"))
	assert.Equal(t, int64(1), find(t, rej, map[string]any{"miniappkit.webhook.scheme": "telegram", "miniappkit.webhook.reason": "secret_mismatch", "http.response.status_code": int64(401)}).count)
	assert.Equal(t, int64(1), find(t, rej, map[string]any{"miniappkit.webhook.scheme": "telegram", "miniappkit.webhook.reason": "missing_header", "http.response.status_code": int64(401)}).count)

	var failed sdktrace.ReadOnlySpan
	for _, s := range hs.spans.Ended() {
		if attrs(attribute.NewSet(s.Attributes()...))["miniappkit.update.result"] == "error" {
			failed = s
		}
	}
	require.NotNil(t, failed)
	assert.Equal(t, codes.Error, failed.Status().Code)
	assert.Len(t, hs.spans.Ended(), 3, "one span per delivery that decoded an update")
}

// TestRateLimitedCall: a 429 is counted, and the retry_after the client
// slept is recorded (fake clock of a synctest bubble).
func TestRateLimitedCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hs := newHarness(t)
		client := botapi.New(testToken, botapi.WithObserver(hs.obs),
			botapi.WithHTTPClient(&http.Client{Transport: &fakeTelegram{}}))
		require.NoError(t, client.Call(t.Context(), "setChatTitle", map[string]any{"chat_id": 7, "title": "t"}, nil))

		limited := sumPoints(t, hs.metric(t, "miniappkit.botapi.rate_limited"))
		assert.Equal(t, int64(1), find(t, limited, map[string]any{"miniappkit.botapi.method": "setChatTitle"}).count)
		retries := sumPoints(t, hs.metric(t, "miniappkit.botapi.call.retries"))
		assert.Equal(t, int64(1), find(t, retries, map[string]any{"miniappkit.botapi.method": "setChatTitle"}).count)
		wait := histCounts(t, hs.metric(t, "miniappkit.botapi.retry_after.wait"))
		p := find(t, wait, map[string]any{"miniappkit.botapi.method": "setChatTitle"})
		assert.Equal(t, int64(1), p.count)
		assert.Equal(t, 2.0, p.sum)
		call := histCounts(t, hs.metric(t, "miniappkit.botapi.call.duration"))
		assert.Equal(t, 2.0, find(t, call, map[string]any{"miniappkit.botapi.method": "setChatTitle"}).sum)

		spans := hs.spans.Ended()
		require.Len(t, spans, 1)
		assert.Equal(t, int64(2), attrs(attribute.NewSet(spans[0].Attributes()...))["miniappkit.botapi.attempts"])
		assert.Equal(t, int64(1), attrs(attribute.NewSet(spans[0].Attributes()...))["miniappkit.botapi.rate_limited"])
		assert.Equal(t, 2*time.Second, spans[0].EndTime().Sub(spans[0].StartTime()))
	})
}
