package botapitest

import (
	"context"
	"crypto/ed25519"
	"encoding/binary"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DefaultToken is the token of the fake bot unless [WithToken] says
// otherwise: the bot id 123456, a colon and 35 characters of [A-Za-z0-9_-],
// the shape of a real token, which clients such as telego check (the
// example token of Telegram's documentation is one character short).
// Telegram docs: https://core.telegram.org/bots/api#authorizing-your-bot
const DefaultToken = "123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew110"

// inMemoryURL is the base URL of a server made [WithoutListener].
const inMemoryURL = "http://botapitest.invalid"

// Option configures a [Server].
type Option func(*options)

type options struct {
	token       string
	botUsername string
	clock       func() time.Time
	seed        uint64
	latency     latencies
	latencyErr  error
	vclock      *VirtualClock
	limitScale  float64
	noListener  bool
	botUser     *User
	memory      Memory
	webhookRT   http.RoundTripper
	pollDelay   bool
}

// WithToken sets the bot token the server accepts. The default is
// [DefaultToken]. The bot's id is the part before the colon.
func WithToken(token string) Option { return func(o *options) { o.token = token } }

// WithBotUsername sets the bot's username (getMe). The default is "test_bot".
func WithBotUsername(username string) Option {
	return func(o *options) { o.botUsername = username }
}

// WithPollThrottle makes getUpdates throttle a bot that polls again with
// the offset of its previous call, as Telegram's server does
// (Client::process_get_updates_query in tdlib/telegram-bot-api): within
// 3 s of that call a timeout under 3 s becomes 3 s, and within 0.5 s the
// limit becomes 1. Off by default, so that tests that poll in a loop
// stay fast; on, it shows a bot that polls without moving its offset
// (or with timeout 0) slowed as it would be in production. The delays
// run on the server's clock.
func WithPollThrottle() Option { return func(o *options) { o.pollDelay = true } }

// WithMemory bounds what the server keeps (see [Memory]); the default
// keeps 1000 messages a chat, 10 000 in all, [MaxRecordedRequests] calls
// and 100 000 sent records.
func WithMemory(m Memory) Option { return func(o *options) { o.memory = m } }

// WithBotUser sets the bot's names and getMe flags (can_join_groups,
// supports_inline_queries, has_main_web_app, ...); its ID and IsBot are
// ignored (the id comes from the token). The default is "Test Bot" with
// the username of [WithBotUsername], can_join_groups,
// supports_inline_queries and has_main_web_app. Messages show the bot
// with its id, names and username only, as Telegram's do.
func WithBotUser(u User) Option { return func(o *options) { o.botUser = &u } }

// WithClock sets the clock the server reads for every timestamp (message
// dates, recorded requests), for the rate-limit model and retry_after, and
// for deadlines (the pre-checkout answer's 10 seconds). The default is
// time.Now.
//
// Waiting (long polls, [WithLatency], the wait inside [Server.Pay], webhook
// redelivery backoff) still uses the time package's timers: real time, or
// the bubble's fake time inside testing/synctest. For one clock that drives
// timestamps and every wait, and never sleeps real time, use
// [WithVirtualClock] instead (or run inside a testing/synctest bubble, where
// time.Now and the timers are already one clock).
func WithClock(now func() time.Time) Option { return func(o *options) { o.clock = now } }

// WithVirtualClock puts the server on c: every timestamp and every wait
// (latency, long polls, webhook backoff and timeouts, [Server.Pay]'s
// deadline, the limits) follows c, and no path sleeps real time. It
// overrides [WithClock].
func WithVirtualClock(c *VirtualClock) Option { return func(o *options) { o.vclock = c } }

// WithSeed seeds the random source behind probabilistic faults and the ids
// the server makes up (invoice links, charge ids). The default seed is 1, so
// runs repeat.
func WithSeed(seed uint64) Option { return func(o *options) { o.seed = seed } }

// WithRateLimits turns on Telegram's flood limits (see the package
// documentation, "Limits"), with every window divided by scale: 1 is
// Telegram's limits, 10 runs ten times faster; 0 turns them off, the
// default. NewServer panics if scale is negative or NaN.
func WithRateLimits(scale float64) Option { return func(o *options) { o.limitScale = scale } }

// WithoutListener makes a server with no socket: it is reached only through
// [Server.Transport] (and [Server.Client], which uses it), so it can run
// inside a testing/synctest bubble. [Server.URL] is then a placeholder host
// that only the transport understands. The default is a loopback listener.
func WithoutListener() Option { return func(o *options) { o.noListener = true } }

// WithWebhookTransport sets the transport the server delivers webhook
// updates with; [HandlerTransport] delivers them to an http.Handler in
// memory. The default is a private clone of http.DefaultTransport.
func WithWebhookTransport(rt http.RoundTripper) Option {
	return func(o *options) { o.webhookRT = rt }
}

// Server is a fake Telegram Bot API server. Create one with [NewServer] and
// release it with [Server.Close]. A Server is safe for concurrent use.
type Server struct {
	opts    options
	hs      *httptest.Server
	url     string
	botID   int64
	ownRT   *http.Transport // the default webhook transport, closed by Close
	hookRT  http.RoundTripper
	done    chan struct{}
	base    context.Context // ends at Close
	cancel  context.CancelFunc
	closed  sync.Once
	wg      sync.WaitGroup
	methods map[string]methodFunc
	clk     clock
	key     ed25519.PrivateKey // signs init data's signature field

	mu sync.Mutex
	st state
}

// NewServer starts a fake Telegram. Without [WithoutListener] it listens on
// a loopback port (net/http/httptest). Close it when done, for example with
// t.Cleanup(srv.Close).
//
// NewServer panics if [WithRateLimits] is given a negative or NaN scale,
// or [WithLatency] an invalid distribution.
func NewServer(opts ...Option) *Server {
	o := options{token: DefaultToken, botUsername: "test_bot", clock: time.Now, seed: 1}
	for _, opt := range opts {
		opt(&o)
	}
	if o.clock == nil {
		o.clock = time.Now
	}
	if o.limitScale < 0 || o.limitScale != o.limitScale {
		panic("botapitest: WithRateLimits needs a positive scale")
	}
	if o.latencyErr != nil {
		panic(o.latencyErr.Error())
	}
	s := &Server{opts: o, done: make(chan struct{})}
	s.clk = realClock{o.clock}
	if o.vclock != nil {
		s.clk = o.vclock
	}
	s.base, s.cancel = context.WithCancel(context.Background())
	s.botID, _ = strconv.ParseInt(strings.SplitN(o.token, ":", 2)[0], 10, 64)
	s.methods = methodTable()
	var seed [ed25519.SeedSize]byte
	binary.LittleEndian.PutUint64(seed[:], o.seed)
	copy(seed[8:], "botapitest init data key")
	s.key = ed25519.NewKeyFromSeed(seed[:])
	s.st.init(s, o)
	if o.webhookRT != nil {
		s.hookRT = o.webhookRT
	} else {
		s.ownRT = http.DefaultTransport.(*http.Transport).Clone()
		s.hookRT = s.ownRT
	}
	if o.noListener {
		s.url = inMemoryURL
	} else {
		s.hs = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
		s.url = s.hs.URL
	}
	s.wg.Add(1)
	go s.dispatchWebhook()
	return s
}

// URL returns the server's base URL, to use where the client would use
// https://api.telegram.org: methods are at URL()+"/bot"+Token()+"/"+method.
func (s *Server) URL() string { return s.url }

// Token returns the bot token the server accepts.
func (s *Server) Token() string { return s.opts.token }

// Handler returns the server's http.Handler, to mount it elsewhere.
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serveHTTP) }

