package initdata

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/miniappkit/miniappkit/problem"
)

// AuthScheme is the Authorization scheme the middleware reads:
// "Authorization: tma <initData>", the convention of the Mini Apps community.
const AuthScheme = "tma"

// Errors only [Middleware] reports (to its logger and to the handler set
// with [WithErrorHandler]); [Validate] never returns them.
var (
	// ErrMissing reports a request without init data: no Authorization
	// header, another scheme than [AuthScheme], or nothing after it.
	ErrMissing = errors.New("initdata: missing")

	// ErrUserMissing reports valid init data that names no user, rejected
	// because of [WithRequireUser].
	ErrUserMissing = errors.New("initdata: user missing")
)

// Public reasons of a rejection, as [PublicReason] and the default 401 body
// state them. They tell the client what to do (sign in again, reopen the
// Mini App) and nothing an attacker does not already know.
const (
	ReasonMissing = "missing" // no init data: send "Authorization: tma <initData>"
	ReasonExpired = "expired" // too old: reopen the Mini App for fresh init data
	ReasonInvalid = "invalid" // anything else: malformed, wrong hash, no user
)

// PublicReason maps a rejection error of [Middleware] to the public reason
// its default answer gives: [ReasonMissing] for [ErrMissing],
// [ReasonExpired] for [ErrExpired], [ReasonInvalid] for anything else.
func PublicReason(err error) string {
	switch {
	case errors.Is(err, ErrMissing):
		return ReasonMissing
	case errors.Is(err, ErrExpired):
		return ReasonExpired
	}
	return ReasonInvalid
}

// details is the detail text of each public reason.
var details = map[string]string{
	ReasonMissing: `no init data: send "Authorization: tma <Telegram.WebApp.initData>"`,
	ReasonExpired: "init data expired: reopen the Mini App",
	ReasonInvalid: "init data invalid",
}

// DefaultErrorHandler is how [Middleware] answers a rejected request unless
// [WithErrorHandler] says otherwise: 401 Unauthorized with
// WWW-Authenticate: tma, Cache-Control: no-store and an RFC 9457 problem
// body whose "reason" member is the [PublicReason] of err, for example
//
//	{"type":"about:blank","title":"Unauthorized","status":401,"detail":"init data expired: reopen the Mini App","reason":"expired"}
func DefaultErrorHandler(w http.ResponseWriter, r *http.Request, err error) {
	reason := PublicReason(err)
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("WWW-Authenticate", AuthScheme)
	problem.Write(w, problem.Details{
		Status:     http.StatusUnauthorized,
		Detail:     details[reason],
		Extensions: map[string]any{"reason": reason},
	})
}

// MiddlewareOption configures [Middleware].
type MiddlewareOption func(*middlewareOptions)

type middlewareOptions struct {
	onError     func(http.ResponseWriter, *http.Request, error)
	requireUser bool
	log         *slog.Logger
}

// WithErrorHandler sets the function that answers a rejected request in
// place of [DefaultErrorHandler]. err wraps [ErrMissing], [ErrUserMissing]
// or one of the errors of [Validator.Validate], for errors.Is; it never
// holds the init data. Middleware panics if f is nil.
func WithErrorHandler(f func(w http.ResponseWriter, r *http.Request, err error)) MiddlewareOption {
	return func(o *middlewareOptions) {
		if f == nil {
			panic("initdata: WithErrorHandler(nil)")
		}
		o.onError = f
	}
}

// WithRequireUser rejects valid init data that names no user (as Telegram
// sends when a Mini App is opened from an inline button, for one) with
// [ErrUserMissing], so handlers behind the middleware can rely on
// InitData.User being set. By default such init data is let through;
// [InitData.UserID] then reports false.
func WithRequireUser() MiddlewareOption {
	return func(o *middlewareOptions) { o.requireUser = true }
}

// WithLogger sets the logger the middleware reports rejections to: at
// Debug a missing header or expired init data (how long past its maximum
// age), at Warn init data that fails validation (which rule, or a wrong
// hash: another bot's token or altered data). Log lines never hold the
// init data, the token or the user. The default (and nil) is silent.
func WithLogger(l *slog.Logger) MiddlewareOption {
	return func(o *middlewareOptions) { o.log = l }
}

// Middleware returns HTTP middleware that validates the init data of each
// request with v and passes the typed result to the next handler in the
// request's context (see [FromContext]).
//
// It reads the header "Authorization: tma <initData>" (the scheme is matched
// case-insensitively). A request without it, or whose init data fails
// [Validator.Validate] (or names no user, with [WithRequireUser]), never
// reaches next: it is answered by [DefaultErrorHandler] (401 with a
// problem+json body naming the public reason) or the handler set with
// [WithErrorHandler], and logged (see [WithLogger]). It trusts nothing but
// the validated init data. Panics if v is nil.
func Middleware(v *Validator, opts ...MiddlewareOption) func(http.Handler) http.Handler {
	if v == nil {
		panic("initdata: Middleware called with a nil Validator")
	}
	o := middlewareOptions{onError: DefaultErrorHandler}
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	if o.log == nil {
		o.log = slog.New(slog.DiscardHandler)
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			raw, ok := fromAuthorization(r.Header.Get("Authorization"))
			if !ok {
				o.reject(w, r, v, "", ErrMissing)
				return
			}
			d, err := v.Validate(raw)
			if err == nil && o.requireUser && d.User == nil {
				err = ErrUserMissing
			}
			if err != nil {
				o.reject(w, r, v, raw, err)
				return
			}
			next.ServeHTTP(w, r.WithContext(NewContext(r.Context(), d)))
		})
	}
}

// reject logs why a request was turned away and answers it. The log line
// holds the error (static text, never the data) and, for expired init
// data, how long past its maximum age it is.
func (o *middlewareOptions) reject(w http.ResponseWriter, r *http.Request, v *Validator, raw string, err error) {
	ctx := r.Context()
	switch {
	case errors.Is(err, ErrMissing):
		o.log.DebugContext(ctx, "initdata: request rejected", "reason", ReasonMissing, "method", r.Method, "path", r.URL.Path)
	case errors.Is(err, ErrExpired):
		attrs := []any{"reason", ReasonExpired, "error", err.Error(), "method", r.Method, "path", r.URL.Path}
		if d, perr := Parse(raw); perr == nil && !d.AuthDate.IsZero() && v.opts.maxAge > 0 {
			late := v.opts.now().Sub(d.AuthDate) - v.opts.maxAge
			attrs = append(attrs, "expired_by", late.Truncate(time.Second))
		}
		o.log.DebugContext(ctx, "initdata: request rejected", attrs...)
	default:
		o.log.WarnContext(ctx, "initdata: request rejected", "reason", PublicReason(err), "error", err.Error(), "method", r.Method, "path", r.URL.Path)
	}
	o.onError(w, r, err)
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
