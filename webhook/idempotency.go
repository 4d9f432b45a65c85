package webhook

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"slices"
	"strconv"
	"time"

	"github.com/miniappkit/miniappkit/problem"
)

// HeaderIdempotencyKey is the request header that names a retryable
// operation, per draft-ietf-httpapi-idempotency-key-header.
const HeaderIdempotencyKey = "Idempotency-Key"

// Defaults of [IdempotencyOptions].
const (
	DefaultIdempotencyTTL   = 24 * time.Hour
	DefaultIdempotencyLease = time.Minute
	DefaultMaxKeyLength     = 255
)

// HeaderIdempotentReplayed marks a replayed response ("true"), as Stripe does.
const HeaderIdempotentReplayed = "Idempotent-Replayed"

// IdempotencyOptions configures [Idempotency]. The zero value of each field
// means its default; a negative number is an error.
type IdempotencyOptions struct {
	// Required answers 400 to a request without an Idempotency-Key. By
	// default such a request runs without deduplication.
	Required bool
	// Scope returns the client a request comes from (for example the
	// initData user id), so that two clients' equal keys never meet; a
	// request whose Scope is "" shares one scope with every other such
	// request. nil means "" for all.
	Scope func(r *http.Request) string
	// MaxKeyLength bounds the key (default 255 characters); longer is 400.
	MaxKeyLength int
	// TTL is how long a final response is kept for retries (default 24 h).
	TTL time.Duration
	// Lease is how long the handler may run (default 1 min): its request
	// context is cancelled then. The key stays claimed (renewed with
	// [Store.Extend]) until the handler returns, however long it goes on,
	// so a retry meanwhile gets 409 and never runs it a second time. A
	// Lease under [MinLease] is an error.
	Lease time.Duration
	// Methods are the methods deduplicated (default POST and PATCH, the
	// non-idempotent ones); others pass through.
	Methods []string
	// StoredHeaders are the response headers stored and replayed besides
	// Content-Type and Retry-After (for example "Location").
	StoredHeaders []string
	// MaxBodyBytes bounds the request body read for the fingerprint
	// (default 1 MiB); longer is 413. Bodies read at once share a budget of
	// [DefaultMaxInFlightBytes] (at least MaxBodyBytes).
	MaxBodyBytes int64
	// MaxResponseBytes bounds the stored response body (default 1 MiB). A
	// longer final response is sent once, and its key then answers every
	// retry with a 500 problem ("response too large to replay") for the
	// TTL: the operation is never run twice. A [MemoryStore] keeps each
	// stored response in memory, so its capacity times this bounds what
	// responses may hold: size the two together.
	MaxResponseBytes int64
	// MaxInFlightResponseBytes bounds the response bytes buffered at once
	// for storing, across all the requests running (default
	// [DefaultMaxInFlightBytes], 32 MiB, or MaxResponseBytes if larger;
	// set below MaxResponseBytes it is an error). A response's buffer
	// grows with the data, taken from this budget. When the budget cannot
	// hold a new request's first 4 KiB, the request is answered 503 with
	// Retry-After before the handler runs and its key is released, so the
	// retry runs it. When it runs out while a response streams, the
	// response still reaches the client whole but is not kept: its key
	// answers every retry with a 500 problem ("response not kept for
	// replay") for the TTL, as for a response over MaxResponseBytes. The
	// operation has run, so releasing the key would let a retry run it a
	// second time; refusing after the fact is impossible. Size the budget
	// for your concurrent large responses to make this rare.
	MaxInFlightResponseBytes int64
	// Final reports whether a response status is a final answer, stored
	// and replayed; any other status releases the key, so a retry runs
	// again. nil means [DefaultFinal].
	Final func(status int) bool
	// Logger receives store failures and handler panics; nil discards.
	Logger *slog.Logger
}

// DefaultFinal is the default [IdempotencyOptions.Final]: every status but
// the temporary ones: 401 and 403 (the client may authenticate and retry),
// 408, 409, 423, 425 and 429 (try again later), and every 5xx.
func DefaultFinal(status int) bool {
	switch status {
	case http.StatusUnauthorized, http.StatusForbidden, http.StatusRequestTimeout, http.StatusConflict,
		http.StatusLocked, http.StatusTooEarly, http.StatusTooManyRequests:
		return false
	}
	return status < 500
}

