package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/miniappkit/miniappkit/initdata"
)

// FuzzCreateOrder feeds arbitrary bodies to POST /api/orders (the page's
// untrusted input, after init data validation): the handler never panics,
// answers 201 only for a known product (with an invoice link) and 400
// otherwise, never a 5xx. Run it with
//
//	go test -run '^$' -fuzz FuzzCreateOrder -fuzztime 10s ./examples/shop
func FuzzCreateOrder(f *testing.F) {
	for _, seed := range []string{
		`{"product_id":"theme"}`, `{"product_id":"nope"}`, `{}`, `null`, `[]`, ``,
		`{"product_id":"theme","extra":1}`, `{"product_id":1}`, `{"product_id":"theme"}{"x":1}`,
		`{"product_id":"` + strings.Repeat("a", 2000) + `"}`,
	} {
		f.Add(seed)
	}
	e := setup(f)
	ctx := initdata.NewContext(f.Context(), initdata.InitData{User: &initdata.User{ID: e.user.ID, FirstName: "Ada"}})
	f.Fuzz(func(t *testing.T, body string) {
		if len(body) > 4<<10 {
			return
		}
		req := httptest.NewRequestWithContext(ctx, http.MethodPost, "/api/orders", strings.NewReader(body))
		rec := httptest.NewRecorder()
		e.shop.handleCreateOrder(rec, req)
		switch rec.Code {
		case http.StatusCreated:
			if !strings.Contains(rec.Body.String(), `"invoice_link":"https://t.me/$`) {
				t.Fatalf("201 without an invoice link: %s", rec.Body)
			}
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
			if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
				t.Fatalf("body %q: error answered as %q", body, ct)
			}
		default:
			t.Fatalf("body %q: status %d: %s", body, rec.Code, rec.Body)
		}
	})
}
