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
	// crashed mid-fulfilment loses its claim after it and
	// [Handler.RetryPending] fulfils the payment.
	DefaultClaimTTL = 5 * time.Minute
	// DefaultReservationTTL is how long a pre-checkout reserves a one-time
	// order for the charge about to happen. Telegram charges within seconds
	// of an ok answer; a charge that failed at the provider frees the order
	// for another attempt after this.
	DefaultReservationTTL = time.Minute
	// ProviderDuplicateReminder is how often a duplicate charge paid
	// through a payment provider, which the Bot API cannot refund, is
	// reported again (an Error log) until the ledger records its refund:
	// refund it at the provider, then call [Ledger.Refund] with its charge
	// id (Telegram sends refunded_payment for Telegram Stars only).
	ProviderDuplicateReminder = 24 * time.Hour
)

// Messages shown to the buyer when the handler declines a pre-checkout query.
const (
	MsgInvalidInvoice = "This invoice is not valid. Please start a new order."
	MsgExpired        = "This offer has expired. Please start a new order."
	MsgWrongUser      = "This invoice was issued to another account."
	MsgPriceChanged   = "The price of this order has changed. Please start a new order."
	MsgTimeout        = "We could not confirm your order in time. You have not been charged; please try again."
	MsgUnavailable    = "Sorry, this order can no longer be completed. You have not been charged."
	MsgOrderTaken     = "This order is already being paid or has been paid. You have not been charged again."
	MsgNoShipping     = "Sorry, we cannot ship this order to that address."
)

// API is the part of the Bot API the payment flow calls; *botapi.Client
// satisfies it. Tests may pass a fake, or a client pointed at botapitest.
type API interface {
	AnswerPreCheckoutQuery(ctx context.Context, p *botapi.AnswerPreCheckoutQueryParams) error
	RefundStarPayment(ctx context.Context, p *botapi.RefundStarPaymentParams) error
	AnswerShippingQuery(ctx context.Context, p *botapi.AnswerShippingQueryParams) error
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

// FulfilFunc delivers what payment p bought. It runs inside the ledger's
// [Ledger.Fulfil]: tx is the ledger's transaction (*sql.Tx for
// store/sqlite, pgx.Tx for store/postgres), and writes made through it
// commit together with the payment's move to fulfilled, so a fulfilment
// whose effect is a database write happens exactly once, whatever crashes.
// With a ledger that has no shared transaction (tx nil: [MemoryLedger],
// store/redis), or for effects outside the database (a message, an HTTP
// call), a crash between the effect and the commit runs it again: make it
// idempotent on p.ChargeID. It runs again only if it returned an error or
// panicked (the payment stays paid and [Handler.RetryPending] retries it).
//
// Do not call [Handler.Refund] (or write to the ledger) from inside it:
// the ledger's transaction is open and would wait for itself; Refund
// called with its ctx returns [ErrRefundInsideFulfil].
//
// o is the order decoded from p.Payload (expiry not checked: the buyer has
// paid); for a subscription renewing after its signing key was retired, the
// order the ledger recorded at an earlier payment of the same payload; the
// zero Order if neither verifies. p.OrderInfo and p.ShippingOptionID carry
// what the buyer entered for physical goods. For a subscription,
// p.IsRecurring and p.SubscriptionExpiration say how long to grant access.
type FulfilFunc func(ctx context.Context, tx Tx, p Payment, o Order) error

// RefundFunc runs once per refunded payment that had been fulfilled (revoke
// what was delivered), whether refunded by [Handler.Refund] or by a
// refunded_payment update, and always after the fulfilment committed. A
// payment refunded before fulfilment is never fulfilled and has nothing to
// revoke. It runs inside [Ledger.RefundHookDone] with the ledger's
// transaction, as [FulfilFunc] does; it runs again only if it returned an
// error or panicked ([Handler.RetryPending] retries it).
type RefundFunc func(ctx context.Context, tx Tx, p Payment) error

// ShippingFunc answers a shipping_query for a flexible invoice
// (is_flexible) of order o: the shipping options for q.ShippingAddress, or
// an error to decline ([Decline] shows its message, any other error
// [MsgNoShipping]). It runs with a context that ends at the decision
// timeout. The payload is already verified.
//
// Telegram docs: https://core.telegram.org/bots/api#answershippingquery
type ShippingFunc func(ctx context.Context, o Order, q *botapi.ShippingQuery) ([]botapi.ShippingOption, error)

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
	reservationTTL  time.Duration
	retryDelay      time.Duration
	repeatable      bool
	shipping        ShippingFunc
	observer        Observer
}

// WithCheck sets the seller's pre-checkout check. Default: accept every order
// whose payload, buyer and price check out.
func WithCheck(f CheckFunc) Option { return func(o *options) { o.check = f } }

