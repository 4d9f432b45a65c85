package redis

import (
	"strconv"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/miniappkit/miniappkit/webhook"
)

// The claim and complete scripts of the release with layout 1 (one hash
// per entry), as it ran them: a process of that release still running
// during a rolling upgrade.
var (
	layout1Claim = goredis.NewScript(luaNow + `
local e = redis.call('HMGET', KEYS[1], 's', 'x', 'd')
if e[1] and tonumber(e[2]) > now then
	return {tonumber(e[1]), e[3]}
end
local lease = tonumber(ARGV[2])
if e[1] then
	redis.call('DEL', KEYS[1])
end
redis.call('HSET', KEYS[1], 's', 1, 'o', ARGV[1], 'x', now + lease)
redis.call('PEXPIRE', KEYS[1], lease + ` + strconv.FormatInt(InFlightGrace.Milliseconds(), 10) + `)
return 0
`)
	layout1Complete = goredis.NewScript(luaNow + `
if redis.call('HGET', KEYS[1], 'o') ~= ARGV[1] then
	return 0
end
local ttl = tonumber(ARGV[2])
redis.call('HSET', KEYS[1], 's', 2, 'x', now + ttl)
redis.call('HDEL', KEYS[1], 'd')
redis.call('PEXPIRE', KEYS[1], ttl)
return 1
`)
)

// TestRollingUpgrade: an old process (layout 1) beside a new one on the
// same keys loses and doubles nothing: the new one answers the old one's
// entries (in flight: InFlight; done: Done, and an old owner completes its
// own claim), and the old one fails on every new entry before writing (a
// 5xx, Telegram retries), never claiming a key the new one holds or
// overwriting its done entry.
func TestRollingUpgrade(t *testing.T) {
	ctx := t.Context()
	db := newTestDB(t)
	s := db.UpdateStore()
	oldClaim := func(key, owner string) (any, error) {
		return layout1Claim.Run(ctx, db.c, []string{s.key(key)}, owner, time.Minute.Milliseconds()).Result()
	}
	oldComplete := func(key, owner string) (any, error) {
		return layout1Complete.Run(ctx, db.c, []string{s.key(key)}, owner, time.Hour.Milliseconds()).Result()
	}

	// The old process claims; the new one sees it in flight, and the old
	// owner completes it (with its own script or the new store's).
	v, err := oldClaim("old", "o1")
	require.NoError(t, err)
	require.Equal(t, int64(0), v)
	r, err := s.Claim(ctx, "old", "n1", time.Minute, nil)
	require.NoError(t, err)
	require.Equal(t, webhook.InFlight, r.State)
	v, err = oldComplete("old", "o1")
	require.NoError(t, err)
	require.Equal(t, int64(1), v)
	r, err = s.Claim(ctx, "old", "n1", time.Minute, nil)
	require.NoError(t, err)
	require.Equal(t, webhook.Done, r.State)

	_, err = oldClaim("old2", "o1")
	require.NoError(t, err)
	require.NoError(t, s.Complete(ctx, "old2", "o1", time.Hour, nil), "the old owner through the new store")
	_, err = oldClaim("old2", "o2")
	require.Error(t, err, "now a layout 2 entry: the old process fails")

	// The new process claims and completes; the old one fails on both
	// entries, writing nothing.
	r, err = s.Claim(ctx, "new", "n1", time.Minute, nil)
	require.NoError(t, err)
	require.Equal(t, webhook.Claimed, r.State)
	_, err = oldClaim("new", "o1")
	require.ErrorContains(t, err, "WRONGTYPE")
	_, err = oldComplete("new", "n1")
	require.ErrorContains(t, err, "WRONGTYPE")
	require.NoError(t, s.Complete(ctx, "new", "n1", time.Hour, []byte("r")))
	_, err = oldClaim("new", "o1")
	require.ErrorContains(t, err, "WRONGTYPE")
	r, err = s.Claim(ctx, "new", "n2", time.Minute, nil)
	require.NoError(t, err)
	require.Equal(t, webhook.ClaimResult{State: webhook.Done, Data: []byte("r")}, r)
}
