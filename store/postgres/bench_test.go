package postgres

import (
	"context"
	"testing"

	"github.com/miniappkit/miniappkit/webhook"
	"github.com/miniappkit/miniappkit/webhook/storetest"
)

// BenchmarkClaimComplete compares a webhook.Store claim + complete through
// UpdateStore (store) with the engine's floor: the minimal statements for
// the same, issued directly on the same pool (INSERT ... ON CONFLICT DO
// NOTHING, then UPDATE ... WHERE owner; pgx prepares and caches both).
func BenchmarkClaimComplete(b *testing.B) {
	db := newTestDB(b)
	ctx := context.Background()
	claim := db.sql(`INSERT INTO {schema}.webhook_keys (key, state, owner, expires_at)
		VALUES ($1, 1, $2, now() + $3 * interval '1 microsecond') ON CONFLICT DO NOTHING`)
	complete := db.sql(`UPDATE {schema}.webhook_keys SET state = 2, expires_at = now() + $3 * interval '1 microsecond'
		WHERE key = $1 AND owner = $2`)
	storetest.BenchmarkClaimComplete(b, db.UpdateStore(), func(key string) error {
		if _, err := db.pool.Exec(ctx, claim, key, "o", int64(60_000_000)); err != nil {
			return err
		}
		_, err := db.pool.Exec(ctx, complete, key, "o", int64(3_600_000_000))
		return err
	})
}

// BenchmarkUpdates measures updates through webhook.NewHandler on this
// engine's UpdateStore next to a bare handler and no store
// (storetest.BenchmarkUpdates).
func BenchmarkUpdates(b *testing.B) {
	storetest.BenchmarkUpdates(b, storetest.BenchStore{Name: "postgres",
		New: func(b *testing.B) webhook.Store { return newTestDB(b).UpdateStore() }})
}
