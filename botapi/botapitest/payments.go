package botapitest

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/miniappkit/miniappkit/botapi"
)

// Telegram's payment rules.
// Telegram docs: https://core.telegram.org/bots/api#sendinvoice,
// https://core.telegram.org/bots/api#createinvoicelink,
// https://core.telegram.org/bots/api#answerprecheckoutquery and
// https://core.telegram.org/bots/payments-stars
const (
	maxInvoiceTitle        = 32
	maxInvoiceDescription  = 255
	maxInvoicePayloadBytes = 128
	// StarsCurrency is the currency of payments in Telegram Stars.
	StarsCurrency = "XTR"
	// SubscriptionPeriod is the only subscription period Telegram accepts
	// (createInvoiceLink's subscription_period, 2592000 seconds).
	SubscriptionPeriod = 30 * 24 * time.Hour
	// PreCheckoutDeadline is how long the bot has to answer a
	// pre_checkout_query before the payment fails.
	PreCheckoutDeadline = 10 * time.Second
	// ShippingDeadline is how long [Server.Pay] waits for the answer to
	// the shipping_query of a flexible invoice (Telegram states none; the
	// fake takes the pre-checkout deadline).
	ShippingDeadline = PreCheckoutDeadline
	// invoiceLinkPrefix starts every link createInvoiceLink returns.
	invoiceLinkPrefix    = "https://t.me/$"
	maxTransactionsLimit = 100
)

// Errors of [Server.Pay] and of the subscription helpers
// ([Server.RenewSubscription], [Server.SetSubscriptionCanceled]). They are
// the user's side of a failed payment or subscription change; the bot sees
// none of them.
var (
	// ErrUnknownInvoice: the invoice was never issued by this server.
	ErrUnknownInvoice = errors.New("botapitest: unknown invoice")
	// ErrUnknownUser: the user was not created on this server.
	ErrUnknownUser = errors.New("botapitest: unknown user")
	// ErrPreCheckoutTimeout: the bot did not answer the pre_checkout_query
	// within PreCheckoutDeadline, so Telegram cancelled the payment.
	ErrPreCheckoutTimeout = errors.New("botapitest: pre-checkout query not answered in time")
	// ErrPaymentDeclined: the bot answered the pre_checkout_query (or the
	// shipping_query of a flexible invoice) with ok=false. The error is a
	// *DeclinedError carrying its error_message.
	ErrPaymentDeclined = errors.New("botapitest: payment declined by the bot")
	// ErrShippingTimeout: the bot did not answer the shipping_query of a
	// flexible invoice within ShippingDeadline.
	ErrShippingTimeout = errors.New("botapitest: shipping query not answered in time")
	// ErrClosed: the server closed while waiting.
	ErrClosed = errors.New("botapitest: server closed")
	// ErrNoButton: PressButton found no such inline button.
	ErrNoButton = errors.New("botapitest: no such button")
	// ErrUnknownSubscription: no subscription (of this user) is named by
	// that charge id, the telegram_payment_charge_id of its first payment.
	ErrUnknownSubscription = errors.New("botapitest: unknown subscription")
	// ErrSubscriptionCanceled: the subscription's renewal is off, so
	// RenewSubscription ended it instead of charging the user.
	ErrSubscriptionCanceled = errors.New("botapitest: subscription canceled, not renewed")
	// ErrSubscriptionExpired: the subscription already ended.
	ErrSubscriptionExpired = errors.New("botapitest: subscription expired")
	// ErrCanceledByBot: the user cannot re-enable a subscription the bot
	// canceled until the bot allows it (editUserStarSubscription with
	// is_canceled=false).
	ErrCanceledByBot = errors.New("botapitest: subscription canceled by the bot")
)

// DeclinedError is the error [Server.Pay] returns when the bot declines a
// payment; errors.Is(err, ErrPaymentDeclined) holds for it.
type DeclinedError struct {
	// Message is the bot's error_message, as Telegram shows it to the user.
	Message string
}

// Error returns the sentinel's text and the bot's error_message.
func (e *DeclinedError) Error() string { return ErrPaymentDeclined.Error() + ": " + e.Message }

// Is reports whether target is ErrPaymentDeclined.
func (e *DeclinedError) Is(target error) bool { return target == ErrPaymentDeclined }

// LabeledPrice is a portion of an invoice's price, in the currency's
// smallest units (whole Stars for XTR): the Bot API's own type.
type LabeledPrice = botapi.LabeledPrice

