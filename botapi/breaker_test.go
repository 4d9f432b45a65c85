package botapi_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/miniappkit/miniappkit/botapi"
	"github.com/miniappkit/miniappkit/botapi/botapitest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var errOpen = errors.New("breaker: open")

// consecutiveBreaker is a minimal two-step breaker, the shape of
// gobreaker's: it opens after threshold consecutive failures, stays open
// for cooldown, then lets one probe through (half-open), which closes it
// or opens it again.
type consecutiveBreaker struct {
	threshold int
	cooldown  time.Duration

	mu       sync.Mutex
	fails    int
	openedAt time.Time
	state    string // "closed", "open", "half-open"
	probing  bool
	allowed  atomic.Int32
}

func (b *consecutiveBreaker) Allow() (func(error), error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state == "open" && time.Since(b.openedAt) >= b.cooldown {
		b.state = "half-open"
	}
	switch {
	case b.state == "open", b.state == "half-open" && b.probing:
		return nil, errOpen
	case b.state == "half-open":
		b.probing = true
	}
	b.allowed.Add(1)
	var once sync.Once
	return func(err error) { once.Do(func() { b.done(err == nil) }) }, nil
}

func (b *consecutiveBreaker) done(ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.probing = false
	switch {
	case ok:
		b.state, b.fails = "closed", 0
	case b.state == "half-open":
		b.state, b.openedAt = "open", time.Now()
	default:
		if b.fails++; b.fails >= b.threshold {
			b.state, b.openedAt = "open", time.Now()
		}
	}
}

// Telegram answers 502 for 30 s, then recovers. With a breaker (3
// consecutive failures, 5 s cooldown) the calls during the outage fail at
// once, and only the first failures and one probe per cooldown reach the
// fake; the calls succeed again within one cooldown after the outage.
func TestBreakerDuringAnOutage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const (
			outage   = 30 * time.Second
			cooldown = 5 * time.Second
			every    = 100 * time.Millisecond
		)
		fake := botapitest.NewServer(botapitest.WithoutListener())
		defer fake.Close()
		br := &consecutiveBreaker{threshold: 3, cooldown: cooldown, state: "closed"}
		bot := fake.Client(botapi.WithBreaker(br))
		ann := fake.NewUser("Ann")
		ctx := context.Background()

		start := time.Now()
		removeFault := fake.AddFault(botapitest.FaultRule{Fault: botapitest.Fault{Kind: botapitest.FaultBadGateway}})
		var (
			refused, failed int
			succeeded       int
			firstOK         time.Duration
			lateFailures    int
		)
		for time.Since(start) < outage+2*cooldown {
			if time.Since(start) >= outage && removeFault != nil {
				removeFault()
				removeFault = nil
			}
			_, err := bot.SendMessage(ctx, &botapi.SendMessageParams{ChatID: botapi.ChatID{ID: ann.ID}, Text: "hi"})
			switch {
			case err == nil:
				succeeded++
				if firstOK == 0 {
					firstOK = time.Since(start)
				}
			case firstOK != 0:
				lateFailures++
			case errors.Is(err, botapi.ErrCircuitOpen):
				require.ErrorIs(t, err, botapi.ErrNetwork)
				require.ErrorIs(t, err, errOpen)
				refused++
			default:
				require.ErrorIs(t, err, botapi.ErrServer)
				failed++
			}
			time.Sleep(every)
		}
		reached := len(fake.Requests("sendMessage"))
		probes := int(outage / cooldown)
		t.Logf("during the outage: %d calls failed at the fake, %d refused by the breaker; first success at %v; %d calls reached the fake in all",
			failed, refused, firstOK, reached)
		assert.LessOrEqual(t, failed, 3+probes, "only the first failures and one probe per cooldown reach the failing fake")
		assert.Greater(t, refused, 250, "the rest fail at once")
		assert.Greater(t, firstOK, outage)
		assert.LessOrEqual(t, firstOK, outage+cooldown+every, "recovered within one cooldown")
		assert.Zero(t, lateFailures, "no failure once recovered")
		assert.Equal(t, failed+succeeded, reached, "a refused call sends nothing")
	})
}

