package postgres

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

	"github.com/stretchr/testify/require"

	"github.com/miniappkit/miniappkit/botapi"
	"github.com/miniappkit/miniappkit/webhook"
)

// chaosStore fails 5 % of its calls before they reach the server.
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

// TestExactlyOnceAsync: senders deliver every update id many times
// through the asynchronous handler onto the Postgres queue; 8 workers
// process it with the Postgres store failing 5 % of its calls; 10
// poisoned updates are buried after 3 attempts, re-driven once fixed; in
// the end every update ran successfully exactly once: 64 senders x 1 000
// ids (duplicates cost one INSERT … ON CONFLICT DO NOTHING each).
func TestExactlyOnceAsync(t *testing.T) {
	skipWithoutServer(t)
	const senders, ids, poison = 64, 1000, 10
	db := newTestDB(t)
	q := db.UpdateQueue("bot", time.Minute)
	store := &chaosStore{Store: db.UpdateStore()}
	var ok [ids + 1]atomic.Int32
	var fixed atomic.Bool
	const secret = "exactly_once_secret"
	h, err := webhook.NewHandler(secret, nil, webhook.WithAsync(q))
	require.NoError(t, err)
	w, err := webhook.NewWorker(q, webhook.UpdateHandlerFunc(func(ctx context.Context, u *botapi.Update) error {
		if u.UpdateID%int64(ids/poison) == 0 && !fixed.Load() {
			return errors.New("poison")
		}
		ok[u.UpdateID].Add(1)
		return nil
	}), webhook.WithStore(store), webhook.WithSecretNamespace(secret), webhook.WithMaxAttempts(3),
		webhook.WithBackoff(func(int) time.Duration { return time.Millisecond }))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
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
	require.Eventually(t, func() bool {
		dead, err = q.DeadLetters(t.Context(), 2*poison)
		require.NoError(t, err)
		return len(dead) == poison
	}, time.Minute, 50*time.Millisecond, "the poisoned updates are buried, durably in the table")
	for _, d := range dead {
		require.Zero(t, d.ID%int64(ids/poison))
		require.Equal(t, 3, d.Attempts, "store failures consume no attempt")
	}
	fixed.Store(true)
	for _, d := range dead {
		require.NoError(t, q.Redrive(t.Context(), d.ID))
	}
	require.Eventually(t, func() bool {
		for id := 1; id <= ids; id++ {
			if ok[id].Load() == 0 {
				return false
			}
		}
		return true
	}, time.Minute, 50*time.Millisecond, "every update ran")
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)
	for id := 1; id <= ids; id++ {
		require.Equal(t, int32(1), ok[id].Load(), "update %d", id)
	}
	var left int
	require.NoError(t, db.Pool().QueryRow(t.Context(), db.sql(`SELECT count(*) FROM {schema}.webhook_queue`)).Scan(&left))
	require.Zero(t, left, "every job acked")
	t.Logf("%d deliveries, %d store calls failed, %d re-driven", senders*ids, store.fails.Load(), len(dead))
}
