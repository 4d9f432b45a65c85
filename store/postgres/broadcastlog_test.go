package postgres

import (
	"testing"

	"github.com/miniappkit/miniappkit/broadcast"
	"github.com/miniappkit/miniappkit/broadcast/logtest"
)

// TestBroadcastLog runs the broadcast.Log contract kit on the engine.
func TestBroadcastLog(t *testing.T) {
	skipWithoutServer(t)
	db := newTestDB(t)
	logtest.Run(t, func(*testing.T) broadcast.Log { return db.BroadcastLog() })
}