// WithRefundHook sets the function run once per refunded, fulfilled
// payment. Default: none, and then a refund is complete once Telegram has
// refunded: the payment is refunded and leaves the pending set
// ([Payment.RefundHookDoneAt] is stamped with no hook run), so a hook set
// later does not run for refunds completed before it.
func WithRefundHook(f RefundFunc) Option { return func(o *options) { o.onRefund = f } }

// WithShipping sets the function that answers shipping queries (flexible
// invoices). Default: none; a shipping query is declined with [MsgNoShipping].
func WithShipping(f ShippingFunc) Option { return func(o *options) { o.shipping = f } }

// WithRepeatablePurchases makes every order reference payable any number
// of times: no reservation at pre-checkout and no duplicate refunds. The
// default is one-time orders: one charge per order reference, a second
// pre-checkout declined with [MsgOrderTaken] and a second charge refunded.
func WithRepeatablePurchases() Option { return func(o *options) { o.repeatable = true } }

// WithReservationTTL sets how long a pre-checkout reserves a one-time order.
// It must be positive. Default: [DefaultReservationTTL].
func WithReservationTTL(d time.Duration) Option { return func(o *options) { o.reservationTTL = d } }

// WithRetryDelay makes [Handler.RetryPending] leave alone payments recorded
// (or refunded) less than d ago, whose first attempt is likely still at
// work. It must not be negative. Default: 0.
func WithRetryDelay(d time.Duration) Option { return func(o *options) { o.retryDelay = d } }

// WithClock sets the clock for payload expiry. Default: time.Now. Leases
// and the ledger's timestamps come from the ledger's own clock. (The
// pre-checkout timeout uses the time package's timers; tests drive it with
// testing/synctest.)
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
		reservationTTL:  DefaultReservationTTL,
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
	if h.reservationTTL <= 0 {
		return nil, fmt.Errorf("payments: reservation TTL %v not positive", h.reservationTTL)
	}
	if h.retryDelay < 0 {
		return nil, fmt.Errorf("payments: retry delay %v negative", h.retryDelay)
	}
	return h, nil
}

