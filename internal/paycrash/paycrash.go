// Package paycrash is the shared part of the payments SIGKILL tests of the
// SQL engines (store/sqlite, store/postgres): the Telegram side (a
// botapitest server on which buyers pay orders, some twice), the program's
// payments.Handler whose fulfilment writes a row in the ledger's
// transaction and sends a message, and the check of the invariants at the
// end. It is test support, not API.
package paycrash

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miniappkit/miniappkit/botapi"
	"github.com/miniappkit/miniappkit/botapi/botapitest"
	"github.com/miniappkit/miniappkit/payments"
)

// Key is the payload key the test and the program share.
var Key = payments.Key{ID: 1, Secret: []byte("paycrash payload key, 32 bytes..")}

// Token is the bot token of the fake Telegram.
const Token = "123456:paycrash-token"

// Effect writes the fulfilment's database row for charge of order through
// the ledger's transaction.
type Effect func(ctx context.Context, tx payments.Tx, order, charge string) error

// NewHandler is the program's payment handler: fulfilment sends the buyer a
// message (an effect outside the database, at least once) and writes the
// effect row (exactly once, with the ledger's state); leases of 2 s so a
// killed worker's claims pass quickly.
func NewHandler(client *botapi.Client, ledger payments.Ledger, effect Effect) (*payments.Handler, error) {
	codec, err := payments.NewCodec(Key)
	if err != nil {
		return nil, err
	}
	fulfil := func(ctx context.Context, tx payments.Tx, p payments.Payment, o payments.Order) error {
		if o.Ref == "" {
			return errors.New("paycrash: payload does not verify")
		}
		if _, err := client.SendMessage(ctx, &botapi.SendMessageParams{ChatID: botapi.ChatID{ID: p.UserID}, Text: "fulfilled " + o.Ref}); err != nil {
			return err
		}
		return effect(ctx, tx, o.Ref, p.ChargeID)
	}
	return payments.NewHandler(client, codec, ledger, fulfil, payments.WithClaimTTL(2*time.Second))
}

// Serve is the program's HTTP handler: a webhook delivery of one update
// (at most 1 MiB), 200 once the handler accepted it, 500 otherwise.
func Serve(h *payments.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var u botapi.Update
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&u); err != nil {
			http.Error(w, "bad update", http.StatusBadRequest)
			return
		}
		if err := h.HandleUpdate(r.Context(), &u); err != nil {
			http.Error(w, "retry", http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
}

// RetryLoop runs h.RetryPending every 100 ms until ctx ends.
func RetryLoop(ctx context.Context, h *payments.Handler) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(100 * time.Millisecond):
			_, _ = h.RetryPending(ctx)
		}
	}
}

// Telegram is the fake Telegram of a run: orders paid by buyers, a share of
// them twice (two charges of one order), each payment a successful_payment
// update to deliver.
type Telegram struct {
	Srv     *botapitest.Server
	Orders  int
	twice   map[string]bool      // orders paid twice
	charges map[string][]string  // order → its charges
	pays    []botapitest.Payment // in delivery-unit order
	users   map[int64]botapitest.User
}

// Pay starts a fake Telegram on loopback and pays orders orders, twice
// with probability twice (seeded).
func Pay(t testing.TB, orders int, twice float64, seed uint64) *Telegram {
	t.Helper()
	srv := botapitest.NewServer(botapitest.WithToken(Token))
	t.Cleanup(srv.Close)
	tg := &Telegram{Srv: srv, Orders: orders, twice: map[string]bool{}, charges: map[string][]string{}, users: map[int64]botapitest.User{}}
	client := srv.Client()
	codec, err := payments.NewCodec(Key)
	if err != nil {
		t.Fatal(err)
	}
	// The bot's side while paying: a handler that accepts every
	// pre-checkout (orders are paid twice on purpose) and fulfils nothing.
	answerer, err := payments.NewHandler(client, codec, payments.NewMemoryLedger(),
		func(context.Context, payments.Tx, payments.Payment, payments.Order) error { return nil },
		payments.WithRepeatablePurchases())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for u, err := range client.Updates(ctx, &botapi.UpdatesOptions{Timeout: time.Second}) {
			if err == nil && u.PreCheckoutQuery != nil {
				_ = answerer.HandleUpdate(ctx, u)
			}
		}
	}()
	defer func() { cancel(); <-done }()
	rng := rand.New(rand.NewPCG(seed, 7))
	var buyers []botapitest.User
	for i := range 50 {
		u := srv.NewUser("Buyer" + strconv.Itoa(i))
		buyers = append(buyers, u)
		tg.users[u.ID] = u
	}
	type job struct {
		order string
		buyer botapitest.User
		inv   botapitest.Invoice
	}
	var jobs []job
	for i := range orders {
		ref := "order-" + strconv.Itoa(i)
		buyer := buyers[i%len(buyers)]
		payload, err := codec.Encode(payments.Order{Ref: ref, UserID: buyer.ID, Currency: payments.XTR, Amount: 5})
		if err != nil {
			t.Fatal(err)
		}
		params, err := payments.StarsInvoice("Order", "An order", payload, 5).LinkParams()
		if err != nil {
			t.Fatal(err)
		}
		link, err := client.CreateInvoiceLink(ctx, params)
		if err != nil {
			t.Fatal(err)
		}
		inv, _ := srv.InvoiceByLink(link)
		jobs = append(jobs, job{ref, buyer, inv})
		if rng.Float64() < twice {
			tg.twice[ref] = true
			jobs = append(jobs, job{ref, buyer, inv})
		}
	}
	rng.Shuffle(len(jobs), func(i, j int) { jobs[i], jobs[j] = jobs[j], jobs[i] })
	var mu sync.Mutex
	var wg sync.WaitGroup
	next := make(chan job)
	var payErr error
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range next {
				pay, err := srv.Pay(t.Context(), j.buyer, j.inv)
				mu.Lock()
				if err != nil && payErr == nil {
					payErr = err
				}
				if err == nil {
					tg.pays = append(tg.pays, pay)
					tg.charges[j.order] = append(tg.charges[j.order], pay.TelegramPaymentChargeID)
				}
				mu.Unlock()
			}
		}()
	}
	for _, j := range jobs {
		next <- j
	}
	close(next)
	wg.Wait()
	if payErr != nil {
		t.Fatal(payErr)
	}
	return tg
}

