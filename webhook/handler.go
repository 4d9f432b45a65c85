package webhook

import (
	"bytes"
	"context"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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
	// MinLease is the shortest lease [WithLease] and
	// [IdempotencyOptions.Lease] accept. A claim is renewed every third of
	// its lease, each renewal bounded by that third: a shorter lease leaves
	// no time for a store round trip, and its renewals would spin.
	MinLease = time.Second
	// DefaultDoneTTL is how long a processed update_id is remembered.
	DefaultDoneTTL = 24 * time.Hour
	// DefaultInFlightWait is how long a duplicate delivery waits for the
	// first one to finish before answering 503.
	DefaultInFlightWait = 2 * time.Second
)

// DefaultStoreTimeout bounds each Store call that completes, releases or
// renews a claim, made after the request's context may have ended (see
// [WithStoreTimeout]).
const DefaultStoreTimeout = 10 * time.Second

// Option configures [NewHandler] and [NewWorker].
type Option func(*handlerOptions)

type handlerOptions struct {
	store         Store
	namespace     string
	maxBody       int64
	maxInFlight   int64
	lease         time.Duration
	doneTTL       time.Duration
	inFlightWait  time.Duration
	storeTimeout  time.Duration
	logger        *slog.Logger
	allow         []netip.Prefix
	allowSet      bool
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

// WithNamespace sets the namespace of the update ids in the [Store], so
// that several bots can share one store without one's update 123 hiding
// another's. By default it is derived from the secret token, since each
// bot has its own: 32 hex digits of PBKDF2-HMAC-SHA-256 with 100 000
// iterations, so that whoever reads the store's keys pays 100 000 HMACs
// per guess of a weak token (a random token, [NewSecretToken], cannot be
// guessed at all). Releases before it used 16 hex digits of a plain
// SHA-256 of the token, which a dictionary reverses at a billion guesses a
// second: upgrading changes the keys, so an update delivered just before
// the upgrade and redelivered just after it is not recognised as a
// duplicate (once, within the done TTL). Set it when one bot's handlers use different tokens (during a
// token rotation), or for readable keys. It must be 1-64 bytes of A-Z,
// a-z, 0-9, _, - and . (else the constructor fails). A [Worker] must use
// the namespace of the handler that feeds its queue: give both the same
// WithNamespace, or the same secret through [WithSecretNamespace]. A
// namespace set explicitly is used as given, before and after upgrades.
func WithNamespace(ns string) Option {
	return func(o *handlerOptions) {
		if !validNamespace(ns) {
			o.fail("namespace must be 1-64 bytes of A-Za-z0-9_-.")
			return
		}
		o.namespace = ns
	}
}

// WithSecretNamespace sets the namespace that [NewHandler] derives from
// secretToken, for a [Worker] (which has no secret token of its own). It
// fails the constructor if secretToken fails [CheckSecretToken].
func WithSecretNamespace(secretToken string) Option {
	return func(o *handlerOptions) {
		if err := CheckSecretToken(secretToken); err != nil {
			o.errs = append(o.errs, fmt.Errorf("webhook: WithSecretNamespace: %w", err))
			return
		}
		ns, err := secretNamespace(secretToken)
		if err != nil {
			o.errs = append(o.errs, err)
			return
		}
		o.namespace = ns
	}
}

func validNamespace(ns string) bool {
	if len(ns) == 0 || len(ns) > 64 {
		return false
	}
	for i := 0; i < len(ns); i++ {
		c := ns[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// namespaceSalt and namespaceIterations define the namespace derived from
// a secret token: PBKDF2-HMAC-SHA-256(token, namespaceSalt,
// namespaceIterations), 16 bytes, in hex.
//
// Any value computed from the token alone lets whoever sees it test
// guesses of the token offline: an HMAC keyed by the token over a fixed
// label is no slower to test than a plain hash. What a derivation can do
// is make each guess expensive, so PBKDF2 with 100 000 iterations: 15 ms
// once per [NewHandler] or [NewWorker] on an idle x86-64 core (50-80 ms
// on a loaded shared one, BenchmarkSecretNamespace), and as many
// HMAC-SHA-256 computations per guess
// for an attacker, against one hash per guess for the SHA-256 namespace
// of earlier releases. 128 bits make a collision between two bots' tokens
// negligible. The real defence is a token nobody can guess:
// [NewSecretToken] gives 384 random bits; [WithNamespace] puts nothing
// derived from the token in the keys at all.
const (
	namespaceSalt       = "miniappkit webhook namespace v2"
	namespaceIterations = 100_000
)

// secretNamespace derives a bot's namespace from its secret token (see
// namespaceSalt): 32 hex digits. It fails only where crypto/pbkdf2 refuses
// its inputs (a FIPS 140-only mode's minimums); the constructors report it.
func secretNamespace(token string) (string, error) {
	sum, err := pbkdf2.Key(sha256.New, token, []byte(namespaceSalt), namespaceIterations, 16)
	if err != nil {
		return "", fmt.Errorf("webhook: deriving the namespace from the secret token: %w", err)
	}
	return hex.EncodeToString(sum), nil
}

// updateKey is the Store key of an update: "tg:<namespace>:update:<id>".
func updateKey(ns string, id int64) string {
	b := make([]byte, 0, len(ns)+32)
	b = append(b, "tg:"...)
	b = append(b, ns...)
	b = append(b, ":update:"...)
	return string(strconv.AppendInt(b, id, 10))
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

// WithLease sets how long a claim on an update_id lasts without renewal
// (default [DefaultLease]). While the handler runs, the claim is renewed
// with [Store.Extend] every third of the lease, so a long handler keeps it;
// if a renewal finds the claim taken over ([ErrNotOwner]), or the lease
// passes without one succeeding, the handler's context is cancelled, since
// another delivery may then run the update. A crashed process's claims
// lapse after one lease. A d under [MinLease] makes the constructor fail.
func WithLease(d time.Duration) Option {
	return func(o *handlerOptions) {
		if d < MinLease {
			o.fail("lease must be at least %v, got %v", MinLease, d)
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
// prefixes; pass [TelegramIPRanges]() for Telegram's published ranges. Off
// unless given. No prefixes, or an invalid one, makes the constructor fail
// (an empty list would let everyone in, or no one).
//
// The peer is r.RemoteAddr: behind a reverse proxy or load balancer it is
// the proxy's address, so there enforce the list at the proxy instead.
// Telegram may change its ranges: keep them current.
//
// Telegram docs: https://core.telegram.org/bots/webhooks
func WithIPAllowList(prefixes ...netip.Prefix) Option {
	return func(o *handlerOptions) {
		o.allowSet = true
		if len(prefixes) == 0 {
			o.fail("WithIPAllowList with no prefixes")
			return
		}
		for _, p := range prefixes {
			if !p.IsValid() {
				o.fail("invalid prefix in IP allow-list")
				return
			}
		}
		o.allow = append(o.allow, prefixes...)
	}
}

// WithMaxInFlightBytes bounds the memory that the bodies being read at once
// may hold together (default [DefaultMaxInFlightBytes], 32 MiB); a delivery
// that would pass it is answered 503 with Retry-After, and Telegram
// retries. Each body's buffer grows with the data that arrives, never to a
// declared Content-Length up front. An n that is not positive, or below
// the max body bytes, makes the constructor fail.
func WithMaxInFlightBytes(n int64) Option {
	return func(o *handlerOptions) {
		if n <= 0 {
			o.fail("max in-flight bytes must be positive, got %d", n)
			return
		}
		o.maxInFlight = n
	}
}

// WithStoreTimeout bounds each Store call that completes, releases or
// renews a claim (default [DefaultStoreTimeout]). These run even once the
// request's context has ended (so a finished update is recorded), but
// never longer than this.
func WithStoreTimeout(d time.Duration) Option {
	return func(o *handlerOptions) {
		if d <= 0 {
			o.fail("store timeout must be positive, got %v", d)
			return
		}
		o.storeTimeout = d
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
// before giving up on it and keeping it as a [DeadLetter] (default 5). A
// run whose claim was lost meanwhile (its context cancelled with cause
// [ErrLeaseLost] or [ErrNotOwner], as in a store outage longer than the
// lease) is the store's failure, not the update's: it counts no attempt.
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

// WithDeadLetter sets a function a [Worker] calls after it has moved an
// update to the queue's dead-letter state (after [WithMaxAttempts] failed
// runs), for example to alert someone. The dead letter is already durable
// when it runs, and stays listed by [Queue.DeadLetters] until
// [Queue.Redrive]; the hook cannot lose it. It is called at most once per
// burial, also when the queue's Bury applied it and reported an error (the
// worker asks the queue again, see [Worker]). It is not called when the
// process dies between the Bury and the hook, nor when the worker stops or
// gives up while the queue still fails, or the update is re-driven before
// the worker learns that its Bury was applied (these two it logs at
// Error): [Queue.DeadLetters] is the record of dead letters, the hook a
// notice. It
// runs on the worker's goroutine with a context bounded by
// [WithStoreTimeout].
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
		maxInFlight:  DefaultMaxInFlightBytes,
		lease:        DefaultLease,
		doneTTL:      DefaultDoneTTL,
		inFlightWait: DefaultInFlightWait,
		storeTimeout: DefaultStoreTimeout,
		logger:       slog.New(slog.DiscardHandler),
		maxAttempts:  5,
		backoff:      DefaultBackoff,
	}
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	if o.maxInFlight < o.maxBody {
		o.fail("max in-flight bytes (%d) below the max body bytes (%d)", o.maxInFlight, o.maxBody)
	}
	if o.store == nil {
		o.store = NewMemoryStore(DefaultStoreCapacity)
	}
	return o
}

// Handler is the http.Handler [NewHandler] returns. It is safe for
// concurrent use.
type Handler struct {
	secret  string
	h       UpdateHandler
	o       handlerOptions
	budget  *bodyBudget
	owners  ownerSource
	flights flights
}

// ErrNoSecretToken is returned by [NewHandler] for an empty secret token:
// an unset environment variable must not open the endpoint to everyone.
var ErrNoSecretToken = errors.New("webhook: no secret token")

// NewHandler returns an http.Handler that receives Telegram's webhook
// deliveries and runs h once per update_id.
//
// Each request goes: method POST (else 405) → optional IP allow-list (else
// 403, see [WithIPAllowList]) → the X-Telegram-Bot-Api-Secret-Token header,
// compared with secretToken in constant time before the body is read (else
// 401 with no hint) → the body, read into a buffer that grows with the data,
// up to [WithMaxBodyBytes] and within [WithMaxInFlightBytes] across
// requests → one JSON decode → an atomic claim of the update_id, in the
// bot's namespace ([WithNamespace]), in the [Store] → h → status.
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
//   - the Store fails, or the bodies in flight hold the whole budget: 503,
//     and h does not run;
//   - the body is over the limit, or never decodes to an update with an
//     update_id: 200 and a log line carrying the update_id when one can be
//     read, since a 4xx would make Telegram resend it forever.
//
// While h runs, its claim is renewed ([WithLease]); [ClaimFromContext]
// gives h the claim (its owner is a fencing token) so that a side effect can
// be made conditional on still holding it.
//
// secretToken is the token given to setWebhook (see [Register],
// [NewSecretToken]). NewHandler fails closed: an empty secretToken
// ([ErrNoSecretToken]), one that fails [CheckSecretToken], a nil h without
// [WithAsync], and any invalid option are errors here, never a 500 on every
// request later. (The package returns errors for whatever may come from
// configuration, and panics only for nil arguments that only code can pass,
// such as [VerifyMiddleware](nil).)
//
// With [WithAsync] the handler answers 200 once the raw update is queued,
// and a [Worker] processes it.
//
// Telegram docs: https://core.telegram.org/bots/api#setwebhook
func NewHandler(secretToken string, h UpdateHandler, opts ...Option) (*Handler, error) {
	o := buildOptions(opts)
	errs := o.errs
	switch {
	case secretToken == "":
		errs = append(errs, ErrNoSecretToken)
	default:
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
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if o.namespace == "" {
		ns, err := secretNamespace(secretToken)
		if err != nil {
			return nil, err
		}
		o.namespace = ns
	}
	return &Handler{secret: secretToken, h: h, o: o, budget: newBodyBudget(o.maxInFlight), owners: newOwnerSource()}, nil
}

// ServeHTTP implements [http.Handler].
func (hd *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeProblem(w, http.StatusMethodNotAllowed, "Method not allowed", "")
		return
	}
	if hd.o.allowSet && !addrAllowed(r.RemoteAddr, hd.o.allow) {
		reject(r.Context(), hd.o.observer, schemeIP, "ip_not_allowed", http.StatusForbidden)
		writeProblem(w, http.StatusForbidden, "Forbidden", "")
		return
	}
	if checkSecretHeader(r.Header, hd.secret) != tokenOK {
		reject(r.Context(), hd.o.observer, schemeTelegram, secretReason(r.Header), http.StatusUnauthorized)
		writeProblem(w, http.StatusUnauthorized, "Unauthorized", "")
		return
	}
	body, held, err := readBody(r, hd.o.maxBody, hd.budget)
	defer hd.budget.give(held)
	if err != nil {
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &mbe):
			hd.o.logger.Error("webhook: update dropped: body over the limit", "update_id", peekUpdateID(r), "limit", hd.o.maxBody)
			reject(r.Context(), hd.o.observer, schemeBody, "too_large", http.StatusOK)
			w.WriteHeader(http.StatusOK)
		case errors.Is(err, errBodyBudget):
			reject(r.Context(), hd.o.observer, schemeBody, "over_budget", http.StatusServiceUnavailable)
			writeBodyError(w, err)
		default:
			reject(r.Context(), hd.o.observer, schemeBody, "other", http.StatusBadRequest)
			writeBodyError(w, err)
		}
		return
	}
	u := new(botapi.Update)
	if err := json.Unmarshal(body, u); err != nil || u.UpdateID == 0 {
		hd.o.logger.Error("webhook: update dropped: not a decodable update", "update_id", scanUpdateID(body), "bytes", len(body))
		reject(r.Context(), hd.o.observer, schemeBody, "undecodable", http.StatusOK)
		w.WriteHeader(http.StatusOK)
		return
	}
	ctx, ob := observeStart(r.Context(), hd.o.observer, u, sourceWebhook, 1)
	if hd.o.queue != nil {
		// The queue keeps the raw bytes as Telegram sent them: the decode
		// above only checked them; nothing is re-encoded.
		if err := hd.o.queue.Push(ctx, u.UpdateID, body); err != nil {
			hd.o.logger.Warn("webhook: queue refused update", "update_id", u.UpdateID, "err", err)
			ob.done(ResultRetry, http.StatusServiceUnavailable, err)
			w.Header().Set("Retry-After", "1")
			writeProblem(w, http.StatusServiceUnavailable, "Try again later", "")
			return
		}
		ob.done(ResultQueued, http.StatusOK, nil)
		w.WriteHeader(http.StatusOK)
		return
	}
	hd.process(w, ctx, u, ob)
}

// process dedupes u, runs the handler and answers.
func (hd *Handler) process(w http.ResponseWriter, ctx context.Context, u *botapi.Update, ob *observed) {
	key := updateKey(hd.o.namespace, u.UpdateID)
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
		writeProblem(w, http.StatusServiceUnavailable, "Update in progress", "")
		return
	case claimFailed:
		hd.o.logger.Error("webhook: store failed; update left for redelivery", "update_id", u.UpdateID)
		ob.done(ResultRetry, http.StatusServiceUnavailable, nil)
		w.Header().Set("Retry-After", "1")
		writeProblem(w, http.StatusServiceUnavailable, "Try again later", "")
		return
	case claimGone:
		// The request's context ended while waiting. Usually nobody reads
		// the answer, but never let net/http's implicit 200 acknowledge an
		// update that was not processed.
		ob.done(ResultRetry, http.StatusServiceUnavailable, ctx.Err())
		writeProblem(w, http.StatusServiceUnavailable, "Try again later", "")
		return
	}

	end := hd.flights.begin(key)
	defer end()
	slot := &replySlot{}
	hstart := ob.now()
	err := runHandler(ctx, hd.h, u, hd.claimOf(key, owner), slot, hd.o.logger)
	ob.handler(hstart, err)
	sctx, cancel := storeContext(ctx, hd.o.storeTimeout)
	defer cancel()
	if err != nil {
		if rerr := retryStore(sctx, func(ctx context.Context) error { return hd.o.store.Release(ctx, key, owner) }); rerr != nil {
			hd.o.logger.Warn("webhook: release failed", "update_id", u.UpdateID, "err", rerr)
		}
		ob.done("", http.StatusInternalServerError, nil)
		writeProblem(w, http.StatusInternalServerError, "Update not processed", "")
		return
	}
	reply := slot.encode(hd.o.logger, u.UpdateID)
	if cerr := retryStore(sctx, func(ctx context.Context) error { return hd.o.store.Complete(ctx, key, owner, hd.o.doneTTL, nil) }); cerr != nil {
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

func (hd *Handler) claimOf(key, owner string) heldClaim {
	return heldClaim{Claim: Claim{Key: key, Owner: owner}, store: hd.o.store, lease: hd.o.lease, timeout: hd.o.storeTimeout, log: hd.o.logger}
}

// storeContext is the context of a Store call that must run even after ctx
// ended (to record an outcome), bounded by timeout.
func storeContext(ctx context.Context, timeout time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), timeout)
}

// peekUpdateID reads the first bytes of an unread body for its update_id
// (Telegram sends it first), or returns 0.
func peekUpdateID(r *http.Request) int64 {
	if r.Body == nil {
		return 0
	}
	var b [64]byte
	n, _ := io.ReadFull(r.Body, b[:])
	return scanUpdateID(b[:n])
}

// scanUpdateID finds `"update_id":<digits>` in b without decoding it, for
// the log line of an update that cannot be decoded; 0 when absent.
func scanUpdateID(b []byte) int64 {
	const name = `"update_id"`
	i := bytes.Index(b, []byte(name))
	if i < 0 {
		return 0
	}
	b = bytes.TrimLeft(b[i+len(name):], " \t\r\n")
	if len(b) == 0 || b[0] != ':' {
		return 0
	}
	b = bytes.TrimLeft(b[1:], " \t\r\n")
	var id int64
	for k := 0; k < len(b) && k < 18 && '0' <= b[k] && b[k] <= '9'; k++ {
		id = id*10 + int64(b[k]-'0')
	}
	return id
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

// runHandler runs h with a context that holds the claim hc (renewed while
// h runs, see holdClaim) and carries slot, turning a panic into an error
// and a log line.
func runHandler(ctx context.Context, h UpdateHandler, u *botapi.Update, hc heldClaim, slot *replySlot, log *slog.Logger) (err error) {
	ctx, stop := hc.hold(ctx, 0)
	defer stop()
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
	if err := h.HandleUpdate(ctx, u); err != nil {
		return claimLost(ctx, err)
	}
	return nil
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
