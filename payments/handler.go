package payments

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/miniappkit/miniappkit/botapi"
)

// PreCheckoutDeadline is how long Telegram waits for the answer to a
// pre_checkout_query; after it the payment is cancelled.
//
// Telegram docs: https://core.telegram.org/bots/api#answerprecheckoutquery
const PreCheckoutDeadline = 10 * time.Second

// Defaults of the [Handler] options.
const (
	// DefaultDecisionTimeout is how long the seller's check may take before
	// the handler answers ok=false: it leaves 3 s of the 10 s deadline for
	// the update's delivery and the answer's round trip.
	DefaultDecisionTimeout = 7 * time.Second
	// DefaultClaimTTL is how long a fulfilment claim lasts; a worker that
	// crashed mid-fulfilment loses its claim after it and a redelivery or
	// [Handler.RetryPending] fulfils the payment.
	DefaultClaimTTL = 5 * time.Minute
)

// Messages shown to the buyer when the handler declines a pre-checkout query.
const (
	MsgInvalidInvoice = "This invoice is not valid. Please start a new order."
	MsgExpired        = "This offer has expired. Please start a new order."
	MsgWrongUser      = "This invoice was issued to another account."
	MsgPriceChanged   = "The price of this order has changed. Please start a new order."
	MsgTimeout        = "We could not confirm your order in time. You have not been charged; please try again."
	MsgUnavailable    = "Sorry, this order can no longer be completed. You have not been charged."
)

// API is the part of the Bot API the payment flow calls; *botapi.Client
// satisfies it. Tests may pass a fake, or a client pointed at botapitest.
type API interface {
	AnswerPreCheckoutQuery(ctx context.Context, p *botapi.AnswerPreCheckoutQueryParams) error
	RefundStarPayment(ctx context.Context, p *botapi.RefundStarPaymentParams) error
	EditUserStarSubscription(ctx context.Context, p *botapi.EditUserStarSubscriptionParams) error
	GetStarTransactions(ctx context.Context, p *botapi.GetStarTransactionsParams) (*botapi.StarTransactions, error)
}

// CheckFunc is asked at pre-checkout whether the order o can still be sold
// to the buyer of q (stock, order state): nil accepts, an error declines. A
// [Decline] error's message is shown to the buyer; any other error shows
// [MsgUnavailable]. It runs with a context that ends at the decision timeout;
// if it has not returned by then the handler declines with [MsgTimeout].
// The payload, buyer, currency and amount are already checked when it runs.
type CheckFunc func(ctx context.Context, o Order, q *botapi.PreCheckoutQuery) error

// FulfilFunc delivers what payment p bought. It runs once per charge: again
// only if it returned an error (the payment stays recorded as paid and is
// retried on redelivery or by [Handler.RetryPending]). o is the order decoded
// from p.Payload (expiry not checked: the buyer has paid), or the zero Order
// if the payload no longer verifies (a key dropped too early). For a
// subscription, p.IsRecurring and p.SubscriptionExpiration say how long to
// grant access.
type FulfilFunc func(ctx context.Context, p Payment, o Order) error

// RefundFunc runs once per refunded payment, whether refunded by
// [Handler.Refund] or by a refunded_payment update (revoke what was
// delivered). Like [FulfilFunc] it runs again only if it returned an error
// (or panicked): the ledger holds the refund with a zero
// [Payment.RefundHookDoneAt] until it succeeds, the error is passed on so
// the update is delivered again, and a redelivery, a repeated
// [Handler.Refund] or [Handler.RetryPending] runs it again. A claim keeps
// two deliveries from running it at once.
type RefundFunc func(ctx context.Context, p Payment) error

// DeclineError declines a pre-checkout query with a message for the buyer.
type DeclineError struct {
	Message string // shown to the buyer by Telegram
}

// Error returns "payments: declined: <message>".
func (e *DeclineError) Error() string { return "payments: declined: " + e.Message }

