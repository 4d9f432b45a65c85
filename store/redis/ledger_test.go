package redis

import (
	"os"
	"testing"

	"github.com/miniappkit/miniappkit/payments"
	"github.com/miniappkit/miniappkit/payments/ledgertest"
)

func TestLedger(t *testing.T) {
	skipWithoutServer(t)
	ledgertest.Run(t, func(t *testing.T) payments.Ledger { return newTestDB(t).Ledger() })
}

// TestLedgerStress: the handler under faults on Redis (16 x 100; 64 x 500
// with MINIAPPKIT_LONG=1). Effects are counted in memory: with no
// transaction shared with the fulfilment, exactly once holds here because
// no fulfilment outlives its lease (see Ledger).
func TestLedgerStress(t *testing.T) {
	cfg := ledgertest.StressConfig{Charges: 100, Deliveries: 16}
	if os.Getenv("MINIAPPKIT_LONG") != "" && !raceEnabled { // the full run takes minutes under -race
		cfg = ledgertest.StressConfig{}
	}
	res := ledgertest.Stress(t, newTestDB(t).Ledger(), cfg)
	t.Logf("redis: %+v", res)
}
