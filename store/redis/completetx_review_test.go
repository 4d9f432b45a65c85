package redis

import (
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/miniappkit/miniappkit/webhook"
)

// claimed claims key for "a" and returns the store and a key of the
// entry's slot per name.
func claimed(t *testing.T, db *DB, key string) (s *UpdateStore, mine func(string) string) {
	t.Helper()
	s = db.UpdateStore()
	r, err := s.Claim(t.Context(), key, "a", time.Minute, nil)
	require.NoError(t, err)
	require.Equal(t, webhook.Claimed, r.State)
	tag, err := s.HashTag(key)
	require.NoError(t, err)
	return s, func(name string) string { return db.prefix + tag + name }
}

// requireInFlight: key is still in flight (CompleteTx applied nothing).
func requireInFlight(t *testing.T, s *UpdateStore, key string) {
	t.Helper()
	r, err := s.Claim(t.Context(), key, "b", time.Minute, nil)
	require.NoError(t, err)
	require.Equal(t, webhook.InFlight, r.State)
}

// TestCompleteTxNilReplies: an effect command answered with a nil reply
// (GET of a missing key, LPOP of an empty list, SET NX of a present key)
// has not failed: the transaction was applied, and CompleteTx returns nil.
// (Failed before the fix: CompleteTx returned "redis: nil" for a
// completion it had applied.)
func TestCompleteTxNilReplies(t *testing.T) {
	ctx := t.Context()
	db := newTestDB(t)
	s, mine := claimed(t, db, "k")
	var get *goredis.StringCmd
	require.NoError(t, s.CompleteTx(ctx, "k", time.Hour, func(p goredis.Pipeliner) error {
		get = p.Get(ctx, mine("missing"))
		p.LPop(ctx, mine("empty"))
		p.Incr(ctx, mine("n"))
		return nil
	}))
	require.ErrorIs(t, get.Err(), goredis.Nil, "the command's own reply is kept")
	require.Equal(t, "1", db.c.Get(ctx, mine("n")).Val())
	r, err := s.Claim(ctx, "k", "b", time.Minute, nil)
	require.NoError(t, err)
	require.Equal(t, webhook.Done, r.State)

	// A nil reply before a command that fails when it runs: that error.
	s, mine = claimed(t, db, "k2")
	require.NoError(t, db.c.RPush(ctx, mine("list"), "x").Err())
	err = s.CompleteTx(ctx, "k2", time.Hour, func(p goredis.Pipeliner) error {
		p.Get(ctx, mine("missing"))
		return p.Incr(ctx, mine("list")).Err()
	})
	require.ErrorContains(t, err, "WRONGTYPE")
}

// TestCompleteTxRefusesEvalSha: EVALSHA (what Script.Run queues on a
// pipeline) fails only at EXEC when the server does not hold the script
// (restart, failover, SCRIPT FLUSH), after the completion is applied: the
// effect would be lost. CompleteTx refuses it before anything is sent.
// (Failed before the fix: NOSCRIPT returned, the key done, the effect
// never applied.)
func TestCompleteTxRefusesEvalSha(t *testing.T) {
	ctx := t.Context()
	db := newTestDB(t)
	s, mine := claimed(t, db, "k")
	script := goredis.NewScript("return redis.call('incr', KEYS[1]) -- review5 " + mine(""))
	err := s.CompleteTx(ctx, "k", time.Hour, func(p goredis.Pipeliner) error {
		return script.Run(ctx, p, []string{mine("n")}).Err()
	})
	require.ErrorIs(t, err, errEvalSha)
	requireInFlight(t, s, "k")
	// EVAL of the same script is the way.
	require.NoError(t, s.CompleteTx(ctx, "k", time.Hour, func(p goredis.Pipeliner) error {
		return script.Eval(ctx, p, []string{mine("n")}).Err()
	}))
	require.Equal(t, "1", db.c.Get(ctx, mine("n")).Val())
}

