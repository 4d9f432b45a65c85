package webhook

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miniappkit/miniappkit/botapi"
)

// UpdateHandler processes one Telegram update. An error (or a panic) means
// the update was not processed: the webhook answers 5xx and Telegram
// delivers it again. Implementations must be safe for concurrent use.
type UpdateHandler interface {
	HandleUpdate(ctx context.Context, u *botapi.Update) error
}

// UpdateHandlerFunc adapts a function to [UpdateHandler].
type UpdateHandlerFunc func(ctx context.Context, u *botapi.Update) error

// HandleUpdate calls f(ctx, u).
func (f UpdateHandlerFunc) HandleUpdate(ctx context.Context, u *botapi.Update) error {
	return f(ctx, u)
}

// Defaults of [NewHandler]'s options.
const (
	// DefaultLease is how long a delivery owns its update_id while the
	// handler runs; the handler's context ends when it passes.
	DefaultLease = time.Minute
	// DefaultDoneTTL is how long a processed update_id is remembered.
	DefaultDoneTTL = 24 * time.Hour
	// DefaultInFlightWait is how long a duplicate delivery waits for the
	// first one to finish before answering 503.
	DefaultInFlightWait = 2 * time.Second
)

// updateKeyPrefix prefixes update ids in the Store, so one store can also
// hold other keys (Idempotency-Keys, webhook-ids).
const updateKeyPrefix = "tg:update:"

// Option configures [NewHandler] and [NewWorker].
type Option func(*handlerOptions)

type handlerOptions struct {
	store         Store
	maxBody       int64
	lease         time.Duration
	doneTTL       time.Duration
	inFlightWait  time.Duration
	logger        *slog.Logger
	allow         []netip.Prefix
	queue         Queue
	allowVolatile bool
	maxAttempts   int
	backoff       Backoff
	deadLetter    func(context.Context, DeadLetter)
	observer      Observer
	errs          []error
}

func (o *handlerOptions) fail(format string, args ...any) {
	o.errs = append(o.errs, fmt.Errorf("webhook: "+format, args...))
}

// WithStore sets the [Store] that deduplicates update_ids. The default is a
// [MemoryStore] of [DefaultStoreCapacity]: enough for one process; give
// every replica the same shared store.
func WithStore(s Store) Option {
	return func(o *handlerOptions) {
		if s == nil {
			o.fail("nil Store")
			return
		}
		o.store = s
	}
}

// WithMaxBodyBytes bounds the request body read (default
// [DefaultMaxBodyBytes], 1 MiB).
func WithMaxBodyBytes(n int64) Option {
	return func(o *handlerOptions) {
		if n <= 0 {
			o.fail("max body bytes must be positive, got %d", n)
			return
		}
		o.maxBody = n
	}
}

// WithLease sets how long a delivery owns its update_id while the handler
// runs (default [DefaultLease]). The handler's context ends when the lease
// passes, since another delivery may then claim the update.
func WithLease(d time.Duration) Option {
	return func(o *handlerOptions) {
		if d <= 0 {
			o.fail("lease must be positive, got %v", d)
			return
		}
		o.lease = d
	}
}

// WithDoneTTL sets how long a processed update_id is remembered, so that a
// redelivery is answered 200 without running the handler (default
// [DefaultDoneTTL], 24 h).
func WithDoneTTL(d time.Duration) Option {
	return func(o *handlerOptions) {
		if d <= 0 {
			o.fail("done TTL must be positive, got %v", d)
			return
		}
		o.doneTTL = d
	}
}

// WithInFlightWait sets how long a delivery of an update that another
// delivery is processing waits for it before answering 503 (default
// [DefaultInFlightWait]). Zero answers 503 at once.
func WithInFlightWait(d time.Duration) Option {
	return func(o *handlerOptions) {
		if d < 0 {
			o.fail("in-flight wait must not be negative, got %v", d)
			return
		}
		o.inFlightWait = d
	}
}

// WithLogger sets the logger for dropped updates, handler panics and store
// failures. The default discards. Log lines never hold a token or a body.
func WithLogger(l *slog.Logger) Option {
	return func(o *handlerOptions) {
		if l != nil {
			o.logger = l
		}
	}
}

