package sqlite

import (
	"context"
	"database/sql"
	"os"
	"testing"

	"github.com/miniappkit/miniappkit/payments"
	"github.com/miniappkit/miniappkit/payments/ledgertest"
)

func TestLedger(t *testing.T) {
	skipWithoutServer(t)
	ledgertest.Run(t, func(t *testing.T) payments.Ledger { return newTestDB(t).Ledger() })
}

// stressConfig is the full run of issue 16 with MINIAPPKIT_LONG=1 (64
// deliveries x 500 charges), a smaller one otherwise.
func stressConfig() ledgertest.StressConfig {
	if os.Getenv("MINIAPPKIT_LONG") != "" {
		return ledgertest.StressConfig{}
	}
	return ledgertest.StressConfig{Charges: 100, Deliveries: 16}
}

// TestLedgerStress: the handler under faults, its fulfilment a row written
// in the ledger's transaction: every effect exactly once.
func TestLedgerStress(t *testing.T) {
	db := newTestDB(t)
	ctx := t.Context()
	if _, err := db.SQL().ExecContext(ctx, `CREATE TABLE effects (charge_id TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	cfg := stressConfig()
	cfg.Effect = func(ctx context.Context, tx payments.Tx, chargeID string) error {
		_, err := tx.(*sql.Tx).ExecContext(ctx, `INSERT INTO effects VALUES (?)`, chargeID)
		return err
	}
	cfg.Effects = func(ctx context.Context) (map[string]int, error) {
		rows, err := db.r.QueryContext(ctx, `SELECT charge_id, count(*) FROM effects GROUP BY charge_id`)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		out := map[string]int{}
		for rows.Next() {
			var id string
			var n int
			if err := rows.Scan(&id, &n); err != nil {
				return nil, err
			}
			out[id] = n
		}
		return out, rows.Err()
	}
	res := ledgertest.Stress(t, db.Ledger(), cfg)
	t.Logf("sqlite: %+v", res)
}