// HandleUpdate routes u: pre_checkout_query to [Handler.HandlePreCheckoutQuery],
// shipping_query to [Handler.HandleShippingQuery], a message's successful_payment to [Handler.HandleSuccessfulPayment] and its
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
	if u.ShippingQuery != nil {
		return h.HandleShippingQuery(ctx, u.ShippingQuery)
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
// [CheckFunc] accepts and (for one-time orders, the default) the order is
// reserved for this query in the ledger ([Ledger.Reserve]); otherwise
// ok=false with a message for the buyer ([MsgOrderTaken] for an order
// reserved by another pre-checkout or already paid). A
// check still running after the decision timeout gets ok=false with
// [MsgTimeout]; a check that panics gets [MsgUnavailable]. The check and the
// answer run to completion even if ctx has ended (its values are kept).
//
// The order's reservation is released at once only when the outcome is
// known: its ok answer had no effect (Telegram refused it with a 4xx such
// as "query is too old" or a 429, or the request never left: a DNS,
// connect or TLS handshake failure). (A query is declined before any
// reservation is taken: the order is reserved last.) After an ok answer
// whose fate is unknown (a timeout, a 5xx, a connection broken after the request
// was written) Telegram may be charging the buyer, so the reservation is
// kept until its TTL ([WithReservationTTL]) and the failure logged at Warn:
// a buyer whose ok answer was lost waits at most one reservation TTL to
// retry, rather than risk a second charge of the order, which for a
// provider payment the Bot API cannot refund. Nor is it released when the
// same query is delivered again and its second answer refused (the first
// may have landed): the ledger pins a reservation its holder takes again
// (see [Ledger.ReleaseReservation]). A Reserve that fails is tried once
// more (a Reserve by the holder succeeds again, so one whose reply was
// lost is not lost twice); if that fails too the query is declined with
// [MsgUnavailable] and nothing is released, since the query may be such a
// redelivery: a reservation the failed calls stored ends with its TTL.
//
// The error is non-nil only if the answer could not be sent for a reason a
// redelivery may cure (network, 429, 5xx); a permanent refusal (a 4xx such
// as "query is too old") is logged and acknowledged, since a redelivery
// would get the same answer. An ok answer of unknown fate that reserved an
// order is acknowledged too (nil): a redelivery's answer would be refused
// whether the first reached Telegram or not, and could not tell which.
// Handle pre_checkout_query inline, not behind a queue: the 10 s run from
// when Telegram sent the query.
//
// Telegram docs: https://core.telegram.org/bots/api#answerprecheckoutquery
func (h *Handler) HandlePreCheckoutQuery(ctx context.Context, q *botapi.PreCheckoutQuery) error {
	// The decision and the answer outlive the caller's ctx (a webhook
	// request whose connection dropped): Telegram waits for this answer, and
	// the only bound that matters is its deadline.
	start := h.obsNow()
	detached := context.WithoutCancel(ctx)
	decideCtx, cancel := context.WithTimeout(detached, h.decisionTimeout)
	msg, reserved := h.decide(decideCtx, q)
	cancel()
	answerCtx, cancelAnswer := context.WithTimeout(detached, PreCheckoutDeadline-h.decisionTimeout)
	defer cancelAnswer()
	err := h.api.AnswerPreCheckoutQuery(answerCtx, &botapi.AnswerPreCheckoutQueryParams{
		PreCheckoutQueryID: q.ID,
		OK:                 msg == "",
		ErrorMessage:       msg,
	})
	kept := false
	switch {
	case reserved == "" || err == nil: // decide reserves only for an ok answer
	case botapi.NotApplied(err):
		h.releaseReservation(detached, reserved, q.ID, err)
	default:
		// The ok answer may have reached Telegram, which then charges: the
		// reservation stays until its TTL, so that no other pre-checkout
		// of the order is approved meanwhile. The update is acknowledged:
		// a redelivery would answer again, and Telegram refuses a second
		// answer ("query is too old") as it refuses one after the
		// deadline, so it could tell nothing (its Reserve pins the
		// reservation, so its refusal releases nothing either).
		kept = true
		h.logger.WarnContext(ctx, "payments: pre-checkout ok answer failed and may have reached Telegram; order stays reserved until its TTL, update not redelivered",
			"order", reserved, "query_id", q.ID, "reservation_ttl", h.reservationTTL, "error", err)
	}
	h.observePreCheckout(ctx, q, msg, start, err)
	if kept {
		return nil
	}
	return h.answered(ctx, "pre-checkout", q.ID, err)
}

// releaseReservation gives back the reservation of order ref that query id
// took, because its ok answer had no effect (answerErr, see
// [botapi.NotApplied]): the buyer's next attempt must not wait for it to
// expire. Fenced by the query id, it never drops a later query's
// reservation, nor one the query took again (a redelivery: its first
// answer may have landed). A release that fails is logged; the
// reservation then ends with its TTL (unless the failed release was
// stored after all).
func (h *Handler) releaseReservation(ctx context.Context, ref, id string, answerErr error) {
	ctx, cancel := context.WithTimeout(ctx, PreCheckoutDeadline-h.decisionTimeout)
	defer cancel()
	if err := h.ledger.ReleaseReservation(ctx, ref, id); err != nil {
		h.logger.ErrorContext(ctx, "payments: release reservation failed; unless it was stored, the reservation ends with its TTL", "order", ref, "query_id", id, "error", err)
		return
	}
	h.logger.InfoContext(ctx, "payments: pre-checkout not accepted; reservation released unless this query reserved the order before (then it ends with its TTL)",
		"order", ref, "query_id", id, "answer_error", answerErr)
}

// answered turns the error of answering query id into the handler's: nil
// for success and for a permanent refusal (logged), the error otherwise.
func (h *Handler) answered(ctx context.Context, kind, id string, err error) error {
	if err == nil {
		return nil
	}
	if permanent(err) {
		h.logger.WarnContext(ctx, "payments: "+kind+" answer refused by Telegram; not retried", "query_id", id, "error", err)
		return nil
	}
	return fmt.Errorf("payments: answer %s query: %w", kind, err)
}

// permanent reports whether err is a Bot API refusal that a retry would
// meet again: a 4xx other than 429.
func permanent(err error) bool {
	var apiErr *botapi.Error
	return errors.As(err, &apiErr) && apiErr.Code >= 400 && apiErr.Code < 500 && apiErr.Code != 429
}

// HandleShippingQuery answers a shipping_query, within the decision timeout:
// with the options of the [ShippingFunc] when the payload verifies and it
// returns some, otherwise ok=false with a message for the buyer. Like the
// pre-checkout answer, a permanent refusal of the answer is logged and
// acknowledged.
//
// Telegram docs: https://core.telegram.org/bots/api#answershippingquery
func (h *Handler) HandleShippingQuery(ctx context.Context, q *botapi.ShippingQuery) error {
	detached := context.WithoutCancel(ctx)
	decideCtx, cancel := context.WithTimeout(detached, h.decisionTimeout)
	opts, msg := h.ship(decideCtx, q)
	cancel()
	answerCtx, cancelAnswer := context.WithTimeout(detached, PreCheckoutDeadline-h.decisionTimeout)
	defer cancelAnswer()
	p := &botapi.AnswerShippingQueryParams{ShippingQueryID: q.ID, OK: msg == "", ErrorMessage: msg}
	if msg == "" {
		p.ShippingOptions = opts
	}
	return h.answered(ctx, "shipping", q.ID, h.api.AnswerShippingQuery(answerCtx, p))
}

// ship returns the shipping options for q, or the message declining it.
func (h *Handler) ship(ctx context.Context, q *botapi.ShippingQuery) ([]botapi.ShippingOption, string) {
	o, err := h.codec.DecodeAt(q.InvoicePayload, h.now())
	switch {
	case errors.Is(err, ErrPayloadExpired):
		return nil, MsgExpired
	case err != nil:
		h.logger.WarnContext(ctx, "payments: shipping query payload rejected", "query_id", q.ID, "user_id", q.From.ID, "error", err)
		return nil, MsgInvalidInvoice
	}
	if err := o.CheckUser(q.From.ID); err != nil {
		return nil, MsgWrongUser
	}
	if h.shipping == nil {
		h.logger.WarnContext(ctx, "payments: shipping query but no ShippingFunc (WithShipping)", "order", o.Ref)
		return nil, MsgNoShipping
	}
	type result struct {
		opts []botapi.ShippingOption
		err  error
	}
	done := make(chan result, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				done <- result{err: fmt.Errorf("payments: shipping func panicked: %v", r)}
			}
		}()
		opts, err := h.shipping(ctx, o, q)
		done <- result{opts, err}
	}()
	select {
	case r := <-done:
		var d *DeclineError
		switch {
		case r.err == nil && len(r.opts) > 0:
			return r.opts, ""
		case errors.As(r.err, &d) && d.Message != "":
			return nil, d.Message
		case r.err == nil:
			return nil, MsgNoShipping
		default:
			h.logger.InfoContext(ctx, "payments: shipping declined", "order", o.Ref, "error", r.err)
			return nil, MsgNoShipping
		}
	case <-ctx.Done():
		h.logger.WarnContext(ctx, "payments: shipping func too slow, declined", "order", o.Ref, "timeout", h.decisionTimeout)
		return nil, MsgTimeout
	}
}