// WithIPAllowList answers 403, right after the method check and before the
// secret token or the body, to a request whose peer address is outside
// prefixes; pass
// [TelegramIPRanges]() for Telegram's published ranges. Off by default.
//
// The peer is r.RemoteAddr: behind a reverse proxy or load balancer it is
// the proxy's address, so there enforce the list at the proxy instead.
// Telegram may change its ranges: keep them current.
//
// Telegram docs: https://core.telegram.org/bots/webhooks
func WithIPAllowList(prefixes ...netip.Prefix) Option {
	return func(o *handlerOptions) {
		for _, p := range prefixes {
			if !p.IsValid() {
				o.fail("invalid prefix in IP allow-list")
				return
			}
		}
		o.allow = append(o.allow, prefixes...)
	}
}

// WithAsync makes the handler acknowledge each authenticated, decoded update
// with 200 as soon as q has stored it, leaving the processing to a [Worker]
// on the same queue. q must be durable ([Queue.Durable]), or a crash would
// lose acknowledged updates; [WithVolatileQueue] lifts that rule. A
// synchronous handler (the default) answers only after processing.
func WithAsync(q Queue) Option {
	return func(o *handlerOptions) {
		if q == nil {
			o.fail("nil Queue")
			return
		}
		o.queue = q
	}
}

// WithVolatileQueue allows [WithAsync] with a queue that is not durable,
// such as [MemoryQueue]: for tests and development only, since updates it
// holds are lost if the process stops.
func WithVolatileQueue() Option {
	return func(o *handlerOptions) { o.allowVolatile = true }
}

// WithMaxAttempts sets how many times a [Worker] runs a failing update
// before giving up on it and keeping it as a [DeadLetter] (default 5).
func WithMaxAttempts(n int) Option {
	return func(o *handlerOptions) {
		if n <= 0 {
			o.fail("max attempts must be positive, got %d", n)
			return
		}
		o.maxAttempts = n
	}
}

// WithBackoff sets how long a [Worker] waits between the attempts of a
// failing update (default [DefaultBackoff]).
func WithBackoff(b Backoff) Option {
	return func(o *handlerOptions) {
		if b == nil {
			o.fail("nil Backoff")
			return
		}
		o.backoff = b
	}
}

// WithDeadLetter sets the function a [Worker] passes each update it gave up
// on (after [WithMaxAttempts] attempts), for example to store it for a
// later replay. It runs on the worker's goroutine, with a context that is
// not cancelled. Default: the Worker keeps them for [Worker.DeadLetters].
func WithDeadLetter(f func(ctx context.Context, d DeadLetter)) Option {
	return func(o *handlerOptions) {
		if f == nil {
			o.fail("nil dead-letter hook")
			return
		}
		o.deadLetter = f
	}
}

func buildOptions(opts []Option) handlerOptions {
	o := handlerOptions{
		maxBody:      DefaultMaxBodyBytes,
		lease:        DefaultLease,
		doneTTL:      DefaultDoneTTL,
		inFlightWait: DefaultInFlightWait,
		logger:       slog.New(slog.DiscardHandler),
		maxAttempts:  5,
		backoff:      DefaultBackoff,
	}
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	if o.store == nil {
		o.store = NewMemoryStore(DefaultStoreCapacity)
	}
	return o
}

// handler is what NewHandler returns.
type handler struct {
	secret  string
	h       UpdateHandler
	o       handlerOptions
	cfgErr  error
	owners  ownerSource
	flights flights
}

