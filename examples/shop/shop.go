package main

import (
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"github.com/miniappkit/miniappkit/botapi"
	"github.com/miniappkit/miniappkit/botapi/router"
	"github.com/miniappkit/miniappkit/initdata"
	"github.com/miniappkit/miniappkit/internal/httpjson"
	"github.com/miniappkit/miniappkit/payments"
	"github.com/miniappkit/miniappkit/problem"
	"github.com/miniappkit/miniappkit/ratelimit"
	"github.com/miniappkit/miniappkit/webhook"
)

// Limits of the shop's own endpoints.
const (
	maxOrderBody = 1 << 10       // POST /api/orders body: {"product_id":"..."}
	orderExpiry  = 1 * time.Hour // an invoice is payable for this long
	webhookPath  = "/telegram/webhook"

	// Inbound limit per user on /api/: a steady 10 requests a second with
	// bursts of 20 (the page polls its orders a few times after paying).
	apiRate  = rate.Limit(10)
	apiBurst = 20

	// claimTTL is how long a fulfilment may hold its payment: a fulfilment
	// is two SQL statements, so a process killed in the middle of one holds
	// the payment up for this long before RetryPending takes it over.
	claimTTL = 15 * time.Second
	// reservationTTL is how long a pre-checkout holds its order against a
	// second one: Telegram wants the answer within 10 s and charges right
	// after it. A process killed after reserving holds the order up for
	// this long; a charge that still comes later is a duplicate, refunded.
	reservationTTL = 15 * time.Second
	// idempotencyLease is how long POST /api/orders owns its
	// Idempotency-Key while it runs (one createInvoiceLink): a retry after a
	// crash runs again once it has passed, and gets 409 before.
	idempotencyLease = 10 * time.Second
)

// shop is the backend: the Mini App's API, the Telegram update handler and
// the payment flow. It is safe for concurrent use.
type shop struct {
	log       *slog.Logger
	bot       *botapi.Client
	validator *initdata.Validator
	limiter   *ratelimit.Keyed // per user, on /api/
	// idempotency keeps POST /api/orders answers for retries.
	idempotency webhook.Store
	orders      *orderBook
	outbox      *outbox
	codec       *payments.Codec
	payments    *payments.Handler
	appURL      string // the page's public address, for the /start button and menu button
	now         func() time.Time
	updates     *router.Router // HandleUpdate's dispatch
	// telegramDown reports whether Telegram is taken to be unreachable
	// (the client's circuit breaker is open); nil means never.
	telegramDown func() bool
}

// newShop wires the payment flow: codec (signed payloads), ledger
// (exactly-once fulfilment, one charge per order) and the shop's own
// check, fulfil and refund callbacks, on st.
func newShop(log *slog.Logger, bot *botapi.Client, botToken string, st *state, payloadKey []byte, appURL string, now func() time.Time, opts ...payments.Option) (*shop, error) {
	codec, err := payments.NewCodec(payments.Key{ID: 1, Secret: payloadKey})
	if err != nil {
		return nil, err
	}
	s := &shop{
		log:         log,
		bot:         bot,
		validator:   initdata.NewValidator(botToken, initdata.WithClock(now)),
		limiter:     ratelimit.NewKeyed(apiRate, apiBurst, ratelimit.WithClock(now)),
		idempotency: st.idempotency,
		orders:      &orderBook{db: st.db},
		outbox:      newOutbox(st.db, bot, log),
		codec:       codec,
		appURL:      appURL,
		now:         now,
	}
	s.payments, err = payments.NewHandler(bot, codec, st.ledger, s.fulfil, append([]payments.Option{
		payments.WithCheck(s.check), payments.WithRefundHook(s.refunded),
		payments.WithClaimTTL(claimTTL), payments.WithReservationTTL(reservationTTL), payments.WithClock(now), payments.WithLogger(log),
	}, opts...)...)
	if err != nil {
		return nil, err
	}
	s.updates = s.newRouter()
	return s, nil
}

// health is the answer of GET /healthz.
type health struct {
	Status   string `json:"status"`             // "ok" or "degraded"
	Telegram string `json:"telegram,omitempty"` // "unreachable" while the breaker is open
}

