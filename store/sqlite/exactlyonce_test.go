package sqlite

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/miniappkit/miniappkit/webhook/storetest"
)

// TestExactlyOnceAsync: senders deliver every update id many times
// through the asynchronous handler onto the SQLite queue; 8 workers
// process it with the SQLite store failing 5 % of its calls; 10
// poisoned updates are buried after 3 attempts, re-driven once fixed; in
// the end every update ran successfully exactly once
// (storetest.ExactlyOnceAsync). MINIAPPKIT_LONG=1 runs 64 senders x 1 000
// ids (15 s: every Push is a commit on the one writer), otherwise 16 x 1 000.
func TestExactlyOnceAsync(t *testing.T) {
	senders := 16
	if os.Getenv("MINIAPPKIT_LONG") != "" {
		senders = 64
	}
	db := newTestDB(t)
	storetest.ExactlyOnceAsync(t, db.UpdateQueue("bot", time.Minute), db.UpdateStore(), senders,
		func(ctx context.Context) (left int, err error) {
			err = db.SQL().QueryRowContext(ctx, `SELECT count(*) FROM miniappkit_webhook_queue`).Scan(&left)
			return left, err
		})
}
