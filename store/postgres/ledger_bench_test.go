package postgres

import (
	"context"
	"strconv"
	"testing"

	"github.com/miniappkit/miniappkit/payments"
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
	ctx := context.Background()
	n := 0
	b.ReportAllocs()
	for b.Loop() {
		n++
		id := "c" + strconv.Itoa(n)
		rows, err := db.pool.Query(ctx, q.record, id, "", int64(1), "XTR", int64(5), floorPayload,
			false, false, nil, int16(1), nil, nil, nil, nil, "o", "", nil)
		if err != nil {
			b.Fatal(err)
		}
		rows.Close()
		if _, err := db.pool.Exec(ctx, q.claim, id, "owner", int64(60_000_000)); err != nil {
			b.Fatal(err)
		}
		tx, err := db.pool.Begin(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if rows, err = tx.Query(ctx, q.lock, id); err != nil {
			b.Fatal(err)
		}
		rows.Close()
		if rows, err = tx.Query(ctx, q.fulfil, id, true); err != nil {
			b.Fatal(err)
		}
		rows.Close()
		if err := tx.Commit(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	p, err := db.Ledger().Get(ctx, "c1")
	if err != nil || p.State != payments.StateFulfilled {
		b.Fatalf("the floor did not fulfil c1: %+v, %v", p, err)
	}
}

// floorPayload is as long as the benchmark's real payload.
const floorPayload = "AQEBAgEBbwMzQhWtj0ZxJ2VUxkqXlpsGoQ"
