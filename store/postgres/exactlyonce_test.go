package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/miniappkit/miniappkit/webhook/storetest"
)

// TestExactlyOnceAsync: senders deliver every update id many times
// through the asynchronous handler onto the Postgres queue; 8 workers
// process it with the Postgres store failing 5 % of its calls; 10
// poisoned updates are buried after 3 attempts, re-driven once fixed; in
// the end every update ran successfully exactly once
// (storetest.ExactlyOnceAsync): 64 senders x 1 000 ids (duplicates cost
// one INSERT … ON CONFLICT DO NOTHING each).
func TestExactlyOnceAsync(t *testing.T) {
	skipWithoutServer(t)
	db := newTestDB(t)
	storetest.ExactlyOnceAsync(t, db.UpdateQueue("bot", time.Minute), db.UpdateStore(), 64,
		func(ctx context.Context) (left int, err error) {
			err = db.Pool().QueryRow(ctx, db.sql(`SELECT count(*) FROM {schema}.webhook_queue`)).Scan(&left)
			return left, err
		})
}
