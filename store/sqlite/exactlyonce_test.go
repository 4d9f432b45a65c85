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
	// 64 with MINIAPPKIT_LONG=1, but not under -race (as the ledger's
	// stress and the broadcast crash test): 64 senders took 105 s of the
	// package's 475 s under -race on a loaded 2-core machine, near the
	// default 10-minute timeout; the plain pass runs 64.
	if os.Getenv("MINIAPPKIT_LONG") != "" && !raceEnabled {
		senders = 64
	}
	db := newTestDB(t)
	storetest.ExactlyOnceAsync(t, db.UpdateQueue("bot", time.Minute), db.UpdateStore(), senders,
		func(ctx context.Context) (left int, err error) {
			err = db.SQL().QueryRowContext(ctx, `SELECT count(*) FROM miniappkit_webhook_queue`).Scan(&left)
			return left, err
		})
}
