package botapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DefaultBaseURL is the Bot API server the client talks to unless
// [WithBaseURL] names another one.
const DefaultBaseURL = "https://api.telegram.org"

// Bounds on what the client reads from an answer.
const (
	// MaxResponseSize bounds a successful answer (a getUpdates batch of 100
	// updates is well under 10 MiB). A longer answer fails with
	// [ErrInvalidResponse].
	MaxResponseSize = 32 << 20
	// MaxErrorBodySize bounds the body read from an answer whose HTTP status
	// is not 2xx: 64 KiB.
	MaxErrorBodySize = 64 << 10
)

// Client is a Telegram Bot API client. Create it with [New]. It is safe for
// concurrent use by multiple goroutines; reuse one Client per bot token.
//
// The token is kept out of every error, log line and formatted value: the
// client's String, GoString and Format methods print a redacted form, for
// every fmt verb, and so does a Client value printed field by field.
type Client struct {
	key     func() *apiKey // behind a func, which fmt prints as an address
	shown   string         // the base URL, its password masked: safe to print
	hc      *http.Client
	log     *slog.Logger
	retry   RetryPolicy
	limiter Limiter
	breaker Breaker
	err     error // a configuration error, returned by every call

	obs     Observer // nil: no observation (observe.go)
	obsHost string
	obsPort int

	// rt is the default transport when the client sends through it
	// without an http.Client in between (no redirects to follow, no
	// cookies, no timeout: the context bounds each call). nil otherwise.
	rt http.RoundTripper
}

// jsonContentType is shared by every JSON request, saving an allocation.
// Transports only read it (an Add would append to a copy: its capacity is 1).
var jsonContentType = []string{"application/json"}

// Headers of the requests the client hands to the default transport
// directly. They are shared and only read: an http.RoundTripper must not
// modify a request.
var (
	jsonHeader  = http.Header{"Content-Type": jsonContentType}
	emptyHeader = http.Header{}
)

// maxCachedURLs bounds the URL cache: Call accepts any method name.
const maxCachedURLs = 512

// methodURL is the URL of one method, as a string and parsed.
type methodURL struct {
	s   string
	u   *url.URL // shared by the requests of the direct path, never modified
	err error    // from url.Parse
}

// methodURL returns the URL of method.
func (c *Client) methodURL(method string) *methodURL {
	k := c.key()
	k.urlMu.RLock()
	u, ok := k.urls[method]
	k.urlMu.RUnlock()
	if ok {
		return u
	}
	u = &methodURL{s: k.prefix + method}
	u.u, u.err = url.Parse(u.s)
	k.urlMu.Lock()
	if k.urls == nil {
		k.urls = make(map[string]*methodURL)
	}
	if len(k.urls) < maxCachedURLs {
		k.urls[method] = u
	}
	k.urlMu.Unlock()
	return u
}

// Option configures a [Client].
type Option func(*options)

type options struct {
	baseURL string
	testEnv bool
	hc      *http.Client
	log     *slog.Logger
	retry   RetryPolicy
	limiter Limiter
	breaker Breaker

	observer Observer
}

// WithBaseURL makes the client talk to another Bot API server: a local
// telegram-bot-api server, or a fake such as botapitest. The default is
// [DefaultBaseURL]. A URL that does not parse, or is not http or https, makes
// every call fail with [ErrConfig].
func WithBaseURL(baseURL string) Option {
	return func(o *options) { o.baseURL = baseURL }
}

// WithTestEnvironment sends every call to Telegram's test environment
// (/bot<token>/test/<method>). The default is the production environment.
//
// Telegram docs: https://core.telegram.org/bots/webapps#using-bots-in-the-test-environment
func WithTestEnvironment() Option {
	return func(o *options) { o.testEnv = true }
}