// decide returns "" to accept q or the message declining it, and the order
// reference it reserved for q, "" if none (nor after a Reserve that failed
// twice: it may have stored the reservation, but q may also be a
// redelivery whose first delivery holds it, so it is not released).
func (h *Handler) decide(ctx context.Context, q *botapi.PreCheckoutQuery) (msg, reserved string) {
	o, err := h.codec.DecodeAt(q.InvoicePayload, h.now())
	switch {
	case errors.Is(err, ErrPayloadExpired):
		return MsgExpired, ""
	case err != nil:
		h.logger.WarnContext(ctx, "payments: pre-checkout payload rejected", "query_id", q.ID, "user_id", q.From.ID, "error", err)
		return MsgInvalidInvoice, ""
	}
	if err := o.CheckUser(q.From.ID); err != nil {
		h.logger.WarnContext(ctx, "payments: pre-checkout by another user", "query_id", q.ID, "user_id", q.From.ID, "order", o.Ref)
		return MsgWrongUser, ""
	}
	if err := o.checkPrice(q.Currency, q.TotalAmount); err != nil {
		h.logger.WarnContext(ctx, "payments: pre-checkout price mismatch", "query_id", q.ID, "order", o.Ref, "error", err)
		return MsgPriceChanged, ""
	}
	if msg := h.runCheck(ctx, o, q); msg != "" {
		return msg, ""
	}
	if h.repeatable {
		return "", ""
	}
	ok, err := h.ledger.Reserve(ctx, o.Ref, q.ID, h.reservationTTL)
	if err != nil {
		// The reservation may have been stored and its reply lost, or an
		// earlier delivery of q holds it: ask once more. A Reserve by the
		// holder succeeds again (and pins the reservation).
		h.logger.WarnContext(ctx, "payments: reserve order; trying again", "order", o.Ref, "query_id", q.ID, "error", err)
		ok, err = h.ledger.Reserve(ctx, o.Ref, q.ID, h.reservationTTL)
	}
	switch {
	case err != nil:
		// Not released: an earlier delivery of q may hold the order, its
		// ok answer landed, and a release would free it for a second
		// charge. A reservation this call stored ends with its TTL.
		h.logger.ErrorContext(ctx, "payments: reserve order; declined, a reservation it may have stored ends with its TTL",
			"order", o.Ref, "query_id", q.ID, "reservation_ttl", h.reservationTTL, "error", err)
		return MsgUnavailable, ""
	case !ok:
		h.logger.InfoContext(ctx, "payments: order reserved or paid already; declined", "order", o.Ref, "query_id", q.ID)
		return MsgOrderTaken, ""
	}
	return "", o.Ref
}