// Invoice is an invoice the bot issued, with sendInvoice (ChatID and
// MessageID set) or createInvoiceLink (Link set). Find one with
// [Server.Invoices] or [Server.InvoiceByLink], and pay it with [Server.Pay].
type Invoice struct {
	Link               string         // "https://t.me/$..." for createInvoiceLink
	ChatID             int64          // the chat of a sendInvoice message
	MessageID          int64          // the sendInvoice message
	Title              string         // the product name
	Description        string         // the product description
	Payload            string         // the bot's payload, never shown to the user
	Currency           string         // a three-letter ISO 4217 code, or "XTR" for Stars
	Prices             []LabeledPrice // the price breakdown
	SubscriptionPeriod time.Duration  // 0, or SubscriptionPeriod
	// IsFlexible: the final price depends on the shipping option
	// (is_flexible; ignored for Stars, as Telegram ignores it), so paying
	// sends a shipping_query first.
	IsFlexible bool
}

// TotalAmount is the sum of the invoice's prices.
func (inv Invoice) TotalAmount() int64 {
	var n int64
	for _, p := range inv.Prices {
		n += p.Amount
	}
	return n
}

// Payment is a completed payment, as [Server.Pay] returns it.
type Payment struct {
	User                    User    // the payer
	Invoice                 Invoice // the invoice paid
	Currency                string  // the invoice's currency
	TotalAmount             int64   // in the currency's smallest units
	TelegramPaymentChargeID string  // the id refundStarPayment takes
	ProviderPaymentChargeID string  // the payment provider's id
	// ShippingOptionID is the shipping option the user chose (the first
	// the bot offered) for a flexible invoice; TotalAmount includes its
	// prices.
	ShippingOptionID string
	// ChatID and MessageID name the successful_payment message.
	ChatID    int64
	MessageID int64
	// SubscriptionExpiration is when a subscription paid by this payment
	// ends; zero for a one-off payment.
	SubscriptionExpiration time.Time
	At                     time.Time // when the payment completed, on the server's clock
}

type invoiceInfo struct {
	Title          string `json:"title"`
	Description    string `json:"description"`
	StartParameter string `json:"start_parameter"`
	Currency       string `json:"currency"`
	TotalAmount    int64  `json:"total_amount"`
}

type successfulPayment struct {
	Currency                   string `json:"currency"`
	TotalAmount                int64  `json:"total_amount"`
	InvoicePayload             string `json:"invoice_payload"`
	ShippingOptionID           string `json:"shipping_option_id,omitempty"`
	SubscriptionExpirationDate int64  `json:"subscription_expiration_date,omitempty"`
	IsRecurring                bool   `json:"is_recurring,omitempty"`
	IsFirstRecurring           bool   `json:"is_first_recurring,omitempty"`
	TelegramPaymentChargeID    string `json:"telegram_payment_charge_id"`
	ProviderPaymentChargeID    string `json:"provider_payment_charge_id"`
}

type refundedPayment struct {
	Currency                string `json:"currency"`
	TotalAmount             int64  `json:"total_amount"`
	InvoicePayload          string `json:"invoice_payload"`
	TelegramPaymentChargeID string `json:"telegram_payment_charge_id"`
	ProviderPaymentChargeID string `json:"provider_payment_charge_id,omitempty"`
}

type preCheckoutQuery struct {
	ID               string `json:"id"`
	From             User   `json:"from"`
	Currency         string `json:"currency"`
	TotalAmount      int64  `json:"total_amount"`
	InvoicePayload   string `json:"invoice_payload"`
	ShippingOptionID string `json:"shipping_option_id,omitempty"`
}

type transactionPartner struct {
	Type               string `json:"type"`
	TransactionType    string `json:"transaction_type,omitempty"`
	User               *User  `json:"user,omitempty"`
	InvoicePayload     string `json:"invoice_payload,omitempty"`
	SubscriptionPeriod int64  `json:"subscription_period,omitempty"`
}

type starTransaction struct {
	ID       string              `json:"id"`
	Amount   int64               `json:"amount"`
	Date     int64               `json:"date"`
	Source   *transactionPartner `json:"source,omitempty"`
	Receiver *transactionPartner `json:"receiver,omitempty"`
}

type pcAnswer struct {
	ok   bool
	late bool
	msg  string
	ship chosenShipping // a shipping answer's first option
}

