package redis

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/miniappkit/miniappkit/webhook"
)

// DefaultPopLease is how long a popped update stays pending with its
// consumer before [DB.UpdateQueue]'s Pop claims it for another (XAUTOCLAIM):
// its worker is presumed dead.
const DefaultPopLease = 5 * time.Minute

// UpdateQueue is a webhook.Queue on a Redis Stream with a consumer group:
// Push adds an entry (once per id), Pop reads new entries with XREADGROUP
// and takes over entries pending past the pop lease with XAUTOCLAIM (a
// crashed consumer's); Ack, Nack, Postpone and Bury are scripts fenced on
// the entry's consumer and delivery count, so a worker whose lease passed
// changes nothing. Delayed updates wait in a sorted set scored by the
// server's clock, dead ones in a hash until re-driven. All keys of a queue
// share one hash tag, so the scripts are cluster-safe.
//
// It is as durable as the server: Durable reports true, but with Redis's
// defaults (no AOF, or appendfsync everysec) a server crash loses the last
// writes, acknowledged updates included. Run Redis with appendonly yes and
// appendfsync always where acknowledged updates must survive a server
// crash, or prefer the SQL queues (store/postgres, store/sqlite), which
// commit each Push. It is safe for concurrent use.
type UpdateQueue struct {
	db       *DB
	keys     []string // stream, ids, bodies, attempts, delayed, dead, deadidx, deadby
	consumer string
	lease    time.Duration
}

var _ webhook.Queue = (*UpdateQueue)(nil)

const queueGroup = "workers"

// UpdateQueue returns the queue named name with a pop lease of lease (0
// means [DefaultPopLease]); keep the lease well above the longest handler
// run. Call [DB.Migrate] first (it loads the scripts).
func (db *DB) UpdateQueue(name string, lease time.Duration) *UpdateQueue {
	if lease <= 0 {
		lease = DefaultPopLease
	}
	base := db.prefix + "{whq:" + name + "}:" // one hash tag for every key, whatever the name
	var b [8]byte
	_, _ = rand.Read(b[:])
	return &UpdateQueue{
		db:       db,
		keys:     []string{base + "s", base + "ids", base + "body", base + "att", base + "delayed", base + "dead", base + "deadidx", base + "deadby"},
		consumer: hex.EncodeToString(b[:]),
		lease:    lease,
	}
}

// queuePushScript: KEYS queue keys; ARGV id, body. Adds the update unless
// the queue holds its id.
var queuePushScript = redis.NewScript(`
if redis.call('SADD', KEYS[2], ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[3], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[4], ARGV[1], 1)
redis.call('XADD', KEYS[1], '*', 'id', ARGV[1])
return 1
`)

// queueDueScript: KEYS queue keys. Moves the delayed updates that are due
// (on the server's clock) to the stream.
var queueDueScript = redis.NewScript(luaNow + `
local due = redis.call('ZRANGEBYSCORE', KEYS[5], '-inf', now, 'LIMIT', 0, 100)
for _, id in ipairs(due) do
	redis.call('ZREM', KEYS[5], id)
	redis.call('XADD', KEYS[1], '*', 'id', id)
end
return #due
`)

// queueEndScript: KEYS queue keys; ARGV entry, consumer, deliveries, op
// (ack, nack, postpone, bury), delay ms or reason, id. Ends a popped entry
// if it is still pending with this consumer and delivery count. A bury
// records that pop (entry, consumer, deliveries) in deadby, until
// Redrive, so that its Bury again, after one that was applied and
// reported an error, returns 1 and changes nothing.
var queueEndScript = redis.NewScript(luaNow + `
local pop = ARGV[1] .. ' ' .. ARGV[2] .. ' ' .. ARGV[3]
local p = redis.call('XPENDING', KEYS[1], '` + queueGroup + `', ARGV[1], ARGV[1], 1)
if #p == 0 or p[1][2] ~= ARGV[2] or tostring(p[1][4]) ~= ARGV[3] then
	if ARGV[4] == 'bury' and redis.call('HGET', KEYS[8], ARGV[6]) == pop then return 1 end
	return 0
end
local e = redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1])
redis.call('XACK', KEYS[1], '` + queueGroup + `', ARGV[1])
redis.call('XDEL', KEYS[1], ARGV[1])
if #e == 0 then return 1 end
local id = e[1][2][2]
local op = ARGV[4]
if op == 'ack' then
	redis.call('SREM', KEYS[2], id)
	redis.call('HDEL', KEYS[3], id)
	redis.call('HDEL', KEYS[4], id)
elseif op == 'nack' or op == 'postpone' then
	if op == 'nack' then redis.call('HINCRBY', KEYS[4], id, 1) end
	redis.call('ZADD', KEYS[5], now + tonumber(ARGV[5]), id)
else
	redis.call('HSET', KEYS[6], id, ARGV[5])
	redis.call('ZADD', KEYS[7], now, id)
	redis.call('HSET', KEYS[8], id, pop)
end
return 1
`)

