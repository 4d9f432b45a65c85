package sqlite

import (
	"testing"

	"github.com/miniappkit/miniappkit/webhook/storetest"
)

// TestIdempotencyStore: webhook.Idempotency on the engine's store replays
// the first final answer, headers and all, and runs the operation once
// (storetest.Idempotency).
func TestIdempotencyStore(t *testing.T) {
	storetest.Idempotency(t, newTestDB(t).IdempotencyStore())
}
