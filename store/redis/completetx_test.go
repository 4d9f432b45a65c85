package redis

import (
	"errors"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/miniappkit/miniappkit/webhook"
)

// TestCompleteTx: the effect and the completion are applied together, or
// neither is.
func TestCompleteTx(t *testing.T) {
	ctx := t.Context()
	db := newTestDB(t)
	s := db.UpdateStore()
	tag, err := s.HashTag("k")
	require.NoError(t, err)
	fx := db.prefix + "fx:" + tag
	effects := func() int {
		n, err := db.c.Get(ctx, fx).Int()
		if errors.Is(err, goredis.Nil) {
			return 0
		}
		require.NoError(t, err)
		return n
	}
	errBoom := errors.New("boom")
	run := func(key string, fail bool) error {
		return s.CompleteTx(ctx, key, time.Hour, func(p goredis.Pipeliner) error {
			p.Incr(ctx, fx)
			if fail {
				return errBoom
			}
			return nil
		})
	}

	r, err := s.Claim(ctx, "k", "a", time.Minute, []byte("req"))
	require.NoError(t, err)
	require.Equal(t, webhook.Claimed, r.State)
	require.ErrorIs(t, run("k", true), errBoom) // the effect failed: still in flight, no effect
	require.Zero(t, effects())
	r, err = s.Claim(ctx, "k", "b", time.Minute, nil)
	require.NoError(t, err)
	require.Equal(t, webhook.InFlight, r.State)

	require.NoError(t, run("k", false))
	require.Equal(t, 1, effects())
	r, err = s.Claim(ctx, "k", "b", time.Minute, nil)
	require.NoError(t, err)
	require.Equal(t, webhook.ClaimResult{State: webhook.Done, Data: []byte("req")}, r, "done, the claim's data kept")
	ttl, err := db.c.PTTL(ctx, s.key("k")).Result()
	require.NoError(t, err)
	require.Greater(t, ttl, 59*time.Minute)
	require.NoError(t, s.Complete(ctx, "k", "a", time.Hour, []byte("resp")), "the owner's Complete after CompleteTx")
	require.ErrorIs(t, s.Complete(ctx, "k", "b", time.Hour, nil), webhook.ErrNotOwner)

	require.ErrorIs(t, run("k", false), webhook.ErrNotOwner, "done already")
	require.ErrorIs(t, run("absent", false), webhook.ErrNotOwner)
	require.Equal(t, 1, effects())
	require.ErrorIs(t, s.CompleteTx(ctx, "k", 0, nil), errBadDuration)
}

// TestCompleteTxTakeover: like the SQL stores' CompleteTx, it completes
// the claim whoever holds it: an owner past its lease whose key another
// delivery took over applies its effect once, and the new owner's
// CompleteTx then finds the key done and applies nothing.
func TestCompleteTxTakeover(t *testing.T) {
	ctx := t.Context()
	db := newTestDB(t)
	s := db.UpdateStore()
	_, err := s.Claim(ctx, "k", "a", time.Millisecond, nil)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		r, err := s.Claim(ctx, "k", "b", time.Minute, nil)
		return err == nil && r.State == webhook.Claimed
	}, 10*time.Second, time.Millisecond)
	tag, err := s.HashTag("k")
	require.NoError(t, err)
	incr := func(p goredis.Pipeliner) error { return p.Incr(ctx, "fx"+tag).Err() }
	require.NoError(t, s.CompleteTx(ctx, "k", time.Hour, incr))
	require.ErrorIs(t, s.CompleteTx(ctx, "k", time.Hour, incr), webhook.ErrNotOwner)
	n, err := db.c.Get(ctx, "fx"+tag).Int()
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.NoError(t, db.c.Del(ctx, "fx"+tag).Err())
}

// TestCompleteTxEntryChanged: the entry changing between CompleteTx's
// read and its EXEC (here the owner's lease renewed from another
// connection, as the handler's heartbeat does) aborts EXEC; CompleteTx
// starts over and the effect is applied once.
func TestCompleteTxEntryChanged(t *testing.T) {
	ctx := t.Context()
	db := newTestDB(t)
	s := db.UpdateStore()
	_, err := s.Claim(ctx, "k", "a", time.Minute, nil)
	require.NoError(t, err)
	tag, err := s.HashTag("k")
	require.NoError(t, err)
	calls := 0
	require.NoError(t, s.CompleteTx(ctx, "k", time.Hour, func(p goredis.Pipeliner) error {
		calls++
		if calls == 1 {
			require.NoError(t, s.Extend(ctx, "k", "a", time.Minute))
		}
		return p.Incr(ctx, db.prefix+tag).Err()
	}))
	require.Equal(t, 2, calls)
	n, err := db.c.Get(ctx, db.prefix+tag).Int()
	require.NoError(t, err)
	require.Equal(t, 1, n)
}