// runCheck runs the seller's check within ctx: "" accepts.
func (h *Handler) runCheck(ctx context.Context, o Order, q *botapi.PreCheckoutQuery) string {
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
// telegram_payment_charge_id and then works on it: fulfils it (the
// [FulfilFunc] runs once per charge however many times, and however
// concurrently, the update is delivered), or, for a second charge of a
// one-time order, refunds it. Once the ledger has stored the payment the
// update is acknowledged (nil): a fulfilment that fails is logged and
// retried from the ledger by [Handler.RetryPending], not by Telegram's
// redelivery. The error is non-nil only if the payment could not be
// recorded (or, for a payload only the ledger can vouch for, its order
// could not be looked up), so the update must be delivered again.
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
		ShippingOptionID: sp.ShippingOptionID,
		OrderInfo:        sp.OrderInfo,
		IsRecurring:      sp.IsRecurring,
		IsFirstRecurring: sp.IsFirstRecurring,
		State:            StatePaid,
	}
	if sp.SubscriptionExpirationDate != 0 {
		p.SubscriptionExpiration = time.Unix(sp.SubscriptionExpirationDate, 0).UTC()
	}
	o, ok, err := h.orderOf(ctx, p)
	if err != nil {
		// Without the order a one-time order's second charge would be
		// recorded as a charge of no order, and fulfilled: redeliver.
		return err
	}
	if ok {
		p.OrderRef = o.Ref
	}
	// A renewal carries its subscription's payload: the order is paid again
	// by design. Every other charge of a one-time order after the first is
	// a duplicate.
	once := !h.repeatable && !(p.IsRecurring && !p.IsFirstRecurring)
	stored, _, err := h.ledger.Record(ctx, p, once)
	if err != nil {
		return fmt.Errorf("payments: record payment: %w", err)
	}
	if _, err := h.work(ctx, stored); err != nil {
		h.logger.ErrorContext(ctx, "payments: payment recorded, work failed; RetryPending retries it",
			"charge_id", stored.ChargeID, "error", err)
	}
	return nil
}

// orderOf returns the order p's payload carries: verified by the codec, or,
// when no key of the codec verifies it any more (a subscription renewing
// after its key was retired), vouched for by the ledger because the same
// payload verified when an earlier payment of its order was recorded. The
// error is non-nil only if that ledger lookup failed: the answer is then
// unknown, not "no order".
func (h *Handler) orderOf(ctx context.Context, p Payment) (Order, bool, error) {
	o, err := h.codec.decode(p.Payload, time.Time{}, false)
	if err == nil {
		return o, true, nil
	}
	if errors.Is(err, ErrPayloadSignature) {
		if u, uerr := parseUnverified(p.Payload); uerr == nil {
			earlier, lerr := h.ledger.ByOrder(ctx, u.Ref)
			if lerr != nil {
				return Order{}, false, fmt.Errorf("payments: look up order of charge %s: %w", p.ChargeID, lerr)
			}
			for _, e := range earlier {
				if e.ChargeID != p.ChargeID && e.OrderRef == u.Ref && e.Payload == p.Payload {
					return u, true, nil
				}
			}
		}
	}
	h.logger.ErrorContext(ctx, "payments: paid payload does not verify; the fulfilment sees a zero Order",
		"charge_id", p.ChargeID, "error", err)
	return Order{}, false, nil
}

// work does what p needs next: refund a duplicate, apply a requested
// refund, fulfil, or run the refund hook. It reports whether it did
// something that completed.
func (h *Handler) work(ctx context.Context, p Payment) (bool, error) {
	switch {
	case p.State == StatePaid && p.DuplicateOf != "":
		return h.refundDuplicate(ctx, p)
	case p.State == StatePaid && p.RefundRequested:
		// A fulfilment's claim expired with a refund waiting: apply it.
		q, err := h.ledger.Refund(ctx, p.ChargeID)
		if err != nil {
			return false, fmt.Errorf("payments: apply refund: %w", err)
		}
		return q.State == StateRefunded, nil
	case p.State == StatePaid:
		return h.fulfilOnce(ctx, p)
	case p.RefundHookDue():
		return h.refundHookOnce(ctx, p.ChargeID)
	}
	h.observe(ctx, StepFulfil, p, h.obsNow(), true, nil) // a redelivery: nothing left to do
	return false, nil
}

