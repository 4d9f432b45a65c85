package postgres

import (
	"context"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/miniappkit/miniappkit/payments"
	"github.com/miniappkit/miniappkit/payments/ledgertest"
)

func TestLedger(t *testing.T) {
	skipWithoutServer(t)
	ledgertest.Run(t, func(t *testing.T) payments.Ledger { return newTestDB(t).Ledger() })
}

func paymentFor(id string) payments.Payment { return payments.Payment{ChargeID: id} }

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
	if _, err := db.pool.Exec(ctx, db.sql(`CREATE TABLE {schema}.effects (charge_id text NOT NULL)`)); err != nil {
		t.Fatal(err)
	}
	cfg := stressConfig()
	cfg.Effect = func(ctx context.Context, tx payments.Tx, chargeID string) error {
		_, err := tx.(pgx.Tx).Exec(ctx, db.sql(`INSERT INTO {schema}.effects VALUES ($1)`), chargeID)
		return err
	}
	cfg.Effects = func(ctx context.Context) (map[string]int, error) {
		rows, err := db.pool.Query(ctx, db.sql(`SELECT charge_id, count(*) FROM {schema}.effects GROUP BY charge_id`))
		if err != nil {
			return nil, err
		}
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
	t.Logf("postgres: %+v", res)
}
