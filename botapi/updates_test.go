package botapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeQueue behaves like Telegram's getUpdates: a call with offset N
// forgets every update below N, then returns up to limit of the rest.
type fakeQueue struct {
	mu      sync.Mutex
	pending []string // raw updates, in update_id order
	calls   []string // "offset/limit/timeout/allowed" of each call
	fail    []int    // HTTP statuses to answer the next calls with
}

func (q *fakeQueue) handle(t *testing.T) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var p struct {
			Offset  int64     `json:"offset"`
			Limit   int       `json:"limit"`
			Timeout int       `json:"timeout"`
			Allowed *[]string `json:"allowed_updates"`
		}
		require.NoError(t, json.NewDecoder(r.Body).Decode(&p))
		q.mu.Lock()
		defer q.mu.Unlock()
		allowed := "-"
		if p.Allowed != nil {
			allowed = fmt.Sprint(*p.Allowed)
		}
		q.calls = append(q.calls, fmt.Sprintf("%d/%d/%d/%s", p.Offset, p.Limit, p.Timeout, allowed))
		if len(q.fail) > 0 {
			status := q.fail[0]
			q.fail = q.fail[1:]
			reply(w, status, fmt.Sprintf(`{"ok":false,"error_code":%d,"description":"%s"}`, status, http.StatusText(status)))
			return
		}
		for len(q.pending) > 0 {
			var u struct {
				ID int64 `json:"update_id"`
			}
			require.NoError(t, json.Unmarshal([]byte(q.pending[0]), &u))
			if p.Offset == 0 || u.ID >= p.Offset {
				break
			}
			q.pending = q.pending[1:]
		}
		n := min(p.Limit, len(q.pending))
		if p.Limit == 0 {
			n = min(100, len(q.pending))
		}
		reply(w, 200, `{"ok":true,"result":[`+strings.Join(q.pending[:n], ",")+`]}`)
	}
}

func textUpdate(id int64) string {
	return fmt.Sprintf(`{"update_id":%d,"message":{"message_id":%d,"date":1700000000,"chat":{"id":42,"type":"private"},"text":"m%d"}}`, id, id, id)
}

func noBackoff(int) time.Duration { return 0 }

func TestUpdatesYieldsEachUpdateOnce(t *testing.T) {
	c, mux := setup(t)
	q := &fakeQueue{}
	for id := int64(100); id < 107; id++ {
		q.pending = append(q.pending, textUpdate(id))
	}
	// An update kind this package does not know must not fail the batch.
	q.pending = append(q.pending, `{"update_id":107,"brand_new_kind":{"x":1}}`, textUpdate(108))
	mux.HandleFunc("POST /getUpdates", q.handle(t))

	var got []int64
	var texts []string
	for u, err := range c.Updates(t.Context(), &UpdatesOptions{Limit: 3, Timeout: -1, AllowedUpdates: []string{}}) {
		var de *UpdateDecodeError
		if errors.As(err, &de) { // the unknown kind, with its JSON
			require.ErrorIs(t, err, ErrUnknownUpdate)
			assert.JSONEq(t, `{"update_id":107,"brand_new_kind":{"x":1}}`, string(de.Raw))
			got = append(got, de.UpdateID)
			continue
		}
		require.NoError(t, err)
		got = append(got, u.UpdateID)
		if u.Message != nil {
			texts = append(texts, u.Message.Text)
		}
		if u.UpdateID == 108 {
			break
		}
	}
	assert.Equal(t, []int64{100, 101, 102, 103, 104, 105, 106, 107, 108}, got)
	assert.Equal(t, "m100", texts[0])
	assert.Equal(t, []string{
		"0/3/0/[]", "103/3/0/[]", "106/3/0/[]",
		"109/1/0/-", // the confirmation of 108 when the loop stopped
	}, q.calls)
	assert.Empty(t, q.pending, "Telegram forgot every yielded update")
}