// queueRedriveScript: KEYS queue keys; ARGV id.
var queueRedriveScript = redis.NewScript(`
if redis.call('ZREM', KEYS[7], ARGV[1]) == 0 then return 0 end
redis.call('HDEL', KEYS[6], ARGV[1])
redis.call('HDEL', KEYS[8], ARGV[1])
redis.call('HSET', KEYS[4], ARGV[1], 1)
redis.call('XADD', KEYS[1], '*', 'id', ARGV[1])
return 1
`)

// queueScripts are loaded by Migrate.
var queueScripts = []*redis.Script{queuePushScript, queueDueScript, queueEndScript, queueRedriveScript}

func (q *UpdateQueue) ensureGroup(ctx context.Context) error {
	err := q.db.c.XGroupCreateMkStream(ctx, q.keys[0], queueGroup, "0").Err()
	if err != nil && !isBusyGroup(err) {
		return wrap("update queue create group", err)
	}
	return nil
}

func isBusyGroup(err error) bool {
	return err != nil && len(err.Error()) >= 9 && err.Error()[:9] == "BUSYGROUP"
}

// Push implements webhook.Queue.
func (q *UpdateQueue) Push(ctx context.Context, id int64, body []byte) error {
	if err := q.check(ctx); err != nil {
		return err
	}
	if err := q.ensureGroup(ctx); err != nil {
		return err
	}
	if err := queuePushScript.Run(ctx, q.db.c, q.keys, id, body).Err(); err != nil {
		return wrap("update queue push", err)
	}
	return nil
}

// Pop implements webhook.Queue: due delayed updates join the stream, then
// XAUTOCLAIM takes an entry pending past the pop lease, else XREADGROUP
// waits (at most 1 s at a time) for a new one. It never returns
// webhook.ErrQueueClosed.
func (q *UpdateQueue) Pop(ctx context.Context) (webhook.Job, error) {
	if err := q.ensureGroup(ctx); err != nil {
		return nil, err
	}
	for {
		if err := q.check(ctx); err != nil {
			return nil, err
		}
		if err := queueDueScript.Run(ctx, q.db.c, q.keys).Err(); err != nil {
			return nil, wrap("update queue pop", err)
		}
		msgs, _, err := q.db.c.XAutoClaim(ctx, &redis.XAutoClaimArgs{
			Stream: q.keys[0], Group: queueGroup, Consumer: q.consumer, MinIdle: q.lease, Start: "0-0", Count: 1,
		}).Result()
		if err != nil {
			return nil, wrap("update queue pop", err)
		}
		if len(msgs) == 0 {
			streams, err := q.db.c.XReadGroup(ctx, &redis.XReadGroupArgs{
				Group: queueGroup, Consumer: q.consumer, Streams: []string{q.keys[0], ">"}, Count: 1, Block: 100 * time.Millisecond,
			}).Result()
			if errors.Is(err, redis.Nil) {
				continue
			}
			if err != nil {
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				return nil, wrap("update queue pop", err)
			}
			for _, s := range streams {
				msgs = append(msgs, s.Messages...)
			}
			if len(msgs) == 0 {
				continue
			}
		}
		if j, err := q.job(ctx, msgs[0]); j != nil || err != nil {
			return j, err
		}
	}
}