// TestCompleteTxMovableKeys: commands whose keys the COMMAND table does
// not place (movable keys: ZUNIONSTORE's sources, SORT's STORE, LMPOP,
// XREAD; container commands: OBJECT ENCODING) are checked too, so what
// passes on one server does not fail with CROSSSLOT on a cluster; keyless
// commands and keys of the entry's slot pass. (Failed before the fix:
// each of the first five was applied on one server.)
func TestCompleteTxMovableKeys(t *testing.T) {
	ctx := t.Context()
	db := newTestDB(t)
	other := db.prefix + "other"
	for name, fx := range map[string]func(p goredis.Pipeliner, mine func(string) string) error{
		"zunionstore source": func(p goredis.Pipeliner, mine func(string) string) error {
			return p.ZUnionStore(ctx, mine("z"), &goredis.ZStore{Keys: []string{mine("a"), other}}).Err()
		},
		"sort store": func(p goredis.Pipeliner, mine func(string) string) error {
			return p.SortStore(ctx, mine("l"), other, &goredis.Sort{}).Err()
		},
		"lmpop": func(p goredis.Pipeliner, mine func(string) string) error {
			return p.LMPop(ctx, "left", 1, mine("l"), other).Err()
		},
		"xread": func(p goredis.Pipeliner, mine func(string) string) error {
			return p.Do(ctx, "xread", "streams", other, "0").Err()
		},
		"object encoding": func(p goredis.Pipeliner, mine func(string) string) error {
			return p.ObjectEncoding(ctx, other).Err()
		},
	} {
		t.Run(name, func(t *testing.T) {
			s, mine := claimed(t, db, name)
			require.NoError(t, db.c.RPush(ctx, mine("l"), "1").Err())
			err := s.CompleteTx(ctx, name, time.Hour, func(p goredis.Pipeliner) error { return fx(p, mine) })
			require.ErrorIs(t, err, ErrCrossSlot)
			requireInFlight(t, s, name)
		})
	}
	s, mine := claimed(t, db, "ok")
	require.NoError(t, db.c.RPush(ctx, mine("l"), "1").Err())
	require.NoError(t, s.CompleteTx(ctx, "ok", time.Hour, func(p goredis.Pipeliner) error {
		p.ZUnionStore(ctx, mine("z"), &goredis.ZStore{Keys: []string{mine("a"), mine("b")}})
		p.SortStore(ctx, mine("l"), mine("sorted"), &goredis.Sort{})
		p.ObjectEncoding(ctx, mine("l"))
		p.Ping(ctx)
		p.Publish(ctx, "events", "x")
		p.Time(ctx)
		p.Echo(ctx, "x")
		p.Do(ctx, "object", "help")
		return nil
	}))
	require.Equal(t, int64(1), db.c.Exists(ctx, mine("sorted")).Val())
}

// TestCompleteTxEffectOwnsNoTransaction: an effect that runs EXEC itself
// (Pipeliner.Exec) would apply its commands in a transaction without the
// completion, and with the entry no longer WATCHed; a nested MULTI,
// WATCH or DISCARD breaks the transaction's shape. CompleteTx refuses
// them, whatever the effect does with the error, and applies nothing.
// (Failed before the fix: the effect's own Exec applied it, and the
// nested MULTI let the completion through with an error.)
func TestCompleteTxEffectOwnsNoTransaction(t *testing.T) {
	ctx := t.Context()
	db := newTestDB(t)
	for name, fx := range map[string]func(p goredis.Pipeliner, n string) error{
		"exec": func(p goredis.Pipeliner, n string) error {
			p.Incr(ctx, n)
			_, _ = p.Exec(ctx) // its error ignored
			return nil
		},
		"multi": func(p goredis.Pipeliner, n string) error {
			p.Do(ctx, "multi")
			return p.Incr(ctx, n).Err()
		},
		"discard": func(p goredis.Pipeliner, n string) error {
			p.Incr(ctx, n)
			return p.Do(ctx, "discard").Err()
		},
		"watch": func(p goredis.Pipeliner, n string) error {
			p.Incr(ctx, n)
			return p.Do(ctx, "watch", n).Err()
		},
	} {
		t.Run(name, func(t *testing.T) {
			s, mine := claimed(t, db, name)
			err := s.CompleteTx(ctx, name, time.Hour, func(p goredis.Pipeliner) error { return fx(p, mine("n")) })
			require.ErrorIs(t, err, errTxShape)
			require.Zero(t, db.c.Exists(ctx, mine("n")).Val(), "nothing applied")
			requireInFlight(t, s, name)
		})
	}
}