// NewHandler returns an http.Handler that receives Telegram's webhook
// deliveries and runs h once per update_id.
//
// Each request goes: method POST (else 405) → optional IP allow-list (else
// 403, see [WithIPAllowList]) → the X-Telegram-Bot-Api-Secret-Token header,
// compared with secretToken in constant time before the body is read (else
// 401 with no hint) → the body, read up to [WithMaxBodyBytes] → one JSON
// decode → an atomic claim of the update_id in the [Store] → h → status.
//
// Telegram resends every delivery that is not answered 2xx, so:
//   - h returns nil: 200, the update_id is remembered as done for
//     [WithDoneTTL], and the body carries the reply set with [SetReply], if any;
//   - h fails or panics: its claim is released and the answer is 500, so
//     Telegram redelivers (a panic is logged; the server keeps running);
//   - the update is a duplicate of a done one: 200 with an empty body (a
//     reply is never replayed);
//   - it is a duplicate of one in flight: wait up to [WithInFlightWait] for
//     that one to finish, then 200 if done, run h if it was released, or
//     503 so Telegram retries later;
//   - the Store fails: 503, and h does not run;
//   - the body is over the limit, or never decodes to an update with an
//     update_id: 200 and a log line, since a 4xx would make Telegram resend
//     it forever.
//
// A run that outlives its lease ([WithLease]) may overlap a redelivery that
// took the update over; its context is cancelled when the lease passes, and
// its own Release or Complete then changes nothing. Keep handlers well within
// the lease.
//
// secretToken is the token given to setWebhook (see [Register],
// [NewSecretToken]); "" turns the check off, which is only safe behind
// another authentication. A secretToken that fails [CheckSecretToken], or
// an invalid option, makes every request fail with 500 and a log line.
//
// With [WithAsync] the handler answers 200 once the update is queued, and a
// [Worker] processes it. The returned handler is safe for concurrent use.
//
// Telegram docs: https://core.telegram.org/bots/api#setwebhook
func NewHandler(secretToken string, h UpdateHandler, opts ...Option) http.Handler {
	o := buildOptions(opts)
	hd := &handler{secret: secretToken, h: h, o: o, owners: newOwnerSource()}
	errs := o.errs
	if secretToken != "" {
		if err := CheckSecretToken(secretToken); err != nil {
			errs = append(errs, err)
		}
	}
	if h == nil && o.queue == nil {
		errs = append(errs, errors.New("webhook: nil UpdateHandler"))
	}
	if o.queue != nil && !o.queue.Durable() && !o.allowVolatile {
		errs = append(errs, errors.New("webhook: WithAsync needs a durable Queue (or WithVolatileQueue)"))
	}
	hd.cfgErr = errors.Join(errs...)
	return hd
}

func (hd *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
		return
	}
	if hd.cfgErr != nil {
		hd.o.logger.Error("webhook: handler misconfigured", "err", hd.cfgErr)
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		return
	}
	if len(hd.o.allow) > 0 && !addrAllowed(r.RemoteAddr, hd.o.allow) {
		reject(r.Context(), hd.o.observer, schemeIP, "ip_not_allowed", http.StatusForbidden)
		http.Error(w, http.StatusText(http.StatusForbidden), http.StatusForbidden)
		return
	}
	if hd.secret != "" && checkSecretHeader(r.Header, hd.secret) != tokenOK {
		reject(r.Context(), hd.o.observer, schemeTelegram, secretReason(r.Header), http.StatusUnauthorized)
		http.Error(w, http.StatusText(http.StatusUnauthorized), http.StatusUnauthorized)
		return
	}
	body, err := readBody(r, hd.o.maxBody)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			hd.o.logger.Error("webhook: update dropped: body over the limit", "limit", hd.o.maxBody)
			reject(r.Context(), hd.o.observer, schemeBody, "too_large", http.StatusOK)
			w.WriteHeader(http.StatusOK)
			return
		}
		reject(r.Context(), hd.o.observer, schemeBody, "other", http.StatusBadRequest)
		http.Error(w, http.StatusText(http.StatusBadRequest), http.StatusBadRequest) // the peer went away mid-body
		return
	}
	u := new(botapi.Update)
	if err := json.Unmarshal(body, u); err != nil || u.UpdateID == 0 {
		hd.o.logger.Error("webhook: update dropped: not a decodable update", "bytes", len(body))
		reject(r.Context(), hd.o.observer, schemeBody, "undecodable", http.StatusOK)
		w.WriteHeader(http.StatusOK)
		return
	}
	ctx, ob := observeStart(r.Context(), hd.o.observer, u, sourceWebhook, 1)
	if hd.o.queue != nil {
		if err := hd.o.queue.Push(ctx, u); err != nil {
			hd.o.logger.Warn("webhook: queue refused update", "update_id", u.UpdateID, "err", err)
			ob.done(ResultRetry, http.StatusServiceUnavailable, err)
			http.Error(w, http.StatusText(http.StatusServiceUnavailable), http.StatusServiceUnavailable)
			return
		}
		ob.done(ResultQueued, http.StatusOK, nil)
		w.WriteHeader(http.StatusOK)
		return
	}
	hd.process(w, ctx, u, ob)
}

