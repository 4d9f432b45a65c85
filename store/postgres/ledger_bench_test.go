package postgres

import (
	"context"
	"strconv"
	"testing"

	"github.com/miniappkit/miniappkit/botapi"
	"github.com/miniappkit/miniappkit/payments"
)

// noAPI is a Bot API that answers every call with success.
type noAPI struct{}

func (noAPI) AnswerPreCheckoutQuery(context.Context, *botapi.AnswerPreCheckoutQueryParams) error {
	return nil
}
func (noAPI) AnswerShippingQuery(context.Context, *botapi.AnswerShippingQueryParams) error {
	return nil
}
func (noAPI) RefundStarPayment(context.Context, *botapi.RefundStarPaymentParams) error { return nil }
func (noAPI) EditUserStarSubscription(context.Context, *botapi.EditUserStarSubscriptionParams) error {
	return nil
}
func (noAPI) GetStarTransactions(context.Context, *botapi.GetStarTransactionsParams) (*botapi.StarTransactions, error) {
	return &botapi.StarTransactions{}, nil
}

// BenchmarkHandleSuccessfulPayment: a new charge through payments.Handler
// on this Ledger: record, claim, and fulfil in one transaction (the
// fulfilment writes nothing). Compare with BenchmarkLedgerFloor.
func BenchmarkHandleSuccessfulPayment(b *testing.B) {
	db := newTestDB(b)
	codec, err := payments.NewCodec(payments.Key{ID: 1, Secret: []byte("benchmark payload key, 32 bytes.")})
	if err != nil {
		b.Fatal(err)
	}
	payload, err := codec.Encode(payments.Order{Ref: "o", UserID: 1})
	if err != nil {
		b.Fatal(err)
	}
	h, err := payments.NewHandler(noAPI{}, codec, db.Ledger(),
		func(context.Context, payments.Tx, payments.Payment, payments.Order) error { return nil },
		payments.WithRepeatablePurchases())
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	n := 0
	b.ReportAllocs()
	for b.Loop() {
		n++
		sp := &botapi.SuccessfulPayment{Currency: payments.XTR, TotalAmount: 5, InvoicePayload: payload,
			TelegramPaymentChargeID: "c" + strconv.Itoa(n)}
		if err := h.HandleSuccessfulPayment(ctx, 1, sp); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	p, err := db.Ledger().Get(ctx, "c1")
	if err != nil || p.State != payments.StateFulfilled {
		b.Fatalf("c1: %+v, %v", p, err)
	}
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