// WithHTTPClient makes the client send its requests with a copy of hc (the
// caller's value is never modified): for a custom dialer, TLS
// configuration, proxy or instrumented RoundTripper. nil means the default.
//
// The default is net/http: an [http.Transport] cloned from
// [http.DefaultTransport] (so proxies from the environment and the
// program's TLS settings apply) and tuned for one host, shared by the
// clients made without this option: up to [DefaultMaxIdleConnsPerHost] idle
// connections, HTTP/2 when the server offers it, TLS handshakes bounded by
// [DefaultTLSHandshakeTimeout] and the wait for an answer's head by
// [DefaultResponseHeaderTimeout]. It is called without an http.Client in
// between: no client timeout (deadlines come from the context of each
// call), no redirects followed (the Bot API sends none). If the program has
// replaced http.DefaultTransport with a RoundTripper of its own, the
// default uses that one as it is.
//
// A Timeout on hc must be longer than the long-poll timeout given to
// [Client.Updates] plus [PollMargin], or none.
func WithHTTPClient(hc *http.Client) Option {
	return func(o *options) { o.hc = hc }
}

// WithLogger makes the client log each call at debug level and each retry at
// warn level: method, attempt, status and duration, never the token, the URL
// or the parameters. The default (and nil) is a logger that discards
// everything.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) { o.log = l }
}

// WithRetry sets the retry policy. The default is the zero [RetryPolicy],
// whose fields all take their documented defaults; RetryPolicy{MaxAttempts: 1}
// disables retries.
func WithRetry(p RetryPolicy) Option {
	return func(o *options) { o.retry = p }
}

// WithLimiter makes the client wait on l before each call that posts to a
// chat, and report every 429 answer to l (see [Limiter]). The default is no
// limiter. ratelimit.Telegram satisfies [Limiter].
func WithLimiter(l Limiter) Option {
	return func(o *options) { o.limiter = l }
}

// New returns a client for the bot with the given token, as @BotFather gave
// it ("123456:ABC-DEF..."). New does no I/O; an invalid option makes every
// call fail with an error that wraps [ErrConfig].
func New(token string, opts ...Option) *Client {
	o := options{baseURL: DefaultBaseURL}
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	key := &apiKey{token: token}
	c := &Client{key: func() *apiKey { return key }, retry: o.retry, limiter: o.limiter, breaker: o.breaker}
	if o.hc != nil {
		hc := *o.hc
		c.hc = &hc
	} else {
		rt := defaultRoundTripper()
		c.hc = &http.Client{Transport: rt}
		if t, ok := rt.(*http.Transport); ok {
			// Only net/http's own transport is handed the shared headers
			// directly: a program's RoundTripper might write to them.
			c.rt = t
		}
	}
	c.log = o.log
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	base := strings.TrimRight(o.baseURL, "/")
	u, err := url.Parse(base)
	switch {
	case err != nil:
		// url.Parse's error quotes the URL, which carries no token here,
		// but keep the message short and predictable.
		c.err = fmt.Errorf("%w: base URL does not parse", ErrConfig)
	case u.Scheme != "http" && u.Scheme != "https":
		c.err = fmt.Errorf("%w: base URL scheme must be http or https", ErrConfig)
	case u.Host == "":
		c.err = fmt.Errorf("%w: base URL has no host", ErrConfig)
	case token == "":
		c.err = fmt.Errorf("%w: empty token", ErrConfig)
	case strings.ContainsAny(token, "/?#% \t\r\n"):
		c.err = fmt.Errorf("%w: token contains characters not allowed in a URL path", ErrConfig)
	}
	if err == nil && u.User != nil {
		c.rt = nil // http.Client turns the URL's user info into an Authorization header
	}
	key.base, c.shown = base, base
	if err == nil && u.User != nil {
		c.shown = u.Redacted()
	}
	c.setObserver(o.observer, base)
	key.prefix = base + "/bot" + token + "/"
	if o.testEnv {
		key.prefix += "test/"
	}
	return c
}

// String returns a description of the client without its token (nor the
// password of a base URL that has one).
func (c *Client) String() string {
	return "botapi.Client{" + c.shown + "/bot<redacted>}"
}

// GoString is like String, so that %#v does not print the token either.
func (c *Client) GoString() string { return c.String() }

// Format implements [fmt.Formatter]: every verb (%d, %x, %t... included)
// prints what String returns, never the token.
func (c *Client) Format(f fmt.State, verb rune) { io.WriteString(f, c.String()) }

// redacted stands for the token wherever it would be printed.
const redacted = "<redacted>"

// apiKey holds what carries the token or a password. A Client holds it behind a func, so
// a Client value printed field by field (fmt's %+v or %s of *c, which call
// no method of c and print the contents of pointers and interfaces under a
// wrong verb) shows an address, not the token.
type apiKey struct {
	token  string
	base   string // the base URL, with the password it may hold
	prefix string // base + "/bot" + token + "/" (+ "test/")

	urlMu sync.RWMutex
	urls  map[string]*methodURL // method → prefix+method, built and parsed once
}