type preCheckout struct {
	created time.Time
	answer  chan pcAnswer // buffered, one answer
}

// chosenShipping is the shipping option a user took: its id and the sum
// of its prices (zero for an invoice that is not flexible).
type chosenShipping struct {
	id     string
	amount int64
}

type charge struct {
	user     User
	inv      *Invoice
	amount   int64
	refunded bool
}

type payments struct {
	invoices     []*Invoice
	byLink       map[string]*Invoice
	preCheckouts map[string]*preCheckout
	shipping     map[string]*preCheckout // shipping queries of flexible invoices, answered alike
	charges      map[string]*charge
	subs         map[string]*Subscription // by the charge id of the first payment
	txns         []starTransaction
	balance      int64
}

func (p *payments) init() {
	p.byLink = map[string]*Invoice{}
	p.preCheckouts = map[string]*preCheckout{}
	p.shipping = map[string]*preCheckout{}
	p.charges = map[string]*charge{}
	p.subs = map[string]*Subscription{}
}

// parseInvoice validates the invoice parameters both methods share.
func parseInvoice(p params) (*Invoice, *apiError) {
	inv := &Invoice{
		Title: p.str("title"), Description: p.str("description"),
		Payload: p.str("payload"), Currency: p.str("currency"),
	}
	if n := textLength(inv.Title); n == 0 || n > maxInvoiceTitle {
		return nil, badRequest("INVOICE_TITLE_INVALID")
	}
	if n := textLength(inv.Description); n == 0 || n > maxInvoiceDescription {
		return nil, badRequest("INVOICE_DESCRIPTION_INVALID")
	}
	if n := len(inv.Payload); n == 0 || n > maxInvoicePayloadBytes {
		return nil, badRequest("INVOICE_PAYLOAD_INVALID")
	}
	if inv.Currency == "" {
		return nil, badRequest("CURRENCY_INVALID")
	}
	if !p.object("prices", &inv.Prices) || len(inv.Prices) == 0 {
		return nil, badRequest("can't parse prices JSON object")
	}
	for _, pr := range inv.Prices {
		if pr.Amount <= 0 {
			return nil, badRequest("CURRENCY_TOTAL_AMOUNT_INVALID")
		}
	}
	if inv.Currency == StarsCurrency {
		// Stars: no provider, exactly one price, no tips.
		if len(inv.Prices) != 1 || p.str("provider_token") != "" || p.has("max_tip_amount") {
			return nil, badRequest("STARS_INVOICE_INVALID")
		}
	} else if p.str("provider_token") == "" {
		return nil, badRequest("PAYMENT_PROVIDER_INVALID")
	} else {
		inv.IsFlexible = p.bool("is_flexible")
	}
	return inv, nil
}

// sendInvoice. Telegram docs: https://core.telegram.org/bots/api#sendinvoice
func sendInvoice(s *Server, c *call) (any, *apiError) {
	ch, err := s.st.sendTo(c.p)
	if err != nil {
		return nil, err
	}
	inv, err := parseInvoice(c.p)
	if err != nil {
		return nil, err
	}
	m, err := s.st.postMessage(ch, c.p)
	if err != nil {
		return nil, err
	}
	m.Invoice = &invoiceInfo{
		Title: inv.Title, Description: inv.Description, StartParameter: c.p.str("start_parameter"),
		Currency: inv.Currency, TotalAmount: inv.TotalAmount(),
	}
	inv.ChatID, inv.MessageID = ch.ID, m.MessageID
	s.st.invoices = append(s.st.invoices, inv)
	s.st.recordSent(c.method, m, c.p)
	return *m, nil
}

// createInvoiceLink. Telegram docs: https://core.telegram.org/bots/api#createinvoicelink
func createInvoiceLink(s *Server, c *call) (any, *apiError) {
	inv, err := parseInvoice(c.p)
	if err != nil {
		return nil, err
	}
	if c.p.has("subscription_period") {
		period, _ := c.p.int64("subscription_period")
		if time.Duration(period)*time.Second != SubscriptionPeriod || inv.Currency != StarsCurrency {
			return nil, badRequest("SUBSCRIPTION_PERIOD_INVALID")
		}
		inv.SubscriptionPeriod = SubscriptionPeriod
	}
	inv.Link = invoiceLinkPrefix + s.st.randomID(22)
	s.st.invoices = append(s.st.invoices, inv)
	s.st.byLink[inv.Link] = inv
	return inv.Link, nil
}

