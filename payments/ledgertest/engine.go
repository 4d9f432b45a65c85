package ledgertest

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miniappkit/miniappkit/botapi"
	"github.com/miniappkit/miniappkit/payments"
)

// The checks in this file need a real engine around the ledger (a second
// client, a server that cannot be reached, a transaction to roll back), so
// [Run] does not include them: each store's tests call them with what only
// the store can build.

// TwoProcesses runs two handlers, one on each of ledgers (two clients of one
// store: two processes), under one Telegram that refunds each charge once
// (CHARGE_ALREADY_REFUNDED after). Per one-time order (20 of them), two
// pre-checkouts at once (one to each handler) are answered ok once; then two
// charges of the order, each delivered to both handlers at once, fulfil the
// order once and refund the other charge once at Telegram, with one Warn line
// "duplicate charge refunded" per order.
//
// fulfil is the handlers' fulfilment and effects returns how many times each
// order ref was fulfilled, read after every delivery ended. With fulfil nil
// the fulfilments are counted in memory (a ledger without a shared
// transaction, where exactly once holds because no fulfilment outlives its
// lease) and effects is not called.
func TwoProcesses(t *testing.T, ledgers [2]payments.Ledger, fulfil payments.FulfilFunc, effects func(context.Context) (map[string]int, error)) {
	t.Helper()
	ctx := t.Context()
	if fulfil == nil {
		var mu sync.Mutex
		counted := map[string]int{}
		fulfil = func(_ context.Context, _ payments.Tx, _ payments.Payment, o payments.Order) error {
			mu.Lock()
			defer mu.Unlock()
			counted[o.Ref]++
			return nil
		}
		effects = func(context.Context) (map[string]int, error) {
			mu.Lock()
			defer mu.Unlock()
			return counted, nil
		}
	}
	codec, err := payments.NewCodec(payments.Key{ID: 1, Secret: []byte("two processes payload key, 32 B.")})
	if err != nil {
		t.Fatal(err)
	}
	api := &recAPI{ok: map[string]int{}, refunded: map[string]int{}, queries: map[string]string{}}
	var logs lockedBuffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	var hs [2]*payments.Handler
	for i, l := range ledgers {
		if hs[i], err = payments.NewHandler(api, codec, l, fulfil, payments.WithLogger(logger)); err != nil {
			t.Fatal(err)
		}
	}
	const orders = 20
	payloads := make([]string, orders)
	var wg sync.WaitGroup
	for i := range orders {
		ref := "order-" + strconv.Itoa(i)
		payload, err := codec.Encode(payments.Order{Ref: ref, UserID: 7, Currency: payments.XTR, Amount: 5})
		if err != nil {
			t.Fatal(err)
		}
		payloads[i] = payload
		for j, h := range hs {
			q := &botapi.PreCheckoutQuery{ID: ref + "-q" + strconv.Itoa(j), From: botapi.User{ID: 7},
				Currency: payments.XTR, TotalAmount: 5, InvoicePayload: payload}
			api.mu.Lock()
			api.queries[q.ID] = ref
			api.mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := h.HandlePreCheckoutQuery(ctx, q); err != nil {
					t.Error(err)
				}
			}()
		}
	}
	wg.Wait() // Telegram charges only after a pre-checkout answer
	for i, payload := range payloads {
		ref := "order-" + strconv.Itoa(i)
		for c := range 2 {
			sp := &botapi.SuccessfulPayment{Currency: payments.XTR, TotalAmount: 5, InvoicePayload: payload,
				TelegramPaymentChargeID: ref + "-c" + strconv.Itoa(c)}
			for _, h := range hs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if err := h.HandleSuccessfulPayment(ctx, 7, sp); err != nil {
						t.Error(err)
					}
				}()
			}
		}
	}
	wg.Wait()
	fulfilled, err := effects(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := range orders {
		ref := "order-" + strconv.Itoa(i)
		if api.ok[ref] != 1 {
			t.Errorf("%s: %d pre-checkouts answered ok, want 1", ref, api.ok[ref])
		}
		if fulfilled[ref] != 1 {
			t.Errorf("%s: fulfilled %d times, want once", ref, fulfilled[ref])
		}
		if n := api.refunded[ref+"-c0"] + api.refunded[ref+"-c1"]; n != 1 {
			t.Errorf("%s: %d charges refunded at Telegram, want 1 (the duplicate)", ref, n)
		}
	}
	if n := strings.Count(logs.String(), "duplicate charge refunded"); n != orders {
		t.Errorf("%d log lines \"duplicate charge refunded\", want %d:\n%s", n, orders, logs.String())
	}
}

// recAPI is Telegram for [TwoProcesses]: it records the pre-checkout answers
// and refunds each charge once (CHARGE_ALREADY_REFUNDED after).
type recAPI struct {
	NopAPI
	mu       sync.Mutex
	ok       map[string]int // order ref → pre-checkout queries answered ok
	refunded map[string]int
	queries  map[string]string // query id → order ref
}