// Call calls any Bot API method by name, for methods newer than this
// package. params is nil, a pointer to a struct, or a map, encoded to JSON (or
// to multipart/form-data when it holds an upload); result is nil or a pointer
// that the "result" field of Telegram's answer is decoded into. Errors,
// retries and rate limiting are as for the generated methods.
func (c *Client) Call(ctx context.Context, method string, params, result any) error {
	return c.do(ctx, method, params, result)
}

// envelope is Telegram's answer. Result is set to the caller's pointer before
// decoding, so the result is decoded once, in place.
type envelope struct {
	OK          bool   `json:"ok"`
	Result      any    `json:"result"`
	ErrorCode   int    `json:"error_code"`
	Description string `json:"description"`
	Parameters  *struct {
		MigrateToChatID int64 `json:"migrate_to_chat_id"`
		RetryAfter      int   `json:"retry_after"`
	} `json:"parameters"`
}

var envPool = sync.Pool{New: func() any { return new(envelope) }}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func getBuf() *bytes.Buffer { return bufPool.Get().(*bytes.Buffer) }

func putBuf(b *bytes.Buffer) {
	if b.Cap() > 1<<20 { // do not keep a huge getUpdates buffer around
		return
	}
	b.Reset()
	bufPool.Put(b)
}

// do performs one call: params → one encode → (breaker, limiter wait) →
// HTTP POST → one decode into result → typed result or typed error.
// Generated methods call it as
//
//	var r *Message
//	err := c.do(ctx, "sendMessage", p, &r)
//
// where p is a *XxxParams (or nil for a method without parameters).
func (c *Client) do(ctx context.Context, method string, params, result any) (err error) {
	var st callStats
	if c.obs != nil {
		defer c.observeCall(ctx, method, time.Now(), &st, &err)
	}
	if c.err != nil {
		return fmt.Errorf("botapi: %s: %w", method, c.err)
	}
	if ctx == nil {
		ctx = context.Background()
	}
	uploads, params, err := prepareUploads(params)
	if err != nil {
		return fmt.Errorf("botapi: %s: %w", method, err)
	}
	var body *sharedBody
	if len(uploads) == 0 && !isNil(params) {
		body = newSharedBody()
		if err := body.enc.Encode(params); err != nil {
			body.release()
			return fmt.Errorf("botapi: %s: encoding parameters: %w", method, err)
		}
		body.trim()
		defer body.release()
	}

	pol := c.retry.withDefaults()
	safe := retrySafeCall(method, params)
	waits := c.limiter != nil && PostsToChat(method)
	var chat int64 // the limiter key: the chat posted to, 0 for other calls
	if waits {
		chat = chatKeyOf(params)
	}
	var (
		rewind []int64        // where each upload's reader starts, for a retry
		mp     *multipartBody // the current attempt's multipart body
	)
	defer func() {
		// The transport may return the answer (an early 400, a canceled
		// context) before it has read the whole body and closes it later:
		// stop the writer now, so that no upload is read after the call.
		if mp != nil {
			mp.stop(ctx)
		}
	}()
	if len(uploads) > 0 {
		if rewind = startOffsets(uploads); rewind == nil {
			// A plain io.Reader cannot be read twice: attempted once.
			pol.MaxAttempts = 1
		}
	}
	landed := false // an earlier attempt may have been performed
	for attempt := 1; ; attempt++ {
		// The breaker first, then the limiter, then the upload's writer:
		// while the circuit is open a call fails at once, without waiting
		// for (and burning) a slot. The price is that an allowed attempt
		// holds its permission while it waits; when no request follows,
		// done hears ErrNotAttempted (see there), exactly once.
		var done func(error)
		if c.breaker != nil {
			d, berr := c.breaker.Allow()
			if berr != nil {
				if ctxErr := ctx.Err(); ctxErr != nil {
					return fmt.Errorf("botapi: %s: %w", method, ctxErr)
				}
				return afterLanded(landed, &circuitError{method: method, err: berr})
			}
			done = d
		}
		if waits && chat != 0 {
			waitStart := st.clock(c.obs)
			err := c.limiter.Wait(ctx, chat)
			st.waited(waitStart)
			if err != nil {
				if ctxErr := ctx.Err(); ctxErr != nil && !errors.Is(err, ctxErr) {
					err = fmt.Errorf("%w: %w", ctxErr, err)
				}
				notAttempted(done, err)
				return afterLanded(landed, &limiterError{err: fmt.Errorf("botapi: %s: rate limiter: %w", method, err)})
			}
		}
		if len(uploads) > 0 {
			if mp != nil { // a retry: stop the last writer, then rewind
				if !mp.stop(ctx) {
					notAttempted(done, ctx.Err())
					return fmt.Errorf("botapi: %s: %w", method, ctx.Err())
				}
				if err := seekTo(uploads, rewind); err != nil {
					notAttempted(done, err)
					return fmt.Errorf("botapi: %s: rewinding an upload to retry: %w", method, err)
				}
			}
			if mp, err = streamMultipart(params, uploads); err != nil {
				notAttempted(done, err)
				return fmt.Errorf("botapi: %s: encoding parameters: %w", method, err)
			}
		}
		start := time.Now()
		status, err := c.attempt(ctx, method, body, mp, result)
		if done != nil {
			done(breakerOutcome(ctx, err))
		}
		st.attempts, st.status = attempt, status
		if c.obs != nil {
			c.observeAttempt(ctx, method, attempt, start, status, err)
		}
		if c.log.Enabled(ctx, slog.LevelDebug) {
			c.log.LogAttrs(ctx, slog.LevelDebug, "botapi call",
				slog.String("method", method), slog.Int("attempt", attempt),
				slog.Int("status", status), slog.Duration("duration", time.Since(start)),
				slog.Bool("ok", err == nil))
		}
		if err == nil {
			return nil
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			return fmt.Errorf("botapi: %s: %w", method, ctxErr)
		}
		if landed && alreadyDone(method, err, result) {
			return setTrue(result)
		}
		landed = landed || mayHaveLanded(err)
		wait, retry := pol.decide(safe, attempt, err)
		if c.obs != nil {
			st.noteRetry(err, wait, retry)
		}
		var apiErr *Error
		if errors.As(err, &apiErr) && apiErr.Code == http.StatusTooManyRequests && c.limiter != nil {
			c.limiter.Backoff(chat, apiErr.RetryAfter)
		}
		if !retry {
			if attempt > 1 {
				return afterLanded(landed, &retryError{attempts: attempt, err: err})
			}
			return err
		}
		c.log.LogAttrs(ctx, slog.LevelWarn, "botapi retry",
			slog.String("method", method), slog.Int("attempt", attempt),
			slog.Duration("wait", wait), slog.String("error", err.Error()))
		if werr := sleepCtx(ctx, wait); werr != nil {
			return afterLanded(landed, fmt.Errorf("botapi: %s: %w (waiting to retry after: %w)", method, werr, err))
		}
	}
}