// fulfilOnce runs the fulfil callback for p if p is paid and this call wins
// the claim, inside the ledger's Fulfil (fenced by the claim's owner, and in
// one transaction with the state change where the ledger has them). It
// reports whether a fulfilment committed. A refund that landed meanwhile is
// honoured: its refund hook runs after the fulfilment.
func (h *Handler) fulfilOnce(ctx context.Context, p Payment) (bool, error) {
	owner := h.owners.next()
	won, err := h.ledger.Claim(ctx, p.ChargeID, owner, h.claimTTL)
	if err != nil {
		return false, fmt.Errorf("payments: claim payment: %w", err)
	}
	if !won {
		h.observe(ctx, StepFulfil, p, h.obsNow(), true, nil)
		return false, nil // fulfilled, refunded, or being worked on by another delivery
	}
	o, _, err := h.orderOf(ctx, p)
	if err != nil {
		if rerr := h.ledger.Release(context.WithoutCancel(ctx), p.ChargeID, owner); rerr != nil {
			h.logger.ErrorContext(ctx, "payments: release claim", "charge_id", p.ChargeID, "error", rerr)
		}
		return false, err
	}
	start := h.obsNow()
	res, err := h.ledger.Fulfil(context.WithoutCancel(ctx), p.ChargeID, owner, func(ctx context.Context, tx Tx) (err error) {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("payments: fulfil panicked: %v", r)
			}
		}()
		ctx, done := inLedgerTx(ctx)
		defer done()
		return h.fulfil(ctx, tx, p, o)
	})
	h.observeFulfil(ctx, p, start, res, err)
	switch {
	case errors.Is(err, ErrClaimLost):
		h.logger.WarnContext(ctx, "payments: fulfilment claim lost before it committed", "charge_id", p.ChargeID)
		return false, nil
	case err != nil:
		return false, fmt.Errorf("payments: fulfil charge %s: %w", p.ChargeID, err)
	}
	if res.State == StateRefunded && res.FulfilledAt.IsZero() {
		h.logger.InfoContext(ctx, "payments: refunded before fulfilment; not fulfilled", "charge_id", p.ChargeID)
		return false, nil
	}
	if res.RefundHookDue() {
		h.logger.WarnContext(ctx, "payments: refunded while being fulfilled; running the refund hook", "charge_id", p.ChargeID)
		if _, err := h.refundHookOnce(ctx, p.ChargeID); err != nil {
			return true, err
		}
	}
	return true, nil
}

// refundDuplicate refunds p, a second charge of a one-time order, and
// records the refund. Only Telegram Stars charges can be refunded through
// the Bot API; a provider charge is logged for a refund at the provider.
func (h *Handler) refundDuplicate(ctx context.Context, p Payment) (bool, error) {
	start := h.obsNow()
	if p.Currency != XTR {
		// The Bot API cannot refund it. A claim of a day, never released,
		// keeps RetryPending from reporting it on every pass: the error
		// comes back once a day until a person has refunded it.
		won, err := h.ledger.Claim(ctx, p.ChargeID, h.owners.next(), ProviderDuplicateReminder)
		if err != nil {
			return false, fmt.Errorf("payments: claim duplicate: %w", err)
		}
		h.observe(ctx, StepDuplicateRefund, p, start, true, nil)
		if won {
			h.logger.ErrorContext(ctx, "payments: duplicate provider charge not fulfilled; refund it at the provider, then record it with Ledger.Refund",
				"charge_id", p.ChargeID, "provider_charge_id", p.ProviderChargeID, "order", p.OrderRef, "first_charge", p.DuplicateOf)
		}
		return false, nil
	}
	owner := h.owners.next()
	won, err := h.ledger.Claim(ctx, p.ChargeID, owner, h.claimTTL)
	if err != nil {
		return false, fmt.Errorf("payments: claim duplicate: %w", err)
	}
	if !won {
		return false, nil
	}
	err = h.api.RefundStarPayment(ctx, &botapi.RefundStarPaymentParams{UserID: p.UserID, TelegramPaymentChargeID: p.ChargeID})
	if err != nil && !alreadyRefunded(err) {
		if rerr := h.ledger.Release(context.WithoutCancel(ctx), p.ChargeID, owner); rerr != nil {
			h.logger.ErrorContext(ctx, "payments: release duplicate claim", "charge_id", p.ChargeID, "error", rerr)
		}
		h.observe(ctx, StepDuplicateRefund, p, start, false, err)
		return false, fmt.Errorf("payments: refund duplicate charge %s: %w", p.ChargeID, err)
	}
	// Logged once the money is back, before the ledger records it: a
	// recording whose reply is lost leaves nothing for RetryPending to do,
	// so logging after it could miss the line (a recording that really
	// failed is retried and logs it again).
	h.logger.WarnContext(ctx, "payments: duplicate charge refunded", "charge_id", p.ChargeID,
		"order", p.OrderRef, "first_charge", p.DuplicateOf, "user_id", p.UserID, "amount", p.Amount)
	if _, err := h.ledger.Refund(context.WithoutCancel(ctx), p.ChargeID); err != nil {
		h.observe(ctx, StepDuplicateRefund, p, start, false, err)
		return false, fmt.Errorf("payments: duplicate charge %s refunded at Telegram; record it: %w", p.ChargeID, err)
	}
	h.observe(ctx, StepDuplicateRefund, p, start, false, nil)
	return true, nil
}