// Idempotency returns middleware implementing the Idempotency-Key header
// (draft-ietf-httpapi-idempotency-key-header) for the backend's own
// endpoints, on the [Store] claim/complete/release semantics:
//
//   - the first request with a key claims it and runs; a final answer (see
//     [IdempotencyOptions.Final]) is stored for the TTL: its status, its
//     Content-Type, Retry-After and StoredHeaders, and its body;
//   - a retry after completion gets the stored response, byte for byte,
//     without running, marked "Idempotent-Replayed: true";
//   - a retry while the first is in flight gets 409 with Retry-After;
//   - the same key with a different request (method, URL or body
//     fingerprint) gets 422;
//   - a temporary answer (401, 403, 429, 5xx, …) or a panic releases the
//     key, so a retry runs again (a panic becomes a 500 and a log line);
//   - a final answer too large to store is sent once; retries get a 500
//     problem, never a second run (see MaxResponseBytes);
//   - the responses being buffered share a budget (see
//     MaxInFlightResponseBytes): a request that finds it full gets 503
//     with Retry-After before it runs; a response that outgrows it is sent
//     once and not kept (retries get a 500 problem, never a second run);
//   - a missing key where Required, or a malformed or too long one, gets 400;
//   - a store failure gets 503 with Retry-After, and the request does not run.
//
// The handler's context ends at the Lease; the key stays held until the
// handler returns. [ClaimFromContext] gives the handler its claim (a
// fencing token). Errors are application/problem+json (RFC 9457). The key
// is an RFC 8941 string ("…") or, leniently, a bare token of visible
// ASCII. It fails if s is nil, an option is negative, or Lease is under
// [MinLease].
func Idempotency(s Store, o IdempotencyOptions) (func(http.Handler) http.Handler, error) {
	if s == nil {
		return nil, errors.New("webhook: Idempotency with a nil Store")
	}
	if o.MaxKeyLength < 0 || o.TTL < 0 || o.Lease < 0 || o.MaxBodyBytes < 0 || o.MaxResponseBytes < 0 || o.MaxInFlightResponseBytes < 0 {
		return nil, errors.New("webhook: Idempotency with a negative option")
	}
	if o.Lease != 0 && o.Lease < MinLease {
		return nil, fmt.Errorf("webhook: Idempotency Lease must be at least %v, got %v", MinLease, o.Lease)
	}
	if o.MaxKeyLength == 0 {
		o.MaxKeyLength = DefaultMaxKeyLength
	}
	if o.TTL == 0 {
		o.TTL = DefaultIdempotencyTTL
	}
	if o.Lease == 0 {
		o.Lease = DefaultIdempotencyLease
	}
	if len(o.Methods) == 0 {
		o.Methods = []string{http.MethodPost, http.MethodPatch}
	}
	if o.MaxBodyBytes == 0 {
		o.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if o.MaxResponseBytes == 0 {
		o.MaxResponseBytes = DefaultMaxBodyBytes
	}
	switch {
	case o.MaxInFlightResponseBytes == 0:
		o.MaxInFlightResponseBytes = max(DefaultMaxInFlightBytes, o.MaxResponseBytes)
	case o.MaxInFlightResponseBytes < o.MaxResponseBytes:
		return nil, fmt.Errorf("webhook: Idempotency MaxInFlightResponseBytes (%d) below MaxResponseBytes (%d)", o.MaxInFlightResponseBytes, o.MaxResponseBytes)
	}
	if o.Final == nil {
		o.Final = DefaultFinal
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	stored := append([]string{"Content-Type", "Retry-After"}, o.StoredHeaders...)
	for i, h := range stored {
		stored[i] = http.CanonicalHeaderKey(h)
	}
	stored = slices.Compact(stored)
	budget := newBodyBudget(max(DefaultMaxInFlightBytes, o.MaxBodyBytes))
	respBudget := newBodyBudget(o.MaxInFlightResponseBytes)
	owners := newOwnerSource()
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !containsString(o.Methods, r.Method) {
				next.ServeHTTP(w, r)
				return
			}
			vals := r.Header.Values(HeaderIdempotencyKey)
			if len(vals) == 0 {
				if o.Required {
					writeProblem(w, http.StatusBadRequest, "Idempotency-Key is missing", "This operation requires an Idempotency-Key header.")
					return
				}
				next.ServeHTTP(w, r)
				return
			}
			key, err := parseIdempotencyKey(vals, o.MaxKeyLength)
			if err != nil {
				writeProblem(w, http.StatusBadRequest, "Idempotency-Key is malformed", "The Idempotency-Key header must be one string of at most "+strconv.Itoa(o.MaxKeyLength)+" characters.")
				return
			}
			body, held, err := readBody(r, o.MaxBodyBytes, budget)
			defer budget.give(held)
			if err != nil {
				writeBodyError(w, err)
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			r.ContentLength = int64(len(body))
			fp := fingerprint(r, body)
			scope := ""
			if o.Scope != nil {
				scope = o.Scope(r)
			}
			storeKey := "idem:" + strconv.Itoa(len(scope)) + ":" + scope + ":" + key
			owner := owners.next()
			ctx := r.Context()
			res, err := s.Claim(ctx, storeKey, owner, o.Lease, fp[:])
			if err != nil {
				o.Logger.Error("webhook: idempotency store failed", "err", err)
				w.Header().Set("Retry-After", "1")
				writeProblem(w, http.StatusServiceUnavailable, "Try again later", "")
				return
			}
			switch res.State {
			case InFlight:
				if !bytes.HasPrefix(res.Data, fp[:]) {
					writeProblem(w, http.StatusUnprocessableEntity, "Idempotency-Key reused", "This key was used for a different request.")
					return
				}
				w.Header().Set("Retry-After", "1")
				writeProblem(w, http.StatusConflict, "Request in progress", "A request with this Idempotency-Key is still being processed.")
				return
			case Done:
				if !bytes.HasPrefix(res.Data, fp[:]) {
					writeProblem(w, http.StatusUnprocessableEntity, "Idempotency-Key reused", "This key was used for a different request.")
					return
				}
				if err := replayResponse(w, res.Data[len(fp):]); err != nil {
					o.Logger.Error("webhook: stored response unreadable", "err", err)
					writeProblem(w, http.StatusInternalServerError, "Stored response unreadable", "")
				}
				return
			}
			rec := &recorder{w: w, limit: o.MaxResponseBytes, budget: respBudget}
			if !rec.reserve(min(o.MaxResponseBytes, firstResponseBuffer)) {
				// No room to keep even the start of a response: refuse
				// before running, and free the key for the retry.
				sctx, cancel := storeContext(ctx, DefaultStoreTimeout)
				if err := retryStore(sctx, func(ctx context.Context) error { return s.Release(ctx, storeKey, owner) }); err != nil {
					o.Logger.Warn("webhook: idempotency release failed", "err", err)
				}
				cancel()
				o.Logger.Warn("webhook: idempotency response budget full; answered 503", "budget", o.MaxInFlightResponseBytes)
				w.Header().Set("Retry-After", "1")
				writeProblem(w, http.StatusServiceUnavailable, "Try again later", "")
				return
			}
			hc := heldClaim{Claim: Claim{Key: storeKey, Owner: owner}, store: s, lease: o.Lease, timeout: DefaultStoreTimeout, log: o.Logger}
			hctx, stop := hc.hold(ctx, o.Lease)
			panicked := true
			defer func() {
				defer rec.drop()
				stop()
				sctx, cancel := storeContext(ctx, DefaultStoreTimeout)
				defer cancel()
				if panicked {
					v := recover()
					o.Logger.Error("webhook: idempotent handler panicked", "panic_type", fmt.Sprintf("%T", v), "stack", string(debug.Stack()))
					if err := retryStore(sctx, func(ctx context.Context) error { return s.Release(ctx, storeKey, owner) }); err != nil {
						o.Logger.Warn("webhook: idempotency release failed", "err", err)
					}
					if v == http.ErrAbortHandler {
						panic(v)
					}
					if !rec.wroteHeader {
						writeProblem(w, http.StatusInternalServerError, "Internal error", "")
					}
					return
				}
				if !o.Final(rec.status) {
					if err := retryStore(sctx, func(ctx context.Context) error { return s.Release(ctx, storeKey, owner) }); err != nil {
						o.Logger.Warn("webhook: idempotency release failed", "err", err)
					}
					return
				}
				var data []byte
				switch {
				case rec.overflow:
					o.Logger.Warn("webhook: response too large to store; retries of its key get a 500", "limit", o.MaxResponseBytes)
					data = encodeResponse(fp[:], http.StatusInternalServerError, problemHeader, stored,
						problemBody(http.StatusInternalServerError, "Response too large to replay", "The first response to this Idempotency-Key was sent but is too large to store; the operation is not run again."))
				case rec.unkept:
					o.Logger.Warn("webhook: response budget ran out; response not kept, retries of its key get a 500", "budget", o.MaxInFlightResponseBytes)
					data = encodeResponse(fp[:], http.StatusInternalServerError, problemHeader, stored,
						problemBody(http.StatusInternalServerError, "Response not kept for replay", "The first response to this Idempotency-Key was sent but could not be kept; the operation is not run again."))
				default:
					data = encodeResponse(fp[:], rec.status, rec.header, stored, rec.body)
				}
				if err := retryStore(sctx, func(ctx context.Context) error { return s.Complete(ctx, storeKey, owner, o.TTL, data) }); err != nil {
					o.Logger.Warn("webhook: idempotency complete failed", "err", err)
				}
			}()
			next.ServeHTTP(rec, r.WithContext(hctx))
			if !rec.wroteHeader {
				rec.WriteHeader(http.StatusOK)
			}
			panicked = false
		})
	}, nil
}