// notAttempted reports to the breaker's done, when there is one, that no
// request followed its Allow because of err.
func notAttempted(done func(error), err error) {
	if done != nil {
		done(fmt.Errorf("%w: %w", ErrNotAttempted, err))
	}
}

// setTrue stores true in result when it is a *bool (the result of the
// methods whose success alreadyDone recognises) and returns nil.
func setTrue(result any) error {
	if b, ok := result.(*bool); ok {
		*b = true
	}
	return nil
}

// attempt makes one HTTP request and decodes its answer. status is the HTTP
// status, 0 when there was no response.
func (c *Client) attempt(ctx context.Context, method string, body *sharedBody, mp *multipartBody, result any) (int, error) {
	var (
		rd          io.Reader
		contentType string
		length      int64
		getBody     func() (io.ReadCloser, error) // nil for a streamed upload
	)
	switch {
	case mp != nil:
		rd, contentType, length = mp.pr, mp.contentType, -1
	case body != nil:
		rd, contentType, length, getBody = body.reader(), "application/json", int64(body.len()), body.getBody
	}
	mu := c.methodURL(method)
	var (
		resp *http.Response
		err  error
	)
	if c.rt != nil && mu.err == nil {
		resp, err = c.sendDirect(ctx, mu, rd, getBody, contentType, length)
	} else {
		resp, err = c.send(ctx, mu, rd, getBody, contentType, length)
	}
	if err != nil {
		return 0, &netError{method: method, err: c.redact(err), beforeSend: notSent(err)}
	}
	defer resp.Body.Close()
	return resp.StatusCode, c.decode(method, resp, result)
}

