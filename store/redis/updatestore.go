package redis

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/miniappkit/miniappkit/webhook"
)

// UpdateStore is a webhook.Store: one string per key, <prefix>wh:<key>
// (<prefix>wh%:<key escaped> for a key holding a brace, see Layout),
// holding the entry's state, owner and data (see Layout in the package
// doc), and one Lua script per operation, each a GET and at most one SET.
// Times are the key's expiry, on the server's clock: a done key expires
// with its TTL; an in-flight key expires [InFlightGrace] after its lease
// ends, and counts as absent once its lease has passed (its PTTL at most
// the grace), so that its owner can still complete it during the grace if
// nobody took it over. [UpdateStore.CompleteTx] writes an update's effect in the
// transaction that completes its claim. It is safe for concurrent use.
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

// luaEntry is the prelude of the update store's scripts.
//
// An entry (layout 2) is one string: its state ('1' in flight, '2' done),
// the owner's length in bytes, ':', the owner, then '=' and the data when
// there is any: "12:ab=data", "22:ab". load returns state, owner and data
// (false when none), or nothing for an absent key. An entry of layout 1 (a
// hash with fields s, o, x, d, written by releases before the string
// layout) is read the same way, so that keys written before an upgrade
// keep deduplicating until they expire; the first write replaces it with
// a string.
//
// Times are the key's expiry, kept by the server on its clock: a done
// entry expires with its TTL, an in-flight one [InFlightGrace] after its
// lease ends, so its lease has passed when its PTTL is at most the grace
// (layout 1 set the same expiries).
var luaEntry = strings.Replace(`
local function load(k)
	local v = redis.pcall('GET', k)
	if type(v) == 'table' then
		if not v.err then return end
		local h = redis.call('HMGET', k, 's', 'o', 'd')
		if not h[1] then return end
		return h[1], h[2], h[3]
	end
	if not v then return end
	local i = string.find(v, ':', 2, true)
	local n = tonumber(string.sub(v, 2, i - 1))
	local d = false
	if #v > i + n then d = string.sub(v, i + n + 2) end
	return string.sub(v, 1, 1), string.sub(v, i + 1, i + n), d
end
local function enc(s, o, d)
	if d then return s .. #o .. ':' .. o .. '=' .. d end
	return s .. #o .. ':' .. o
end
local grace = GRACE
`, "GRACE", strconv.FormatInt(InFlightGrace.Milliseconds(), 10), 1)

// claimScript: KEYS[1] the entry; ARGV owner, lease ms, then the data if
// there is any. Returns 0 when claimed, else {state, data}.
var claimScript = redis.NewScript(luaEntry + `
local s, o, d = load(KEYS[1])
if s == '2' then return {2, d} end
if s and redis.call('PTTL', KEYS[1]) > grace then return {1, d} end
redis.call('SET', KEYS[1], enc('1', ARGV[1], ARGV[3]), 'PX', tonumber(ARGV[2]) + grace)
return 0
`)

// completeScript: KEYS[1]; ARGV owner, ttl ms, then the data if there is
// any. Returns 1 when completed, 0 when owner does not hold the key.
var completeScript = redis.NewScript(luaEntry + `
local s, o = load(KEYS[1])
if o ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], enc('2', o, ARGV[3]), 'PX', ARGV[2])
return 1
`)

// extendScript: KEYS[1]; ARGV owner, lease ms. Returns 1 when extended,
// 0 when owner does not hold the key in flight.
var extendScript = redis.NewScript(luaEntry + `
local s, o, d = load(KEYS[1])
if s ~= '1' or o ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], enc('1', o, d), 'PX', tonumber(ARGV[2]) + grace)
return 1
`)

// releaseScript: KEYS[1]; ARGV owner. Returns 1 when released.
var releaseScript = redis.NewScript(luaEntry + `
local s, o = load(KEYS[1])
if s == '1' and o == ARGV[1] then
	redis.call('DEL', KEYS[1])
	return 1
end
return 0
`)

