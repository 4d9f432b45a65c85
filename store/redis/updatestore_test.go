package redis

import (
	"testing"

	"github.com/miniappkit/miniappkit/webhook"
	"github.com/miniappkit/miniappkit/webhook/storetest"
)

func TestUpdateStore(t *testing.T) {
	skipWithoutServer(t)
	storetest.Run(t, func(t *testing.T) (webhook.Store, storetest.Advance) {
		return newTestDB(t).UpdateStore(), nil
	})
}

// TestUpdateStoreScriptClaim runs the contract kit with every claim taken
// by the claim script, as on a server before Redis 7.0 (which refuses SET
// with both NX and GET); TestUpdateStore covers the SET NX GET path.
func TestUpdateStoreScriptClaim(t *testing.T) {
	skipWithoutServer(t)
	storetest.Run(t, func(t *testing.T) (webhook.Store, storetest.Advance) {
		db := newTestDB(t)
		db.noSetNXGet.Store(true)
		return db.UpdateStore(), nil
	})
}