// Decline returns an error for [CheckFunc] that declines the order and shows
// message to the buyer, e.g. Decline("Sorry, the last black T-shirt just sold.").
func Decline(message string) error { return &DeclineError{Message: message} }

// Option configures a [Handler].
type Option func(*options)

type options struct {
	check           CheckFunc
	onRefund        RefundFunc
	now             func() time.Time
	logger          *slog.Logger
	decisionTimeout time.Duration
	claimTTL        time.Duration
	observer        Observer
}

// WithCheck sets the seller's pre-checkout check. Default: accept every order
// whose payload, buyer and price check out.
func WithCheck(f CheckFunc) Option { return func(o *options) { o.check = f } }

// WithRefundHook sets the function run once per refunded payment. Default:
// none. Set later, it runs (from [Handler.RetryPending]) for refunds
// recorded while there was none.
func WithRefundHook(f RefundFunc) Option { return func(o *options) { o.onRefund = f } }

// WithClock sets the clock for payload expiry, claim leases and ledger
// timestamps. Default: time.Now. (The pre-checkout timeout uses the time
// package's timers; tests drive it with testing/synctest.)
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithLogger sets the logger for failures the handler recovers from.
// Default: a logger that discards everything.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// WithDecisionTimeout sets how long pre-checkout waits for the [CheckFunc]
// before declining with [MsgTimeout]. It must be positive and below
// [PreCheckoutDeadline]. Default: [DefaultDecisionTimeout].
func WithDecisionTimeout(d time.Duration) Option { return func(o *options) { o.decisionTimeout = d } }

// WithClaimTTL sets how long a fulfilment claim lasts. It must be positive
// and longer than a fulfilment takes. Default: [DefaultClaimTTL].
func WithClaimTTL(d time.Duration) Option { return func(o *options) { o.claimTTL = d } }

// Handler runs the payment flow: it answers pre_checkout_query, records and
// fulfils successful_payment exactly once, and records refunded_payment.
// It is a webhook.UpdateHandler (and fits the long poller) by shape; its
// methods are also callable one by one. A Handler is safe for concurrent use.
type Handler struct {
	api    API
	codec  *Codec
	ledger Ledger
	fulfil FulfilFunc
	owners claimOwners
	options
}

// claimOwners names fulfilment attempts uniquely across processes sharing a
// ledger: a random per-handler prefix and a counter.
type claimOwners struct {
	prefix string
	n      atomic.Uint64
}

func (c *claimOwners) next() string {
	return c.prefix + strconv.FormatUint(c.n.Add(1), 10)
}

// NewHandler returns a handler calling api, reading payloads with codec,
// recording payments in ledger and delivering them with fulfil. It fails if
// one of them is nil or an option is out of range.
func NewHandler(api API, codec *Codec, ledger Ledger, fulfil FulfilFunc, opts ...Option) (*Handler, error) {
	if api == nil || codec == nil || ledger == nil || fulfil == nil {
		return nil, errors.New("payments: NewHandler needs an API, a Codec, a Ledger and a FulfilFunc")
	}
	var seed [8]byte
	_, _ = rand.Read(seed[:]) // crypto/rand.Read never fails (Go 1.24+)
	h := &Handler{api: api, codec: codec, ledger: ledger, fulfil: fulfil, options: options{
		now:             time.Now,
		decisionTimeout: DefaultDecisionTimeout,
		claimTTL:        DefaultClaimTTL,
	}}
	h.owners.prefix = hex.EncodeToString(seed[:]) + "-"
	for _, opt := range opts {
		if opt != nil {
			opt(&h.options)
		}
	}
	if h.now == nil {
		return nil, errors.New("payments: WithClock(nil)")
	}
	if h.logger == nil {
		h.logger = slog.New(slog.DiscardHandler)
	}
	if h.decisionTimeout <= 0 || h.decisionTimeout >= PreCheckoutDeadline {
		return nil, fmt.Errorf("payments: decision timeout %v not in (0, %v)", h.decisionTimeout, PreCheckoutDeadline)
	}
	if h.claimTTL <= 0 {
		return nil, fmt.Errorf("payments: claim TTL %v not positive", h.claimTTL)
	}
	return h, nil
}

