package redis

import (
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/miniappkit/miniappkit/ratelimit"
)

// floorScript does the bare work of a decision over two keys: the
// server's clock, two reads, two writes with expiry. It is the floor a
// Store decision on Redis cannot go below (one EVALSHA round trip).
var floorScript = redis.NewScript(`local t = redis.call('TIME')
local a = redis.call('GET', KEYS[1])
local b = redis.call('GET', KEYS[2])
redis.call('SET', KEYS[1], t[1], 'PX', 1000)
redis.call('SET', KEYS[2], t[2], 'PX', 1000)
return 1`)

// BenchmarkRateStore measures one decision over a send's cells (a chat
// and the bot-wide cell) through RateStore.Take, beside the bare EVALSHA
// floor doing the same reads and writes, on the server named by
// MINIAPPKIT_REDIS_URL. The limits are set so every Take conforms.
func BenchmarkRateStore(b *testing.B) {
	db := newTestDB(b)
	ctx := b.Context()
	b.Run("impl=RateStore.Take/cells=2", func(b *testing.B) {
		s := db.RateStore()
		cells := []ratelimit.Cell{
			{Key: ratelimit.Key{Kind: ratelimit.KindChat}, Interval: time.Microsecond},
			{Key: ratelimit.Key{Kind: ratelimit.KindGlobal}, Interval: time.Microsecond, Tolerance: time.Hour},
		}
		now := time.Now()
		b.ReportAllocs()
		i := int64(0)
		for b.Loop() {
			i++
			cells[0].Key.ID = i
			if _, err := s.Take(ctx, now, cells); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("impl=EVALSHA-floor/keys=2", func(b *testing.B) {
		if err := floorScript.Load(ctx, db.c).Err(); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			i++
			keys := []string{db.prefix + "floor:{rl}:" + strconv.Itoa(i), db.prefix + "floor:{rl}:global"}
			if err := floorScript.EvalSha(ctx, db.c, keys).Err(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