func (a *recAPI) AnswerPreCheckoutQuery(_ context.Context, p *botapi.AnswerPreCheckoutQueryParams) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if p.OK {
		a.ok[a.queries[p.PreCheckoutQueryID]]++
	}
	return nil
}

func (a *recAPI) RefundStarPayment(_ context.Context, p *botapi.RefundStarPaymentParams) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return refundOnce(a.refunded, p.TelegramPaymentChargeID)
}

// refundOnce is Telegram's refundStarPayment for the fake APIs: it refunds
// the charge chargeID once, counting it in refunded, and answers
// CHARGE_ALREADY_REFUNDED after. The caller holds the lock on refunded.
func refundOnce(refunded map[string]int, chargeID string) error {
	if refunded[chargeID] > 0 {
		return &botapi.Error{Method: "refundStarPayment", Code: 400, Description: "Bad Request: CHARGE_ALREADY_REFUNDED"}
	}
	refunded[chargeID]++
	return nil
}

// lockedBuffer is a log sink for several goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (w *lockedBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *lockedBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// NopAPI is a [payments.API] that answers every call with success (no
// star transactions).
type NopAPI struct{}

// AnswerPreCheckoutQuery returns nil.
func (NopAPI) AnswerPreCheckoutQuery(context.Context, *botapi.AnswerPreCheckoutQueryParams) error {
	return nil
}

// AnswerShippingQuery returns nil.
func (NopAPI) AnswerShippingQuery(context.Context, *botapi.AnswerShippingQueryParams) error {
	return nil
}

// RefundStarPayment returns nil.
func (NopAPI) RefundStarPayment(context.Context, *botapi.RefundStarPaymentParams) error { return nil }

// EditUserStarSubscription returns nil.
func (NopAPI) EditUserStarSubscription(context.Context, *botapi.EditUserStarSubscriptionParams) error {
	return nil
}

// GetStarTransactions returns no transactions.
func (NopAPI) GetStarTransactions(context.Context, *botapi.GetStarTransactionsParams) (*botapi.StarTransactions, error) {
	return &botapi.StarTransactions{}, nil
}

// calls returns every Ledger method, by name, called on l with ctx.
func calls(ctx context.Context, l payments.Ledger) map[string]func() error {
	first := func(s func(yield func(payments.Payment, error) bool)) error {
		for _, err := range s {
			return err
		}
		return nil
	}
	nop := func(context.Context, payments.Tx) error { return nil }
	return map[string]func() error{
		"Record": func() error {
			_, _, err := l.Record(ctx, payments.Payment{ChargeID: "new", OrderRef: "o"}, true)
			return err
		},
		"Get":                func() error { _, err := l.Get(ctx, "c"); return err },
		"ByOrder":            func() error { _, err := l.ByOrder(ctx, "o"); return err },
		"Reserve":            func() error { _, err := l.Reserve(ctx, "o", "q", time.Minute); return err },
		"ReleaseReservation": func() error { return l.ReleaseReservation(ctx, "o", "q") },
		"Claim":              func() error { _, err := l.Claim(ctx, "c", "a", time.Minute); return err },
		"Release":            func() error { return l.Release(ctx, "c", "a") },
		"Fulfil":             func() error { _, err := l.Fulfil(ctx, "c", "a", nop); return err },
		"Refund":             func() error { _, err := l.Refund(ctx, "c"); return err },
		"ClaimRefundHook":    func() error { _, err := l.ClaimRefundHook(ctx, "c", "a", time.Minute); return err },
		"RefundHookDone":     func() error { _, err := l.RefundHookDone(ctx, "c", "a", nop); return err },
		"Pending":            func() error { return first(l.Pending(ctx, 0)) },
		"Since":              func() error { return first(l.Since(ctx, time.Time{})) },
	}
}

// errorOps is the operation each Ledger method's error names.
var errorOps = map[string]string{
	"Record": "ledger record", "Get": "ledger get", "ByOrder": "ledger by order",
	"Reserve": "ledger reserve", "ReleaseReservation": "ledger release reservation", "Claim": "ledger claim", "Release": "ledger release",
	"Fulfil": "ledger fulfil", "Refund": "ledger refund", "ClaimRefundHook": "ledger claim refund hook",
	"RefundHookDone": "ledger refund hook done", "Pending": "ledger pending", "Since": "ledger since",
}

// Unreachable checks that every Ledger call on l, a ledger on a server that
// cannot be reached, fails within 20 s with an error naming the operation
// after prefix (e.g. "postgres: ledger claim") and not carrying secret (the
// password in the client's URL).
func Unreachable(t *testing.T, l payments.Ledger, prefix, secret string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	for name, call := range calls(ctx, l) {
		op := errorOps[name]
		err := call()
		if err == nil || !strings.Contains(err.Error(), prefix+op) || strings.Contains(err.Error(), secret) {
			t.Errorf("%s: %v; want an error naming the operation, without the password", op, err)
		}
	}
}

