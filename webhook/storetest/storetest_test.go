package storetest_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miniappkit/miniappkit/webhook"
	"github.com/miniappkit/miniappkit/webhook/storetest"
)

// clock is a manual clock for the memory store.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newMemory() (webhook.Store, storetest.Advance) {
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	return webhook.NewMemoryStore(1024, webhook.WithStoreClock(c.now)), func(d time.Duration) { c.t = c.t.Add(d) }
}

func TestMemoryStore(t *testing.T) {
	storetest.Run(t, func(*testing.T) (webhook.Store, storetest.Advance) { return newMemory() })
}

func TestIdempotencyMemory(t *testing.T) {
	s, _ := newMemory()
	storetest.Idempotency(t, s)
}

// greedyStore grants every claim: two deliveries could both run.
type greedyStore struct{ webhook.Store }

func (g greedyStore) Claim(ctx context.Context, key, owner string, lease time.Duration, data []byte) (webhook.ClaimResult, error) {
	if _, err := g.Store.Claim(ctx, key, owner, lease, data); err != nil {
		return webhook.ClaimResult{}, err
	}
	return webhook.ClaimResult{State: webhook.Claimed}, nil
}

// sharedStore keeps the caller's data slice instead of a copy.
type sharedStore struct {
	webhook.Store
	mu   sync.Mutex
	data map[string][]byte
}

func (s *sharedStore) Claim(ctx context.Context, key, owner string, lease time.Duration, data []byte) (webhook.ClaimResult, error) {
	r, err := s.Store.Claim(ctx, key, owner, lease, nil)
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.State == webhook.Claimed {
		s.data[key] = data
	} else {
		r.Data = s.data[key]
	}
	return r, err
}

func TestCheckCatchesBrokenStores(t *testing.T) {
	for _, tc := range []struct {
		name string
		make func() (webhook.Store, storetest.Advance)
		want []string
	}{
		{"claims always granted", func() (webhook.Store, storetest.Advance) {
			s, adv := newMemory()
			return greedyStore{s}, adv
		}, []string{"States", "ConcurrentClaims", "LeaseTakeover"}},
		{"data not copied", func() (webhook.Store, storetest.Advance) {
			s, adv := newMemory()
			return &sharedStore{Store: s, data: map[string][]byte{}}, adv
		}, []string{"DataCopied"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := storetest.Check(t.Context(), tc.make)
			if err == nil {
				t.Fatal("Check accepted a broken store")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Check error %q does not name %s", err, w)
				}
			}
		})
	}
}

func ExampleCheck() {
	err := storetest.Check(context.Background(), func() (webhook.Store, storetest.Advance) {
		c := &clock{t: time.Unix(1_700_000_000, 0)}
		return webhook.NewMemoryStore(1024, webhook.WithStoreClock(c.now)), func(d time.Duration) { c.t = c.t.Add(d) }
	})
	fmt.Println(err)
	// Output: <nil>
}

func TestMemoryQueue(t *testing.T) {
	storetest.RunQueue(t, storetest.QueueOptions{}, func(t *testing.T) webhook.Queue { return webhook.NewMemoryQueue(100) })
}