// Invoices returns every invoice the bot issued, oldest first.
func (s *Server) Invoices() []Invoice {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Invoice, 0, len(s.st.invoices))
	for _, inv := range s.st.invoices {
		out = append(out, inv.clone())
	}
	return out
}

// InvoiceByLink returns the invoice behind a createInvoiceLink link.
func (s *Server) InvoiceByLink(link string) (Invoice, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	inv := s.st.byLink[link]
	if inv == nil {
		return Invoice{}, false
	}
	return inv.clone(), true
}

func (inv *Invoice) clone() Invoice {
	c := *inv
	c.Prices = append([]LabeledPrice(nil), inv.Prices...)
	return c
}

// findInvoice looks the server's own copy up: by Link, else by chat and
// message. Callers hold s.mu.
func (st *state) findInvoice(inv Invoice) *Invoice {
	if inv.Link != "" {
		return st.byLink[inv.Link]
	}
	for _, x := range st.invoices {
		if x.Link == "" && x.ChatID == inv.ChatID && x.MessageID == inv.MessageID {
			return x
		}
	}
	return nil
}

// Pay makes user pay invoice as Telegram runs a payment: the bot gets a
// pre_checkout_query update, and Pay waits for its answerPreCheckoutQuery.
// An ok answer within [PreCheckoutDeadline] (on the server's clock)
// completes the payment: the bot gets a message with successful_payment
// (charge id, payload, currency, total and, for a subscription, its
// expiration), the Stars go to the bot's balance and a transaction to
// getStarTransactions. A negative answer fails with a [*DeclinedError]; no
// answer in time, or a late one, fails with [ErrPreCheckoutTimeout].
//
// A flexible invoice ([Invoice].IsFlexible) first sends a shipping_query
// and waits for answerShippingQuery: the user takes the first shipping
// option offered, whose prices are added to the total; a negative answer
// fails with a [*DeclinedError], none within [ShippingDeadline] with
// [ErrShippingTimeout].
//
// The invoice is identified by its Link (from createInvoiceLink) or, if
// Link is empty, by ChatID and MessageID (from sendInvoice); the other
// fields are ignored, as the server pays its own copy. Get one from
// [Server.Invoices] or [Server.InvoiceByLink].
//
// Pay blocks until the bot answers, the deadline passes (on the server's
// clock: [WithVirtualClock], or the time package's timers, fake inside
// testing/synctest), ctx ends or the server closes. The bot must be
// receiving updates meanwhile (getUpdates or a webhook).
//
// When ctx ends first, Pay returns at once with an error wrapping
// ctx.Err() (errors.Is(err, context.Canceled) or
// context.DeadlineExceeded), as a user who closes the payment form: the
// query it waited on is withdrawn, so the bot's answer to it then fails
// with Telegram's "query is too old", nothing is charged and no
// successful_payment follows. The query's update stays queued for the bot,
// as Telegram's does. An answer the bot gave before Pay saw ctx end still
// counts (the bot was told it succeeded). A ctx already ended sends the
// bot nothing. Pay starts no goroutine.
func (s *Server) Pay(ctx context.Context, user User, invoice Invoice) (Payment, error) {
	if err := ctx.Err(); err != nil {
		return Payment{}, payCanceled(err)
	}
	s.mu.Lock()
	inv := s.st.findInvoice(invoice)
	if inv == nil {
		s.mu.Unlock()
		return Payment{}, ErrUnknownInvoice
	}
	u := s.st.users[user.ID]
	if u == nil {
		s.mu.Unlock()
		return Payment{}, ErrUnknownUser
	}
	var ship chosenShipping
	if inv.IsFlexible {
		id := s.st.randomDigits(19)
		sq := &preCheckout{created: s.now(), answer: make(chan pcAnswer, 1)}
		s.st.shipping[id] = sq
		s.st.enqueue("shipping_query", u.ID, shippingQuery{ID: id, From: *u, InvoicePayload: inv.Payload, ShippingAddress: testShippingAddress})
		s.mu.Unlock()
		ans, err := s.waitAnswer(ctx, s.st.shipping, id, sq, ShippingDeadline, ErrShippingTimeout)
		switch {
		case err != nil:
			return Payment{}, err
		case ans.late:
			return Payment{}, ErrShippingTimeout
		case !ans.ok:
			return Payment{}, &DeclinedError{Message: ans.msg}
		}
		ship = ans.ship
		if err := ctx.Err(); err != nil {
			return Payment{}, payCanceled(err) // no pre-checkout query for an abandoned form
		}
		s.mu.Lock()
	}
	id := s.st.randomDigits(19)
	pc := &preCheckout{created: s.now(), answer: make(chan pcAnswer, 1)}
	s.st.preCheckouts[id] = pc
	s.st.enqueue("pre_checkout_query", u.ID, preCheckoutQuery{
		ID: id, From: *u, Currency: inv.Currency, TotalAmount: inv.TotalAmount() + ship.amount, InvoicePayload: inv.Payload,
		ShippingOptionID: ship.id,
	})
	s.mu.Unlock()

	ans, err := s.waitAnswer(ctx, s.st.preCheckouts, id, pc, PreCheckoutDeadline, ErrPreCheckoutTimeout)
	if err != nil {
		return Payment{}, err
	}
	if ans.late {
		return Payment{}, ErrPreCheckoutTimeout
	}
	if !ans.ok {
		return Payment{}, &DeclinedError{Message: ans.msg}
	}
	return s.completePayment(*u, inv, ship), nil
}

