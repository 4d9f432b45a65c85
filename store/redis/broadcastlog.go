package redis

import (
	"context"
	"fmt"
	"slices"
	"strconv"

	"github.com/redis/go-redis/v9"

	"github.com/miniappkit/miniappkit/broadcast"
)

// BroadcastLog is a broadcast.Log on the server: per broadcast id a string
// <prefix>{bl:<id>}:list holding its chat list's fingerprint and a hash
// <prefix>{bl:<id>}:entries mapping each entry in flight or finished to
// its outcome (0: in flight). Both keys share the hash tag {bl:<id>},
// which is never empty (an empty id included) and, whatever '}' the id
// holds, ends at the same place in both keys. Each
// call is one command or script; it is as durable as the server's
// persistence (see the package doc, "Durability": with appendonly yes and
// appendfsync always a call is on disk when it returns). It is safe for
// concurrent use.
type BroadcastLog struct{ db *DB }

var _ broadcast.Log = (*BroadcastLog)(nil)

// BroadcastLog returns the broadcast.Log on the server, for
// broadcast.WithLog.
func (db *DB) BroadcastLog() *BroadcastLog { return &BroadcastLog{db: db} }

func (l *BroadcastLog) keys(id string) (list, entries string) {
	base := l.db.prefix + "{bl:" + id + "}:"
	return base + "list", base + "entries"
}

// openScript: KEYS list, entries; ARGV the fingerprint. Returns {ok,
// entries as a flat array}; ok 0 when the broadcast has another list.
var openScript = redis.NewScript(`
redis.call('SET', KEYS[1], ARGV[1], 'NX')
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return {0, {}} end
return {1, redis.call('HGETALL', KEYS[2])}
`)

// Open implements broadcast.Log.
func (l *BroadcastLog) Open(ctx context.Context, id, list string) ([]broadcast.LogEntry, error) {
	if l.db.err != nil {
		return nil, l.db.err
	}
	lk, ek := l.keys(id)
	res, err := openScript.Run(ctx, l.db.c, []string{lk, ek}, list).Slice()
	if err != nil {
		return nil, wrap("broadcast log: open", err)
	}
	if len(res) != 2 {
		return nil, fmt.Errorf("redis: broadcast log: open: unexpected reply %v", res)
	}
	if ok, _ := res[0].(int64); ok != 1 {
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

// Start implements broadcast.Log.
func (l *BroadcastLog) Start(ctx context.Context, id string, i int) error {
	if l.db.err != nil {
		return l.db.err
	}
	_, ek := l.keys(id)
	if err := l.db.c.HSet(ctx, ek, strconv.Itoa(i), 0).Err(); err != nil {
		return wrap("broadcast log: start", err)
	}
	return nil
}

// Finish implements broadcast.Log.
func (l *BroadcastLog) Finish(ctx context.Context, id string, i int, o broadcast.Outcome) error {
	if l.db.err != nil {
		return l.db.err
	}
	_, ek := l.keys(id)
	var err error
	if o == 0 {
		err = l.db.c.HDel(ctx, ek, strconv.Itoa(i)).Err()
	} else {
		err = l.db.c.HSet(ctx, ek, strconv.Itoa(i), int(o)).Err()
	}
	if err != nil {
		return wrap("broadcast log: finish", err)
	}
	return nil
}
