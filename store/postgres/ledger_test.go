package postgres

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/miniappkit/miniappkit/payments"
	"github.com/miniappkit/miniappkit/payments/ledgertest"
)

func TestLedger(t *testing.T) {
	skipWithoutServer(t)
	ledgertest.Run(t, func(t *testing.T) payments.Ledger { return newTestDB(t).Ledger() })
}

func paymentFor(id string) payments.Payment { return payments.Payment{ChargeID: id} }

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
	cfg := stressConfig()
	cfg.Effect, cfg.Effects = txEffects(t, db)
	res := ledgertest.Stress(t, db.Ledger(), cfg)
	t.Logf("postgres: %+v", res)
}

// TestLedgerStressNoRefundHook: the handler under faults with no refund
// hook: a refund after fulfilment is complete once Telegram refunded and
// leaves the pending set (before, the drain never ended), on Postgres.
func TestLedgerStressNoRefundHook(t *testing.T) {
	res := ledgertest.Stress(t, newTestDB(t).Ledger(), ledgertest.StressConfig{Charges: 60, Deliveries: 8, RefundPart: 0.3, NoRefundHook: true})
	t.Logf("postgres: %+v", res)
}

// TestLedgerIndexes: Pending, Since and ByOrder are index scans (the plan
// with sequential scans disabled names each index; with them enabled a
// tiny table may still be scanned).
func TestLedgerIndexes(t *testing.T) {
	db := newTestDB(t)
	q := db.Ledger().q
	ctx := t.Context()
	tx, err := db.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck
	if _, err := tx.Exec(ctx, `SET LOCAL enable_seqscan = off`); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, query, index string
		args               []any
	}{
		{"Pending", q.pending, "payments_pending", []any{int64(0), int64(0), 500}},
		{"Since", q.since, "payments_paid_at", []any{time.Unix(0, 0), int64(0), 500}},
		{"ByOrder", q.byOrder, "payments_order_ref", []any{"o"}},
	} {
		rows, err := tx.Query(ctx, "EXPLAIN "+c.query, c.args...)
		if err != nil {
			t.Fatal(err)
		}
		var plan strings.Builder
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				t.Fatal(err)
			}
			plan.WriteString(line + "\n")
		}
		rows.Close()
		if !strings.Contains(plan.String(), c.index) {
			t.Errorf("%s does not use %s:\n%s", c.name, c.index, plan.String())
		}
	}
}

// TestTwoProcessesOneLedger: two handlers on two pools sharing one schema
// (two processes) fulfil each order once (a row in the ledger's
// transaction) and refund the duplicate charge once (ledgertest.TwoProcesses).
func TestTwoProcessesOneLedger(t *testing.T) {
	db := newTestDB(t)
	ctx := t.Context()
	pool2, err := pgxpool.New(ctx, os.Getenv("MINIAPPKIT_POSTGRES_URL"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool2.Close)
	db2 := New(pool2, WithSchema(db.Schema()))
	effect, effects := txEffects(t, db)
	fulfil := func(ctx context.Context, tx payments.Tx, _ payments.Payment, o payments.Order) error {
		return effect(ctx, tx, o.Ref)
	}
	ledgertest.TwoProcesses(t, [2]payments.Ledger{db.Ledger(), db2.Ledger()}, fulfil, effects)
}

// TestLedgerErrorsNameOperationNotPassword: every Ledger call on a server
// that cannot be reached fails with an error naming the operation and not
// carrying the password of the pool's URL.
func TestLedgerErrorsNameOperationNotPassword(t *testing.T) {
	pool, err := pgxpool.New(t.Context(), "postgres://user:sekret-pw@127.0.0.1:1/db?sslmode=disable&connect_timeout=2")
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	ledgertest.Unreachable(t, New(pool).Ledger(), "postgres: ", "sekret-pw")
}

// TestLedgerHonoursContext: calls with an ended context fail and change
// nothing; a fulfilment cancelled mid-transaction commits nothing.
func TestLedgerHonoursContext(t *testing.T) {
	ledgertest.HonoursContext(t, newTestDB(t).Ledger(), true)
}

// txEffects creates a table for a fulfilment's effects, written in the
// ledger's transaction, and returns what writes one for a key (a charge or
// an order) and what counts them by key (as ledgertest.StressConfig's
// Effect and Effects).
func txEffects(t *testing.T, db *DB) (effect func(context.Context, payments.Tx, string) error, effects func(context.Context) (map[string]int, error)) {
	t.Helper()
	if _, err := db.pool.Exec(t.Context(), db.sql(`CREATE TABLE {schema}.effects (ref text NOT NULL)`)); err != nil {
		t.Fatal(err)
	}
	effect = func(ctx context.Context, tx payments.Tx, ref string) error {
		_, err := tx.(pgx.Tx).Exec(ctx, db.sql(`INSERT INTO {schema}.effects VALUES ($1)`), ref)
		return err
	}
	effects = func(ctx context.Context) (map[string]int, error) {
		rows, err := db.pool.Query(ctx, db.sql(`SELECT ref, count(*) FROM {schema}.effects GROUP BY ref`))
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		out := map[string]int{}
		for rows.Next() {
			var ref string
			var n int
			if err := rows.Scan(&ref, &n); err != nil {
				return nil, err
			}
			out[ref] = n
		}
		return out, rows.Err()
	}
	return effect, effects
}