var problemHeader = http.Header{"Content-Type": {problem.ContentType}}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// parseIdempotencyKey returns the key of an Idempotency-Key header: exactly
// one field value, an RFC 8941 sf-string ("…" with \" and \\ escapes, chars
// 0x20-0x7E) or a bare run of visible ASCII without quotes or backslashes,
// 1 to max characters once unescaped.
func parseIdempotencyKey(vals []string, max int) (string, error) {
	if len(vals) != 1 {
		return "", ErrInvalidHeader
	}
	v := vals[0]
	if len(v) > 2*max+2 {
		return "", ErrInvalidHeader
	}
	var key []byte
	if len(v) > 0 && v[0] == '"' {
		key = make([]byte, 0, len(v))
		i := 1
		closed := false
		for i < len(v) {
			c := v[i]
			switch {
			case c == '\\':
				if i+1 >= len(v) || (v[i+1] != '"' && v[i+1] != '\\') {
					return "", ErrInvalidHeader
				}
				key = append(key, v[i+1])
				i += 2
				continue
			case c == '"':
				closed = true
			case c < 0x20 || c > 0x7e:
				return "", ErrInvalidHeader
			default:
				key = append(key, c)
			}
			i++
			if closed {
				break
			}
		}
		if !closed || i != len(v) {
			return "", ErrInvalidHeader
		}
	} else {
		for i := 0; i < len(v); i++ {
			if c := v[i]; c <= 0x20 || c > 0x7e || c == '"' || c == '\\' {
				return "", ErrInvalidHeader
			}
		}
		key = []byte(v)
	}
	if len(key) == 0 || len(key) > max {
		return "", ErrInvalidHeader
	}
	return string(key), nil
}