// send posts through the http.Client.
func (c *Client) send(ctx context.Context, mu *methodURL, rd io.Reader, getBody func() (io.ReadCloser, error), contentType string, length int64) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, mu.s, rd)
	if err != nil {
		if rc, ok := rd.(io.Closer); ok {
			rc.Close()
		}
		return nil, err
	}
	if rd != nil {
		req.ContentLength = length
		req.GetBody = getBody
		if contentType == "application/json" {
			req.Header["Content-Type"] = jsonContentType
		} else {
			req.Header["Content-Type"] = []string{contentType}
		}
	}
	return c.hc.Do(req)
}

// sendDirect posts through the default transport, skipping what http.Client
// would add (redirect and cookie handling, header copies, a parse of the
// URL per request). Its errors are *url.Error, like http.Client's.
func (c *Client) sendDirect(ctx context.Context, mu *methodURL, rd io.Reader, getBody func() (io.ReadCloser, error), contentType string, length int64) (*http.Response, error) {
	req := &http.Request{
		Method:     http.MethodPost,
		URL:        mu.u,
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     emptyHeader,
		Body:       http.NoBody,
		Host:       mu.u.Host,
	}
	if rd != nil {
		req.ContentLength = length
		req.Body = rd.(io.ReadCloser) // a *bodyReader or the multipart pipe
		req.GetBody = getBody
		if contentType == "application/json" {
			req.Header = jsonHeader
		} else {
			req.Header = http.Header{"Content-Type": {contentType}}
		}
	}
	resp, err := c.rt.RoundTrip(req.WithContext(ctx))
	if err != nil {
		return nil, &url.Error{Op: "Post", URL: mu.s, Err: err}
	}
	return resp, nil
}

// decode reads and decodes one answer, bounded.
func (c *Client) decode(method string, resp *http.Response, result any) error {
	limit := int64(MaxResponseSize)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		limit = MaxErrorBodySize
	}
	buf := getBuf()
	defer putBuf(buf)
	if resp.ContentLength > 0 && resp.ContentLength <= limit {
		buf.Grow(int(resp.ContentLength) + bytes.MinRead)
	}
	n, err := readBounded(buf, resp.Body, limit+1)
	if err != nil {
		return &netError{method: method, err: c.redact(err), status: resp.StatusCode}
	}
	if n > limit {
		if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
			return &Error{Method: method, err: ErrInvalidResponse,
				Description: fmt.Sprintf("answer longer than %d bytes", limit)}
		}
		buf.Truncate(int(limit))
	}
	err = c.decodeRedacted(method, resp.StatusCode, resp.Header.Get("Content-Type"), buf.Bytes(), result)
	if e, ok := err.(*Error); ok && e.Code == http.StatusTooManyRequests && e.RetryAfter == 0 {
		// A proxy's 429 has no retry_after; it may have a Retry-After
		// header in seconds (an HTTP date is ignored).
		if secs, perr := strconv.Atoi(resp.Header.Get("Retry-After")); perr == nil && secs > 0 {
			e.RetryAfter = retryAfterSeconds(secs)
		}
	}
	return err
}

// decodeRedacted is decodeEnvelope for an answer to this client's request:
// when the answer is an error whose body holds the token (a proxy's page or a
// description echoing the request path /bot<token>/...), the body is decoded
// again with the token replaced, before anything is cut short, so that no
// part of the token reaches the error.
func (c *Client) decodeRedacted(method string, status int, contentType string, data []byte, result any) error {
	err := decodeEnvelope(method, status, contentType, data, result)
	if _, ok := err.(*Error); ok && c.key().token != "" && bytes.Contains(data, []byte(c.key().token)) {
		data = bytes.ReplaceAll(data, []byte(c.key().token), []byte(redacted))
		err = decodeEnvelope(method, status, contentType, data, result)
	}
	return err
}