// Units is the number of successful_payment updates to deliver.
func (tg *Telegram) Units() int { return len(tg.pays) }

// Twice is the number of orders paid twice.
func (tg *Telegram) Twice() int { return len(tg.twice) }

// Request delivers the successful_payment of unit (1-based) to the program.
func (tg *Telegram) Request(base string, unit int) (*http.Request, error) {
	p := tg.pays[unit-1]
	u := botapi.Update{UpdateID: int64(unit), Message: &botapi.Message{
		MessageID: p.MessageID, Date: p.At.Unix(), Chat: botapi.Chat{ID: p.ChatID, Type: "private"},
		From: &botapi.User{ID: p.User.ID, FirstName: p.User.FirstName},
		SuccessfulPayment: &botapi.SuccessfulPayment{Currency: p.Currency, TotalAmount: p.TotalAmount,
			InvoicePayload: p.Invoice.Payload, TelegramPaymentChargeID: p.TelegramPaymentChargeID},
	}}
	body, err := json.Marshal(u)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequest(http.MethodPost, base+"/", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	return req, nil
}

// Result is what Check counted.
type Result struct {
	Orders, Charges, Twice   int
	RefundedAtTelegram       int
	MessagesLost, MessageDup int
}

func (r Result) String() string {
	return fmt.Sprintf("%d orders, %d charges (%d orders paid twice): every order fulfilled once, %d duplicate charges refunded once each; messages (outside the database): %d lost, %d duplicates",
		r.Orders, r.Charges, r.Twice, r.RefundedAtTelegram, r.MessagesLost, r.MessageDup)
}

// Check drains h (RetryPending until nothing is paid and unfulfilled) and
// checks the invariants: each order's effect row exactly once, for a
// charge that was not refunded; each duplicate charge refunded exactly
// once at Telegram and recorded refunded in the ledger, no other charge
// refunded; nothing left paid; each order's message sent at least once.
// effects maps each order to the charges its effect rows name.
func (tg *Telegram) Check(ctx context.Context, h *payments.Handler, ledger payments.Ledger, effects func() (map[string][]string, error)) (Result, error) {
	res := Result{Orders: tg.Orders, Charges: len(tg.pays), Twice: len(tg.twice)}
	deadline := time.Now().Add(time.Minute)
	for {
		_, _ = h.RetryPending(ctx)
		left := 0
		for p, err := range ledger.Since(ctx, time.Time{}) {
			if err != nil {
				return res, err
			}
			if p.State == payments.StatePaid {
				left++
			}
		}
		if left == 0 {
			break
		}
		if time.Now().After(deadline) {
			return res, fmt.Errorf("paycrash: %d payments still paid and unfulfilled after a minute of RetryPending", left)
		}
		time.Sleep(200 * time.Millisecond)
	}
	rows, err := effects()
	if err != nil {
		return res, err
	}
	refunds := map[string]int{}
	for tx, err := range payments.Transactions(ctx, tg.Srv.Client(), 0) {
		if err != nil {
			return res, err
		}
		if _, ok := tx.Receiver.(*botapi.TransactionPartnerUser); ok {
			refunds[tx.ID]++
		}
	}
	var errs []error
	for i := range tg.Orders {
		ref := "order-" + strconv.Itoa(i)
		got := rows[ref]
		if len(got) != 1 {
			errs = append(errs, fmt.Errorf("%s: fulfilment effect %d times (charges %v)", ref, len(got), got))
			continue
		}
		charges := tg.charges[ref]
		for _, c := range charges {
			p, err := ledger.Get(ctx, c)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: charge %s: %v", ref, c, err))
				continue
			}
			fulfilled := c == got[0]
			switch {
			case fulfilled && (refunds[c] != 0 || p.State != payments.StateFulfilled):
				errs = append(errs, fmt.Errorf("%s: fulfilled charge %s refunded %d times, ledger %v", ref, c, refunds[c], p.State))
			case !fulfilled && (refunds[c] != 1 || p.State != payments.StateRefunded || p.DuplicateOf != got[0]):
				errs = append(errs, fmt.Errorf("%s: duplicate charge %s refunded %d times at Telegram, ledger %+v", ref, c, refunds[c], p))
			case !fulfilled:
				res.RefundedAtTelegram++
			}
		}
	}
	perChat := map[string]int{}
	for _, m := range tg.Srv.Sent() {
		if strings.HasPrefix(m.Text, "fulfilled ") {
			perChat[strings.TrimPrefix(m.Text, "fulfilled ")]++
		}
	}
	for i := range tg.Orders {
		switch n := perChat["order-"+strconv.Itoa(i)]; {
		case n == 0:
			res.MessagesLost++
		case n > 1:
			res.MessageDup += n - 1
		}
	}
	if res.MessagesLost > 0 {
		errs = append(errs, fmt.Errorf("%d orders' messages lost", res.MessagesLost))
	}
	if len(errs) > 10 {
		errs = append(errs[:10], fmt.Errorf("... and %d more", len(errs)-10))
	}
	return res, errors.Join(errs...)
}
