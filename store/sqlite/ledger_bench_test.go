package sqlite

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
// charge directly on the writer, with nothing around them: the record
// INSERT, the claim's UPDATE, and the fulfilment's write transaction (read
// the claim, the state's UPDATE, COMMIT).
func BenchmarkLedgerFloor(b *testing.B) {
	db := newTestDB(b)
	ledgertest.BenchmarkFloor(b, db.Ledger(), func(ctx context.Context, id, payload string) error {
		rows, err := db.w.QueryContext(ctx, ledgerInsertSQL, id, "", int64(1), "XTR", int64(5), payload,
			false, false, nil, 1, nil, nil, nil, nil, "o", "", nil, "")
		if err != nil {
			return err
		}
		if err := rows.Close(); err != nil {
			return err
		}
		if _, err := db.w.ExecContext(ctx, ledgerClaimSQL, id, "owner", int64(60e9)); err != nil {
			return err
		}
		tx, err := db.w.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if rows, err = tx.QueryContext(ctx, ledgerLockSQL, id); err != nil {
			return err
		}
		if err := rows.Close(); err != nil {
			return err
		}
		if rows, err = tx.QueryContext(ctx, ledgerFulfilSQL, id, true); err != nil {
			return err
		}
		if err := rows.Close(); err != nil {
			return err
		}
		return tx.Commit()
	})
}
