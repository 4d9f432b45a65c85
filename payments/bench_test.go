package payments

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miniappkit/miniappkit/botapi"
)

func BenchmarkCodecEncode(b *testing.B) {
	c := newTestCodec(b)
	o := Order{Ref: "order-000123", UserID: 123456789, Product: "gold-100", Currency: XTR, Amount: 50, Expires: testNow.Add(time.Hour)}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Encode(o); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCodecDecode(b *testing.B) {
	c := newTestCodec(b)
	p, err := c.Encode(Order{Ref: "order-000123", UserID: 123456789, Product: "gold-100", Currency: XTR, Amount: 50, Expires: testNow.Add(time.Hour)})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.DecodeAt(p, testNow); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSuccessfulPaymentNew measures recording and fulfilling a new
// charge (the first delivery) in a MemoryLedger.
func BenchmarkSuccessfulPaymentNew(b *testing.B) {
	c := newTestCodec(b)
	payload, _ := c.Encode(Order{Ref: "order-1", UserID: 1})
	h, err := NewHandler(&fakeAPI{}, c, NewMemoryLedger(), func(context.Context, Tx, Payment, Order) error { return nil },
		WithRepeatablePurchases()) // one payload for every charge
	if err != nil {
		b.Fatal(err)
	}
	var n atomic.Int64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			sp := &botapi.SuccessfulPayment{Currency: XTR, TotalAmount: 5, InvoicePayload: payload,
				TelegramPaymentChargeID: "c" + strconv.FormatInt(n.Add(1), 10)}
			if err := h.HandleSuccessfulPayment(context.Background(), 1, sp); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkSuccessfulPaymentDuplicate measures a redelivered, already
// fulfilled charge: the path every duplicate takes.
func BenchmarkSuccessfulPaymentDuplicate(b *testing.B) {
	c := newTestCodec(b)
	payload, _ := c.Encode(Order{Ref: "order-1", UserID: 1})
	h, err := NewHandler(&fakeAPI{}, c, NewMemoryLedger(), func(context.Context, Tx, Payment, Order) error { return nil })
	if err != nil {
		b.Fatal(err)
	}
	sp := &botapi.SuccessfulPayment{Currency: XTR, TotalAmount: 5, InvoicePayload: payload, TelegramPaymentChargeID: "c"}
	if err := h.HandleSuccessfulPayment(context.Background(), 1, sp); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := h.HandleSuccessfulPayment(context.Background(), 1, sp); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkPreCheckout measures deciding and answering a valid query with no
// seller check (the answer goes to an in-memory fake).
func BenchmarkPreCheckout(b *testing.B) {
	c := newTestCodec(b)
	payload, _ := c.Encode(Order{Ref: "order-1", UserID: 1, Currency: XTR, Amount: 5, Expires: testNow.Add(time.Hour)})
	h, err := NewHandler(&discardAPI{}, c, NewMemoryLedger(), func(context.Context, Tx, Payment, Order) error { return nil },
		WithClock(func() time.Time { return testNow }))
	if err != nil {
		b.Fatal(err)
	}
	q := &botapi.PreCheckoutQuery{ID: "q", From: botapi.User{ID: 1}, Currency: XTR, TotalAmount: 5, InvoicePayload: payload}
	b.ReportAllocs()
	for b.Loop() {
		if err := h.HandlePreCheckoutQuery(context.Background(), q); err != nil {
			b.Fatal(err)
		}
	}
}

// discardAPI answers every call with success and keeps nothing.
type discardAPI struct{ fakeAPI }

func (*discardAPI) AnswerPreCheckoutQuery(context.Context, *botapi.AnswerPreCheckoutQueryParams) error {
	return nil
}