// Transport returns an http.RoundTripper that serves requests with the
// server's handler in the calling goroutine, without a socket, whatever
// host the request names. Use it to run a client and the fake inside a
// testing/synctest bubble.
func (s *Server) Transport() http.RoundTripper { return HandlerTransport(s.Handler()) }

// HTTPClient returns an *http.Client that reaches the server: over loopback,
// or through [Server.Transport] for a server made [WithoutListener].
func (s *Server) HTTPClient() *http.Client {
	if s.hs == nil {
		return &http.Client{Transport: s.Transport()}
	}
	return s.hs.Client()
}

// Close stops the server: it ends pending long polls, hanging calls and
// webhook deliveries, waits for its goroutines, and closes the listener.
// Close is idempotent.
func (s *Server) Close() {
	s.closed.Do(func() {
		close(s.done)
		s.cancel()
		if s.hs != nil {
			s.hs.Close()
		}
		s.wg.Wait()
		if s.ownRT != nil {
			s.ownRT.CloseIdleConnections()
		}
	})
}

func (s *Server) now() time.Time { return s.clk.Now() }

// sleep waits d, or until ctx ends or the server closes; it reports whether
// the full time passed.
func (s *Server) sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	c, stop := s.clk.timer(d)
	defer stop()
	select {
	case <-c:
		return true
	case <-ctx.Done():
	case <-s.done:
	}
	return false
}

// newRand makes the server's seeded random source.
func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)) }
