package router

import (
	"context"
	"sync"

	"github.com/miniappkit/miniappkit/botapi"
)

// Handler handles one update. An error means the update was not handled
// (webhook.Handler then answers 5xx, and Telegram delivers it again).
// Implementations must be safe for concurrent use. The method set is
// webhook.UpdateHandler's, so a Handler is one by shape.
type Handler interface {
	HandleUpdate(ctx context.Context, u *botapi.Update) error
}

// HandlerFunc adapts a function to [Handler].
type HandlerFunc func(ctx context.Context, u *botapi.Update) error

// HandleUpdate calls f(ctx, u).
func (f HandlerFunc) HandleUpdate(ctx context.Context, u *botapi.Update) error { return f(ctx, u) }

// Middleware wraps a Handler, e.g. to log, recover or time every update.
type Middleware func(Handler) Handler

// Option configures a [Router].
type Option func(*Router)

// WithBotUsername is the bot's username (a leading "@" is ignored): a
// command addressed to another bot ("/start@other_bot") then matches no
// [Command] route. The default (and "") accepts a command addressed to any
// bot, which is only right for bots that are in no group.
func WithBotUsername(name string) Option {
	return func(r *Router) { r.username = name }
}

// Router dispatches each update to the first route whose matcher accepts it,
// or to its fallback (see the package doc). Create it with [New]; routes
// and middleware may be added at any time, also while updates are handled.
// A Router is safe for concurrent use.
type Router struct {
	username string

	mu       sync.RWMutex
	routes   []route
	mw       []Middleware
	fallback Handler
	chain    []Handler // routes' handlers wrapped in mw; chain[len(routes)] is the fallback's
}

type route struct {
	match Matcher
	h     Handler
}

// New returns a router with no routes, whose fallback does nothing.
func New(opts ...Option) *Router {
	r := &Router{}
	for _, o := range opts {
		if o != nil {
			o(r)
		}
	}
	r.rebuild()
	return r
}

// ignore is the default fallback.
var ignore = HandlerFunc(func(context.Context, *botapi.Update) error { return nil })

// Handle adds a route: updates that m accepts, and that no earlier route
// took, go to h. Panics if m or h is nil.
func (r *Router) Handle(m Matcher, h Handler) {
	if m == nil || h == nil {
		panic("router: Handle with a nil matcher or handler")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.routes = append(r.routes, route{m, h})
	r.rebuild()
}

// HandleFunc adds a route to a function: see [Router.Handle].
func (r *Router) HandleFunc(m Matcher, f func(ctx context.Context, u *botapi.Update) error) {
	if f == nil {
		panic("router: HandleFunc with a nil function")
	}
	r.Handle(m, HandlerFunc(f))
}

// HandleCommand adds a route for the command name (without "/"): see
// [Command]. The handler reads the payload with [ParseCommand].
func (r *Router) HandleCommand(name string, f func(ctx context.Context, u *botapi.Update) error) {
	r.HandleFunc(r.Command(name), f)
}

// Command returns the [Command] matcher for name that knows the router's
// bot username ([WithBotUsername]).
func (r *Router) Command(name string) Matcher { return CommandFor(name, r.username) }

// Use adds middleware around every route and the fallback, including those
// added earlier; the first added is the outermost.
func (r *Router) Use(mw ...Middleware) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range mw {
		if m == nil {
			panic("router: Use with a nil middleware")
		}
		r.mw = append(r.mw, m)
	}
	r.rebuild()
}

// Fallback sets the handler of updates that no route matches. nil restores
// the default, which does nothing and returns nil.
func (r *Router) Fallback(h Handler) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fallback = h
	r.rebuild()
}

// rebuild wraps every handler in the middleware, once per change rather
// than once per update. r.mu is held (or r is not shared yet).
func (r *Router) rebuild() {
	chain := make([]Handler, 0, len(r.routes)+1)
	for _, rt := range r.routes {
		chain = append(chain, r.wrap(rt.h))
	}
	fb := r.fallback
	if fb == nil {
		fb = ignore
	}
	r.chain = append(chain, r.wrap(fb))
}

func (r *Router) wrap(h Handler) Handler {
	for i := len(r.mw) - 1; i >= 0; i-- {
		h = r.mw[i](h)
	}
	return h
}

// HandleUpdate dispatches u to the first route whose matcher accepts it, or
// to the fallback, and returns that handler's error. A nil u is ignored.
func (r *Router) HandleUpdate(ctx context.Context, u *botapi.Update) error {
	if u == nil {
		return nil
	}
	// The matchers are user code and may panic: run them outside the lock.
	// Handle only appends past the snapshot's length and rebuild makes a
	// new chain, so the snapshot stays as it was.
	r.mu.RLock()
	routes, chain := r.routes, r.chain
	r.mu.RUnlock()
	h := chain[len(routes)]
	for i, rt := range routes {
		if rt.match(u) {
			h = chain[i]
			break
		}
	}
	return h.HandleUpdate(ctx, u)
}
