package sqlite

import (
	"context"
	"database/sql"
	"os"
	"strings"
	"testing"

	"github.com/miniappkit/miniappkit/payments"
	"github.com/miniappkit/miniappkit/payments/ledgertest"
)

func TestLedger(t *testing.T) {
	skipWithoutServer(t)
	ledgertest.Run(t, func(t *testing.T) payments.Ledger { return newTestDB(t).Ledger() })
}

// stressConfig is the full run of issue 16 with MINIAPPKIT_LONG=1 (64
// deliveries x 500 charges), a smaller one otherwise and under -race (the
// full run takes minutes there; the plain pass runs it).
func stressConfig() ledgertest.StressConfig {
	if os.Getenv("MINIAPPKIT_LONG") != "" && !raceEnabled {
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

// TestLedgerIndexes: Pending, Since and ByOrder read their indexes (SQLite's
// query plan names each).
func TestLedgerIndexes(t *testing.T) {
	db := newTestDB(t)
	ctx := t.Context()
	for _, c := range []struct {
		name, query, index string
		args               []any
	}{
		{"Pending", ledgerPendingSQL, "miniappkit_payments_pending", []any{int64(0), int64(0), 500}},
		{"Since", ledgerSinceSQL, "miniappkit_payments_paid_at", []any{int64(1), int64(0), 500}},
		{"ByOrder", ledgerByOrderSQL, "miniappkit_payments_order_ref", []any{"o"}},
	} {
		rows, err := db.r.QueryContext(ctx, "EXPLAIN QUERY PLAN "+c.query, c.args...)
		if err != nil {
			t.Fatal(err)
		}
		var plan strings.Builder
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan.WriteString(detail + "\n")
		}
		rows.Close()
		if !strings.Contains(plan.String(), c.index) {
			t.Errorf("%s does not use %s:\n%s", c.name, c.index, plan.String())
		}
	}
}
