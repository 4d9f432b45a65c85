package redis

import (
	"context"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/miniappkit/miniappkit/webhook"
	"github.com/miniappkit/miniappkit/webhook/storetest"
)

// floorComplete is the minimal complete: compare the owner, mark done.
var floorComplete = goredis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
	redis.call('SET', KEYS[1], 'done', 'PX', ARGV[2])
	return 1
end
return 0
`)

// BenchmarkClaimComplete compares a webhook.Store claim + complete through
// UpdateStore (store: two scripts, reading the server's TIME) with the
// engine's floor: the minimal commands for the same, issued directly on
// the same client (SET key owner NX PX lease, then a script comparing the
// owner and marking the key done).
func BenchmarkClaimComplete(b *testing.B) {
	db := newTestDB(b)
	ctx := context.Background()
	if err := floorComplete.Load(ctx, db.c).Err(); err != nil {
		b.Fatal(err)
	}
	storetest.BenchmarkClaimComplete(b, db.UpdateStore(), func(key string) error {
		key = db.prefix + key
		if err := db.c.SetNX(ctx, key, "o", time.Minute).Err(); err != nil {
			return err
		}
		return floorComplete.EvalSha(ctx, db.c, []string{key}, "o", 3_600_000).Err()
	})
}

// BenchmarkUpdates measures updates through webhook.NewHandler on this
// engine's UpdateStore next to a bare handler and no store
// (storetest.BenchmarkUpdates).
func BenchmarkUpdates(b *testing.B) {
	storetest.BenchmarkUpdates(b, storetest.BenchStore{Name: "redis",
		New: func(b *testing.B) webhook.Store { return newTestDB(b).UpdateStore() }})
}
