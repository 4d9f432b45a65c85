package webhook

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miniappkit/miniappkit/botapi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type obsKey struct{}

// obsRecorder keeps every event; StartUpdate marks the context so tests can
// see which context the handler and ObserveUpdate get.
type obsRecorder struct {
	mu       sync.Mutex
	starts   []UpdateStart
	updates  []UpdateEvent
	rejected []Rejection
	marked   []bool // ObserveUpdate's ctx carries StartUpdate's mark
}

func (r *obsRecorder) StartUpdate(ctx context.Context, e UpdateStart) context.Context {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.starts = append(r.starts, e)
	return context.WithValue(ctx, obsKey{}, e.UpdateID)
}

func (r *obsRecorder) ObserveUpdate(ctx context.Context, e UpdateEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.updates = append(r.updates, e)
	r.marked = append(r.marked, ctx.Value(obsKey{}) == e.UpdateID)
}

func (r *obsRecorder) ObserveRejected(_ context.Context, e Rejection) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rejected = append(r.rejected, e)
}

func (r *obsRecorder) last() UpdateEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.updates[len(r.updates)-1]
}

func TestObserverUpdates(t *testing.T) {
	rec := &obsRecorder{}
	var sawMark bool
	h := mustHandler(t, testToken, UpdateHandlerFunc(func(ctx context.Context, u *botapi.Update) error {
		sawMark = ctx.Value(obsKey{}) == u.UpdateID
		switch u.UpdateID {
		case 2:
			return errors.New("try again")
		case 3:
			panic("boom")
		}
		return nil
	}), WithObserver(rec), WithStore(NewMemoryStore(16)))

	require.Equal(t, http.StatusOK, deliver(t, h, testToken, `{"update_id":1,"callback_query":{"id":"q","from":{"id":1,"is_bot":false,"first_name":"a"},"chat_instance":"c"}}`).Code)
	require.True(t, sawMark, "the handler runs with StartUpdate's context")
	e := rec.last()
	assert.Equal(t, int64(1), e.UpdateID)
	assert.Equal(t, "callback_query", e.Kind)
	assert.Equal(t, sourceWebhook, e.Source)
	assert.Equal(t, 1, e.Attempt)
	assert.Equal(t, DedupeNew, e.Dedupe)
	assert.Equal(t, ResultOK, e.Result)
	assert.Equal(t, http.StatusOK, e.Status)
	assert.Positive(t, e.HandlerDuration)
	assert.GreaterOrEqual(t, e.Duration, e.HandlerDuration)
	assert.False(t, e.Start.IsZero())

	deliver(t, h, testToken, `{"update_id":1,"callback_query":{"id":"q","from":{"id":1,"is_bot":false,"first_name":"a"},"chat_instance":"c"}}`)
	e = rec.last()
	assert.Equal(t, DedupeDuplicate, e.Dedupe)
	assert.Equal(t, ResultOK, e.Result)
	assert.Zero(t, e.HandlerDuration, "the handler did not run")

	require.Equal(t, http.StatusInternalServerError, deliver(t, h, testToken, `{"update_id":2,"message":{"message_id":1,"date":0,"chat":{"id":1,"type":"private"}}}`).Code)
	e = rec.last()
	assert.Equal(t, "message", e.Kind)
	assert.Equal(t, ResultError, e.Result)
	assert.EqualError(t, e.Err, "try again")
	assert.Equal(t, http.StatusInternalServerError, e.Status)

	deliver(t, h, testToken, updateBody(3))
	e = rec.last()
	assert.Equal(t, "unknown", e.Kind)
	assert.Equal(t, ResultPanic, e.Result)

	rec.mu.Lock()
	defer rec.mu.Unlock()
	assert.Len(t, rec.starts, 4)
	assert.Len(t, rec.updates, 4, "one ObserveUpdate per StartUpdate")
	for i, m := range rec.marked {
		assert.True(t, m, "ObserveUpdate %d gets StartUpdate's context", i)
	}
	assert.Empty(t, rec.rejected)
}