// HandleUpdate routes u: pre_checkout_query to [Handler.HandlePreCheckoutQuery],
// a message's successful_payment to [Handler.HandleSuccessfulPayment] and its
// refunded_payment to [Handler.HandleRefundedPayment]. Other updates are not
// the handler's and return nil. An error means the update should be
// delivered again (the webhook answers 5xx, Telegram retries).
func (h *Handler) HandleUpdate(ctx context.Context, u *botapi.Update) error {
	if u == nil {
		return nil
	}
	if u.PreCheckoutQuery != nil {
		return h.HandlePreCheckoutQuery(ctx, u.PreCheckoutQuery)
	}
	m := u.Message
	if m == nil {
		return nil
	}
	buyer := m.Chat.ID
	if m.From != nil {
		buyer = m.From.ID
	}
	switch {
	case m.SuccessfulPayment != nil:
		return h.HandleSuccessfulPayment(ctx, buyer, m.SuccessfulPayment)
	case m.RefundedPayment != nil:
		return h.HandleRefundedPayment(ctx, buyer, m.RefundedPayment)
	}
	return nil
}

// HandlePreCheckoutQuery checks q and always answers it, within Telegram's
// 10-second deadline: ok=true when the payload verifies (signature, expiry,
// buyer), the currency and amount match the signed order (for a provider
// payment the total may exceed the amount by at most the order's signed
// [Order.MaxTip], since tips raise it; never for Telegram Stars) and the
// [CheckFunc] accepts; otherwise ok=false with a message for the buyer. A
// check still running after the decision timeout gets ok=false with
// [MsgTimeout]; a check that panics gets [MsgUnavailable]. The check and the
// answer run to completion even if ctx has ended (its values are kept). The
// error is non-nil only if the answer could not be sent. Handle pre_checkout_query inline, not behind a queue: the
// 10 s run from when Telegram sent the query.
//
// Telegram docs: https://core.telegram.org/bots/api#answerprecheckoutquery
func (h *Handler) HandlePreCheckoutQuery(ctx context.Context, q *botapi.PreCheckoutQuery) error {
	// The decision and the answer outlive the caller's ctx (a webhook
	// request whose connection dropped): Telegram waits for this answer, and
	// the only bound that matters is its deadline.
	start := h.obsNow()
	detached := context.WithoutCancel(ctx)
	decideCtx, cancel := context.WithTimeout(detached, h.decisionTimeout)
	msg := h.decide(decideCtx, q)
	cancel()
	answerCtx, cancelAnswer := context.WithTimeout(detached, PreCheckoutDeadline-h.decisionTimeout)
	defer cancelAnswer()
	err := h.api.AnswerPreCheckoutQuery(answerCtx, &botapi.AnswerPreCheckoutQueryParams{
		PreCheckoutQueryID: q.ID,
		OK:                 msg == "",
		ErrorMessage:       msg,
	})
	h.observePreCheckout(ctx, q, msg, start, err)
	if err != nil {
		return fmt.Errorf("payments: answer pre-checkout query: %w", err)
	}
	return nil
}