// payCanceled is Pay's error when its ctx ends: it wraps the ctx's error,
// so errors.Is(err, context.Canceled) holds for it.
func payCanceled(err error) error {
	return fmt.Errorf("botapitest: payment abandoned: %w", err)
}

// waitAnswer waits for the bot's answer to the query id of pending (its
// pre-checkout or shipping queries). When the wait ends without one (the
// deadline passed: timeout; ctx ended; the server closed), the query is
// withdrawn under the lock, so an answer either arrived before (and
// counts) or finds no query (and fails as too old).
func (s *Server) waitAnswer(ctx context.Context, pending map[string]*preCheckout, id string, pc *preCheckout,
	deadline time.Duration, timeout error) (pcAnswer, error) {
	t, stop := s.clk.timer(deadline)
	defer stop()
	var err error
	select {
	case ans := <-pc.answer:
		return ans, nil
	case <-t:
		err = timeout
	case <-ctx.Done():
		err = payCanceled(ctx.Err())
	case <-s.done:
		err = ErrClosed
	}
	s.mu.Lock()
	delete(pending, id)
	s.mu.Unlock()
	select {
	case ans := <-pc.answer:
		return ans, nil
	default:
		return pcAnswer{}, err
	}
}

func (s *Server) completePayment(u User, inv *Invoice, ship chosenShipping) Payment {
	s.mu.Lock()
	defer s.mu.Unlock()
	var expiration time.Time
	if inv.SubscriptionPeriod > 0 {
		expiration = s.now().Add(inv.SubscriptionPeriod)
	}
	pay := s.st.chargeUser(u, inv, expiration, true, ship)
	if inv.SubscriptionPeriod > 0 {
		s.st.subs[pay.TelegramPaymentChargeID] = &Subscription{
			ChargeID: pay.TelegramPaymentChargeID, User: u, Invoice: inv.clone(), Expiration: expiration,
		}
	}
	return pay
}

// chargeUser completes a payment of inv by u: the successful_payment message,
// the charge, and for Stars the balance and the transaction. A non-zero
// expiration makes it a subscription payment, the first one if first; ship
// is the shipping option of a flexible invoice. Callers hold s.mu.
func (st *state) chargeUser(u User, inv *Invoice, expiration time.Time, first bool, ship chosenShipping) Payment {
	now := st.s.now()
	chargeID := "stxtest" + st.randomID(40)
	ch := st.chats[u.ID]
	if inv.Link == "" {
		if c := st.chats[inv.ChatID]; c != nil {
			ch = c
		}
	}
	total := inv.TotalAmount() + ship.amount
	sp := &successfulPayment{
		Currency: inv.Currency, TotalAmount: total, InvoicePayload: inv.Payload,
		ShippingOptionID: ship.id, TelegramPaymentChargeID: chargeID,
	}
	pay := Payment{
		User: u, Invoice: inv.clone(), Currency: inv.Currency, TotalAmount: total,
		ShippingOptionID: ship.id, TelegramPaymentChargeID: chargeID, ChatID: ch.ID, At: now,
	}
	if inv.Currency != StarsCurrency {
		sp.ProviderPaymentChargeID = "prov_" + st.randomID(24)
		pay.ProviderPaymentChargeID = sp.ProviderPaymentChargeID
	}
	if !expiration.IsZero() {
		pay.SubscriptionExpiration = expiration
		sp.SubscriptionExpirationDate = expiration.Unix()
		sp.IsRecurring, sp.IsFirstRecurring = true, first
	}
	user := u
	m := st.newMessage(ch, &user)
	m.SuccessfulPayment = sp
	pay.MessageID = m.MessageID
	st.enqueue("message", m.Chat.ID, *m)
	st.charges[chargeID] = &charge{user: u, inv: inv, amount: total}
	if inv.Currency == StarsCurrency {
		st.balance += inv.TotalAmount()
		st.txns = append(st.txns, starTransaction{
			ID: chargeID, Amount: inv.TotalAmount(), Date: now.Unix(),
			Source: &transactionPartner{
				Type: "user", TransactionType: "invoice_payment", User: &user,
				InvoicePayload: inv.Payload, SubscriptionPeriod: int64(inv.SubscriptionPeriod / time.Second),
			},
		})
	}
	return pay
}