func TestObserverStoreFailure(t *testing.T) {
	rec := &obsRecorder{}
	h := mustHandler(t, testToken, UpdateHandlerFunc(func(context.Context, *botapi.Update) error { return nil }),
		WithObserver(rec), WithStore(failingStore{}))
	require.Equal(t, http.StatusServiceUnavailable, deliver(t, h, testToken, updateBody(5)).Code)
	e := rec.last()
	assert.Equal(t, DedupeStoreError, e.Dedupe)
	assert.Equal(t, ResultRetry, e.Result)
	assert.Equal(t, http.StatusServiceUnavailable, e.Status)
}

func TestObserverRejections(t *testing.T) {
	rec := &obsRecorder{}
	h := mustHandler(t, testToken, UpdateHandlerFunc(func(context.Context, *botapi.Update) error { return nil }),
		WithObserver(rec), WithMaxBodyBytes(64))
	deliver(t, h, "", updateBody(1))
	deliver(t, h, "wrong", updateBody(1))
	deliver(t, h, testToken, `{"update_id":1,"message":{"text":"`+strings.Repeat("x", 100)+`"}}`)
	deliver(t, h, testToken, `not json`)

	hIP := mustHandler(t, testToken, UpdateHandlerFunc(func(context.Context, *botapi.Update) error { return nil }),
		WithObserver(rec), WithIPAllowList(netip.MustParsePrefix("10.0.0.0/8")))
	deliver(t, hIP, testToken, updateBody(1)) // httptest's peer is 192.0.2.1

	smw, err := SecretTokenMiddleware(testToken, WithObserver(rec))
	require.NoError(t, err)
	mw := smw(http.NotFoundHandler())
	deliver(t, mw, "nope", updateBody(1))

	now := time.Unix(1_700_000_000, 0)
	stripe, err := NewStripe("whsec_test", WithClock(func() time.Time { return now }))
	require.NoError(t, err)
	vmw := VerifyMiddleware(stripe, WithObserver(rec))(http.NotFoundHandler())
	for _, sig := range []string{"", "t=abc", "t=1700000000,v1=" + strings.Repeat("0", 64), SignStripe("whsec_test", now.Add(-time.Hour), []byte("{}"))} {
		req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader("{}"))
		if sig != "" {
			req.Header.Set("Stripe-Signature", sig)
		}
		w := httptest.NewRecorder()
		vmw.ServeHTTP(w, req)
		require.Equal(t, http.StatusUnauthorized, w.Code)
	}

	assert.Equal(t, []Rejection{
		{Scheme: "telegram", Reason: "missing_header", Status: 401},
		{Scheme: "telegram", Reason: "secret_mismatch", Status: 401},
		{Scheme: "body", Reason: "too_large", Status: 200},
		{Scheme: "body", Reason: "undecodable", Status: 200},
		{Scheme: "ip", Reason: "ip_not_allowed", Status: 403},
		{Scheme: "telegram", Reason: "secret_mismatch", Status: 401},
		{Scheme: "stripe", Reason: "missing_header", Status: 401},
		{Scheme: "stripe", Reason: "invalid_header", Status: 401},
		{Scheme: "stripe", Reason: "no_matching_signature", Status: 401},
		{Scheme: "stripe", Reason: "timestamp_too_old", Status: 401},
	}, rec.rejected)
	assert.Empty(t, rec.updates)
	assert.Panics(t, func() { VerifyMiddleware(stripe, WithObserver(nil)) })
}

