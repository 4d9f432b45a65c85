package redis

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/miniappkit/miniappkit/webhook/storetest"
)

// TestExactlyOnceAsync: senders deliver every update id many times
// through the asynchronous handler onto the Redis queue; 8 workers
// process it with the Redis store failing 5 % of its calls; 10
// poisoned updates are buried after 3 attempts, re-driven once fixed; in
// the end every update ran successfully exactly once
// (storetest.ExactlyOnceAsync). MINIAPPKIT_LONG=1 runs 64 senders x 1 000
// ids, otherwise 16 x 1 000.
func TestExactlyOnceAsync(t *testing.T) {
	skipWithoutServer(t)
	senders := 16
	if os.Getenv("MINIAPPKIT_LONG") != "" {
		senders = 64
	}
	db := newTestDB(t)
	q := db.UpdateQueue("bot", time.Minute)
	storetest.ExactlyOnceAsync(t, q, db.UpdateStore(), senders, func(ctx context.Context) (int, error) {
		left, err := db.c.SCard(ctx, q.keys[1]).Result()
		return int(left), err
	})
}
