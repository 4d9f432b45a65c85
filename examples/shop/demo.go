package main

import (
	"errors"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"

	"github.com/miniappkit/miniappkit/botapi"
	"github.com/miniappkit/miniappkit/botapi/botapitest"
	"github.com/miniappkit/miniappkit/internal/httpjson"
)

// demo is the embedded default: a fake Telegram (botapitest) in process and
// a demo user, so the shop runs end to end with no token and no network.
type demo struct {
	log  *slog.Logger
	fake *botapitest.Server
	user botapi.User

	mu     sync.Mutex
	outage func() // removes the fault of POST /demo/outage; nil when none
}

// newDemo starts the fake Telegram and creates the demo user.
func newDemo(log *slog.Logger) *demo {
	// A fresh seed per start: the fake makes up charge ids and invoice
	// links from it, and the ledger, which outlives the process, must not
	// see the last run's charge ids again.
	fake := botapitest.NewServer(botapitest.WithBotUsername("star_shop_demo_bot"), botapitest.WithSeed(rand.Uint64()))
	u := fake.AddUser(botapi.User{FirstName: "Ada", LastName: "Lovelace", Username: "ada", LanguageCode: "en"})
	return &demo{log: log, fake: fake, user: u}
}

// client returns a Bot API client pointed at the fake.
func (d *demo) client(opts ...botapi.Option) *botapi.Client {
	opts = append([]botapi.Option{botapi.WithBaseURL(d.fake.URL()), botapi.WithHTTPClient(d.fake.HTTPClient())}, opts...)
	return botapi.New(d.fake.Token(), opts...)
}

// userName is how the page shows the demo user.
func (d *demo) userName() string {
	return strings.TrimSpace(d.user.FirstName + " " + d.user.LastName)
}

// routes adds the stand-in's routes: GET /demo/session gives the page the
// demo user's signed init data (what Telegram would give it), and POST
// /demo/pay makes the fake Telegram pay an invoice as that user. Neither
// exists when the shop runs with a real token, and run refuses to serve
// them on an address other than loopback unless -public-demo says so:
// /demo/session signs anyone in as the demo user.
func (d *demo) routes(mux *http.ServeMux, s *shop) {
	mux.HandleFunc("GET /demo/session", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"init_data": d.fake.OpenMiniApp(d.user)})
	})
	mux.Handle("POST /demo/pay", s.protect(http.HandlerFunc(d.handlePay)))
	mux.Handle("POST /demo/outage", s.protect(http.HandlerFunc(d.handleOutage)))
}

// handleOutage makes the fake Telegram unreachable ({"down":true}: every
// call answers a proxy's 502 page) or reachable again ({"down":false}), to
// see the shop degrade and catch up.
func (d *demo) handleOutage(w http.ResponseWriter, r *http.Request) {
	if u, ok := user(r); !ok || u.ID != d.user.ID {
		writeError(w, http.StatusForbidden, "only the demo user controls the embedded default")
		return
	}
	var req struct {
		Down bool `json:"down"`
	}
	if !httpjson.Decode(w, r, maxOrderBody, &req) {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case req.Down && d.outage == nil:
		d.outage = d.fake.AddFault(botapitest.FaultRule{Fault: botapitest.Fault{Kind: botapitest.FaultBadGateway}})
		d.log.Warn("demo: the fake Telegram is down")
	case !req.Down && d.outage != nil:
		d.outage()
		d.outage = nil
		d.log.Info("demo: the fake Telegram is back")
	}
	writeJSON(w, http.StatusOK, req)
}

// payResponse is the answer to POST /demo/pay: Telegram's invoice status as
// openInvoice reports it ("paid" or "failed"), and why it failed.
type payResponse struct {
	Status  string `json:"status"`
	Message string `json:"message,omitempty"`
}

// handlePay pays an invoice link on the fake Telegram as the demo user. The
// fake runs Telegram's flow: a pre_checkout_query to the shop, the shop's
// answer, then a successful_payment message to the shop.
func (d *demo) handlePay(w http.ResponseWriter, r *http.Request) {
	u, ok := user(r)
	if !ok || u.ID != d.user.ID {
		writeError(w, http.StatusForbidden, "only the demo user pays on the embedded default")
		return
	}
	var req struct {
		InvoiceLink string `json:"invoice_link"`
	}
	if !httpjson.Decode(w, r, maxOrderBody, &req) {
		return
	}
	inv, ok := d.fake.InvoiceByLink(req.InvoiceLink)
	if !ok {
		writeError(w, http.StatusNotFound, "unknown invoice")
		return
	}
	p, err := d.fake.Pay(r.Context(), d.user, inv)
	var declined *botapitest.DeclinedError
	switch {
	case errors.As(err, &declined):
		writeJSON(w, http.StatusOK, payResponse{Status: "failed", Message: declined.Message})
	case err != nil:
		d.log.Warn("demo payment failed", "err", err)
		writeJSON(w, http.StatusOK, payResponse{Status: "failed", Message: "The payment did not go through."})
	default:
		d.log.Info("demo payment made by the fake Telegram", "user", d.user.ID, "stars", p.TotalAmount)
		writeJSON(w, http.StatusOK, payResponse{Status: "paid"})
	}
}

// demoNamespace is the webhook's namespace of update ids on the embedded
// default: the in-process fake Telegram starts its update ids at the same
// number at every start, where Telegram's go on, so each run's ids are kept
// apart from the last run's (which the durable store still holds as
// handled).
func demoNamespace() string { return "demo-" + newOrderID() }