// TestCompleteTxCrossSlot: an effect naming a key without the entry's
// hash tag is refused before anything is sent, on any server: nothing is
// applied, the key stays in flight.
func TestCompleteTxCrossSlot(t *testing.T) {
	ctx := t.Context()
	db := newTestDB(t)
	s := db.UpdateStore()
	_, err := s.Claim(ctx, "k", "a", time.Minute, nil)
	require.NoError(t, err)
	tag, err := s.HashTag("k")
	require.NoError(t, err)
	for name, effect := range map[string]func(goredis.Pipeliner) error{
		"first key":   func(p goredis.Pipeliner) error { return p.Incr(ctx, db.prefix+"other").Err() },
		"second key":  func(p goredis.Pipeliner) error { return p.Del(ctx, db.prefix+tag, db.prefix+"other").Err() },
		"mset values": func(p goredis.Pipeliner) error { return p.MSet(ctx, db.prefix+tag, 1, db.prefix+"other", 2).Err() },
		"script keys": func(p goredis.Pipeliner) error {
			return p.Eval(ctx, "return 1", []string{db.prefix + tag, db.prefix + "other"}).Err()
		},
		"after a good one": func(p goredis.Pipeliner) error {
			p.Incr(ctx, db.prefix+tag)
			return p.RPush(ctx, db.prefix+"list", 1).Err()
		},
	} {
		t.Run(name, func(t *testing.T) {
			err := s.CompleteTx(ctx, "k", time.Hour, effect)
			require.ErrorIs(t, err, ErrCrossSlot)
			n, err := db.c.Exists(ctx, db.prefix+tag, db.prefix+"other", db.prefix+"list").Result()
			require.NoError(t, err)
			require.Zero(t, n, "nothing applied")
			r, err := s.Claim(ctx, "k", "b", time.Minute, nil)
			require.NoError(t, err)
			require.Equal(t, webhook.InFlight, r.State)
		})
	}
	// MSET's values are not keys: its keys carry the tag.
	require.NoError(t, s.CompleteTx(ctx, "k", time.Hour, func(p goredis.Pipeliner) error {
		return p.MSet(ctx, db.prefix+tag+"a", "x", db.prefix+tag+"b", "y").Err()
	}))
}

// TestHashTag: the tag of an entry is the part of its key Redis Cluster
// hashes, and a key built with it hashes the same; entries no key can
// share a slot with are refused.
func TestHashTag(t *testing.T) {
	client := goredis.NewClient(&goredis.Options{Addr: "127.0.0.1:1"}) // never dialled
	t.Cleanup(func() { _ = client.Close() })
	for _, c := range []struct{ prefix, key, want string }{
		{DefaultKeyPrefix, "tg:update:1", "{miniappkit:wh:tg:update:1}"},
		{"app{7}:", "tg:update:1", "{7}"},
		{"app{7}:", "a}b", "{7}"},
		{DefaultKeyPrefix, "a{b}", "{miniappkit:wh%:a%7Bb%7D}"}, // braces in a key never pick the tag
		{DefaultKeyPrefix, "a}b", "{miniappkit:wh%:a%7Db}"},
		{"x{", "k", "{x{wh:k}"},
	} {
		s := New(client, WithKeyPrefix(c.prefix)).UpdateStore()
		got, err := s.HashTag(c.key)
		require.NoError(t, err, "%q %q", c.prefix, c.key)
		require.Equal(t, c.want, got, "%q %q", c.prefix, c.key)
		require.Equal(t, hashed(s.key(c.key)), hashed("fx:"+got+":n"), "%q %q", c.prefix, c.key)
	}
	for _, key := range []string{"k", "a}b", "{}x}", "}"} {
		_, err := New(client, WithKeyPrefix("}{")).UpdateStore().HashTag(key)
		require.ErrorIs(t, err, ErrCrossSlot, key)
	}
}