// HonoursContext checks that every call on l (a fresh, empty ledger) with
// an ended context fails with an error wrapping context.Canceled and changes
// nothing. Then a fulfilment whose context ends while its function runs:
// with sharedTx (the function's writes commit with the ledger's, as on SQL)
// Fulfil fails, commits nothing and ends the claim; without (Redis, where
// the function's effect has happened when it returns nil) Fulfil records the
// fulfilment and reports it.
func HonoursContext(t *testing.T, l payments.Ledger, sharedTx bool) {
	t.Helper()
	live := t.Context()
	if _, _, err := l.Record(live, payments.Payment{ChargeID: "c", UserID: 1, Currency: payments.XTR, Amount: 5}, false); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(live)
	cancel()
	for op, call := range calls(ctx, l) {
		if err := call(); !errors.Is(err, context.Canceled) {
			t.Errorf("%s with an ended context: %v, want context.Canceled", op, err)
		}
	}
	if _, err := l.Get(live, "new"); !errors.Is(err, payments.ErrNotFound) {
		t.Errorf("Record with an ended context stored the payment: %v", err)
	}
	p, err := l.Get(live, "c")
	if err != nil || p.State != payments.StatePaid {
		t.Fatalf("after calls with an ended context: %+v, %v; want paid", p, err)
	}
	// Cancelled mid-transaction.
	if ok, err := l.Claim(live, "c", "a", time.Minute); err != nil || !ok {
		t.Fatalf("Claim = %v, %v", ok, err)
	}
	ctx, cancel = context.WithCancel(live)
	_, err = l.Fulfil(ctx, "c", "a", func(ctx context.Context, tx payments.Tx) error {
		cancel()
		return nil
	})
	if !sharedTx {
		// No transaction shared with fn: its effect happened, so it is
		// recorded, and Fulfil reports what it recorded.
		if err != nil {
			t.Errorf("Fulfil whose context ended after fn returned nil: %v; want the fulfilment it recorded", err)
		}
		if p, err := l.Get(live, "c"); err != nil || p.State != payments.StateFulfilled {
			t.Errorf("Fulfil whose context ended after fn returned nil: %+v, %v; want fulfilled (the effect happened)", p, err)
		}
		return
	}
	if err == nil {
		t.Error("Fulfil whose context ended while it ran: nil error")
	}
	if p, err := l.Get(live, "c"); err != nil || p.State != payments.StatePaid || !p.FulfilledAt.IsZero() {
		t.Errorf("Fulfil whose context ended while it ran committed: %+v, %v", p, err)
	}
	// The claim ends either way (payments.Ledger.Fulfil): a retry need not
	// wait for the lease.
	if ok, err := l.Claim(live, "c", "b", time.Minute); err != nil || !ok {
		t.Errorf("Claim after a Fulfil that committed nothing = %v, %v; want the claim ended", ok, err)
	}
}

// BenchmarkHandler measures a new charge through [payments.Handler] on l
// (record, claim, fulfil; the fulfilment writes nothing), one distinct
// charge per iteration, and checks the first was fulfilled.
func BenchmarkHandler(b *testing.B, l payments.Ledger) {
	b.Helper()
	codec, err := payments.NewCodec(payments.Key{ID: 1, Secret: []byte("benchmark payload key, 32 bytes.")})
	if err != nil {
		b.Fatal(err)
	}
	payload, err := codec.Encode(payments.Order{Ref: "o", UserID: 1})
	if err != nil {
		b.Fatal(err)
	}
	h, err := payments.NewHandler(NopAPI{}, codec, l,
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
	p, err := l.Get(ctx, "c1")
	if err != nil || p.State != payments.StateFulfilled {
		b.Fatalf("c1: %+v, %v", p, err)
	}
}

// BenchmarkFloor measures floor, the statements (or scripts) a store's
// Ledger issues for a new charge (record, claim, fulfil) issued directly
// on the same client with nothing around them: the floor that
// [BenchmarkHandler] on the same store is compared with. Each iteration
// gives floor a new charge id ("c1", "c2", …) and an invoice payload as
// long as BenchmarkHandler's; at the end l, the store's ledger, must find
// c1 fulfilled.
func BenchmarkFloor(b *testing.B, l payments.Ledger, floor func(ctx context.Context, id, payload string) error) {
	b.Helper()
	const payload = "AQEBAgEBbwMzQhWtj0ZxJ2VUxkqXlpsGoQ"
	ctx := context.Background()
	n := 0
	b.ReportAllocs()
	for b.Loop() {
		n++
		if err := floor(ctx, "c"+strconv.Itoa(n), payload); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	p, err := l.Get(ctx, "c1")
	if err != nil || p.State != payments.StateFulfilled {
		b.Fatalf("the floor did not fulfil c1: %+v, %v", p, err)
	}
}