// routes returns the shop's HTTP handler: the page, the API behind the
// initdata middleware, and /healthz. The Telegram webhook and the embedded
// default's routes are added by the caller.
func (s *shop) routes(mux *http.ServeMux) {
	mux.Handle("/", staticFiles(http.FileServerFS(webRoot)))
	// 200 either way: the shop keeps serving its catalogue and its users'
	// orders while Telegram is unreachable, and a load balancer must not
	// take every replica out for it; the body names what is degraded.
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		h := health{Status: "ok"}
		if s.telegramDown != nil && s.telegramDown() {
			h = health{Status: "degraded", Telegram: "unreachable"}
		}
		w.Header().Set("Cache-Control", "no-store")
		writeJSON(w, http.StatusOK, h)
	})

	api := http.NewServeMux()
	api.HandleFunc("GET /api/me", s.handleMe)
	api.HandleFunc("GET /api/products", s.handleProducts)
	api.HandleFunc("GET /api/orders", s.handleOrders)
	api.HandleFunc("POST /api/orders/{id}/refund", s.handleRefund)
	// A retried POST (same Idempotency-Key, same user) gets the first
	// answer back, byte for byte: one order, one invoice.
	idempotent, err := webhook.Idempotency(s.idempotency, webhook.IdempotencyOptions{
		Required: true,
		Scope:    userScope,
		Lease:    idempotencyLease,
		Logger:   s.log,
	})
	if err != nil {
		panic(err) // constant options: a programmer error
	}
	api.Handle("POST /api/orders", idempotent(http.HandlerFunc(s.handleCreateOrder)))
	mux.Handle("/api/", s.protect(httpjson.Problems(api)))
}

// staticFiles serves the page's files to GET and HEAD only; anything else,
// and a file that does not exist, gets a problem+json answer.
func staticFiles(files http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			problem.Error(w, http.StatusMethodNotAllowed, "")
			return
		}
		name := strings.TrimPrefix(r.URL.Path, "/")
		if name == "" {
			name = "index.html"
		}
		if _, err := fs.Stat(webRoot, name); err != nil {
			problem.Error(w, http.StatusNotFound, "")
			return
		}
		files.ServeHTTP(w, r)
	})
}

// protect puts the initdata middleware, then the per-user rate limit, in
// front of h: a request without valid init data never reaches the limiter
// (401), and one over its user's limit never reaches h (429, Retry-After).
func (s *shop) protect(h http.Handler) http.Handler {
	limited := ratelimit.Middleware(s.limiter, ratelimit.KeyByUser(ratelimit.KeyByIP()))(h)
	return initdata.Middleware(s.validator, initdata.WithLogger(s.log))(limited)
}

// userScope scopes Idempotency-Keys to the request's user, so two users'
// equal keys never meet.
func userScope(r *http.Request) string {
	if u, ok := user(r); ok {
		return strconv.FormatInt(u.ID, 10)
	}
	return ""
}

// user returns the Mini App user of an authenticated request.
func user(r *http.Request) (*initdata.User, bool) {
	d, ok := initdata.FromContext(r.Context())
	if !ok || d.User == nil {
		return nil, false
	}
	return d.User, true
}

func (s *shop) handleMe(w http.ResponseWriter, r *http.Request) {
	u, ok := user(r)
	if !ok {
		writeError(w, http.StatusForbidden, "init data carries no user")
		return
	}
	writeJSON(w, http.StatusOK, u)
}

func (s *shop) handleProducts(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, catalog)
}

func (s *shop) handleOrders(w http.ResponseWriter, r *http.Request) {
	u, ok := user(r)
	if !ok {
		writeError(w, http.StatusForbidden, "init data carries no user")
		return
	}
	orders, err := s.orders.listBy(r.Context(), u.ID, statusPaid)
	if err != nil {
		s.log.Error("list orders", "user", u.ID, "err", err)
		writeError(w, http.StatusServiceUnavailable, "orders unavailable; try again")
		return
	}
	writeJSON(w, http.StatusOK, orders)
}

// refundResponse is the answer to POST /api/orders/{id}/refund.
type refundResponse struct {
	OrderID string `json:"order_id"`
	Status  string `json:"status"` // "refunded"
}