// job loads a popped entry's update; nil if the entry was ended meanwhile.
func (q *UpdateQueue) job(ctx context.Context, m redis.XMessage) (webhook.Job, error) {
	idStr, _ := m.Values["id"].(string)
	id, err := strconv.ParseInt(idStr, 10, 64)
	if err != nil {
		return nil, fmt.Errorf("redis: update queue pop: entry %s without an id", m.ID)
	}
	p, err := q.db.c.XPendingExt(ctx, &redis.XPendingExtArgs{Stream: q.keys[0], Group: queueGroup, Start: m.ID, End: m.ID, Count: 1}).Result()
	if err != nil {
		return nil, wrap("update queue pop", err)
	}
	if len(p) == 0 || p[0].Consumer != q.consumer {
		return nil, nil
	}
	body, err := q.db.c.HGet(ctx, q.keys[2], idStr).Bytes()
	if err != nil {
		return nil, wrap("update queue pop", err)
	}
	att, err := q.db.c.HGet(ctx, q.keys[3], idStr).Int()
	if err != nil {
		return nil, wrap("update queue pop", err)
	}
	return &redisJob{q: q, entry: m.ID, deliveries: p[0].RetryCount, id: id, body: body, attempt: att}, nil
}

// DeadLetters implements webhook.Queue.
func (q *UpdateQueue) DeadLetters(ctx context.Context, limit int) ([]webhook.DeadLetter, error) {
	if err := q.check(ctx); err != nil {
		return nil, err
	}
	zs, err := q.db.c.ZRangeWithScores(ctx, q.keys[6], 0, int64(limit)-1).Result()
	if err != nil {
		return nil, wrap("update queue dead letters", err)
	}
	out := make([]webhook.DeadLetter, 0, len(zs))
	for _, z := range zs {
		idStr, _ := z.Member.(string)
		id, _ := strconv.ParseInt(idStr, 10, 64)
		d := webhook.DeadLetter{ID: id, At: time.UnixMilli(int64(z.Score))}
		if d.Body, err = q.db.c.HGet(ctx, q.keys[2], idStr).Bytes(); err != nil {
			return nil, wrap("update queue dead letters", err)
		}
		if d.Attempts, err = q.db.c.HGet(ctx, q.keys[3], idStr).Int(); err != nil {
			return nil, wrap("update queue dead letters", err)
		}
		if d.Reason, err = q.db.c.HGet(ctx, q.keys[5], idStr).Result(); err != nil {
			return nil, wrap("update queue dead letters", err)
		}
		out = append(out, d)
	}
	return out, nil
}

// Redrive implements webhook.Queue.
func (q *UpdateQueue) Redrive(ctx context.Context, id int64) error {
	if err := q.check(ctx); err != nil {
		return err
	}
	n, err := queueRedriveScript.Run(ctx, q.db.c, q.keys, id).Int()
	if err != nil {
		return wrap("update queue redrive", err)
	}
	if n == 0 {
		return webhook.ErrNotDead
	}
	return nil
}

// Durable reports true; see [UpdateQueue] for what that needs of the server.
func (q *UpdateQueue) Durable() bool { return true }

func (q *UpdateQueue) check(ctx context.Context) error {
	if q.db.err != nil {
		return q.db.err
	}
	return ctx.Err()
}

// redisJob is a popped entry, fenced by its consumer and delivery count.
type redisJob struct {
	q          *UpdateQueue
	entry      string
	deliveries int64
	id         int64
	body       []byte
	attempt    int
}

func (j *redisJob) ID() int64    { return j.id }
func (j *redisJob) Body() []byte { return j.body }
func (j *redisJob) Attempt() int { return j.attempt }

func (j *redisJob) end(ctx context.Context, op string, arg any) error {
	n, err := queueEndScript.Run(ctx, j.q.db.c, j.q.keys, j.entry, j.q.consumer, j.deliveries, op, arg, j.id).Int()
	return result("update queue "+op, n, err)
}

// Ack implements webhook.Job; it fails with webhook.ErrNotOwner once
// another consumer claimed the entry.
func (j *redisJob) Ack(ctx context.Context) error { return j.end(ctx, "ack", 0) }

// Nack implements webhook.Job.
func (j *redisJob) Nack(ctx context.Context, delay time.Duration) error {
	return j.end(ctx, "nack", millis(max(delay, 0)))
}

// Postpone implements webhook.Job.
func (j *redisJob) Postpone(ctx context.Context, delay time.Duration) error {
	return j.end(ctx, "postpone", millis(max(delay, 0)))
}

// Bury implements webhook.Job; this pop's Bury again after one that was
// applied returns nil (see queueEndScript).
func (j *redisJob) Bury(ctx context.Context, reason string) error {
	return j.end(ctx, "bury", reason)
}