// TestLayout1Entries: entries written by a release with layout 1 (a hash
// per key) keep deduplicating after the upgrade, and the first write
// replaces them with layout 2.
func TestLayout1Entries(t *testing.T) {
	ctx := t.Context()
	db := newTestDB(t)
	s := db.UpdateStore()
	// Layout 1's expiries: a done key its TTL, an in-flight one its lease
	// plus InFlightGrace.
	for key, e := range map[string]struct {
		fields []any
		expiry time.Duration
	}{
		"done":   {[]any{"s", 2, "o", "a", "x", 1, "d", "resp"}, time.Hour},
		"live":   {[]any{"s", 1, "o", "a", "x", 1}, InFlightGrace + time.Hour},
		"tx":     {[]any{"s", 1, "o", "a", "x", 1, "d", "req"}, InFlightGrace + time.Hour},
		"passed": {[]any{"s", 1, "o", "a", "x", 1}, InFlightGrace - time.Second},
	} {
		require.NoError(t, db.c.HSet(ctx, s.key(key), e.fields...).Err())
		require.NoError(t, db.c.PExpire(ctx, s.key(key), e.expiry).Err())
	}

	r, err := s.Claim(ctx, "done", "b", time.Minute, nil)
	require.NoError(t, err)
	require.Equal(t, webhook.ClaimResult{State: webhook.Done, Data: []byte("resp")}, r)
	r, err = s.Claim(ctx, "live", "b", time.Minute, nil)
	require.NoError(t, err)
	require.Equal(t, webhook.InFlight, r.State)
	r, err = s.Claim(ctx, "passed", "b", time.Minute, nil)
	require.NoError(t, err)
	require.Equal(t, webhook.Claimed, r.State)

	require.ErrorIs(t, s.Release(ctx, "live", "b"), webhook.ErrNotOwner)
	require.NoError(t, s.Extend(ctx, "live", "a", time.Minute))
	require.NoError(t, s.Complete(ctx, "live", "a", time.Hour, []byte("ok")))
	require.NoError(t, s.CompleteTx(ctx, "tx", time.Hour, nil))
	for key, data := range map[string]string{"live": "ok", "tx": "req"} {
		typ, err := db.c.Type(ctx, s.key(key)).Result()
		require.NoError(t, err)
		require.Equal(t, "string", typ)
		r, err = s.Claim(ctx, key, "c", time.Minute, nil)
		require.NoError(t, err)
		require.Equal(t, webhook.ClaimResult{State: webhook.Done, Data: []byte(data)}, r)
	}
}

// TestCompleteTxCommandErrors: a command refused when queued aborts the
// transaction (nothing applied, still in flight); one failing when it runs
// does not undo the others (Redis has no rollback): the completion is
// applied and its error returned.
func TestCompleteTxCommandErrors(t *testing.T) {
	ctx := t.Context()
	db := newTestDB(t)
	s := db.UpdateStore()
	_, err := s.Claim(ctx, "k", "a", time.Minute, nil)
	require.NoError(t, err)
	tag, err := s.HashTag("k")
	require.NoError(t, err)
	list, n := db.prefix+tag+"list", db.prefix+tag+"n"
	require.NoError(t, db.c.RPush(ctx, list, "x").Err())

	err = s.CompleteTx(ctx, "k", time.Hour, func(p goredis.Pipeliner) error {
		p.Incr(ctx, n)
		return p.Do(ctx, "incrby", n).Err() // wrong number of arguments
	})
	require.Error(t, err)
	require.NotErrorIs(t, err, webhook.ErrNotOwner)
	require.Zero(t, db.c.Exists(ctx, n).Val(), "nothing applied")
	r, err := s.Claim(ctx, "k", "b", time.Minute, nil)
	require.NoError(t, err)
	require.Equal(t, webhook.InFlight, r.State)

	err = s.CompleteTx(ctx, "k", time.Hour, func(p goredis.Pipeliner) error {
		p.Incr(ctx, n)
		return p.Incr(ctx, list).Err() // WRONGTYPE when it runs
	})
	require.ErrorContains(t, err, "WRONGTYPE")
	require.Equal(t, "1", db.c.Get(ctx, n).Val())
	r, err = s.Claim(ctx, "k", "b", time.Minute, nil)
	require.NoError(t, err)
	require.Equal(t, webhook.Done, r.State)
}
