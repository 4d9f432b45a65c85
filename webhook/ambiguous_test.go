package webhook

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/miniappkit/miniappkit/botapi"
	"github.com/miniappkit/miniappkit/internal/faulttest"
)

// ambiguousStore makes the call number at (1-based) of the Store write op
// take effect and then report context.Canceled (faulttest.Ambiguous).
type ambiguousStore struct {
	Store
	faulttest.Ambiguous
}

func (s *ambiguousStore) Claim(ctx context.Context, key, owner string, lease time.Duration, data []byte) (ClaimResult, error) {
	r, err := s.Store.Claim(ctx, key, owner, lease, data)
	if err == nil && s.Lie("Claim") {
		return ClaimResult{}, context.Canceled
	}
	return r, err
}

func (s *ambiguousStore) Complete(ctx context.Context, key, owner string, ttl time.Duration, data []byte) error {
	err := s.Store.Complete(ctx, key, owner, ttl, data)
	if err == nil && s.Lie("Complete") {
		return context.Canceled
	}
	return err
}

func (s *ambiguousStore) Release(ctx context.Context, key, owner string) error {
	err := s.Store.Release(ctx, key, owner)
	if err == nil && s.Lie("Release") {
		return context.Canceled
	}
	return err
}

// lockedClock is a store clock moved by hand, safe for concurrent use.
type lockedClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *lockedClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *lockedClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// ambiguousFlow delivers updates and idempotent requests through the
// Handler and Idempotency on s, as Telegram and a client retry them (a
// lease apart at most: the longest delay acceptable), and checks that each
// ends answered 200 having succeeded once: update 7 and key "k1" succeed
// at once, update 8 and key "k2" fail on their first run.
func ambiguousFlow(t *testing.T, s *ambiguousStore, clock *lockedClock) {
	t.Helper()
	var mu sync.Mutex
	runs, ok := map[int64]int{}, map[int64]int{}
	h := mustHandler(t, testToken, UpdateHandlerFunc(func(_ context.Context, u *botapi.Update) error {
		mu.Lock()
		defer mu.Unlock()
		runs[u.UpdateID]++
		if u.UpdateID == 8 && runs[u.UpdateID] == 1 {
			return errors.New("handler failed")
		}
		ok[u.UpdateID]++
		return nil
	}), WithStore(s), WithInFlightWait(0))
	redeliver := func(id int64) {
		t.Helper()
		code := 0
		for range 5 {
			if code = deliver(t, h, testToken, updateBody(id)).Code; code == http.StatusOK {
				return
			}
			clock.Advance(DefaultLease + time.Second)
		}
		t.Fatalf("update %d never answered 200: last %d", id, code)
	}
	for _, id := range []int64{7, 8} {
		redeliver(id)
		for range 2 { // later redeliveries (a lost 200) change nothing
			clock.Advance(DefaultLease + time.Second)
			redeliver(id)
		}
		mu.Lock()
		require.Equal(t, 1, ok[id], "successful runs of update %d", id)
		mu.Unlock()
	}

	iruns, iok := map[string]int{}, map[string]int{}
	mw, err := Idempotency(s, IdempotencyOptions{})
	require.NoError(t, err)
	ih := mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.Header.Get("Idempotency-Key")
		mu.Lock()
		defer mu.Unlock()
		iruns[key]++
		if key == "k2" && iruns[key] == 1 {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		iok[key]++
		_, _ = w.Write([]byte("created " + key))
	}))
	for _, key := range []string{"k1", "k2"} {
		for range 2 { // a lost answer: the client sends again
			var rec *httptest.ResponseRecorder
			for range 5 {
				req := httptest.NewRequest(http.MethodPost, "/orders", strings.NewReader(`{"x":1}`))
				req.Header.Set("Idempotency-Key", key)
				rec = httptest.NewRecorder()
				ih.ServeHTTP(rec, req)
				if rec.Code == http.StatusOK {
					break
				}
				clock.Advance(DefaultLease + time.Second)
			}
			require.Equal(t, http.StatusOK, rec.Code, "key %s never answered 200: %s", key, rec.Body)
			require.Equal(t, "created "+key, rec.Body.String())
		}
		mu.Lock()
		require.Equal(t, 1, iok[key], "successful runs of key %s", key)
		mu.Unlock()
	}
}

func newAmbiguousStore(op string, at int) (*ambiguousStore, *lockedClock) {
	clock := &lockedClock{now: time.Unix(1_700_000_000, 0)}
	return &ambiguousStore{Store: NewMemoryStore(0, WithStoreClock(clock.Now)), Ambiguous: faulttest.Ambiguous{Op: op, At: at}}, clock
}

// TestAmbiguousStoreWrites: whichever Store write of the Handler or of
// Idempotency takes effect and then reports an error (each call of each
// write, in turn), redeliveries end with every update and request answered
// 200 having succeeded exactly once: nothing done twice, lost, or held past
// a lease.
func TestAmbiguousStoreWrites(t *testing.T) {
	dry, clock := newAmbiguousStore("", 0)
	ambiguousFlow(t, dry, clock)
	for _, op := range []string{"Claim", "Complete", "Release"} {
		require.NotZero(t, dry.Calls(op), "the flow never calls %s", op)
		for at := 1; at <= dry.Calls(op); at++ {
			t.Run(fmt.Sprintf("%s#%d", op, at), func(t *testing.T) {
				s, clock := newAmbiguousStore(op, at)
				ambiguousFlow(t, s, clock)
				require.True(t, s.Lied(), "the %s call #%d never came", op, at)
			})
		}
	}
}
