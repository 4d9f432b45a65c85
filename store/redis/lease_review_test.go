package redis

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/miniappkit/miniappkit/webhook"
)

// TestLeaseEdges: the lease is the key's expiry, no clock read: a lease
// has passed once the PTTL is at most InFlightGrace (set here with
// PEXPIRE instead of waiting). Past its lease an owner may still complete,
// extend or release until another claim takes the key over; then every
// call of the old owner is ErrNotOwner, and its Extend does not revive
// the key. An in-flight key with no expiry counts as passed; a done key
// answers Done whatever its remaining TTL.
func TestLeaseEdges(t *testing.T) {
	ctx := t.Context()
	db := newTestDB(t)
	s := db.UpdateStore()
	claim := func(key, owner string) webhook.State {
		t.Helper()
		r, err := s.Claim(ctx, key, owner, time.Minute, nil)
		require.NoError(t, err)
		return r.State
	}
	pass := func(key string) { // the lease ends now
		t.Helper()
		require.NoError(t, db.c.PExpire(ctx, s.key(key), InFlightGrace).Err())
	}

	require.Equal(t, webhook.Claimed, claim("a", "o1"))
	pass("a")
	require.NoError(t, s.Extend(ctx, "a", "o1", time.Minute), "not taken over: the owner renews")
	require.Equal(t, webhook.InFlight, claim("a", "o2"))
	pass("a")
	require.NoError(t, s.Complete(ctx, "a", "o1", time.Hour, []byte("r")), "within the grace")
	require.Equal(t, webhook.Done, claim("a", "o2"))

	require.Equal(t, webhook.Claimed, claim("b", "o1"))
	pass("b")
	require.Equal(t, webhook.Claimed, claim("b", "o2"), "taken over")
	require.ErrorIs(t, s.Extend(ctx, "b", "o1", time.Minute), webhook.ErrNotOwner)
	require.ErrorIs(t, s.Complete(ctx, "b", "o1", time.Hour, nil), webhook.ErrNotOwner)
	require.ErrorIs(t, s.Release(ctx, "b", "o1"), webhook.ErrNotOwner)
	require.Equal(t, webhook.InFlight, claim("b", "o3"), "the new owner's lease stands")
	require.NoError(t, s.Release(ctx, "b", "o2"))
	require.Equal(t, webhook.Claimed, claim("b", "o3"), "released")

	require.Equal(t, webhook.Claimed, claim("c", "o1"))
	require.NoError(t, db.c.Persist(ctx, s.key("c")).Err())
	require.Equal(t, webhook.Claimed, claim("c", "o2"), "no expiry: taken over, never stuck")
	ttl, err := db.c.PTTL(ctx, s.key("c")).Result()
	require.NoError(t, err)
	require.Greater(t, ttl, InFlightGrace)

	require.Equal(t, webhook.Claimed, claim("d", "o1"))
	require.NoError(t, s.Complete(ctx, "d", "o1", time.Hour, nil))
	require.NoError(t, db.c.PExpire(ctx, s.key("d"), time.Second).Err())
	require.Equal(t, webhook.Done, claim("d", "o2"), "done until it expires")
	require.ErrorIs(t, s.Extend(ctx, "d", "o1", time.Minute), webhook.ErrNotOwner)
	require.ErrorIs(t, s.Release(ctx, "d", "o1"), webhook.ErrNotOwner)
	require.NoError(t, db.c.Del(ctx, s.key("d")).Err()) // what expiry does
	require.Equal(t, webhook.Claimed, claim("d", "o2"))
}

// TestCompleteTxRacesTakeover: an owner past its lease runs CompleteTx
// while 16 other deliveries claim the key at once and each that gets it
// runs CompleteTx too: the effect is applied exactly once, whatever the
// interleaving.
func TestCompleteTxRacesTakeover(t *testing.T) {
	ctx := t.Context()
	db := newTestDB(t)
	s := db.UpdateStore()
	for round := range 5 {
		key := fmt.Sprint("k", round)
		_, err := s.Claim(ctx, key, "first", time.Minute, nil)
		require.NoError(t, err)
		require.NoError(t, db.c.PExpire(ctx, s.key(key), InFlightGrace).Err())
		tag, err := s.HashTag(key)
		require.NoError(t, err)
		n := db.prefix + tag + "n"
		effect := func(p goredis.Pipeliner) error { return p.Incr(ctx, n).Err() }
		var wg sync.WaitGroup
		errs := make(chan error, 17)
		complete := func() {
			if err := s.CompleteTx(ctx, key, time.Hour, effect); err != nil && !errors.Is(err, webhook.ErrNotOwner) {
				errs <- err
			}
		}
		wg.Go(complete)
		for i := range 16 {
			wg.Go(func() {
				r, err := s.Claim(ctx, key, fmt.Sprint("o", i), time.Minute, nil)
				if err != nil {
					errs <- err
					return
				}
				if r.State == webhook.Claimed {
					complete()
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
		require.Equal(t, "1", db.c.Get(ctx, n).Val(), "round %d", round)
	}
}

// TestCompleteTxAttemptsCap: an entry that changes during every attempt
// (here renewed by its owner from the effect) makes CompleteTx give up
// after completeTxAttempts with redis.TxFailedErr, having applied
// nothing: the key stays in flight.
func TestCompleteTxAttemptsCap(t *testing.T) {
	ctx := t.Context()
	db := newTestDB(t)
	s, mine := claimed(t, db, "k")
	calls := 0
	err := s.CompleteTx(ctx, "k", time.Hour, func(p goredis.Pipeliner) error {
		calls++
		require.NoError(t, s.Extend(ctx, "k", "a", time.Minute))
		return p.Incr(ctx, mine("n")).Err()
	})
	require.ErrorIs(t, err, goredis.TxFailedErr)
	require.Equal(t, completeTxAttempts, calls)
	require.Zero(t, db.c.Exists(ctx, mine("n")).Val())
	requireInFlight(t, s, "k")
}