// process dedupes u, runs the handler and answers.
func (hd *handler) process(w http.ResponseWriter, ctx context.Context, u *botapi.Update, ob *observed) {
	key := updateKeyPrefix + strconv.FormatInt(u.UpdateID, 10)
	owner := hd.owners.next()
	status := claimUntil(ctx, hd.o.store, &hd.flights, key, owner, hd.o.lease, hd.o.inFlightWait)
	ob.dedupe(claimDedupe(status))
	switch status {
	case claimDone:
		ob.done(ResultOK, http.StatusOK, nil)
		w.WriteHeader(http.StatusOK)
		return
	case claimBusy:
		ob.done(ResultRetry, http.StatusServiceUnavailable, nil)
		w.Header().Set("Retry-After", "1")
		http.Error(w, http.StatusText(http.StatusServiceUnavailable), http.StatusServiceUnavailable)
		return
	case claimFailed:
		hd.o.logger.Error("webhook: store failed; update left for redelivery", "update_id", u.UpdateID)
		ob.done(ResultRetry, http.StatusServiceUnavailable, nil)
		http.Error(w, http.StatusText(http.StatusServiceUnavailable), http.StatusServiceUnavailable)
		return
	case claimGone:
		// The request's context ended while waiting. Usually nobody reads
		// the answer, but never let net/http's implicit 200 acknowledge an
		// update that was not processed.
		ob.done(ResultRetry, http.StatusServiceUnavailable, ctx.Err())
		http.Error(w, http.StatusText(http.StatusServiceUnavailable), http.StatusServiceUnavailable)
		return
	}

	end := hd.flights.begin(key)
	defer end()
	slot := &replySlot{}
	hstart := ob.now()
	err := runHandler(ctx, hd.h, u, hd.o.lease, slot, hd.o.logger)
	ob.handler(hstart, err)
	bg := context.WithoutCancel(ctx)
	if err != nil {
		if rerr := hd.o.store.Release(bg, key, owner); rerr != nil {
			hd.o.logger.Warn("webhook: release failed", "update_id", u.UpdateID, "err", rerr)
		}
		ob.done("", http.StatusInternalServerError, nil)
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		return
	}
	reply := slot.encode(hd.o.logger, u.UpdateID)
	if cerr := hd.o.store.Complete(bg, key, owner, hd.o.doneTTL, nil); cerr != nil {
		// The handler succeeded: answer 200 so Telegram does not resend.
		hd.o.logger.Warn("webhook: complete failed", "update_id", u.UpdateID, "err", cerr)
	}
	ob.done("", http.StatusOK, nil)
	if reply != nil {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(reply)))
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(reply)
		return
	}
	w.WriteHeader(http.StatusOK)
}

type claimOutcome uint8

const (
	claimOwned claimOutcome = iota
	claimDone
	claimBusy
	claimFailed
	claimGone
)

// flights tracks the claims this process holds, so that a duplicate
// delivery waiting in the same process wakes the moment the claim ends
// instead of at its next poll of the store.
type flights struct{ m sync.Map } // key → chan struct{}, closed when the claim ends

// begin records that this process owns key, returning the function that
// ends the flight.
func (f *flights) begin(key string) (end func()) {
	ch := make(chan struct{})
	f.m.Store(key, ch)
	return func() {
		f.m.CompareAndDelete(key, ch)
		close(ch)
	}
}