// Outcomes the breaker hears: 4xx and 429 are successes (they concern one
// call, or are flow control), 5xx and timeouts failures; a call the caller
// cancels is not held against Telegram.
func TestBreakerOutcomes(t *testing.T) {
	tests := []struct {
		name  string
		fault *botapitest.Fault
		ctx   func() (context.Context, context.CancelFunc)
		ok    bool
	}{
		{"success", nil, nil, true},
		{"403 blocked", &botapitest.Fault{Code: 403, Description: "Forbidden: bot was blocked by the user"}, nil, true},
		{"429", &botapitest.Fault{Code: 429, Description: "Too Many Requests: retry after 100", RetryAfter: 100}, nil, true},
		{"500", &botapitest.Fault{Code: 500}, nil, false},
		{"502 page", &botapitest.Fault{Kind: botapitest.FaultBadGateway}, nil, false},
		{"connection dropped", &botapitest.Fault{Kind: botapitest.FaultClose}, nil, false},
		{"timeout", &botapitest.Fault{Kind: botapitest.FaultHang}, func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), time.Second)
		}, false},
		{"cancelled by the caller", &botapitest.Fault{Kind: botapitest.FaultHang}, func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(time.Second, cancel)
			return ctx, cancel
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				fake := botapitest.NewServer(botapitest.WithoutListener())
				defer fake.Close()
				var outcomes []bool
				rec := breakerFunc(func() (func(error), error) {
					return func(err error) { outcomes = append(outcomes, err == nil) }, nil
				})
				bot := fake.Client(botapi.WithBreaker(rec), botapi.WithRetry(botapi.RetryPolicy{MaxAttempts: 1}))
				if tt.fault != nil {
					fake.FailNext("getMe", 1, *tt.fault)
				}
				ctx, cancel := context.Background(), context.CancelFunc(func() {})
				if tt.ctx != nil {
					ctx, cancel = tt.ctx()
				}
				defer cancel()
				_, _ = bot.GetMe(ctx)
				assert.Equal(t, []bool{tt.ok}, outcomes)
			})
		})
	}
}

type breakerFunc func() (func(error), error)

func (f breakerFunc) Allow() (func(error), error) { return f() }

// While the breaker is open, Updates yields its refusal once and then
// waits, asking again every BreakerPollInterval: it neither spins nor
// floods the caller with errors, and sends nothing.
func TestUpdatesWaitsForTheBreaker(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fake := botapitest.NewServer(botapitest.WithoutListener())
		defer fake.Close()
		var asked atomic.Int32
		openUntil := time.Now().Add(10 * time.Second)
		br := breakerFunc(func() (func(error), error) {
			asked.Add(1)
			if time.Now().Before(openUntil) {
				return nil, errOpen
			}
			return func(error) {}, nil
		})
		bot := fake.Client(botapi.WithBreaker(br))
		ann := fake.NewUser("Ann")
		fake.SendUserMessage(ann, "hello")
		var errs int
		for u, err := range bot.Updates(context.Background(), &botapi.UpdatesOptions{Timeout: time.Second}) {
			if err != nil {
				require.ErrorIs(t, err, botapi.ErrCircuitOpen)
				errs++
				continue
			}
			assert.Equal(t, "hello", u.Message.Text)
			break
		}
		assert.Equal(t, 1, errs, "the refusal is yielded once")
		assert.Equal(t, int32(10/botapi.BreakerPollInterval.Seconds())+1, asked.Load()-1, "asked once a second, then the confirmation")
		assert.Equal(t, 2, len(fake.Requests("getUpdates")), "nothing sent while open: one poll, one confirmation")
	})
}

// A call whose context has ended returns an error matching ctx.Err(), also
// when the breaker refuses it. Before the fix it returned the breaker's
// refusal alone, which matched neither context.Canceled nor
// context.DeadlineExceeded.
func TestBreakerRefusalAfterContextEnded(t *testing.T) {
	open := breakerFunc(func() (func(error), error) { return nil, errOpen })
	c := botapi.New("1:x", botapi.WithBaseURL("http://127.0.0.1:1"), botapi.WithBreaker(open))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := c.GetMe(ctx)
	require.ErrorIs(t, err, context.Canceled)
	_, err = c.GetMe(t.Context())
	require.ErrorIs(t, err, botapi.ErrCircuitOpen, "a live context still gets the refusal")
}