func TestUpdatesBreakNeitherLosesNorRepeats(t *testing.T) {
	c, mux := setup(t)
	q := &fakeQueue{}
	for id := int64(1); id <= 10; id++ {
		q.pending = append(q.pending, textUpdate(id))
	}
	mux.HandleFunc("POST /getUpdates", q.handle(t))

	var got []int64
	// The first poller stops in the middle of a batch of 4.
	for u, err := range c.Updates(t.Context(), &UpdatesOptions{Limit: 4, Timeout: -1}) {
		require.NoError(t, err)
		got = append(got, u.UpdateID)
		if u.UpdateID == 6 {
			break
		}
	}
	// A second poller (a restart) starts from Telegram's offset.
	for u, err := range c.Updates(t.Context(), &UpdatesOptions{Timeout: -1}) {
		require.NoError(t, err)
		got = append(got, u.UpdateID)
		if u.UpdateID == 10 {
			break
		}
	}
	assert.Equal(t, []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, got)
}

// TestUpdatesPanicLeavesUpdateUnconfirmed checks the documented promise
// that an update whose loop body panics comes again to the next poller,
// while the updates before it are confirmed.
func TestUpdatesPanicLeavesUpdateUnconfirmed(t *testing.T) {
	c, mux := setup(t)
	q := &fakeQueue{}
	for id := int64(1); id <= 8; id++ {
		q.pending = append(q.pending, textUpdate(id))
	}
	mux.HandleFunc("POST /getUpdates", q.handle(t))

	var handled []int64
	func() {
		defer func() { assert.Equal(t, "handler failed", recover()) }()
		for u, err := range c.Updates(t.Context(), &UpdatesOptions{Limit: 4, Timeout: -1}) {
			require.NoError(t, err)
			if u.UpdateID == 6 {
				panic("handler failed")
			}
			handled = append(handled, u.UpdateID)
		}
	}()
	q.mu.Lock()
	assert.Equal(t, "6/1/0/-", q.calls[len(q.calls)-1], "the stop confirmed 1-5 only")
	q.mu.Unlock()
	for u, err := range c.Updates(t.Context(), &UpdatesOptions{Timeout: -1}) {
		require.NoError(t, err)
		handled = append(handled, u.UpdateID)
		if u.UpdateID == 8 {
			break
		}
	}
	assert.Equal(t, []int64{1, 2, 3, 4, 5, 6, 7, 8}, handled)
}

func TestUpdatesErrorsBackOffAndContinue(t *testing.T) {
	c, mux := setup(t, WithRetry(RetryPolicy{MaxAttempts: 1}))
	q := &fakeQueue{pending: []string{textUpdate(5)}, fail: []int{409, 502}}
	mux.HandleFunc("POST /getUpdates", q.handle(t))

	var errs []error
	var backoffs []int
	opts := &UpdatesOptions{Timeout: -1, Backoff: func(n int) time.Duration { backoffs = append(backoffs, n); return 0 }}
	for u, err := range c.Updates(t.Context(), opts) {
		if err != nil {
			errs = append(errs, err)
			continue
		}
		assert.Equal(t, int64(5), u.UpdateID)
		break
	}
	require.Len(t, errs, 2)
	require.ErrorIs(t, errs[0], ErrConflict)
	require.ErrorIs(t, errs[1], ErrServer)
	assert.Equal(t, []int{1, 2}, backoffs)
}

