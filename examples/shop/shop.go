package main

import (
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

	// idempotencyCapacity bounds the Idempotency-Key answers kept (24 h).
	idempotencyCapacity = 100_000
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
	codec       *payments.Codec
	payments    *payments.Handler
	appURL      string // the page's public address, for the /start button and menu button
	now         func() time.Time
	updates     *router.Router // HandleUpdate's dispatch
}

// newShop wires the payment flow: codec (signed payloads), ledger
// (exactly-once fulfilment) and the shop's own check and fulfil callbacks.
func newShop(log *slog.Logger, bot *botapi.Client, botToken string, payloadKey []byte, appURL string, now func() time.Time) (*shop, error) {
	codec, err := payments.NewCodec(payments.Key{ID: 1, Secret: payloadKey})
	if err != nil {
		return nil, err
	}
	s := &shop{
		log:         log,
		bot:         bot,
		validator:   initdata.NewValidator(botToken, initdata.WithClock(now)),
		limiter:     ratelimit.NewKeyed(apiRate, apiBurst, ratelimit.WithClock(now)),
		idempotency: webhook.NewMemoryStore(idempotencyCapacity),
		orders:      newOrderBook(),
		codec:       codec,
		appURL:      appURL,
		now:         now,
	}
	s.payments, err = payments.NewHandler(bot, codec, payments.NewMemoryLedger(), s.fulfil,
		payments.WithCheck(s.check), payments.WithClock(now), payments.WithLogger(log))
	if err != nil {
		return nil, err
	}
	s.updates = s.newRouter()
	return s, nil
}

// routes returns the shop's HTTP handler: the page, the API behind the
// initdata middleware, and /healthz. The Telegram webhook and the embedded
// default's routes are added by the caller.
func (s *shop) routes(mux *http.ServeMux) {
	mux.Handle("/", staticFiles(http.FileServerFS(webRoot)))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})

	api := http.NewServeMux()
	api.HandleFunc("GET /api/me", s.handleMe)
	api.HandleFunc("GET /api/products", s.handleProducts)
	api.HandleFunc("GET /api/orders", s.handleOrders)
	// A retried POST (same Idempotency-Key, same user) gets the first
	// answer back, byte for byte: one order, one invoice.
	idempotent := webhook.Idempotency(s.idempotency, webhook.IdempotencyOptions{
		Required: true,
		Scope:    userScope,
		Logger:   s.log,
	})
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
	writeJSON(w, http.StatusOK, s.orders.paidBy(u.ID))
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
	o := s.orders.create(u.ID, p, now)
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
