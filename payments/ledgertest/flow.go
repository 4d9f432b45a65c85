package ledgertest

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/miniappkit/miniappkit/botapi"
	"github.com/miniappkit/miniappkit/payments"
)

// The checks in this file drive a payments.Handler on the ledger under
// test: what they hold the ledger to is what the payment flow needs of it,
// end to end, on every engine.

// errQueryTooOld is Telegram's answer to answerPreCheckoutQuery after its
// 10-second deadline (botapitest uses the same text, from the Bot API
// server's source).
var errQueryTooOld = &botapi.Error{Method: "answerPreCheckoutQuery", Code: 400,
	Description: "Bad Request: query is too old and response timeout expired or query ID is invalid"}

// flowAPI answers pre-checkout queries with the error set for their id (nil:
// success) and records the answers; refunds succeed once per charge.
type flowAPI struct {
	NopAPI
	mu       sync.Mutex
	fail     map[string]error // query id → the answer's error
	answers  map[string]botapi.AnswerPreCheckoutQueryParams
	refunded map[string]int
}

func newFlowAPI() *flowAPI {
	return &flowAPI{fail: map[string]error{}, answers: map[string]botapi.AnswerPreCheckoutQueryParams{}, refunded: map[string]int{}}
}

func (a *flowAPI) AnswerPreCheckoutQuery(_ context.Context, p *botapi.AnswerPreCheckoutQueryParams) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.answers[p.PreCheckoutQueryID] = *p
	return a.fail[p.PreCheckoutQueryID]
}

func (a *flowAPI) RefundStarPayment(_ context.Context, p *botapi.RefundStarPaymentParams) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return refundOnce(a.refunded, p.TelegramPaymentChargeID)
}

func (a *flowAPI) answer(id string) (botapi.AnswerPreCheckoutQueryParams, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	p, ok := a.answers[id]
	return p, ok
}

func flowHandler(l payments.Ledger, api payments.API, opts ...payments.Option) (*payments.Handler, *payments.Codec, error) {
	codec, err := payments.NewCodec(payments.Key{ID: 1, Secret: []byte("ledgertest flow payload key, 32B")})
	if err != nil {
		return nil, nil, err
	}
	fulfil := func(context.Context, payments.Tx, payments.Payment, payments.Order) error { return nil }
	h, err := payments.NewHandler(api, codec, l, fulfil, opts...)
	return h, codec, err
}

// preCheckout sends query id for the order payload and returns whether it
// was answered ok.
func preCheckout(ctx context.Context, h *payments.Handler, api *flowAPI, id, payload string) (bool, error) {
	q := &botapi.PreCheckoutQuery{ID: id, From: botapi.User{ID: 7}, Currency: payments.XTR, TotalAmount: 5, InvoicePayload: payload}
	if err := h.HandlePreCheckoutQuery(ctx, q); err != nil && !errors.Is(err, botapi.ErrServer) && !errors.Is(err, botapi.ErrTooManyRequests) {
		return false, err
	}
	a, ok := api.answer(id)
	if !ok {
		return false, fail("pre-checkout %s not answered", id)
	}
	return a.OK, nil
}

// preCheckoutFailureReleases: a pre-checkout the handler reserved the order
// for but whose ok answer had no effect (Telegram refused it: "query is too
// old", 429) gives the order back at once, so the buyer's retry is answered
// ok, not declined as if someone else were paying; and the release is the
// failed query's only, never a later query's reservation of the same order.
func preCheckoutFailureReleases(ctx context.Context, l payments.Ledger) error {
	api := newFlowAPI()
	h, codec, err := flowHandler(l, api)
	if err != nil {
		return err
	}
	for i, answerErr := range []error{errQueryTooOld, &botapi.Error{Method: "answerPreCheckoutQuery", Code: 429, Description: "Too Many Requests: retry after 5", RetryAfter: 5 * time.Second}} {
		payload, err := codec.Encode(payments.Order{Ref: "order-" + strconv.Itoa(i), UserID: 7, Currency: payments.XTR, Amount: 5})
		if err != nil {
			return err
		}
		old, retry := "old-"+strconv.Itoa(i), "retry-"+strconv.Itoa(i)
		api.mu.Lock()
		api.fail[old] = answerErr
		api.mu.Unlock()
		if _, err := preCheckout(ctx, h, api, old, payload); err != nil {
			return err
		}
		ok, err := preCheckout(ctx, h, api, retry, payload)
		if err != nil {
			return err
		}
		if !ok {
			a, _ := api.answer(retry)
			return fail("pre-checkout retried after the first answer was refused (%v): declined %q; want ok (the refused query's reservation released)",
				answerErr, a.ErrorMessage)
		}
		// The failed query is redelivered (a 429 answer returns an error
		// for a redelivery) and fails again: it must not release the
		// reservation the retry now holds.
		if _, err := preCheckout(ctx, h, api, old, payload); err != nil {
			return err
		}
		ok, err = preCheckout(ctx, h, api, "third-"+strconv.Itoa(i), payload)
		if err != nil {
			return err
		}
		if ok {
			return fail("a third pre-checkout answered ok while the retry's reservation stands: the failed query released another query's reservation")
		}
	}
	return nil
}