// fingerprint digests what makes two requests "the same": method, URL and body.
func fingerprint(r *http.Request, body []byte) [sha256.Size]byte {
	h := sha256.New()
	io.WriteString(h, r.Method)
	h.Write([]byte{0})
	io.WriteString(h, r.URL.RequestURI())
	h.Write([]byte{0})
	h.Write(body)
	var out [sha256.Size]byte
	h.Sum(out[:0])
	return out
}

// firstResponseBuffer is the buffer a response starts with, reserved
// before the handler runs; it doubles as the response grows.
const firstResponseBuffer = 4 << 10

// recorder passes a response through while keeping a copy for the store,
// in a buffer that grows with the data within budget.
type recorder struct {
	w           http.ResponseWriter
	status      int
	header      http.Header // snapshot at WriteHeader
	body        []byte
	limit       int64
	budget      *bodyBudget
	held        int64 // taken from budget: cap(body)
	overflow    bool  // over limit: not kept
	unkept      bool  // budget ran out: not kept
	wroteHeader bool
}

// reserve makes room for need bytes of body: its capacity doubles (at
// most to limit), taken from the budget. It reports false, changing
// nothing, when the budget cannot cover even need.
func (rc *recorder) reserve(need int64) bool {
	if need <= rc.held {
		return true
	}
	n := min(max(need, 2*rc.held), rc.limit)
	if !rc.budget.take(n - rc.held) {
		if n == need || !rc.budget.take(need-rc.held) {
			return false
		}
		n = need
	}
	nb := make([]byte, len(rc.body), n) // the old buffer becomes garbage
	copy(nb, rc.body)
	rc.body, rc.held = nb, n
	return true
}

