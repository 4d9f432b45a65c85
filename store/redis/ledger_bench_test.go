package redis

import (
	"context"
	"strconv"
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
	ctx := context.Background()
	n := 0
	b.ReportAllocs()
	for b.Loop() {
		n++
		id := "c" + strconv.Itoa(n)
		keys := []string{l.key(id), l.set("order"), l.set("seq"), l.set("pending"), l.set("paid"), l.set("o:o"), l.set("ob:o")}
		if err := ledgerRecordScript.Run(ctx, db.c, keys, id, "0", "o", 1, "", fID, id, fUser, 1, fCurrency, "XTR",
			fAmount, 5, fPayload, floorPayload, fState, 1, fOrder, "o", fRequested, "0").Err(); err != nil {
			b.Fatal(err)
		}
		pk := []string{l.key(id), l.set("pending")}
		if err := ledgerClaimScript.Run(ctx, db.c, pk, "owner", int64(60e6), "f").Err(); err != nil {
			b.Fatal(err)
		}
		if err := ledgerBeginScript.Run(ctx, db.c, pk, "owner", id, "f").Err(); err != nil {
			b.Fatal(err)
		}
		if err := ledgerCommitScript.Run(ctx, db.c, pk, "owner", id, "f").Err(); err != nil {
			b.Fatal(err)
		}
		if err := db.c.HGetAll(ctx, l.key(id)).Err(); err != nil {
			b.Fatal(err)
		}
	}
}

// floorPayload is as long as the benchmark's real payload.
const floorPayload = "AQEBAgEBbwMzQhWtj0ZxJ2VUxkqXlpsGoQ"