// wait returns a channel closed when this process's claim of key ends, or
// nil if this process holds none.
func (f *flights) wait(key string) <-chan struct{} {
	if v, ok := f.m.Load(key); ok {
		return v.(chan struct{})
	}
	return nil
}

// claimUntil claims key, waiting up to wait while another owner holds it:
// woken at once when the owner is in this process (local), otherwise by
// polling the store with backoff.
//
// The local flight is looked up before each Claim as well as after it, so a
// flight that ends between the Claim and the wait still wakes the waiter
// (its channel is already closed) instead of leaving it to the next poll.
func claimUntil(ctx context.Context, s Store, local *flights, key, owner string, lease, wait time.Duration) claimOutcome {
	deadline := time.Now().Add(wait)
	pause := time.Millisecond
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		ended := local.wait(key) // nil when no local flight holds key yet
		res, err := s.Claim(ctx, key, owner, lease, nil)
		if err != nil {
			if ctx.Err() != nil {
				return claimGone
			}
			return claimFailed
		}
		switch res.State {
		case Claimed:
			return claimOwned
		case Done:
			return claimDone
		}
		left := time.Until(deadline)
		if left <= 0 {
			return claimBusy
		}
		d := min(pause, left)
		pause = min(2*pause, 50*time.Millisecond)
		if timer == nil {
			timer = time.NewTimer(d)
		} else {
			timer.Reset(d)
		}
		if ended == nil {
			ended = local.wait(key) // the owner may have begun since; nil (never ready) when it is elsewhere
		}
		select {
		case <-ctx.Done():
			return claimGone
		case <-timer.C:
		case <-ended:
			if !timer.Stop() {
				<-timer.C
			}
		}
	}
}

// runHandler runs h with a context bounded by the lease and carrying slot,
// turning a panic into an error and a log line.
func runHandler(ctx context.Context, h UpdateHandler, u *botapi.Update, lease time.Duration, slot *replySlot, log *slog.Logger) (err error) {
	ctx, cancel := context.WithTimeout(ctx, lease)
	defer cancel()
	if slot != nil {
		ctx = context.WithValue(ctx, replyKey{}, slot)
	}
	defer func() {
		if v := recover(); v != nil {
			// The panic value may hold user data: log its type and the stack only.
			log.Error("webhook: handler panicked", "update_id", u.UpdateID, "panic_type", fmt.Sprintf("%T", v), "stack", string(debug.Stack()))
			err = errPanicked
		}
	}()
	return h.HandleUpdate(ctx, u)
}

var errPanicked = errors.New("webhook: handler panicked")

// ownerSource makes claim owners unique across processes: a random
// per-source prefix and a counter.
type ownerSource struct {
	prefix string
	n      *atomic.Uint64
}

func newOwnerSource() ownerSource {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return ownerSource{prefix: hex.EncodeToString(b[:]) + "-", n: new(atomic.Uint64)}
}

func (s ownerSource) next() string {
	var buf [40]byte
	b := append(buf[:0], s.prefix...)
	return string(strconv.AppendUint(b, s.n.Add(1), 10))
}

func addrAllowed(remote string, allow []netip.Prefix) bool {
	ap, err := netip.ParseAddrPort(remote)
	var a netip.Addr
	if err == nil {
		a = ap.Addr()
	} else if a, err = netip.ParseAddr(remote); err != nil {
		return false
	}
	a = a.Unmap().WithZone("")
	for _, p := range allow {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// telegramRanges are the subnets Telegram sends webhooks from.
// Telegram docs: https://core.telegram.org/bots/webhooks
var telegramRanges = [...]netip.Prefix{
	netip.MustParsePrefix("149.154.160.0/20"),
	netip.MustParsePrefix("91.108.4.0/22"),
}

// TelegramIPRanges returns the subnets Telegram publishes as the sources of
// webhook requests (149.154.160.0/20 and 91.108.4.0/22), for
// [WithIPAllowList]. Telegram may change them.
//
// Telegram docs: https://core.telegram.org/bots/webhooks
func TelegramIPRanges() []netip.Prefix {
	return append([]netip.Prefix(nil), telegramRanges[:]...)
}