// preCheckoutUnknownAnswerKeeps: a pre-checkout whose ok answer failed in a
// way that hides its fate (a 5xx: Telegram may have got the ok and be
// charging) keeps the order reserved, so another pre-checkout of it is
// declined with MsgOrderTaken until the reservation's TTL, and the update
// is acknowledged (no redelivery, whose refused answer would release it).
func preCheckoutUnknownAnswerKeeps(ctx context.Context, l payments.Ledger) error {
	api := newFlowAPI()
	h, codec, err := flowHandler(l, api)
	if err != nil {
		return err
	}
	payload, err := codec.Encode(payments.Order{Ref: "order-5xx", UserID: 7, Currency: payments.XTR, Amount: 5})
	if err != nil {
		return err
	}
	api.mu.Lock()
	api.fail["lost"] = &botapi.Error{Method: "answerPreCheckoutQuery", Code: 502, Description: "Bad Gateway"}
	api.mu.Unlock()
	q := &botapi.PreCheckoutQuery{ID: "lost", From: botapi.User{ID: 7}, Currency: payments.XTR, TotalAmount: 5, InvoicePayload: payload}
	lostErr := h.HandlePreCheckoutQuery(ctx, q)
	if a, ok := api.answer("lost"); !ok || !a.OK {
		return fail("pre-checkout lost: answered %+v, want ok", a)
	}
	ok, err := preCheckout(ctx, h, api, "second", payload)
	if err != nil {
		return err
	}
	if a, _ := api.answer("second"); ok || a.ErrorMessage != payments.MsgOrderTaken {
		return fail("second pre-checkout after an ok answer of unknown fate: ok=%v %q; want declined with MsgOrderTaken (the reservation kept)", ok, a.ErrorMessage)
	}
	if lostErr != nil {
		return fail("pre-checkout whose ok answer got a 502: %v, want nil (acknowledged, reservation kept)", lostErr)
	}
	return nil
}

// preCheckoutRedeliveredKeeps: a pre-checkout answered ok (Telegram got
// it and charges) whose update is delivered again (a crash before the
// webhook's ack) is answered again, and Telegram refuses the second
// answer ("query is too old"). That refusal must not release the
// reservation the first answer made good: another pre-checkout of the
// order is declined with MsgOrderTaken, not approved into a second charge.
func preCheckoutRedeliveredKeeps(ctx context.Context, l payments.Ledger) error {
	api := newFlowAPI()
	h, codec, err := flowHandler(l, api)
	if err != nil {
		return err
	}
	payload, err := codec.Encode(payments.Order{Ref: "order-again", UserID: 7, Currency: payments.XTR, Amount: 5})
	if err != nil {
		return err
	}
	ok, err := preCheckout(ctx, h, api, "first", payload)
	if err != nil {
		return err
	}
	if !ok {
		a, _ := api.answer("first")
		return fail("pre-checkout first: declined %q, want ok", a.ErrorMessage)
	}
	api.mu.Lock()
	api.fail["first"] = errQueryTooOld // answered already
	api.mu.Unlock()
	if _, err := preCheckout(ctx, h, api, "first", payload); err != nil {
		return err
	}
	ok, err = preCheckout(ctx, h, api, "second", payload)
	if err != nil {
		return err
	}
	if a, _ := api.answer("second"); ok || a.ErrorMessage != payments.MsgOrderTaken {
		return fail("pre-checkout of an order whose query was answered ok, then delivered again and its second answer refused: ok=%v %q; want declined with MsgOrderTaken (the refused re-answer must not release the reservation)",
			ok, a.ErrorMessage)
	}
	return nil
}