// decide returns "" to accept q or the message declining it.
func (h *Handler) decide(ctx context.Context, q *botapi.PreCheckoutQuery) string {
	o, err := h.codec.DecodeAt(q.InvoicePayload, h.now())
	switch {
	case errors.Is(err, ErrPayloadExpired):
		return MsgExpired
	case err != nil:
		h.logger.WarnContext(ctx, "payments: pre-checkout payload rejected", "query_id", q.ID, "user_id", q.From.ID, "error", err)
		return MsgInvalidInvoice
	}
	if err := o.CheckUser(q.From.ID); err != nil {
		h.logger.WarnContext(ctx, "payments: pre-checkout by another user", "query_id", q.ID, "user_id", q.From.ID, "order", o.Ref)
		return MsgWrongUser
	}
	if err := o.checkPrice(q.Currency, q.TotalAmount); err != nil {
		h.logger.WarnContext(ctx, "payments: pre-checkout price mismatch", "query_id", q.ID, "order", o.Ref, "error", err)
		return MsgPriceChanged
	}
	if h.check == nil {
		return ""
	}
	done := make(chan error, 1) // buffered: a late check never blocks
	go func() {
		// The check runs on its own goroutine, out of reach of the caller's
		// recover (net/http's, say): a panic declines instead of crashing.
		defer func() {
			if r := recover(); r != nil {
				done <- fmt.Errorf("payments: check panicked: %v", r)
			}
		}()
		done <- h.check(ctx, o, q)
	}()
	select {
	case err := <-done:
		var d *DeclineError
		switch {
		case err == nil:
			return ""
		case errors.As(err, &d) && d.Message != "":
			return d.Message
		case ctx.Err() != nil:
			return MsgTimeout
		default:
			h.logger.InfoContext(ctx, "payments: order declined by check", "order", o.Ref, "error", err)
			return MsgUnavailable
		}
	case <-ctx.Done():
		h.logger.WarnContext(ctx, "payments: pre-checkout check too slow, declined", "order", o.Ref, "timeout", h.decisionTimeout)
		return MsgTimeout
	}
}

// checkPrice compares a query's currency and total with the signed price.
func (o Order) checkPrice(currency string, total int64) error {
	if o.Currency == "" {
		return nil
	}
	if currency != o.Currency {
		return fmt.Errorf("%w: currency %q, order %q", ErrPriceMismatch, currency, o.Currency)
	}
	if total == o.Amount || (currency != XTR && total > o.Amount && total-o.Amount <= o.MaxTip) {
		return nil
	}
	return fmt.Errorf("%w: total %d, order %d with max tip %d", ErrPriceMismatch, total, o.Amount, o.MaxTip)
}

// HandleSuccessfulPayment records the payment of userID keyed by its
// telegram_payment_charge_id and fulfils it unless it already was: the
// [FulfilFunc] runs once per charge however many times, and however
// concurrently, the update is delivered. If fulfilment fails the payment
// stays recorded as paid and the error is returned, so the update is
// delivered again; [Handler.RetryPending] also retries it.
//
// Telegram docs: https://core.telegram.org/bots/api#successfulpayment
func (h *Handler) HandleSuccessfulPayment(ctx context.Context, userID int64, sp *botapi.SuccessfulPayment) error {
	if sp.TelegramPaymentChargeID == "" {
		return errors.New("payments: successful_payment without telegram_payment_charge_id")
	}
	p := Payment{
		ChargeID:         sp.TelegramPaymentChargeID,
		ProviderChargeID: sp.ProviderPaymentChargeID,
		UserID:           userID,
		Currency:         sp.Currency,
		Amount:           sp.TotalAmount,
		Payload:          sp.InvoicePayload,
		IsRecurring:      sp.IsRecurring,
		IsFirstRecurring: sp.IsFirstRecurring,
		State:            StatePaid,
		PaidAt:           h.now(),
	}
	if sp.SubscriptionExpirationDate != 0 {
		p.SubscriptionExpiration = time.Unix(sp.SubscriptionExpirationDate, 0).UTC()
	}
	stored, _, err := h.ledger.Record(ctx, p)
	if err != nil {
		return fmt.Errorf("payments: record payment: %w", err)
	}
	_, err = h.fulfilOnce(ctx, stored)
	return err
}

