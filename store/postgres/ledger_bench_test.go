package postgres

import (
	"context"
	"testing"

	"github.com/miniappkit/miniappkit/payments/ledgertest"
)

// BenchmarkHandleSuccessfulPayment: a new charge through payments.Handler
// on this Ledger: record, claim, and fulfil in one transaction (the
// fulfilment writes nothing). Compare with BenchmarkLedgerFloor.
func BenchmarkHandleSuccessfulPayment(b *testing.B) {
	ledgertest.BenchmarkHandler(b, newTestDB(b).Ledger())
}

// BenchmarkLedgerFloor issues the statements the Ledger issues for a new
// charge directly on the pool, with nothing around them: the record
// INSERT, the claim's UPDATE, and the fulfilment's transaction (SELECT ...
// FOR UPDATE, the state's UPDATE, COMMIT).
func BenchmarkLedgerFloor(b *testing.B) {
	db := newTestDB(b)
	q := db.Ledger().q
	ledgertest.BenchmarkFloor(b, db.Ledger(), func(ctx context.Context, id, payload string) error {
		rows, err := db.pool.Query(ctx, q.record, id, "", int64(1), "XTR", int64(5), payload,
			false, false, nil, int16(1), nil, nil, nil, nil, "o", "", nil)
		if err != nil {
			return err
		}
		rows.Close()
		if _, err := db.pool.Exec(ctx, q.claim, id, "owner", int64(60_000_000)); err != nil {
			return err
		}
		tx, err := db.pool.Begin(ctx)
		if err != nil {
			return err
		}
		if rows, err = tx.Query(ctx, q.lock, id); err != nil {
			return err
		}
		rows.Close()
		if rows, err = tx.Query(ctx, q.fulfil, id, true); err != nil {
			return err
		}
		rows.Close()
		return tx.Commit(ctx)
	})
}