// readBounded appends at most max bytes of r to buf, like
// buf.ReadFrom(io.LimitReader(r, max)) without allocating the LimitReader.
func readBounded(buf *bytes.Buffer, r io.Reader, max int64) (int64, error) {
	var total int64
	for total < max {
		if buf.Available() < bytes.MinRead {
			buf.Grow(bytes.MinRead)
		}
		room := buf.AvailableBuffer()[:buf.Available()]
		if int64(len(room)) > max-total {
			room = room[:max-total]
		}
		n, err := r.Read(room)
		buf.Write(room[:n])
		total += int64(n)
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// decodeEnvelope turns one answer body into result or an error. It is the
// parser of untrusted input that FuzzDecodeEnvelope exercises.
func decodeEnvelope(method string, status int, contentType string, data []byte, result any) error {
	env := envPool.Get().(*envelope)
	*env = envelope{Result: result}
	// Results holding unions decode through generated wire types (no
	// UnmarshalJSON call per nested struct); finish copies them into result.
	target, finish := wireResult(result)
	if target != nil {
		env.Result = target
	}
	var batchErr error
	if r, ok := result.(*[]updateWire); ok {
		// Client.GetUpdates: decoded as Updates decodes a batch, so that
		// one bad update costs only itself (see updateBatch).
		b := &updateBatch{wire: *r}
		env.Result = b
		finish = func() { *r, batchErr = b.wire, b.errs() }
	}
	defer func() {
		*env = envelope{}
		envPool.Put(env)
	}()
	if result == nil {
		env.Result = &json.RawMessage{}
	}
	if err := json.Unmarshal(data, env); err != nil {
		// Not Telegram's JSON: a proxy's HTML page, a truncated body, or a
		// result that does not fit the expected type.
		var typeErr *json.UnmarshalTypeError
		if (status == 0 || status >= 200 && status <= 299) && errors.As(err, &typeErr) {
			return &Error{Method: method, err: ErrInvalidResponse,
				Description: "result does not match the expected type: " + typeErr.Error()}
		}
		code := status
		if code >= 200 && code <= 299 {
			code = 0
		}
		return &Error{Method: method, Code: code, err: ErrInvalidResponse,
			Description: describeNonJSON(status, contentType, data)}
	}
	if env.OK {
		if nilPointee(env.Result) {
			// A result of an object type that is missing or null: a
			// success would hand the caller a nil pointer and no error.
			return &Error{Method: method, err: ErrInvalidResponse, Description: `"ok":true without a result`}
		}
		if finish != nil {
			finish()
		}
		return batchErr
	}
	// The description goes into error strings and log lines: no control
	// characters (Telegram's own texts have none; a proxy's could).
	e := &Error{Method: method, Code: env.ErrorCode, Description: truncate(printable(env.Description), 1024)}
	if e.Code == 0 && (status < 200 || status > 299) {
		e.Code = status // a 2xx answer with ok:false and no code stays 0: invalid
	}
	if e.Description == "" {
		e.Description = http.StatusText(e.Code)
		if e.Code == 0 {
			e.Description = `"ok":false without an error_code`
		}
	}
	if p := env.Parameters; p != nil {
		e.MigrateToChatID = p.MigrateToChatID
		if p.RetryAfter > 0 {
			e.RetryAfter = retryAfterSeconds(p.RetryAfter)
		}
	}
	if e.Code == 0 {
		// ok:false with no code at all is not an answer Telegram gives.
		e.err = ErrInvalidResponse
	}
	return e
}

// nilPointee reports whether v is a pointer to a nil pointer: the result
// of a method returning an object, which decoding left unset.
func nilPointee(v any) bool {
	rv := reflect.ValueOf(v)
	return rv.Kind() == reflect.Pointer && !rv.IsNil() && rv.Elem().Kind() == reflect.Pointer && rv.Elem().IsNil()
}

// maxRetryAfter bounds the RetryAfter the client reads from an answer, so
// that an absurd retry_after (from a broken proxy) cannot overflow
// time.Duration into a negative wait that the retry cap would not catch.
const maxRetryAfter = 24 * time.Hour

// retryAfterSeconds converts a positive retry_after in seconds, capped at
// maxRetryAfter.
func retryAfterSeconds(secs int) time.Duration {
	return time.Duration(min(secs, int(maxRetryAfter/time.Second))) * time.Second
}

// describeNonJSON summarises a non-JSON answer: its status, type and a short,
// printable prefix of the body.
func describeNonJSON(status int, contentType string, data []byte) string {
	var b strings.Builder
	b.WriteString("answer is not Bot API JSON")
	if status != 0 {
		fmt.Fprintf(&b, " (HTTP %d", status)
		if contentType != "" {
			b.WriteString(", ")
			b.WriteString(truncate(printable(contentType), 64))
		}
		b.WriteString(")")
	}
	if snippet := strings.TrimSpace(printable(string(data[:min(len(data), 256)]))); snippet != "" {
		b.WriteString(": ")
		b.WriteString(truncate(snippet, 120))
	}
	return b.String()
}

func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' || r == '\t' {
			return ' '
		}
		if r < 0x20 || r == 0x7f || r == '\uFFFD' {
			return -1
		}
		return r
	}, s)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	// Cut on a rune boundary.
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}