// fulfilOnce runs the fulfil callback for p if p is paid and this call wins
// the claim; it reports whether the callback ran and succeeded. A callback
// that fails or panics releases the claim (a panic is then re-raised), so a
// redelivery or [Handler.RetryPending] can fulfil the payment at once.
func (h *Handler) fulfilOnce(ctx context.Context, p Payment) (bool, error) {
	if p.State != StatePaid {
		h.observe(ctx, StepFulfil, p, h.obsNow(), true, nil)
		return false, nil
	}
	now := h.now()
	owner := h.owners.next()
	won, err := h.ledger.Claim(ctx, p.ChargeID, owner, now, now.Add(h.claimTTL))
	if err != nil {
		return false, fmt.Errorf("payments: claim payment: %w", err)
	}
	if !won {
		h.observe(ctx, StepFulfil, p, h.obsNow(), true, nil)
		return false, nil // fulfilled, refunded, or being fulfilled by another delivery
	}
	o, err := h.codec.decode(p.Payload, time.Time{}, false)
	if err != nil {
		h.logger.ErrorContext(ctx, "payments: paid payload no longer verifies; fulfilling with a zero Order", "charge_id", p.ChargeID, "error", err)
		o = Order{}
	}
	start := h.obsNow()
	err = h.runFulfil(ctx, p, o, owner)
	h.observe(ctx, StepFulfil, p, start, false, err)
	if err != nil {
		return false, fmt.Errorf("payments: fulfil charge %s: %w", p.ChargeID, err)
	}
	ok, err := h.ledger.SetState(context.WithoutCancel(ctx), p.ChargeID, StatePaid, StateFulfilled, h.now())
	if err != nil {
		return true, fmt.Errorf("payments: mark fulfilled: %w", err)
	}
	if !ok {
		h.logger.WarnContext(ctx, "payments: payment refunded while being fulfilled", "charge_id", p.ChargeID)
	}
	return true, nil
}

// runFulfil runs the fulfil callback; if it fails or panics, owner's claim
// is released (the panic then continues up the stack).
func (h *Handler) runFulfil(ctx context.Context, p Payment, o Order, owner string) (err error) {
	ok := false
	defer func() {
		if ok {
			return
		}
		if rerr := h.ledger.Release(context.WithoutCancel(ctx), p.ChargeID, owner); rerr != nil {
			h.logger.ErrorContext(ctx, "payments: release claim", "charge_id", p.ChargeID, "error", rerr)
		}
	}()
	err = h.fulfil(ctx, p, o)
	ok = err == nil
	return err
}

// RetryPending fulfils every payment the ledger holds as paid and unclaimed
// (a fulfilment that failed, or a worker that crashed) and runs the refund
// hook for every refunded payment whose hook has not succeeded, returning
// how many fulfilments and refund hooks it ran to success and the errors of
// those that failed again. Run it periodically or at start-up.
func (h *Handler) RetryPending(ctx context.Context) (int, error) {
	var pending []Payment
	for p, err := range h.ledger.All(ctx) {
		if err != nil {
			return 0, fmt.Errorf("payments: list ledger: %w", err)
		}
		if p.State == StatePaid || (p.State == StateRefunded && p.RefundHookDoneAt.IsZero() && h.onRefund != nil) {
			pending = append(pending, p)
		}
	}
	var errs []error
	n := 0
	for _, p := range pending {
		var done bool
		var err error
		if p.State == StatePaid {
			done, err = h.fulfilOnce(ctx, p)
		} else {
			done, err = h.refundHookOnce(ctx, p.ChargeID)
		}
		if err != nil {
			errs = append(errs, err)
		}
		if done {
			n++
		}
	}
	return n, errors.Join(errs...)
}

// HandleRefundedPayment records that a payment of userID was refunded
// (Telegram sends refunded_payment for refunds made from the bot's side or
// by Telegram) and runs the refund hook once: if the hook fails the error is
// returned, so the update is delivered again and the hook retried.
//
// Telegram docs: https://core.telegram.org/bots/api#refundedpayment
func (h *Handler) HandleRefundedPayment(ctx context.Context, userID int64, rp *botapi.RefundedPayment) error {
	if rp.TelegramPaymentChargeID == "" {
		return errors.New("payments: refunded_payment without telegram_payment_charge_id")
	}
	start := h.obsNow()
	now := h.now()
	stored, first, err := h.ledger.Record(ctx, Payment{
		ChargeID:         rp.TelegramPaymentChargeID,
		ProviderChargeID: rp.ProviderPaymentChargeID,
		UserID:           userID,
		Currency:         rp.Currency,
		Amount:           rp.TotalAmount,
		Payload:          rp.InvoicePayload,
		State:            StateRefunded,
		PaidAt:           now,
		RefundedAt:       now,
	})
	if err != nil {
		return fmt.Errorf("payments: record refund: %w", err)
	}
	if first {
		h.logger.WarnContext(ctx, "payments: refund of a payment the ledger never saw", "charge_id", stored.ChargeID)
	}
	err = h.markRefunded(ctx, rp.TelegramPaymentChargeID)
	h.observe(ctx, StepRefund, stored, start, !first && stored.State == StateRefunded, err)
	return err
}

