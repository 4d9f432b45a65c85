package sqlite

import (
	"context"
	"testing"

	"github.com/miniappkit/miniappkit/webhook"
	"github.com/miniappkit/miniappkit/webhook/storetest"
)

// BenchmarkClaimComplete compares a webhook.Store claim + complete through
// UpdateStore (floor: false) with the engine's floor: the minimal
// statements for the same, prepared and issued directly on the same
// connection (INSERT ... ON CONFLICT DO NOTHING, then UPDATE ... WHERE
// owner).
// It runs with synchronous FULL (the default: an fsync per commit) and
// NORMAL (WAL commits without fsync; durable across a process crash).
func BenchmarkClaimComplete(b *testing.B) {
	for _, sync := range []string{"FULL", "NORMAL"} {
		b.Run("sync="+sync, func(b *testing.B) { benchClaimComplete(b, newTestDB(b, WithSynchronous(sync))) })
	}
}

func benchClaimComplete(b *testing.B, db *DB) {
	ctx := context.Background()
	storetest.BenchmarkClaimComplete(b, db.UpdateStore(), func(key string) error {
		if _, err := db.exec(ctx, `INSERT INTO miniappkit_webhook_keys (key, state, owner, expires_at)
			VALUES (?, 1, ?, `+nowMS+` + ?) ON CONFLICT DO NOTHING`, key, "o", 60_000); err != nil {
			return err
		}
		_, err := db.exec(ctx, `UPDATE miniappkit_webhook_keys SET state = 2, expires_at = `+nowMS+` + ?
			WHERE key = ? AND owner = ?`, 3_600_000, key, "o")
		return err
	})
}

// BenchmarkUpdates measures updates through webhook.NewHandler on this
// engine's UpdateStore (synchronous FULL and NORMAL) next to a bare
// handler and no store (storetest.BenchmarkUpdates).
func BenchmarkUpdates(b *testing.B) {
	storetest.BenchmarkUpdates(b,
		storetest.BenchStore{Name: "sqlite",
			New: func(b *testing.B) webhook.Store { return newTestDB(b).UpdateStore() }},
		storetest.BenchStore{Name: "sqlite-sync=NORMAL",
			New: func(b *testing.B) webhook.Store { return newTestDB(b, WithSynchronous("NORMAL")).UpdateStore() }})
}