// TestUpdatesSubSecondTimeoutLongPolls checks that a positive timeout under
// a second long-polls for 1 s rather than polling in a tight loop with
// timeout 0.
func TestUpdatesSubSecondTimeoutLongPolls(t *testing.T) {
	c, mux := setup(t)
	q := &fakeQueue{pending: []string{textUpdate(1)}}
	mux.HandleFunc("POST /getUpdates", q.handle(t))
	for range c.Updates(t.Context(), &UpdatesOptions{Timeout: 300 * time.Millisecond}) {
		break
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	assert.Equal(t, "0/100/1/-", q.calls[0])
}

func TestUpdatesStopsOnUnauthorized(t *testing.T) {
	c, mux := setup(t)
	q := &fakeQueue{fail: []int{401}}
	mux.HandleFunc("POST /getUpdates", q.handle(t))
	n := 0
	for _, err := range c.Updates(t.Context(), &UpdatesOptions{Timeout: -1, Backoff: noBackoff}) {
		require.ErrorIs(t, err, ErrUnauthorized)
		n++
	}
	assert.Equal(t, 1, n)
}

func TestUpdatesStopsOnContextCancel(t *testing.T) {
	c, mux := setup(t)
	q := &fakeQueue{pending: []string{textUpdate(1), textUpdate(2), textUpdate(3)}}
	mux.HandleFunc("POST /getUpdates", q.handle(t))
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var got []int64
	for u, err := range c.Updates(ctx, &UpdatesOptions{Timeout: -1, Limit: 2}) {
		require.NoError(t, err)
		got = append(got, u.UpdateID)
		cancel() // no further update is yielded, though 2 was fetched
	}
	assert.Equal(t, []int64{1}, got)
	q.mu.Lock()
	defer q.mu.Unlock()
	assert.Equal(t, []string{"0/2/0/-", "2/1/0/-"}, q.calls, "confirmed despite the canceled context")
}

func TestUpdatesDoesNotMutateOptions(t *testing.T) {
	c, mux := setup(t)
	q := &fakeQueue{pending: []string{textUpdate(1)}}
	mux.HandleFunc("POST /getUpdates", q.handle(t))
	opts := &UpdatesOptions{AllowedUpdates: []string{"message"}, Timeout: -1}
	for range c.Updates(t.Context(), opts) {
		break
	}
	assert.Equal(t, &UpdatesOptions{AllowedUpdates: []string{"message"}, Timeout: -1}, opts)
	assert.Equal(t, "0/100/0/[message]", q.calls[0])
}

// One update that does not fit its Go type must not stop the others.
// Before the fix the whole batch failed to decode, and Updates fetched the
// same batch again and again: the offset never moved and no update was
// delivered.
func TestUpdatesPoisonBatch(t *testing.T) {
	c, mux := setup(t)
	poison := `{"update_id":2,"message":{"message_id":"not a number","date":1,"chat":{"id":42,"type":"private"}}}`
	unknown := `{"update_id":4,"brand_new_kind":{"x":1}}`
	q := &fakeQueue{pending: []string{textUpdate(1), poison, textUpdate(3), unknown, textUpdate(5)}}
	mux.HandleFunc("POST /getUpdates", q.handle(t))

	type item struct {
		id   int64
		raw  string
		kind error
	}
	var got []item
	for u, err := range c.Updates(t.Context(), &UpdatesOptions{Timeout: -1, Backoff: noBackoff}) {
		if err != nil {
			var de *UpdateDecodeError
			require.ErrorAs(t, err, &de)
			require.Nil(t, u)
			kind := ErrInvalidResponse
			if errors.Is(err, ErrUnknownUpdate) {
				kind = ErrUnknownUpdate
				assert.NotErrorIs(t, err, ErrInvalidResponse)
			} else {
				require.ErrorIs(t, err, ErrInvalidResponse)
			}
			assert.Contains(t, err.Error(), fmt.Sprintf("update %d", de.UpdateID))
			got = append(got, item{de.UpdateID, string(de.Raw), kind})
			continue
		}
		got = append(got, item{u.UpdateID, "", nil})
		if u.UpdateID == 5 {
			break
		}
		if len(got) > 10 {
			t.Fatal("the batch comes again and again")
		}
	}
	assert.Equal(t, []item{{1, "", nil}, {2, poison, ErrInvalidResponse}, {3, "", nil}, {4, unknown, ErrUnknownUpdate}, {5, "", nil}}, got)
	assert.Equal(t, []string{"0/100/0/-", "6/1/0/-"}, q.calls, "one poll, then the confirmation past the batch")
}

// A batch whose updates cannot even give their update_id (a broken proxy
// or server) cannot move the offset, so the same batch comes again. Before
// the fix Updates asked for it again at once, forever: a tight loop of
// getUpdates calls and errors. It now waits Backoff, as after a failed
// poll.
func TestUpdatesBatchWithoutProgressBacksOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var polls atomic.Int32
		rt := rtFunc(func(r *http.Request) (*http.Response, error) {
			if r.Body != nil {
				io.Copy(io.Discard, r.Body)
				r.Body.Close()
			}
			polls.Add(1)
			return jsonResponse(200, `{"ok":true,"result":[{"update_id":"seven","message":{}}]}`), nil
		})
		c := New(testToken, WithHTTPClient(&http.Client{Transport: rt}))
		start := time.Now()
		errs := 0
		for u, err := range c.Updates(t.Context(), &UpdatesOptions{Timeout: -1, Backoff: func(int) time.Duration { return time.Second }}) {
			require.Nil(t, u)
			var de *UpdateDecodeError
			require.ErrorAs(t, err, &de)
			if errs++; errs == 4 {
				break
			}
		}
		assert.Equal(t, 3*time.Second, time.Since(start), "a second of backoff after each batch that moved nothing")
		assert.Equal(t, int32(4), polls.Load())
	})
}