// sharedBody is a pooled JSON request body that the retry loop and each
// attempt's request share: it goes back to the pool only when the client and
// every request that read it have let go (the transport may close a request
// body after Do returns).
type sharedBody struct {
	buf   bytes.Buffer
	enc   *json.Encoder // writes to buf; kept with it in the pool
	mu    sync.Mutex
	refs  int
	first bodyReader // the first attempt's reader, reused with the body
	used  bool       // first is handed out

	// getBody is the request's GetBody: a new reader of the body, so that
	// net/http can resend a request it knows was not processed (a reused
	// connection closed before the request was written, an HTTP/2
	// GOAWAY or REFUSED_STREAM). Made once with the pooled body, so that a
	// call does not allocate it. net/http calls it only within the round
	// trip, while the call still holds the body.
	getBody func() (io.ReadCloser, error)
}

var bodyPool = sync.Pool{New: func() any {
	b := new(sharedBody)
	b.enc = json.NewEncoder(&b.buf)
	b.getBody = func() (io.ReadCloser, error) { return b.reader(), nil }
	return b
}}

func newSharedBody() *sharedBody {
	b := bodyPool.Get().(*sharedBody)
	b.refs = 1
	return b
}

// trim drops the newline json.Encoder appends.
func (b *sharedBody) trim() {
	if n := b.buf.Len(); n > 0 && b.buf.Bytes()[n-1] == '\n' {
		b.buf.Truncate(n - 1)
	}
}

func (b *sharedBody) len() int { return b.buf.Len() }

func (b *sharedBody) reader() io.ReadCloser {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.refs++
	if !b.used {
		b.used = true
		b.first = bodyReader{b: b}
		return &b.first
	}
	return &bodyReader{b: b}
}

func (b *sharedBody) release() {
	b.mu.Lock()
	b.refs--
	last := b.refs == 0
	b.mu.Unlock()
	if last {
		if b.buf.Cap() > 1<<20 {
			return
		}
		b.buf.Reset()
		b.used = false
		bodyPool.Put(b)
	}
}

// bodyReader reads a sharedBody; Close releases it once. The transport may
// call Close concurrently with Read, hence the mutex.
type bodyReader struct {
	mu   sync.Mutex
	b    *sharedBody
	off  int
	done bool
}

func (r *bodyReader) Read(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.done {
		return 0, io.EOF
	}
	data := r.b.buf.Bytes()
	if r.off >= len(data) {
		return 0, io.EOF
	}
	n := copy(p, data[r.off:])
	r.off += n
	return n, nil
}

func (r *bodyReader) Close() error {
	r.mu.Lock()
	b, open := r.b, !r.done
	r.done = true
	r.mu.Unlock()
	// Release after unlocking: once released, the body (and r, when r is
	// its embedded first reader) may be reused by another call at once.
	if open {
		b.release()
	}
	return nil
}

func isNil(v any) bool {
	if v == nil {
		return true
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Interface, reflect.Slice:
		return rv.IsNil()
	}
	return false
}

// DecodeAnswer decodes one Bot API answer body, as the client does: the
// envelope and its result in one pass. It returns the result, or the
// *[Error] the answer describes (matching [ErrInvalidResponse] when the body
// is not Bot API JSON). Use it when the HTTP exchange happens elsewhere (a
// queue worker, a proxy, a recorded answer); method only labels errors.
func DecodeAnswer[T any](method string, body []byte) (T, error) {
	var result T
	err := decodeEnvelope(method, 0, "", body, &result)
	return result, err
}