// RetryPending works on every payment the ledger holds with work left and
// no live claim (Ledger.Pending, an indexed query): fulfils paid payments
// whose fulfilment failed or whose worker crashed, refunds duplicate
// charges, applies refunds that waited for a fulfilment, and runs refund
// hooks that are due. It returns how many of them completed and the errors
// of those that failed again. Run it periodically (every few seconds to a
// minute) and at start-up: it is where every retry comes from.
func (h *Handler) RetryPending(ctx context.Context) (int, error) {
	var pending []Payment
	for p, err := range h.ledger.Pending(ctx, h.retryDelay) {
		if err != nil {
			return 0, fmt.Errorf("payments: list pending: %w", err)
		}
		pending = append(pending, p)
	}
	var errs []error
	n := 0
	for _, p := range pending {
		done, err := h.work(ctx, p)
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
// by Telegram) and runs the refund hook once if the payment had been
// fulfilled. The error is non-nil only if the refund could not be recorded;
// a failing hook is logged and retried by [Handler.RetryPending].
//
// Telegram docs: https://core.telegram.org/bots/api#refundedpayment
func (h *Handler) HandleRefundedPayment(ctx context.Context, userID int64, rp *botapi.RefundedPayment) error {
	if rp.TelegramPaymentChargeID == "" {
		return errors.New("payments: refunded_payment without telegram_payment_charge_id")
	}
	start := h.obsNow()
	stored, first, err := h.ledger.Record(ctx, Payment{
		ChargeID:         rp.TelegramPaymentChargeID,
		ProviderChargeID: rp.ProviderPaymentChargeID,
		UserID:           userID,
		Currency:         rp.Currency,
		Amount:           rp.TotalAmount,
		Payload:          rp.InvoicePayload,
		State:            StateRefunded,
	}, false)
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

// markRefunded records the refund of chargeID in the ledger (one atomic
// step, serialised with a fulfilment in flight) and runs the refund hook if
// it is due. Only the ledger write's failure is returned.
func (h *Handler) markRefunded(ctx context.Context, chargeID string) error {
	p, err := h.ledger.Refund(ctx, chargeID)
	if err != nil {
		return fmt.Errorf("payments: mark refunded: %w", err)
	}
	if p.RefundHookDue() {
		if _, err := h.refundHookOnce(ctx, chargeID); err != nil {
			h.logger.ErrorContext(ctx, "payments: refund hook failed; RetryPending retries it", "charge_id", chargeID, "error", err)
		}
	}
	return nil
}

// refundHookOnce runs the refund hook for chargeID if it is due and this
// call wins the claim, inside the ledger's RefundHookDone (fenced, and in
// one transaction with the stamp where the ledger has them); it reports
// whether the hook committed. With no hook configured the refund is
// complete once Telegram refunded: it stamps RefundHookDoneAt through the
// same fenced step, so the payment leaves the pending set.
func (h *Handler) refundHookOnce(ctx context.Context, chargeID string) (bool, error) {
	hook := h.onRefund
	if hook == nil {
		hook = func(context.Context, Tx, Payment) error { return nil }
	}
	owner := h.owners.next()
	won, err := h.ledger.ClaimRefundHook(ctx, chargeID, owner, h.claimTTL)
	if err != nil {
		return false, fmt.Errorf("payments: claim refund hook: %w", err)
	}
	if !won {
		return false, nil // done, not due, or running in another delivery
	}
	p, err := h.ledger.Get(ctx, chargeID)
	if err != nil {
		if rerr := h.ledger.Release(context.WithoutCancel(ctx), chargeID, owner); rerr != nil {
			h.logger.ErrorContext(ctx, "payments: release refund hook claim", "charge_id", chargeID, "error", rerr)
		}
		return false, fmt.Errorf("payments: refund hook for charge %s: %w", chargeID, err)
	}
	_, err = h.ledger.RefundHookDone(context.WithoutCancel(ctx), chargeID, owner, func(ctx context.Context, tx Tx) (err error) {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("payments: refund hook panicked: %v", r)
			}
		}()
		ctx, done := inLedgerTx(ctx)
		defer done()
		return hook(ctx, tx, p)
	})
	switch {
	case errors.Is(err, ErrClaimLost):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("payments: refund hook for charge %s: %w", chargeID, err)
	}
	return true, nil
}

// Refund refunds the Telegram Stars payment chargeID of userID
// (refundStarPayment), records it and runs the refund hook if the payment
// had been fulfilled. It is idempotent: refunding a payment the ledger
// holds as refunded does not call Telegram (it only runs a refund hook that
// is still due), and Telegram's CHARGE_ALREADY_REFUNDED answer counts as
// success. It fails with [ErrWrongUser] if the ledger holds the charge for
// another user and with [ErrNotStars] for a provider payment. A charge the
// ledger does not hold is refunded at Telegram and recorded as refunded, so
// a late successful_payment for it is never fulfilled. A refund that lands
// while the charge is being fulfilled is serialised with it by the ledger:
// it is applied after the fulfilment commits, and the refund hook then runs
// (once) after the fulfilment. A paid charge no fulfilment holds is held
// (its fulfilment claim, [WithClaimTTL]) from before the call to Telegram
// until the refund is recorded, so it is not fulfilled once refunded, even
// if recording the refund fails (retry Refund; Telegram's refunded_payment
// records it too). Once Telegram has refunded, the recording runs to
// completion even if ctx ends. Called with the context of a [FulfilFunc]
// or refund hook while that runs, it fails at once with
// [ErrRefundInsideFulfil], calling nothing: the ledger's transaction is open there and the refund's writes
// would wait for it forever (SQLite, Postgres). To refund an order that
// cannot be delivered, return from the FulfilFunc first (fulfilled, or an
// error), then call Refund: the refund hook runs if it was fulfilled.
//
// Telegram docs: https://core.telegram.org/bots/api#refundstarpayment
func (h *Handler) Refund(ctx context.Context, userID int64, chargeID string) (err error) {
	if in, _ := ctx.Value(inLedgerTxKey{}).(*atomic.Bool); in != nil && in.Load() {
		return fmt.Errorf("%w: charge %s", ErrRefundInsideFulfil, chargeID)
	}
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
	// A paid charge no fulfilment holds: hold its fulfilment claim across
	// the call to Telegram, so that no fulfilment starts once the Stars are
	// on their way back. Should recording the refund then fail, the claim
	// keeps RetryPending and redeliveries off the charge (for the claim
	// TTL) while the refund is retried or Telegram's refunded_payment
	// records it.
	hold := ""
	if known && p.State == StatePaid && p.DuplicateOf == "" && !p.RefundRequested {
		owner := h.owners.next()
		won, err := h.ledger.Claim(ctx, chargeID, owner, h.claimTTL)
		if err != nil {
			return fmt.Errorf("payments: refund: hold charge %s: %w", chargeID, err)
		}
		if won {
			hold = owner
		}
	}
	err = h.api.RefundStarPayment(ctx, &botapi.RefundStarPaymentParams{UserID: userID, TelegramPaymentChargeID: chargeID})
	if err != nil && !alreadyRefunded(err) {
		if hold != "" {
			if rerr := h.ledger.Release(context.WithoutCancel(ctx), chargeID, hold); rerr != nil {
				h.logger.ErrorContext(ctx, "payments: release refund hold", "charge_id", chargeID, "error", rerr)
			}
		}
		return fmt.Errorf("payments: refund charge %s: %w", chargeID, err)
	}
	// Telegram has refunded: record it even if the caller's ctx ends now.
	ctx = context.WithoutCancel(ctx)
	if !known {
		_, _, err := h.ledger.Record(ctx, Payment{
			ChargeID: chargeID, UserID: userID, Currency: XTR, State: StateRefunded,
		}, false)
		if err != nil {
			return fmt.Errorf("payments: record refund: %w", err)
		}
	}
	if err := h.markRefunded(ctx, chargeID); err != nil {
		return err // the hold stays until its TTL: nothing fulfils the charge meanwhile
	}
	if hold != "" {
		// Recorded as requested under the hold; ending it applies the
		// refund (the charge is never fulfilled).
		if err := h.ledger.Release(ctx, chargeID, hold); err != nil {
			h.logger.ErrorContext(ctx, "payments: refund recorded; applying it failed, RetryPending applies it once the hold expires",
				"charge_id", chargeID, "error", err)
		}
	}
	return nil
}

// inLedgerTxKey marks the context of a [FulfilFunc] or refund hook: the
// ledger's transaction is open there (SQLite's one writer connection, a
// Postgres row lock), and a refund, whose ledger writes wait for it, must
// not start from it.
type inLedgerTxKey struct{}

// inLedgerTx returns ctx marked as inside the ledger's transaction until
// done is called (when the FulfilFunc or hook returns: a goroutine it
// started with ctx may refund after that).
func inLedgerTx(ctx context.Context) (_ context.Context, done func()) {
	in := new(atomic.Bool)
	in.Store(true)
	return context.WithValue(ctx, inLedgerTxKey{}, in), func() { in.Store(false) }
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
