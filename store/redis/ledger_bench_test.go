package redis

import (
	"context"
	"testing"

	"github.com/miniappkit/miniappkit/payments/ledgertest"
)

// BenchmarkHandleSuccessfulPayment: a new charge through payments.Handler
// on this Ledger: record, claim, check, fulfil (nothing), record the
// fulfilment, read it back. Compare with BenchmarkLedgerFloor.
func BenchmarkHandleSuccessfulPayment(b *testing.B) {
	ledgertest.BenchmarkHandler(b, newTestDB(b).Ledger())
}

// BenchmarkLedgerFloor runs the scripts the Ledger runs for a new charge
// directly (record, claim, begin, commit) and the final HGETALL, with
// nothing around them.
func BenchmarkLedgerFloor(b *testing.B) {
	db := newTestDB(b)
	l := db.Ledger()
	ledgertest.BenchmarkFloor(b, l, func(ctx context.Context, id, payload string) error {
		keys := []string{l.key(id), l.set("order"), l.set("seq"), l.set("pending"), l.set("paid"), l.set("o:o"), l.set("ob:o")}
		if err := ledgerRecordScript.Run(ctx, db.c, keys, id, "0", "o", 1, "", fID, id, fUser, 1, fCurrency, "XTR",
			fAmount, 5, fPayload, payload, fState, 1, fOrder, "o", fRequested, "0").Err(); err != nil {
			return err
		}
		pk := []string{l.key(id), l.set("pending")}
		if err := ledgerClaimScript.Run(ctx, db.c, pk, "owner", int64(60e6), "f").Err(); err != nil {
			return err
		}
		if err := ledgerBeginScript.Run(ctx, db.c, pk, "owner", id, "f").Err(); err != nil {
			return err
		}
		if err := ledgerCommitScript.Run(ctx, db.c, pk, "owner", id, "f").Err(); err != nil {
			return err
		}
		return db.c.HGetAll(ctx, l.key(id)).Err()
	})
}