// markRefunded moves chargeID to refunded from paid or fulfilled (if it is
// not refunded already) and runs the refund hook unless it has succeeded.
func (h *Handler) markRefunded(ctx context.Context, chargeID string) error {
	now := h.now()
	for _, from := range []State{StateFulfilled, StatePaid} {
		ok, err := h.ledger.SetState(ctx, chargeID, from, StateRefunded, now)
		if err != nil {
			return fmt.Errorf("payments: mark refunded: %w", err)
		}
		if ok {
			break
		}
	}
	_, err := h.refundHookOnce(ctx, chargeID)
	return err
}

// refundHookOnce runs the refund hook for the refunded payment chargeID if
// its hook has not succeeded and this call wins the claim; it reports
// whether the hook ran and succeeded. A hook that fails or panics releases
// the claim (a panic is then re-raised), so a redelivery or
// [Handler.RetryPending] runs it again.
func (h *Handler) refundHookOnce(ctx context.Context, chargeID string) (bool, error) {
	if h.onRefund == nil {
		return false, nil
	}
	now := h.now()
	owner := h.owners.next()
	won, err := h.ledger.ClaimRefundHook(ctx, chargeID, owner, now, now.Add(h.claimTTL))
	if err != nil {
		return false, fmt.Errorf("payments: claim refund hook: %w", err)
	}
	if !won {
		return false, nil // done, not refunded, or running in another delivery
	}
	p, err := h.ledger.Get(ctx, chargeID)
	if err == nil {
		err = h.runRefundHook(ctx, p, owner)
	} else if rerr := h.ledger.Release(context.WithoutCancel(ctx), chargeID, owner); rerr != nil {
		h.logger.ErrorContext(ctx, "payments: release refund hook claim", "charge_id", chargeID, "error", rerr)
	}
	if err != nil {
		return false, fmt.Errorf("payments: refund hook for charge %s: %w", chargeID, err)
	}
	if _, err := h.ledger.RefundHookDone(context.WithoutCancel(ctx), chargeID, h.now()); err != nil {
		return true, fmt.Errorf("payments: mark refund hook done: %w", err)
	}
	return true, nil
}

// runRefundHook runs the refund hook; if it fails or panics, owner's claim
// is released (the panic then continues up the stack).
func (h *Handler) runRefundHook(ctx context.Context, p Payment, owner string) (err error) {
	ok := false
	defer func() {
		if ok {
			return
		}
		if rerr := h.ledger.Release(context.WithoutCancel(ctx), p.ChargeID, owner); rerr != nil {
			h.logger.ErrorContext(ctx, "payments: release refund hook claim", "charge_id", p.ChargeID, "error", rerr)
		}
	}()
	err = h.onRefund(ctx, p)
	ok = err == nil
	return err
}