// answerPreCheckoutQuery. Telegram docs: https://core.telegram.org/bots/api#answerprecheckoutquery
func answerPreCheckoutQuery(s *Server, c *call) (any, *apiError) {
	// Client::process_answer_pre_checkout_query_query checks its
	// parameters before Telegram looks the query up: ok is to_bool("ok"),
	// so a missing ok is false, and then error_message is required.
	ok := c.p.bool("ok")
	msg := c.p.str("error_message")
	if !ok && msg == "" {
		return nil, errParamRequired("error_message")
	}
	id := c.p.str("pre_checkout_query_id")
	pc := s.st.preCheckouts[id]
	if pc == nil {
		return nil, errQueryTooOld
	}
	delete(s.st.preCheckouts, id)
	if s.now().Sub(pc.created) > PreCheckoutDeadline {
		pc.answer <- pcAnswer{late: true}
		return nil, errQueryTooOld
	}
	pc.answer <- pcAnswer{ok: ok, msg: msg}
	return true, nil
}

// refundStarPayment. Telegram docs: https://core.telegram.org/bots/api#refundstarpayment
func refundStarPayment(s *Server, c *call) (any, *apiError) {
	uid, _ := c.p.int64("user_id")
	u := s.st.users[uid]
	if u == nil {
		return nil, errUserNotFound
	}
	id := c.p.str("telegram_payment_charge_id")
	ch := s.st.charges[id]
	if ch == nil || ch.user.ID != uid || ch.inv.Currency != StarsCurrency {
		return nil, badRequest("CHARGE_NOT_FOUND")
	}
	if ch.refunded {
		return nil, badRequest("CHARGE_ALREADY_REFUNDED")
	}
	if s.st.balance < ch.amount {
		return nil, badRequest("BALANCE_TOO_LOW")
	}
	ch.refunded = true
	s.st.balance -= ch.amount
	now := s.now()
	user := *u
	s.st.txns = append(s.st.txns, starTransaction{
		ID: id, Amount: ch.amount, Date: now.Unix(),
		Receiver: &transactionPartner{Type: "user", TransactionType: "invoice_payment", User: &user, InvoicePayload: ch.inv.Payload},
	})
	if chat := s.st.chats[uid]; chat != nil {
		m := s.st.newMessage(chat, &user)
		m.RefundedPayment = &refundedPayment{
			Currency: StarsCurrency, TotalAmount: ch.amount, InvoicePayload: ch.inv.Payload,
			TelegramPaymentChargeID: id,
		}
		s.st.enqueue("message", m.Chat.ID, *m)
	}
	return true, nil
}

// getStarTransactions. Telegram docs: https://core.telegram.org/bots/api#getstartransactions
func getStarTransactions(s *Server, c *call) (any, *apiError) {
	offset := max(c.p.intOr("offset", 0), 0)
	limit := min(max(c.p.intOr("limit", maxTransactionsLimit), 1), maxTransactionsLimit)
	out := []starTransaction{}
	if offset < len(s.st.txns) {
		out = append(out, s.st.txns[offset:min(offset+limit, len(s.st.txns))]...)
	}
	return map[string]any{"transactions": out}, nil
}

// getMyStarBalance. Telegram docs: https://core.telegram.org/bots/api#getmystarbalance
func getMyStarBalance(s *Server, _ *call) (any, *apiError) {
	return map[string]int64{"amount": s.st.balance}, nil
}

// StarBalance returns the bot's balance in Stars.
func (s *Server) StarBalance() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.balance
}
