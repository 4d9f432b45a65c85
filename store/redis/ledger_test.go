package redis

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/miniappkit/miniappkit/botapi"
	"github.com/miniappkit/miniappkit/payments"
	"github.com/miniappkit/miniappkit/payments/ledgertest"
)

func TestLedger(t *testing.T) {
	skipWithoutServer(t)
	ledgertest.Run(t, func(t *testing.T) payments.Ledger { return newTestDB(t).Ledger() })
}

// TestLedgerStress: the handler under faults on Redis (16 x 100; 64 x 500
// with MINIAPPKIT_LONG=1). Effects are counted in memory: with no
// transaction shared with the fulfilment, exactly once holds here because
// no fulfilment outlives its lease (see Ledger).
func TestLedgerStress(t *testing.T) {
	cfg := ledgertest.StressConfig{Charges: 100, Deliveries: 16}
	if os.Getenv("MINIAPPKIT_LONG") != "" && !raceEnabled { // the full run takes minutes under -race
		cfg = ledgertest.StressConfig{}
	}
	res := ledgertest.Stress(t, newTestDB(t).Ledger(), cfg)
	t.Logf("redis: %+v", res)
}

// recAPI is Telegram for TestTwoProcessesOneLedger: it records the
// pre-checkout answers and refunds each charge once
// (CHARGE_ALREADY_REFUNDED after).
type recAPI struct {
	noAPI
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
	if a.refunded[p.TelegramPaymentChargeID] > 0 {
		return &botapi.Error{Method: "refundStarPayment", Code: 400, Description: "Bad Request: CHARGE_ALREADY_REFUNDED"}
	}
	a.refunded[p.TelegramPaymentChargeID]++
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

// TestTwoProcessesOneLedger: two handlers on two clients sharing one key
// prefix (two processes): per one-time order, two pre-checkouts at once
// (one each) are answered ok once; two charges of the order, each delivered
// to both handlers at once, fulfil the order once (counted in memory: no
// fulfilment here outlives its lease) and refund the other charge once at Telegram, with one Warn
// line "duplicate charge refunded".
func TestTwoProcessesOneLedger(t *testing.T) {
	db := newTestDB(t)
	ctx := t.Context()
	opts, err := redis.ParseURL(os.Getenv("MINIAPPKIT_REDIS_URL"))
	if err != nil {
		t.Fatal(err)
	}
	c2 := redis.NewClient(opts)
	t.Cleanup(func() { c2.Close() })
	db2 := New(c2, WithKeyPrefix(db.prefix))
	var effectsMu sync.Mutex
	effects := map[string]int{}
	codec, err := payments.NewCodec(payments.Key{ID: 1, Secret: []byte("two processes payload key, 32 B.")})
	if err != nil {
		t.Fatal(err)
	}
	api := &recAPI{ok: map[string]int{}, refunded: map[string]int{}, queries: map[string]string{}}
	var logs lockedBuffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	fulfil := func(ctx context.Context, tx payments.Tx, p payments.Payment, o payments.Order) error {
		effectsMu.Lock()
		defer effectsMu.Unlock()
		effects[o.Ref]++
		return nil
	}
	var hs [2]*payments.Handler
	for i, l := range []payments.Ledger{db.Ledger(), db2.Ledger()} {
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
	for i := range orders {
		ref := "order-" + strconv.Itoa(i)
		if api.ok[ref] != 1 {
			t.Errorf("%s: %d pre-checkouts answered ok, want 1", ref, api.ok[ref])
		}
		if effects[ref] != 1 {
			t.Errorf("%s: fulfilled %d times, want once", ref, effects[ref])
		}
		if n := api.refunded[ref+"-c0"] + api.refunded[ref+"-c1"]; n != 1 {
			t.Errorf("%s: %d charges refunded at Telegram, want 1 (the duplicate)", ref, n)
		}
	}
	if n := strings.Count(logs.String(), "duplicate charge refunded"); n != orders {
		t.Errorf("%d log lines \"duplicate charge refunded\", want %d:\n%s", n, orders, logs.String())
	}
}

// TestLedgerErrorsNameOperationNotPassword: every Ledger call on a server
// that cannot be reached fails with an error naming the operation and not
// carrying the password of the client's URL.
func TestLedgerErrorsNameOperationNotPassword(t *testing.T) {
	opt, err := redis.ParseURL("redis://user:sekret-pw@127.0.0.1:1/0")
	if err != nil {
		t.Fatal(err)
	}
	opt.MaxRetries, opt.DialerRetries = -1, 1
	c := redis.NewClient(opt)
	defer c.Close()
	l := New(c).Ledger()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	first := func(s func(yield func(payments.Payment, error) bool)) error {
		for _, err := range s {
			return err
		}
		return nil
	}
	nop := func(context.Context, payments.Tx) error { return nil }
	for op, call := range map[string]func() error{
		"ledger record": func() error {
			_, _, err := l.Record(ctx, payments.Payment{ChargeID: "c", OrderRef: "o"}, true)
			return err
		},
		"ledger get":               func() error { _, err := l.Get(ctx, "c"); return err },
		"ledger by order":          func() error { _, err := l.ByOrder(ctx, "o"); return err },
		"ledger reserve":           func() error { _, err := l.Reserve(ctx, "o", "q", time.Minute); return err },
		"ledger claim":             func() error { _, err := l.Claim(ctx, "c", "a", time.Minute); return err },
		"ledger release":           func() error { return l.Release(ctx, "c", "a") },
		"ledger fulfil":            func() error { _, err := l.Fulfil(ctx, "c", "a", nop); return err },
		"ledger refund":            func() error { _, err := l.Refund(ctx, "c"); return err },
		"ledger claim refund hook": func() error { _, err := l.ClaimRefundHook(ctx, "c", "a", time.Minute); return err },
		"ledger refund hook done":  func() error { _, err := l.RefundHookDone(ctx, "c", "a", nop); return err },
		"ledger pending":           func() error { return first(l.Pending(ctx, 0)) },
		"ledger since":             func() error { return first(l.Since(ctx, time.Time{})) },
	} {
		err := call()
		if err == nil || !strings.Contains(err.Error(), "redis: "+op) || strings.Contains(err.Error(), "sekret-pw") {
			t.Errorf("%s: %v; want an error naming the operation, without the password", op, err)
		}
	}
}

// TestLedgerHonoursContext: every Ledger call with an ended context fails
// with an error wrapping context.Canceled and changes nothing; a
// fulfilment whose context ends while it runs commits nothing.
func TestLedgerHonoursContext(t *testing.T) {
	l := newTestDB(t).Ledger()
	live := t.Context()
	if _, _, err := l.Record(live, payments.Payment{ChargeID: "c", UserID: 1, Currency: payments.XTR, Amount: 5}, false); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(live)
	cancel()
	first := func(s func(yield func(payments.Payment, error) bool)) error {
		for _, err := range s {
			return err
		}
		return nil
	}
	nop := func(context.Context, payments.Tx) error { return nil }
	for op, call := range map[string]func() error{
		"Record": func() error {
			_, _, err := l.Record(ctx, payments.Payment{ChargeID: "new", OrderRef: "o"}, true)
			return err
		},
		"Get":             func() error { _, err := l.Get(ctx, "c"); return err },
		"ByOrder":         func() error { _, err := l.ByOrder(ctx, "o"); return err },
		"Reserve":         func() error { _, err := l.Reserve(ctx, "o", "q", time.Minute); return err },
		"Claim":           func() error { _, err := l.Claim(ctx, "c", "a", time.Minute); return err },
		"Release":         func() error { return l.Release(ctx, "c", "a") },
		"Fulfil":          func() error { _, err := l.Fulfil(ctx, "c", "a", nop); return err },
		"Refund":          func() error { _, err := l.Refund(ctx, "c"); return err },
		"ClaimRefundHook": func() error { _, err := l.ClaimRefundHook(ctx, "c", "a", time.Minute); return err },
		"RefundHookDone":  func() error { _, err := l.RefundHookDone(ctx, "c", "a", nop); return err },
		"Pending":         func() error { return first(l.Pending(ctx, 0)) },
		"Since":           func() error { return first(l.Since(ctx, time.Time{})) },
	} {
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
	// Redis shares no transaction with fn: its effect happened, so it is
	// recorded, and Fulfil reports what it recorded.
	if err != nil {
		t.Errorf("Fulfil whose context ended after fn returned nil: %v; want the fulfilment it recorded", err)
	}
	if p, err := l.Get(live, "c"); err != nil || p.State != payments.StateFulfilled {
		t.Errorf("Fulfil whose context ended after fn returned nil: %+v, %v; want fulfilled (the effect happened)", p, err)
	}
}