// handleRefund refunds a paid order to its buyer (refundStarPayment).
// Refunding twice is harmless: the second call answers the same.
func (s *shop) handleRefund(w http.ResponseWriter, r *http.Request) {
	u, ok := user(r)
	if !ok {
		writeError(w, http.StatusForbidden, "init data carries no user")
		return
	}
	o, err := s.orders.get(r.Context(), r.PathValue("id"))
	switch {
	case errors.Is(err, errOrderNotFound) || (err == nil && o.UserID != u.ID):
		writeError(w, http.StatusNotFound, "no such order")
		return
	case err != nil:
		s.log.Error("get order", "order", r.PathValue("id"), "err", err)
		writeError(w, http.StatusServiceUnavailable, "orders unavailable; try again")
		return
	case o.ChargeID == "":
		writeError(w, http.StatusConflict, "the order is not paid")
		return
	}
	if err := s.payments.Refund(r.Context(), u.ID, o.ChargeID); err != nil {
		s.log.Error("refund", "order", o.ID, "charge", o.ChargeID, "err", err)
		writeError(w, http.StatusBadGateway, "Telegram did not refund the order; try again")
		return
	}
	s.log.Info("order refunded", "order", o.ID, "user", u.ID, "charge", o.ChargeID)
	writeJSON(w, http.StatusOK, refundResponse{OrderID: o.ID, Status: statusRefunded})
}

// createOrderResponse is the answer to POST /api/orders.
type createOrderResponse struct {
	OrderID     string `json:"order_id"`
	InvoiceLink string `json:"invoice_link"`
}

// handleCreateOrder creates an order and a Stars invoice link whose payload
// is the signed order: bound to the buyer, the product, the price and an
// expiry, so pre-checkout rejects anything forged, altered, expired or paid
// by someone else.
func (s *shop) handleCreateOrder(w http.ResponseWriter, r *http.Request) {
	u, ok := user(r)
	if !ok {
		writeError(w, http.StatusForbidden, "init data carries no user")
		return
	}
	var req struct {
		ProductID string `json:"product_id"`
	}
	if !httpjson.Decode(w, r, maxOrderBody, &req) {
		return
	}
	p, ok := productByID(req.ProductID)
	if !ok {
		writeError(w, http.StatusBadRequest, "unknown product")
		return
	}
	now := s.now()
	o, err := s.orders.create(r.Context(), u.ID, p, now)
	if err != nil {
		s.log.Error("create order", "user", u.ID, "err", err)
		writeError(w, http.StatusServiceUnavailable, "could not create the order; try again")
		return
	}
	payload, err := s.codec.Encode(payments.Order{
		Ref: o.ID, UserID: u.ID, Product: p.ID,
		Currency: payments.XTR, Amount: p.Stars, Expires: now.Add(orderExpiry),
	})
	if err != nil {
		s.log.Error("encode payload", "order", o.ID, "err", err)
		writeError(w, http.StatusInternalServerError, "could not create the invoice")
		return
	}
	params, err := payments.StarsInvoice(p.Title, p.Description, payload, p.Stars).LinkParams()
	if err != nil {
		s.log.Error("invoice", "order", o.ID, "err", err)
		writeError(w, http.StatusInternalServerError, "could not create the invoice")
		return
	}
	link, err := s.bot.CreateInvoiceLink(r.Context(), params)
	if err != nil {
		s.log.Error("createInvoiceLink", "order", o.ID, "err", err)
		writeError(w, http.StatusBadGateway, "Telegram did not create the invoice; try again")
		return
	}
	s.log.Info("order created", "order", o.ID, "user", u.ID, "product", p.ID, "stars", p.Stars)
	writeJSON(w, http.StatusCreated, createOrderResponse{OrderID: o.ID, InvoiceLink: link})
}

// writeError is every error answer of the API: an RFC 9457 problem whose
// detail is short and says nothing internal.
func writeError(w http.ResponseWriter, status int, detail string) {
	w.Header().Set("Cache-Control", "no-store")
	problem.Error(w, status, detail)
}

func writeJSON(w http.ResponseWriter, status int, v any) { httpjson.Write(w, status, v) }