func TestObserverAsyncAndWorker(t *testing.T) {
	rec := &obsRecorder{}
	q := NewMemoryQueue(4)
	h := mustHandler(t, testToken, nil, WithAsync(q), WithVolatileQueue(), WithObserver(rec))
	require.Equal(t, http.StatusOK, deliver(t, h, testToken, updateBody(7)).Code)
	e := rec.last()
	assert.Equal(t, ResultQueued, e.Result)
	assert.Equal(t, DedupeSkipped, e.Dedupe)

	var runs int
	w := mustWorker(t, q, UpdateHandlerFunc(func(ctx context.Context, u *botapi.Update) error {
		runs++
		if ctx.Value(obsKey{}) != u.UpdateID {
			return errors.New("handler did not get StartUpdate's context")
		}
		if runs == 1 {
			return errors.New("first attempt fails")
		}
		return nil
	}), WithObserver(rec), WithMaxAttempts(3), WithBackoff(func(int) time.Duration { return 0 }))
	q.Close()
	require.NoError(t, w.Run(t.Context(), 1))

	rec.mu.Lock()
	defer rec.mu.Unlock()
	require.Len(t, rec.updates, 3)
	first, second := rec.updates[1], rec.updates[2]
	assert.Equal(t, sourceWorker, first.Source)
	assert.Equal(t, 1, first.Attempt)
	assert.Equal(t, ResultError, first.Result)
	assert.Equal(t, DedupeNew, first.Dedupe)
	assert.Equal(t, 2, second.Attempt)
	assert.Equal(t, ResultOK, second.Result)
	assert.Zero(t, second.Status)

	// A worker that gives up reports the update dead.
	q2 := NewMemoryQueue(1)
	w2 := mustWorker(t, q2, UpdateHandlerFunc(func(context.Context, *botapi.Update) error { return errors.New("no") }),
		WithObserver(rec), WithMaxAttempts(1))
	require.NoError(t, q2.Push(t.Context(), 8, []byte(updateBody(8))))
	q2.Close()
	rec.mu.Unlock()
	require.NoError(t, w2.Run(t.Context(), 1))
	rec.mu.Lock()
	assert.Equal(t, ResultDead, rec.updates[len(rec.updates)-1].Result)
}

func TestUpdateKind(t *testing.T) {
	assert.Equal(t, "unknown", UpdateKind(nil))
	assert.Equal(t, "unknown", UpdateKind(&botapi.Update{UpdateID: 1}))
	assert.Equal(t, "pre_checkout_query", UpdateKind(&botapi.Update{PreCheckoutQuery: &botapi.PreCheckoutQuery{}}))
	assert.Equal(t, "edited_message", UpdateKind(&botapi.Update{EditedMessage: &botapi.Message{}}))
}

// BenchmarkHandlerObserver runs one delivery through NewHandler with no
// observer and with a no-op one; "none" must allocate what main's handler
// allocates per update.
func BenchmarkHandlerObserver(b *testing.B) {
	const tail = `,"message":{"message_id":1,"date":0,"chat":{"id":1,"type":"private"},"text":"hi"}}`
	for _, bc := range []struct {
		name string
		opts []Option
	}{{"none", nil}, {"noop", []Option{WithObserver(noopObserver{})}}} {
		b.Run(bc.name, func(b *testing.B) {
			h := mustHandler(b, testToken, UpdateHandlerFunc(func(context.Context, *botapi.Update) error { return nil }),
				append(bc.opts, WithStore(NewMemoryStore(1<<16)))...)
			req := httptest.NewRequest(http.MethodPost, "/hook", nil)
			req.Header.Set(HeaderSecretToken, testToken)
			w := httptest.NewRecorder()
			var buf []byte
			rd := new(bytes.Reader)
			id := int64(0)
			b.ReportAllocs()
			for b.Loop() {
				id++ // a new update each time: the claim, handler and complete path
				buf = append(strconv.AppendInt(append(buf[:0], `{"update_id":`...), id, 10), tail...)
				rd.Reset(buf)
				req.Body = nopBody{rd}
				req.ContentLength = int64(len(buf))
				h.ServeHTTP(w, req)
			}
		})
	}
}

type nopBody struct{ *bytes.Reader }

func (nopBody) Close() error { return nil }

type noopObserver struct{}

func (noopObserver) StartUpdate(ctx context.Context, _ UpdateStart) context.Context { return ctx }
func (noopObserver) ObserveUpdate(context.Context, UpdateEvent)                     {}
func (noopObserver) ObserveRejected(context.Context, Rejection)                     {}