// key is the Redis key of the entry of k: <prefix>wh:<k>, or, when k holds
// a '{' or '}', <prefix>wh%:<k escaped>, where '%', '{' and '}' are
// written %25, %7B and %7D (layout 3). A webhook key can hold a client's
// text (the Idempotency-Key header), and a brace in it would pick the
// entry's Redis Cluster hash tag: "a}b" made an entry no other key can
// share a slot with (CompleteTx refused every effect with ErrCrossSlot),
// and "{x}…" let a client choose the slot and tag, and so the keys of
// CompleteTx's effect, of its entry. Escaped, no part of k forms or
// breaks a hash tag; the tag is the prefix's or the whole key's, as for
// every other key. Escaping rather than hashing or base64 keeps keys
// readable (redis-cli KEYS, SCAN) and every key without a brace where it
// was, so entries written before the upgrade stay where they are; those
// with one are read at [UpdateStore.legacyKey] by Claim. The escape is
// one-to-one and "wh%:" differs from "wh:", so two keys never share an
// entry.
func (s *UpdateStore) key(k string) string {
	if !strings.ContainsAny(k, "{}") {
		return s.db.prefix + "wh:" + k
	}
	return s.db.prefix + "wh%:" + braceEscaper.Replace(k)
}

var braceEscaper = strings.NewReplacer("%", "%25", "{", "%7B", "}", "%7D")

// legacyKey is the key of layout 2 (and 1) for k: <prefix>wh:<k> as it
// came. It differs from key(k) only when k holds a brace.
func (s *UpdateStore) legacyKey(k string) string { return s.db.prefix + "wh:" + k }

// peekScript: KEYS[1] the entry. Returns what claimScript returns for a
// key it does not claim ({state, data}), or 0 for a key it would claim
// (absent, or in flight with its lease passed); writes nothing.
var peekScript = redis.NewScript(luaEntry + `
local s, o, d = load(KEYS[1])
if s == '2' then return {2, d} end
if s and redis.call('PTTL', KEYS[1]) > grace then return {1, d} end
return 0
`)

// Claim implements webhook.Store. It first tries one command, SET with
// NX and GET: it claims an absent key, and returns a present key's entry,
// which answers a done key. Only an in-flight key (its lease may have
// passed), an entry of layout 1 or a server before Redis 7.0 (which
// refuses NX with GET) take the claim script. A key holding a brace first
// reads its entry of layout 2 ([UpdateStore.key]), one more round trip, so
// that what was claimed or done under it before the upgrade is answered
// until it expires.
func (s *UpdateStore) Claim(ctx context.Context, key, owner string, lease time.Duration, data []byte) (webhook.ClaimResult, error) {
	if err := s.check(ctx, lease); err != nil {
		return webhook.ClaimResult{}, err
	}
	k := s.key(key)
	if old := s.legacyKey(key); old != k {
		v, err := peekScript.Run(ctx, s.db.c, []string{old}).Result()
		if err != nil {
			return webhook.ClaimResult{}, wrap("update store claim", err)
		}
		if n, ok := v.(int64); !ok || n != 0 {
			return claimReply(v)
		}
	}
	if !s.db.noSetNXGet.Load() {
		e := entry{state: '1', owner: owner}
		if data != nil {
			d := string(data)
			e.data = &d
		}
		v, err := s.db.c.Do(ctx, "set", k, e.encode(), "px", millis(lease)+InFlightGrace.Milliseconds(), "nx", "get").Text()
		switch {
		case errors.Is(err, redis.Nil):
			return webhook.ClaimResult{State: webhook.Claimed}, nil
		case err == nil:
			if got, err := parseEntry(v); err == nil && got.state == '2' {
				return webhook.ClaimResult{State: webhook.Done, Data: got.bytes()}, nil
			}
		case strings.HasPrefix(err.Error(), "ERR syntax error"):
			s.db.noSetNXGet.Store(true) // before Redis 7.0
		case !strings.HasPrefix(err.Error(), "WRONGTYPE"):
			return webhook.ClaimResult{}, wrap("update store claim", err)
		}
	}
	args := []any{owner, millis(lease)}
	if data != nil {
		args = append(args, data)
	}
	v, err := claimScript.Run(ctx, s.db.c, []string{k}, args...).Result()
	if err != nil {
		return webhook.ClaimResult{}, wrap("update store claim", err)
	}
	if n, ok := v.(int64); ok && n == 0 {
		return webhook.ClaimResult{State: webhook.Claimed}, nil
	}
	return claimReply(v)
}

// claimReply is the result of claimScript's or peekScript's reply
// {state, data} for a key they did not claim.
func claimReply(v any) (webhook.ClaimResult, error) {
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