// funcLimiter is a Limiter whose Wait is wait; Backoff does nothing.
type funcLimiter func(ctx context.Context, chatID int64) error

func (f funcLimiter) Wait(ctx context.Context, chatID int64) error { return f(ctx, chatID) }
func (funcLimiter) Backoff(int64, time.Duration)                   {}

// While the breaker refuses, a call that would wait on the limiter fails at
// once: it neither waits for a slot nor burns one. Before the fix the
// client waited on the limiter first and only then asked the breaker.
func TestBreakerRefusesBeforeTheLimiter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fake := botapitest.NewServer(botapitest.WithoutListener())
		defer fake.Close()
		var waits atomic.Int32
		slow := funcLimiter(func(ctx context.Context, _ int64) error {
			waits.Add(1)
			select { // a slot in a minute
			case <-time.After(time.Minute):
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
		open := breakerFunc(func() (func(error), error) { return nil, errOpen })
		bot := fake.Client(botapi.WithBreaker(open), botapi.WithLimiter(slow))
		ann := fake.NewUser("Ann")
		start := time.Now()
		_, err := bot.SendMessage(t.Context(), &botapi.SendMessageParams{ChatID: botapi.ChatID{ID: ann.ID}, Text: "hi"})
		require.ErrorIs(t, err, botapi.ErrCircuitOpen)
		require.ErrorIs(t, err, errOpen)
		assert.Zero(t, time.Since(start), "refused at once")
		assert.Zero(t, waits.Load(), "the limiter is not asked for a slot")
		assert.Empty(t, fake.Requests("sendMessage"))
	})
}

// When the breaker allows an attempt but the call ends while it waits on
// the limiter (its ctx ends, or the limiter fails), no request is sent: the
// breaker's done is called exactly once, with an error matching
// ErrNotAttempted (neither a success, which could close a half-open
// circuit on a probe never sent, nor a real failure), and the call's error
// still matches ctx.Err() when the ctx ended.
func TestBreakerDoneWhenTheLimiterWaitFails(t *testing.T) {
	errLimiter := errors.New("limiter: store unreachable")
	tests := []struct {
		name    string
		wait    func(ctx context.Context) error
		ctx     func() (context.Context, context.CancelFunc)
		callErr error
	}{
		{"deadline", func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() },
			func() (context.Context, context.CancelFunc) {
				return context.WithTimeout(context.Background(), time.Second)
			},
			context.DeadlineExceeded},
		{"cancelled", func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() },
			func() (context.Context, context.CancelFunc) {
				ctx, cancel := context.WithCancel(context.Background())
				time.AfterFunc(time.Second, cancel)
				return ctx, cancel
			},
			context.Canceled},
		{"limiter's own error", func(context.Context) error { return errLimiter },
			func() (context.Context, context.CancelFunc) { return context.WithCancel(context.Background()) },
			errLimiter},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				fake := botapitest.NewServer(botapitest.WithoutListener())
				defer fake.Close()
				var outcomes []error
				rec := breakerFunc(func() (func(error), error) {
					return func(err error) { outcomes = append(outcomes, err) }, nil
				})
				lim := funcLimiter(func(ctx context.Context, _ int64) error { return tt.wait(ctx) })
				bot := fake.Client(botapi.WithBreaker(rec), botapi.WithLimiter(lim))
				ann := fake.NewUser("Ann")
				ctx, cancel := tt.ctx()
				defer cancel()
				_, err := bot.SendMessage(ctx, &botapi.SendMessageParams{ChatID: botapi.ChatID{ID: ann.ID}, Text: "hi"})
				require.ErrorIs(t, err, tt.callErr)
				require.Len(t, outcomes, 1, "done is called exactly once")
				assert.ErrorIs(t, outcomes[0], botapi.ErrNotAttempted)
				assert.ErrorIs(t, outcomes[0], tt.callErr)
				assert.Empty(t, fake.Requests("sendMessage"))
			})
		})
	}
}