// drop lets go of the buffer and gives its bytes back to the budget.
func (rc *recorder) drop() {
	rc.body = nil
	rc.budget.give(rc.held)
	rc.held = 0
}

func (rc *recorder) Header() http.Header { return rc.w.Header() }

func (rc *recorder) WriteHeader(code int) {
	if rc.wroteHeader {
		return
	}
	if code >= 100 && code < 200 && code != http.StatusSwitchingProtocols {
		// Informational (103 Early Hints, …): passed on, not the answer.
		rc.w.WriteHeader(code)
		return
	}
	rc.wroteHeader = true
	rc.status = code
	rc.header = rc.w.Header().Clone()
	rc.w.WriteHeader(code)
}

func (rc *recorder) Write(p []byte) (int, error) {
	if !rc.wroteHeader {
		rc.WriteHeader(http.StatusOK)
	}
	if !rc.overflow && !rc.unkept {
		need := int64(len(rc.body) + len(p))
		switch {
		case need > rc.limit:
			rc.overflow = true
			rc.drop()
		case !rc.reserve(need):
			rc.unkept = true
			rc.drop()
		default:
			rc.body = append(rc.body, p...)
		}
	}
	return rc.w.Write(p)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (rc *recorder) Unwrap() http.ResponseWriter { return rc.w }

// encodeResponse lays out fp | status u16 | n u16 | (klen u16, k, vlen u32, v)×n | body.
func encodeResponse(fp []byte, status int, h http.Header, stored []string, body []byte) []byte {
	out := append([]byte(nil), fp...)
	out = binary.BigEndian.AppendUint16(out, uint16(status))
	nPos := len(out)
	out = binary.BigEndian.AppendUint16(out, 0)
	n := 0
	for _, k := range stored {
		for _, v := range h[k] {
			out = binary.BigEndian.AppendUint16(out, uint16(len(k)))
			out = append(out, k...)
			out = binary.BigEndian.AppendUint32(out, uint32(len(v)))
			out = append(out, v...)
			n++
		}
	}
	binary.BigEndian.PutUint16(out[nPos:], uint16(n))
	return append(out, body...)
}

var errCorrupt = errors.New("webhook: corrupt stored response")

func replayResponse(w http.ResponseWriter, b []byte) error {
	if len(b) < 4 {
		return errCorrupt
	}
	status := int(binary.BigEndian.Uint16(b))
	n := int(binary.BigEndian.Uint16(b[2:]))
	b = b[4:]
	h := http.Header{}
	for range n {
		if len(b) < 2 {
			return errCorrupt
		}
		kl := int(binary.BigEndian.Uint16(b))
		if len(b) < 2+kl+4 {
			return errCorrupt
		}
		k := string(b[2 : 2+kl])
		b = b[2+kl:]
		vl := int(binary.BigEndian.Uint32(b))
		if len(b) < 4+vl {
			return errCorrupt
		}
		h[k] = append(h[k], string(b[4:4+vl]))
		b = b[4+vl:]
	}
	for k, v := range h {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.Header().Set(HeaderIdempotentReplayed, "true")
	w.WriteHeader(status)
	_, _ = w.Write(b)
	return nil
}

// problemBody returns an RFC 9457 problem document, as problem.Write
// sends it.
func problemBody(status int, title, detail string) []byte {
	b, _ := problem.Details{Type: problem.DefaultType, Title: title, Status: status, Detail: detail}.MarshalJSON()
	return append(b, '\n')
}

// writeProblem answers with an RFC 9457 problem document.
func writeProblem(w http.ResponseWriter, status int, title, detail string) {
	problem.Write(w, problem.Details{Title: title, Status: status, Detail: detail})
}
