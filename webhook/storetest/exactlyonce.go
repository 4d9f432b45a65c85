package storetest

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miniappkit/miniappkit/botapi"
	"github.com/miniappkit/miniappkit/webhook"
)

// ExactlyOnceAsync is the exactly-once run under faults: senders goroutines
// each deliver update ids 1 to 1 000 (retrying until 200) through the
// asynchronous handler onto q; 8 workers process q with s failing 5 % of
// its calls; the 10 poisoned updates (every 100th id) are buried after 3
// attempts (store failures consume none) and re-driven once fixed. In the
// end every update ran successfully exactly once and left, which reports
// how many jobs the queue's engine still holds, returns 0. q and s are
// fresh and empty; the run logs how many store calls failed.
func ExactlyOnceAsync(t *testing.T, q webhook.Queue, s webhook.Store, senders int, left func(context.Context) (int, error)) {
	t.Helper()
	const ids, poison = 1000, 10
	store := &chaosStore{Store: s}
	var ok [ids + 1]atomic.Int32
	var fixed atomic.Bool
	const secret = "exactly_once_secret"
	h, err := webhook.NewHandler(secret, nil, webhook.WithAsync(q))
	if err != nil {
		t.Fatal(err)
	}
	w, err := webhook.NewWorker(q, webhook.UpdateHandlerFunc(func(ctx context.Context, u *botapi.Update) error {
		if u.UpdateID%int64(ids/poison) == 0 && !fixed.Load() {
			return errors.New("poison")
		}
		ok[u.UpdateID].Add(1)
		return nil
	}), webhook.WithStore(store), webhook.WithSecretNamespace(secret), webhook.WithMaxAttempts(3),
		webhook.WithBackoff(func(int) time.Duration { return time.Millisecond }))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx, 8) }()

	var wg sync.WaitGroup
	for range senders {
		wg.Go(func() {
			for id := 1; id <= ids; id++ {
				for {
					req := httptest.NewRequest(http.MethodPost, "/hook", strings.NewReader(`{"update_id":`+strconv.Itoa(id)+`}`))
					req.Header.Set(webhook.HeaderSecretToken, secret)
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, req)
					if rec.Code == http.StatusOK {
						break
					}
				}
			}
		})
	}
	wg.Wait()
	var dead []webhook.DeadLetter
	eventually(t, "the poisoned updates are buried, durably", func() bool {
		dead, err = q.DeadLetters(t.Context(), 2*poison)
		if err != nil {
			t.Fatal(err)
		}
		return len(dead) == poison
	})
	for _, d := range dead {
		if d.ID%int64(ids/poison) != 0 {
			t.Fatalf("dead letter %d was not poisoned", d.ID)
		}
		if d.Attempts != 3 {
			t.Fatalf("dead letter %d: %d attempts, want 3 (store failures consume no attempt)", d.ID, d.Attempts)
		}
	}
	fixed.Store(true)
	for _, d := range dead {
		if err := q.Redrive(t.Context(), d.ID); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "every update ran", func() bool {
		for id := 1; id <= ids; id++ {
			if ok[id].Load() == 0 {
				return false
			}
		}
		return true
	})
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v, want context.Canceled", err)
	}
	for id := 1; id <= ids; id++ {
		if n := ok[id].Load(); n != 1 {
			t.Fatalf("update %d ran %d times, want once", id, n)
		}
	}
	n, err := left(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("%d jobs left, want every job acked", n)
	}
	t.Logf("%d deliveries, %d store calls failed, %d re-driven", senders*ids, store.fails.Load(), len(dead))
}

// eventually polls cond every 50 ms for up to a minute.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after a minute, not yet: %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// chaosStore fails 5 % of its calls before they reach the store.
type chaosStore struct {
	webhook.Store
	fails atomic.Int64
}

var errChaos = errors.New("chaos: store call failed")

func (s *chaosStore) fail() bool {
	if rand.IntN(100) < 5 {
		s.fails.Add(1)
		return true
	}
	return false
}

func (s *chaosStore) Claim(ctx context.Context, key, owner string, lease time.Duration, data []byte) (webhook.ClaimResult, error) {
	if s.fail() {
		return webhook.ClaimResult{}, errChaos
	}
	return s.Store.Claim(ctx, key, owner, lease, data)
}

func (s *chaosStore) Complete(ctx context.Context, key, owner string, ttl time.Duration, data []byte) error {
	if s.fail() {
		return errChaos
	}
	return s.Store.Complete(ctx, key, owner, ttl, data)
}

func (s *chaosStore) Release(ctx context.Context, key, owner string) error {
	if s.fail() {
		return errChaos
	}
	return s.Store.Release(ctx, key, owner)
}