// refundWithoutHookCompletes: with no refund hook configured, a fulfilled
// payment refunded (by the handler, by a refunded_payment update, or while
// its fulfilment ran) is refunded and done: it leaves the pending set, and
// RetryPending finds nothing to do.
func refundWithoutHookCompletes(ctx context.Context, l payments.Ledger) error {
	api := newFlowAPI()
	refunding := make(chan error, 1)
	fulfil := func(_ context.Context, _ payments.Tx, p payments.Payment, _ payments.Order) error {
		if p.ChargeID == "during-fulfil" {
			// A refund arriving while the fulfilment runs: it waits for
			// the fulfilment's commit (a row lock) or is recorded as
			// requested and applied at commit.
			go func() {
				_, err := l.Refund(context.WithoutCancel(ctx), p.ChargeID)
				refunding <- err
			}()
		}
		return nil
	}
	codec, err := payments.NewCodec(payments.Key{ID: 1, Secret: []byte("ledgertest flow payload key, 32B")})
	if err != nil {
		return err
	}
	h, err := payments.NewHandler(api, codec, l, fulfil)
	if err != nil {
		return err
	}
	for _, id := range []string{"by-handler", "by-update", "during-fulfil"} {
		payload, err := codec.Encode(payments.Order{Ref: id, UserID: 7, Currency: payments.XTR, Amount: 5})
		if err != nil {
			return err
		}
		sp := &botapi.SuccessfulPayment{Currency: payments.XTR, TotalAmount: 5, InvoicePayload: payload, TelegramPaymentChargeID: id}
		if err := h.HandleSuccessfulPayment(ctx, 7, sp); err != nil {
			return err
		}
		switch id {
		case "by-handler":
			err = h.Refund(ctx, 7, id)
		case "by-update":
			err = h.HandleRefundedPayment(ctx, 7, &botapi.RefundedPayment{Currency: payments.XTR, TotalAmount: 5,
				InvoicePayload: payload, TelegramPaymentChargeID: id})
		default:
			if err = <-refunding; err == nil {
				_, err = h.RetryPending(ctx)
			}
		}
		if err != nil {
			return err
		}
		p, err := l.Get(ctx, id)
		if err != nil {
			return err
		}
		if p.State != payments.StateRefunded || p.FulfilledAt.IsZero() || p.RefundHookDue() {
			return fail("%s: refunded after fulfilment with no refund hook: %+v; want refunded, fulfilled, no hook due", id, p)
		}
	}
	for p, err := range l.Pending(ctx, -lease) {
		if err != nil {
			return err
		}
		return fail("refunded payment %s still pending with no refund hook configured: %+v", p.ChargeID, p)
	}
	if n, err := h.RetryPending(ctx); n != 0 || err != nil {
		return fail("RetryPending = %d, %v; want nothing to do", n, err)
	}
	return nil
}

// refundInsideFulfilRefused: Handler.Refund called from inside a
// FulfilFunc (a seller refunding what it finds it cannot deliver) waits on
// the fulfilment's own transaction on a ledger that has one (SQLite: the
// writer connection; Postgres: the payment's row lock), and the FulfilFunc's
// context never ends: the fulfilment, and on SQLite every write, would hang
// for good, on Postgres after Telegram had refunded. The handler refuses it
// at once with ErrRefundInsideFulfil on every ledger, Telegram not called;
// the refund made after the fulfilment returned goes through.
func refundInsideFulfilRefused(ctx context.Context, l payments.Ledger) error {
	api := newFlowAPI()
	var (
		h      *payments.Handler
		inside = make(chan error, 1)
	)
	fulfil := func(ctx context.Context, _ payments.Tx, p payments.Payment, _ payments.Order) error {
		// Bounded only so that a ledger that hangs fails the check
		// instead of hanging the test binary.
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		inside <- h.Refund(rctx, p.UserID, p.ChargeID)
		return nil
	}
	codec, err := payments.NewCodec(payments.Key{ID: 1, Secret: []byte("ledgertest flow payload key, 32B")})
	if err != nil {
		return err
	}
	if h, err = payments.NewHandler(api, codec, l, fulfil); err != nil {
		return err
	}
	payload, err := codec.Encode(payments.Order{Ref: "refund-inside", UserID: 7, Currency: payments.XTR, Amount: 5})
	if err != nil {
		return err
	}
	const id = "refund-inside"
	sp := &botapi.SuccessfulPayment{Currency: payments.XTR, TotalAmount: 5, InvoicePayload: payload, TelegramPaymentChargeID: id}
	if err := h.HandleSuccessfulPayment(ctx, 7, sp); err != nil {
		return err
	}
	select {
	case err := <-inside:
		if !errors.Is(err, payments.ErrRefundInsideFulfil) {
			return fail("Handler.Refund inside the charge's FulfilFunc: %v; want ErrRefundInsideFulfil at once", err)
		}
	default:
		return fail("HandleSuccessfulPayment returned without running the fulfilment")
	}
	api.mu.Lock()
	n := api.refunded[id]
	api.mu.Unlock()
	if n != 0 {
		return fail("Handler.Refund inside the FulfilFunc called Telegram (%d refunds)", n)
	}
	if err := h.Refund(ctx, 7, id); err != nil {
		return fail("Handler.Refund after the fulfilment: %v", err)
	}
	p, err := l.Get(ctx, id)
	if err != nil {
		return err
	}
	if p.State != payments.StateRefunded || p.FulfilledAt.IsZero() {
		return fail("refunded after its fulfilment: %+v; want refunded, fulfilled", p)
	}
	return nil
}