// Refund refunds the Telegram Stars payment chargeID of userID
// (refundStarPayment), records it and runs the refund hook. It is
// idempotent: refunding a payment the ledger holds as refunded does not call
// Telegram (it only runs the refund hook if that has not succeeded yet), and
// Telegram's CHARGE_ALREADY_REFUNDED answer counts as success. It fails with
// [ErrWrongUser] if the ledger holds the charge for another user and with
// [ErrNotStars] for a provider payment. A charge the ledger does not hold is
// refunded at Telegram and recorded as refunded, so a late successful_payment
// for it is never fulfilled. A refund that lands while the charge is being
// fulfilled wins the ledger; the fulfilment still completes and is logged.
//
// Telegram docs: https://core.telegram.org/bots/api#refundstarpayment
func (h *Handler) Refund(ctx context.Context, userID int64, chargeID string) (err error) {
	start := h.obsNow()
	p, err := h.ledger.Get(ctx, chargeID)
	if h.observer != nil {
		defer h.observeRefund(ctx, chargeID, &p, start, &err)
	}
	known := err == nil
	switch {
	case err != nil && !errors.Is(err, ErrNotFound):
		return fmt.Errorf("payments: refund: %w", err)
	case known && p.UserID != userID:
		return fmt.Errorf("%w: charge %s", ErrWrongUser, chargeID)
	case known && p.Currency != XTR:
		return fmt.Errorf("%w: charge %s is in %s", ErrNotStars, chargeID, p.Currency)
	case known && p.State == StateRefunded:
		_, err := h.refundHookOnce(ctx, chargeID) // retried if it failed before
		return err
	}
	err = h.api.RefundStarPayment(ctx, &botapi.RefundStarPaymentParams{UserID: userID, TelegramPaymentChargeID: chargeID})
	if err != nil && !alreadyRefunded(err) {
		return fmt.Errorf("payments: refund charge %s: %w", chargeID, err)
	}
	if !known {
		now := h.now()
		_, _, err := h.ledger.Record(ctx, Payment{
			ChargeID: chargeID, UserID: userID, Currency: XTR,
			State: StateRefunded, PaidAt: now, RefundedAt: now,
		})
		if err != nil {
			return fmt.Errorf("payments: record refund: %w", err)
		}
	}
	return h.markRefunded(ctx, chargeID)
}

// alreadyRefunded reports whether err is Telegram's answer to refunding a
// charge twice (400 "Bad Request: CHARGE_ALREADY_REFUNDED"). Telegram gives
// no code for it but this description.
func alreadyRefunded(err error) bool {
	var apiErr *botapi.Error
	return errors.As(err, &apiErr) && errors.Is(err, botapi.ErrBadRequest) &&
		strings.Contains(apiErr.Description, "CHARGE_ALREADY_REFUNDED")
}

// CancelSubscription stops the Stars subscription whose payment is chargeID
// from renewing (editUserStarSubscription, is_canceled=true); the user keeps
// access until the end of the period paid for. Telegram names a
// subscription by its first payment (the one with IsFirstRecurring), not
// by a renewal's charge id.
//
// Telegram docs: https://core.telegram.org/bots/api#edituserstarsubscription
// and https://core.telegram.org/method/payments.botCancelStarsSubscription
func (h *Handler) CancelSubscription(ctx context.Context, userID int64, chargeID string) error {
	return h.editSubscription(ctx, userID, chargeID, true)
}

// ResumeSubscription lets the user re-enable a subscription the bot
// cancelled (editUserStarSubscription, is_canceled=false); renewal stays
// off until the user turns it back on.
//
// Telegram docs: https://core.telegram.org/bots/api#edituserstarsubscription
func (h *Handler) ResumeSubscription(ctx context.Context, userID int64, chargeID string) error {
	return h.editSubscription(ctx, userID, chargeID, false)
}

func (h *Handler) editSubscription(ctx context.Context, userID int64, chargeID string, cancel bool) error {
	if p, err := h.ledger.Get(ctx, chargeID); err == nil {
		if p.UserID != userID {
			return fmt.Errorf("%w: charge %s", ErrWrongUser, chargeID)
		}
		if p.Currency != XTR {
			return fmt.Errorf("%w: charge %s is in %s", ErrNotStars, chargeID, p.Currency)
		}
	}
	err := h.api.EditUserStarSubscription(ctx, &botapi.EditUserStarSubscriptionParams{
		UserID: userID, TelegramPaymentChargeID: chargeID, IsCanceled: cancel,
	})
	if err != nil {
		return fmt.Errorf("payments: edit subscription %s: %w", chargeID, err)
	}
	return nil
}
