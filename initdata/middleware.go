package initdata

import (
	"context"
	"net/http"
	"strings"
)

// AuthScheme is the Authorization scheme the middleware reads:
// "Authorization: tma <initData>", the convention of the Mini Apps community.
const AuthScheme = "tma"

// unauthorizedBody is the whole answer to a rejected request: it says
// nothing about why, so it helps no attacker.
const unauthorizedBody = `{"error":"unauthorized"}` + "\n"

// Middleware returns HTTP middleware that validates the init data of each
// request with v and passes the typed result to the next handler in the
// request's context (see [FromContext]).
//
// It reads the header "Authorization: tma <initData>" (the scheme is matched
// case-insensitively). A request without it, or whose init data fails
// [Validator.Validate], gets 401 with WWW-Authenticate: tma and the body
// {"error":"unauthorized"}, and never reaches next. It trusts nothing but
// the validated init data. Panics if v is nil.
func Middleware(v *Validator) func(http.Handler) http.Handler {
	if v == nil {
		panic("initdata: Middleware called with a nil Validator")
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			raw, ok := fromAuthorization(r.Header.Get("Authorization"))
			if !ok {
				unauthorized(w)
				return
			}
			d, err := v.Validate(raw)
			if err != nil {
				unauthorized(w)
				return
			}
			next.ServeHTTP(w, r.WithContext(NewContext(r.Context(), d)))
		})
	}
}

// fromAuthorization returns the init data of an Authorization header value.
func fromAuthorization(h string) (string, bool) {
	scheme, rest, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, AuthScheme) {
		return "", false
	}
	rest = strings.TrimLeft(rest, " ")
	return rest, rest != ""
}

func unauthorized(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("WWW-Authenticate", AuthScheme)
	w.WriteHeader(http.StatusUnauthorized)
	_, _ = w.Write([]byte(unauthorizedBody))
}

type contextKey struct{ name string }

func (k *contextKey) String() string { return "initdata context key " + k.name }

var initDataKey = &contextKey{"initdata"}

// NewContext returns a copy of ctx that carries d, for [FromContext].
// [Middleware] calls it; call it yourself in tests of handlers.
func NewContext(ctx context.Context, d InitData) context.Context {
	return context.WithValue(ctx, initDataKey, &d)
}

// FromContext returns the init data stored by [NewContext] (and so by
// [Middleware]), and whether there was any.
func FromContext(ctx context.Context) (InitData, bool) {
	d, ok := ctx.Value(initDataKey).(*InitData)
	if !ok || d == nil {
		return InitData{}, false
	}
	return *d, true
}