// The raw method is as tolerant as Updates: the updates that decode come
// back, and each one that does not is an *UpdateDecodeError in the joined
// error. Before the fix one bad update failed the whole call.
func TestGetUpdatesPoisonBatch(t *testing.T) {
	c, mux := setup(t)
	poison := `{"update_id":2,"message":{"message_id":"not a number","date":1,"chat":{"id":42,"type":"private"}}}`
	unknown := `{"update_id":4,"brand_new_kind":{"x":1}}`
	q := &fakeQueue{pending: []string{textUpdate(1), poison, textUpdate(3), unknown, textUpdate(5)}}
	mux.HandleFunc("POST /getUpdates", q.handle(t))

	ups, err := c.GetUpdates(t.Context(), &GetUpdatesParams{})
	var ids []int64
	for _, u := range ups {
		ids = append(ids, u.UpdateID)
	}
	assert.Equal(t, []int64{1, 3, 5}, ids, "the good updates of the batch")
	assert.Len(t, q.calls, 1, "a batch with bad updates is an answer, not retried")
	require.Error(t, err)
	require.ErrorIs(t, err, ErrInvalidResponse, "one update did not fit its type")
	require.ErrorIs(t, err, ErrUnknownUpdate)
	joined, ok := err.(interface{ Unwrap() []error })
	require.True(t, ok, "errors.Join of one error per bad update: %T", err)
	var bad []*UpdateDecodeError
	for _, e := range joined.Unwrap() {
		var de *UpdateDecodeError
		require.ErrorAs(t, e, &de)
		bad = append(bad, de)
	}
	require.Len(t, bad, 2)
	assert.Equal(t, int64(2), bad[0].UpdateID)
	assert.JSONEq(t, poison, string(bad[0].Raw))
	assert.NotErrorIs(t, bad[0], ErrUnknownUpdate)
	assert.Equal(t, int64(4), bad[1].UpdateID)
	assert.JSONEq(t, unknown, string(bad[1].Raw))
	assert.ErrorIs(t, bad[1], ErrUnknownUpdate)

	// A batch without a bad update has no error, and its updates are
	// those of the fast path.
	q.pending = []string{textUpdate(6), textUpdate(7)}
	ups, err = c.GetUpdates(t.Context(), &GetUpdatesParams{Offset: 6})
	require.NoError(t, err)
	require.Len(t, ups, 2)
	assert.Equal(t, "m7", ups[1].Message.Text)
}
