package redis

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/miniappkit/miniappkit/webhook"
)

// UpdateStore is a webhook.Store: one hash per key, <prefix>wh:<key>,
// holding its state, owner, expiry (on the server's clock) and data, and
// one Lua script per operation. A done key expires with its TTL. An
// in-flight key counts as absent once its lease passes but is kept for
// [InFlightGrace] more, so that its owner can still complete it if nobody
// took it over. It is safe for concurrent use.
type UpdateStore struct{ db *DB }

var _ webhook.Store = (*UpdateStore)(nil)

// InFlightGrace is how long an in-flight key whose lease has passed is
// kept for its owner's Complete before Redis drops it.
const InFlightGrace = time.Hour

// UpdateStore returns the webhook.Store on the server, for
// [webhook.WithStore].
func (db *DB) UpdateStore() *UpdateStore { return &UpdateStore{db: db} }

var errBadDuration = errors.New("redis: lease and ttl must be positive")

// The server's clock in milliseconds, read inside a script.
const luaNow = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`

// claimScript: KEYS[1] the key's hash; ARGV owner, lease ms, then the
// data if there is any. Returns 0 when claimed, else {state, data}.
var claimScript = redis.NewScript(luaNow + `
local e = redis.call('HMGET', KEYS[1], 's', 'x', 'd')
if e[1] and tonumber(e[2]) > now then
	return {tonumber(e[1]), e[3]}
end
local lease = tonumber(ARGV[2])
if e[1] then
	redis.call('DEL', KEYS[1]) -- an expired entry: drop its fields
end
if #ARGV > 2 then
	redis.call('HSET', KEYS[1], 's', 1, 'o', ARGV[1], 'x', now + lease, 'd', ARGV[3])
else
	redis.call('HSET', KEYS[1], 's', 1, 'o', ARGV[1], 'x', now + lease)
end
redis.call('PEXPIRE', KEYS[1], lease + ` + strconv.FormatInt(InFlightGrace.Milliseconds(), 10) + `)
return 0
`)

// completeScript: KEYS[1]; ARGV owner, ttl ms, then the data if there is
// any. Returns 1 when completed, 0 when owner does not hold the key.
var completeScript = redis.NewScript(luaNow + `
if redis.call('HGET', KEYS[1], 'o') ~= ARGV[1] then
	return 0
end
local ttl = tonumber(ARGV[2])
if #ARGV > 2 then
	redis.call('HSET', KEYS[1], 's', 2, 'x', now + ttl, 'd', ARGV[3])
else
	redis.call('HSET', KEYS[1], 's', 2, 'x', now + ttl)
	redis.call('HDEL', KEYS[1], 'd')
end
redis.call('PEXPIRE', KEYS[1], ttl)
return 1
`)

// extendScript: KEYS[1]; ARGV owner, lease ms. Returns 1 when extended,
// 0 when owner does not hold the key in flight.
var extendScript = redis.NewScript(luaNow + `
local e = redis.call('HMGET', KEYS[1], 's', 'o')
if e[1] ~= '1' or e[2] ~= ARGV[1] then
	return 0
end
local lease = tonumber(ARGV[2])
redis.call('HSET', KEYS[1], 'x', now + lease)
redis.call('PEXPIRE', KEYS[1], lease + ` + strconv.FormatInt(InFlightGrace.Milliseconds(), 10) + `)
return 1
`)

// releaseScript: KEYS[1]; ARGV owner. Returns 1 when released.
var releaseScript = redis.NewScript(`
local e = redis.call('HMGET', KEYS[1], 's', 'o')
if e[1] == '1' and e[2] == ARGV[1] then
	redis.call('DEL', KEYS[1])
	return 1
end
return 0
`)

func (s *UpdateStore) key(k string) string { return s.db.prefix + "wh:" + k }

// Claim implements webhook.Store.
func (s *UpdateStore) Claim(ctx context.Context, key, owner string, lease time.Duration, data []byte) (webhook.ClaimResult, error) {
	if err := s.check(ctx, lease); err != nil {
		return webhook.ClaimResult{}, err
	}
	args := []any{owner, millis(lease)}
	if data != nil {
		args = append(args, data)
	}
	v, err := claimScript.Run(ctx, s.db.c, []string{s.key(key)}, args...).Result()
	if err != nil {
		return webhook.ClaimResult{}, wrap("update store claim", err)
	}
	if n, ok := v.(int64); ok && n == 0 {
		return webhook.ClaimResult{State: webhook.Claimed}, nil
	}
	e, _ := v.([]any)
	var state int64
	var got []byte
	if len(e) > 0 {
		state, _ = e[0].(int64)
	}
	if len(e) > 1 {
		if str, ok := e[1].(string); ok {
			got = []byte(str)
		}
	}
	switch state {
	case 1:
		return webhook.ClaimResult{State: webhook.InFlight, Data: got}, nil
	case 2:
		return webhook.ClaimResult{State: webhook.Done, Data: got}, nil
	}
	return webhook.ClaimResult{}, fmt.Errorf("redis: update store claim: unexpected reply %v", v)
}

// Complete implements webhook.Store.
func (s *UpdateStore) Complete(ctx context.Context, key, owner string, ttl time.Duration, data []byte) error {
	if err := s.check(ctx, ttl); err != nil {
		return err
	}
	args := []any{owner, millis(ttl)}
	if data != nil {
		args = append(args, data)
	}
	n, err := completeScript.Run(ctx, s.db.c, []string{s.key(key)}, args...).Int()
	return result("update store complete", n, err)
}

// Extend implements webhook.Store: one script, the new lease on the
// server's clock.
func (s *UpdateStore) Extend(ctx context.Context, key, owner string, lease time.Duration) error {
	if err := s.check(ctx, lease); err != nil {
		return err
	}
	n, err := extendScript.Run(ctx, s.db.c, []string{s.key(key)}, owner, millis(lease)).Int()
	return result("update store extend", n, err)
}

// Release implements webhook.Store.
func (s *UpdateStore) Release(ctx context.Context, key, owner string) error {
	if err := s.check(ctx, 1); err != nil {
		return err
	}
	n, err := releaseScript.Run(ctx, s.db.c, []string{s.key(key)}, owner).Int()
	return result("update store release", n, err)
}

func (s *UpdateStore) check(ctx context.Context, d time.Duration) error {
	if s.db.err != nil {
		return s.db.err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if d <= 0 {
		return errBadDuration
	}
	return nil
}

func result(op string, n int, err error) error {
	if err != nil {
		return wrap(op, err)
	}
	if n == 0 {
		return webhook.ErrNotOwner
	}
	return nil
}

// millis rounds d up to whole milliseconds.
func millis(d time.Duration) int64 {
	return int64((d + time.Millisecond - 1) / time.Millisecond)
}

// IdempotencyStore returns the store for webhook.Idempotency: the same
// table of claims as [DB.UpdateStore] (keys "idem:…" beside "tg:…"), whose
// data column holds each request's fingerprint and stored response.
func (db *DB) IdempotencyStore() *UpdateStore { return db.UpdateStore() }
