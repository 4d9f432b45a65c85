package redis

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/miniappkit/miniappkit/broadcast"
)

// BroadcastLog is a broadcast.Log on the server: per broadcast id a string
// <prefix>{bl:<id>}:list holding its chat list's fingerprint, a hash
// <prefix>{bl:<id>}:entries mapping each entry in flight or finished to
// its outcome (0: in flight), and a hash <prefix>{bl:<id>}:lease naming
// the run holding the broadcast (o) and until when (x, milliseconds on
// the server's clock, TIME). The keys share the hash tag {bl:<id>}, which
// is never empty (an empty id included) and, whatever '}' the id holds,
// ends at the same place in every key. Each call is one script that
// checks the run holds the broadcast and writes in the same atomic step;
// it is as durable as the server's persistence (see the package doc,
// "Durability": with appendonly yes and appendfsync always a call is on
// disk when it returns). It is safe for concurrent use.
type BroadcastLog struct{ db *DB }

var _ broadcast.Log = (*BroadcastLog)(nil)

// BroadcastLog returns the broadcast.Log on the server, for
// broadcast.WithLog.
func (db *DB) BroadcastLog() *BroadcastLog { return &BroadcastLog{db: db} }

func (l *BroadcastLog) keys(id string) (list, entries, lease string) {
	base := l.db.prefix + "{bl:" + id + "}:"
	return base + "list", base + "entries", base + "lease"
}

// openScript: KEYS list, entries, lease; ARGV the fingerprint, the run,
// the lease in ms. Returns {status, entries as a flat array}: status 1
// opened, 0 another list, 2 another run holds a live lease.
var openScript = redis.NewScript(luaNow + `
redis.call('SET', KEYS[1], ARGV[1], 'NX')
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return {0, {}} end
local h = redis.call('HMGET', KEYS[3], 'o', 'x')
if h[1] and h[1] ~= ARGV[2] and tonumber(h[2]) > now then return {2, {}} end
redis.call('HSET', KEYS[3], 'o', ARGV[2], 'x', now + tonumber(ARGV[3]))
return {1, redis.call('HGETALL', KEYS[2])}
`)

// renewScript: KEYS lease; ARGV the run, the lease in ms. Returns 1, or
// 0 when the run does not hold the broadcast.
var renewScript = redis.NewScript(luaNow + `
if redis.call('HGET', KEYS[1], 'o') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'x', now + tonumber(ARGV[2]))
return 1
`)

// blReleaseScript: KEYS lease; ARGV the run.
var blReleaseScript = redis.NewScript(`
if redis.call('HGET', KEYS[1], 'o') == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
`)

// writeScript: KEYS lease, entries; ARGV the run, the entry, its outcome
// ('0' in flight, ” forgotten). Returns 1, or 0 when the run does not
// hold the broadcast (nothing written).
var writeScript = redis.NewScript(`
if redis.call('HGET', KEYS[1], 'o') ~= ARGV[1] then return 0 end
if ARGV[3] == '' then
	redis.call('HDEL', KEYS[2], ARGV[2])
else
	redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
end
return 1
`)

// Open implements broadcast.Log.
func (l *BroadcastLog) Open(ctx context.Context, id, list, run string, lease time.Duration) ([]broadcast.LogEntry, error) {
	if l.db.err != nil {
		return nil, l.db.err
	}
	if run == "" {
		return nil, errors.New("redis: broadcast log: open: empty run token")
	}
	lk, ek, xk := l.keys(id)
	res, err := openScript.Run(ctx, l.db.c, []string{lk, ek, xk}, list, run, lease.Milliseconds()).Slice()
	if err != nil {
		return nil, wrap("broadcast log: open", err)
	}
	if len(res) != 2 {
		return nil, fmt.Errorf("redis: broadcast log: open: unexpected reply %v", res)
	}
	switch status, _ := res[0].(int64); status {
	case 1:
	case 2:
		return nil, fmt.Errorf("redis: broadcast log %q: %w", id, broadcast.ErrRunning)
	default:
		return nil, fmt.Errorf("redis: broadcast log %q: %w", id, broadcast.ErrCursorMismatch)
	}
	flat, _ := res[1].([]any)
	out := make([]broadcast.LogEntry, 0, len(flat)/2)
	for j := 0; j+1 < len(flat); j += 2 {
		ks, _ := flat[j].(string)
		vs, _ := flat[j+1].(string)
		i, err1 := strconv.Atoi(ks)
		o, err2 := strconv.Atoi(vs)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("redis: broadcast log: open: bad entry %q=%q", ks, vs)
		}
		out = append(out, broadcast.LogEntry{Index: i, Outcome: broadcast.Outcome(o)})
	}
	slices.SortFunc(out, func(a, b broadcast.LogEntry) int { return a.Index - b.Index })
	return out, nil
}

// lost is the error of a write by a run that does not hold id.
func lost(id string) error {
	return fmt.Errorf("redis: broadcast log %q: %w", id, broadcast.ErrLeaseLost)
}

// Renew implements broadcast.Log.
func (l *BroadcastLog) Renew(ctx context.Context, id, run string, lease time.Duration) error {
	if l.db.err != nil {
		return l.db.err
	}
	_, _, xk := l.keys(id)
	ok, err := renewScript.Run(ctx, l.db.c, []string{xk}, run, lease.Milliseconds()).Int()
	if err != nil {
		return wrap("broadcast log: renew", err)
	}
	if ok != 1 {
		return lost(id)
	}
	return nil
}

// Release implements broadcast.Log.
func (l *BroadcastLog) Release(ctx context.Context, id, run string) error {
	if l.db.err != nil {
		return l.db.err
	}
	_, _, xk := l.keys(id)
	if err := blReleaseScript.Run(ctx, l.db.c, []string{xk}, run).Err(); err != nil {
		return wrap("broadcast log: release", err)
	}
	return nil
}

// write sets entry i's outcome (or forgets it) if run holds id.
func (l *BroadcastLog) write(ctx context.Context, op, id, run string, i int, o string) error {
	if l.db.err != nil {
		return l.db.err
	}
	_, ek, xk := l.keys(id)
	ok, err := writeScript.Run(ctx, l.db.c, []string{xk, ek}, run, strconv.Itoa(i), o).Int()
	if err != nil {
		return wrap("broadcast log: "+op, err)
	}
	if ok != 1 {
		return lost(id)
	}
	return nil
}

// Start implements broadcast.Log.
func (l *BroadcastLog) Start(ctx context.Context, id, run string, i int) error {
	return l.write(ctx, "start", id, run, i, "0")
}

// Finish implements broadcast.Log.
func (l *BroadcastLog) Finish(ctx context.Context, id, run string, i int, o broadcast.Outcome) error {
	if o == 0 {
		return l.write(ctx, "finish", id, run, i, "")
	}
	return l.write(ctx, "finish", id, run, i, strconv.Itoa(int(o)))
}
