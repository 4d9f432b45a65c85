package broadcast_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/miniappkit/miniappkit/botapi"
	"github.com/miniappkit/miniappkit/botapi/botapitest"
	"github.com/miniappkit/miniappkit/broadcast"
	"github.com/stretchr/testify/require"
)

// The bot's token is revoked in the middle of a broadcast (BotFather's
// /revoke): Telegram answers every send 401 Unauthorized. A 401 proves
// the message was not delivered, and every send after it would get one:
// the run stops with the error instead of reporting the rest of the list
// Unknown ("may have been delivered", never to be sent), and a run
// resumed with the new token sends every entry not delivered, once.
// Before the fix Run returned nil with 150 of the 200 entries Unknown.
func TestRevokedTokenStopsRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSim(t)
		chats := s.users(200)
		log := &broadcast.MemoryLog{}
		var done atomic.Int32
		var remove func()
		sum, err := broadcast.Run(t.Context(), s.sched, chats, text(s.client), broadcast.WithLog(log, "news"),
			broadcast.WithResult(func(broadcast.Result) {
				if done.Add(1) == 50 {
					remove = s.srv.AddFault(botapitest.FaultRule{Method: "sendMessage", Fault: botapitest.Fault{Code: 401, Description: "Unauthorized"}})
				}
			}))
		require.ErrorIs(t, err, botapi.ErrUnauthorized)
		require.Zero(t, sum.Unknown, "entries refused with 401 reported Unknown")
		require.Less(t, sum.Done, len(chats))

		remove() // the new token
		second, err := broadcast.Run(context.Background(), s.sched, chats, text(s.client), broadcast.WithLog(log, "news"))
		require.NoError(t, err)
		require.Zero(t, second.Unknown)
		require.Equal(t, len(chats), sum.Delivered+second.Delivered)
		perChat := map[int64]int{}
		for _, m := range s.srv.Sent() {
			perChat[m.ChatID]++
		}
		for _, c := range chats {
			require.Equal(t, 1, perChat[c], "chat %d", c)
		}
	})
}

// tlsFails fails the first request for one chat before it is sent: the
// server's certificate did not verify (a TLS-intercepting proxy, a
// container without CA certificates, for a while).
type tlsFails struct {
	dialFails
}

func (d *tlsFails) RoundTrip(r *http.Request) (*http.Response, error) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	if bytes.Contains(body, []byte(`"chat_id":`+d.chat)) && d.failed.CompareAndSwap(false, true) {
		return nil, &tls.CertificateVerificationError{Err: errors.New("x509: certificate signed by unknown authority")}
	}
	return d.rt.RoundTrip(r)
}

// A TLS handshake that fails before the request is written proves the
// message was not sent (botapi.NotApplied): the entry is sent again, as
// after a failed connect, not reported Unknown ("may have been
// delivered") and never sent. Before the fix it was Unknown.
func TestTLSFailureIsResent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSimWith(t, botapitest.Latency{Base: 40 * time.Millisecond})
		chats := s.users(50)
		tf := &tlsFails{dialFails{rt: meter{s.srv.Transport()}, chat: strconv.FormatInt(chats[7], 10)}}
		client := botapi.New(s.srv.Token(), botapi.WithBaseURL(s.srv.URL()),
			botapi.WithHTTPClient(&http.Client{Transport: tf}), botapi.WithLimiter(s.sched))
		got := map[int64]broadcast.Outcome{}
		sum, err := broadcast.Run(t.Context(), s.sched, chats, text(client), broadcast.WithResult(func(r broadcast.Result) { got[r.ChatID] = r.Outcome }))
		require.NoError(t, err)
		require.True(t, tf.failed.Load(), "the handshake failed once")
		require.Equal(t, broadcast.Delivered, got[chats[7]])
		require.Equal(t, len(chats), sum.Delivered)
		require.Len(t, sendTimes(s.srv, chats[7]), 1, "one message")
	})
}

// A client that retries unsafe methods (RetryPolicy.RetryUnsafe, set for
// the whole bot, say for answerPreCheckoutQuery) gets a connection reset
// after Telegram delivered the message; its retry is refused by the
// admission (ratelimit.ErrAdmissionUsed). That attempt may have landed:
// the entry is Unknown, never sent again. Before the fix the refusal was
// taken for "not sent" and the chat got the message twice.
func TestRetryAfterLandedAttemptNotResent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSimWith(t, botapitest.Latency{Base: 40 * time.Millisecond})
		chats := s.users(50)
		s.srv.AddFault(botapitest.FaultRule{Method: "sendMessage", ChatID: chats[7], Times: 1, Fault: botapitest.Fault{Kind: botapitest.FaultCloseAfterDelivery}})
		client := botapi.New(s.srv.Token(), botapi.WithBaseURL(s.srv.URL()),
			botapi.WithHTTPClient(&http.Client{Transport: meter{s.srv.Transport()}}), botapi.WithLimiter(s.sched),
			botapi.WithRetry(botapi.RetryPolicy{RetryUnsafe: true, Backoff: func(int) time.Duration { return 10 * time.Millisecond }}))
		got := map[int64]broadcast.Outcome{}
		sum, err := broadcast.Run(t.Context(), s.sched, chats, text(client), broadcast.WithResult(func(r broadcast.Result) { got[r.ChatID] = r.Outcome }))
		require.NoError(t, err)
		requireLostAnswerUnknown(t, s, chats, chats[7], got, sum)
	})
}

// A client built with an invalid option (here an empty token) fails every
// call with botapi.ErrConfig before any request: the run stops with that
// error, the entries unfinished, as the Run doc promises, instead of
// taking each such refusal for a failed connect and trying the list again
// every half second for ever. Before the fix Run only returned when ctx
// ended (context.DeadlineExceeded after ten minutes of virtual time).
func TestConfigErrorStopsRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSimWith(t, botapitest.Latency{Base: 40 * time.Millisecond})
		chats := s.users(20)
		client := botapi.New("", botapi.WithBaseURL(s.srv.URL()),
			botapi.WithHTTPClient(&http.Client{Transport: meter{s.srv.Transport()}}), botapi.WithLimiter(s.sched))
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
		defer cancel()
		log := &broadcast.MemoryLog{}
		var calls atomic.Int32
		send := func(ctx context.Context, chat int64) error {
			calls.Add(1)
			return text(client)(ctx, chat)
		}
		sum, err := broadcast.Run(ctx, s.sched, chats, send, broadcast.WithLog(log, "news"))
		require.ErrorIs(t, err, botapi.ErrConfig)
		require.NotErrorIs(t, err, context.DeadlineExceeded)
		require.Zero(t, sum.Done)
		require.LessOrEqual(t, int(calls.Load()), broadcast.DefaultConcurrency, "sends after the first refusal")

		// Fixed: a resumed run sends every entry, once.
		second, err := broadcast.Run(context.Background(), s.sched, chats, text(s.client), broadcast.WithLog(log, "news"))
		require.NoError(t, err)
		require.Zero(t, second.Unknown)
		require.Equal(t, len(chats), second.Delivered)
	})
}

// dialFailsAfter lets the first request for one chat through and fails
// the second to connect.
type dialFailsAfter struct {
	rt   http.RoundTripper
	chat string
	seen atomic.Int32
}

func (d *dialFailsAfter) RoundTrip(r *http.Request) (*http.Response, error) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	if bytes.Contains(body, []byte(`"chat_id":`+d.chat)) && d.seen.Add(1) == 2 {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
	}
	return d.rt.RoundTrip(r)
}

// A client without the scheduler's limiter and with
// RetryPolicy.RetryUnsafe gets a connection reset after Telegram
// delivered, retries, and that retry fails to connect: the call's error
// is a failed connect, but its first attempt may have landed (botapi says
// so: NotApplied is false). The entry is Unknown, never sent again.
// Before the fix broadcast's own test for a failed connect took the
// error for "not sent", and the chat got the message twice.
func TestFailedConnectAfterLandedAttemptNotResent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSimWith(t, botapitest.Latency{Base: 40 * time.Millisecond})
		chats := s.users(20)
		s.srv.AddFault(botapitest.FaultRule{Method: "sendMessage", ChatID: chats[7], Times: 1, Fault: botapitest.Fault{Kind: botapitest.FaultCloseAfterDelivery}})
		rt := &dialFailsAfter{rt: meter{s.srv.Transport()}, chat: strconv.FormatInt(chats[7], 10)}
		client := botapi.New(s.srv.Token(), botapi.WithBaseURL(s.srv.URL()),
			botapi.WithHTTPClient(&http.Client{Transport: rt}),
			botapi.WithRetry(botapi.RetryPolicy{MaxAttempts: 2, RetryUnsafe: true, Backoff: func(int) time.Duration { return 10 * time.Millisecond }}))
		got := map[int64]broadcast.Outcome{}
		sum, err := broadcast.Run(t.Context(), s.sched, chats, text(client), broadcast.WithResult(func(r broadcast.Result) { got[r.ChatID] = r.Outcome }))
		require.NoError(t, err)
		requireLostAnswerUnknown(t, s, chats, chats[7], got, sum)
	})
}

// refuseOnceAfterFailure is a circuit breaker that refuses the one
// attempt after a failed one.
type refuseOnceAfterFailure struct {
	mu     sync.Mutex
	refuse bool
}

func (b *refuseOnceAfterFailure) Allow() (func(error), error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.refuse {
		b.refuse = false
		return nil, errors.New("open")
	}
	return func(err error) {
		if err != nil && !errors.Is(err, botapi.ErrNotAttempted) {
			b.mu.Lock()
			b.refuse = true
			b.mu.Unlock()
		}
	}, nil
}

// A client with RetryPolicy.RetryUnsafe and a circuit breaker gets a
// connection reset after Telegram delivered; the breaker, having seen the
// failure, refuses the retry. The call's error says "circuit open", but
// its first attempt may have landed (botapi.NotApplied is false): the
// entry is Unknown, as the SendFunc doc promises for RetryUnsafe, never
// sent again. Before the fix every circuit refusal was taken for "nothing
// left", and the chat got the message twice.
func TestCircuitRefusalAfterLandedAttemptNotResent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSimWith(t, botapitest.Latency{Base: 40 * time.Millisecond})
		chats := s.users(20)
		s.srv.AddFault(botapitest.FaultRule{Method: "sendMessage", ChatID: chats[7], Times: 1, Fault: botapitest.Fault{Kind: botapitest.FaultCloseAfterDelivery}})
		client := botapi.New(s.srv.Token(), botapi.WithBaseURL(s.srv.URL()),
			botapi.WithHTTPClient(&http.Client{Transport: meter{s.srv.Transport()}}), botapi.WithLimiter(s.sched),
			botapi.WithBreaker(&refuseOnceAfterFailure{}),
			botapi.WithRetry(botapi.RetryPolicy{RetryUnsafe: true, Backoff: func(int) time.Duration { return 10 * time.Millisecond }}))
		got := map[int64]broadcast.Outcome{}
		// One send at a time: the attempt the breaker refuses is the retry.
		sum, err := broadcast.Run(t.Context(), s.sched, chats, text(client), broadcast.WithConcurrency(1),
			broadcast.WithResult(func(r broadcast.Result) { got[r.ChatID] = r.Outcome }))
		require.NoError(t, err)
		requireLostAnswerUnknown(t, s, chats, chats[7], got, sum)
	})
}

// A client without the scheduler's limiter and with RetryPolicy.RetryUnsafe
// gets a connection reset after Telegram delivered, retries, and the
// retry gets a refusal (429 here; a 403 or 404 the same): the refusal
// concerns the retry, not the first attempt, which may have landed
// (botapi.NotApplied is false). The entry is Unknown, never sent again.
// Before the fix the 429 was taken for "not sent", and the chat got the
// message twice.
func TestRefusalAfterLandedAttemptNotResent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSimWith(t, botapitest.Latency{Base: 40 * time.Millisecond})
		chats := s.users(20)
		s.srv.AddFault(botapitest.FaultRule{Method: "sendMessage", ChatID: chats[7], Times: 1, Fault: botapitest.Fault{Kind: botapitest.FaultCloseAfterDelivery}})
		s.srv.AddFault(botapitest.FaultRule{Method: "sendMessage", ChatID: chats[7], Times: 1, Fault: botapitest.Fault{Code: 429, RetryAfter: 5}})
		client := botapi.New(s.srv.Token(), botapi.WithBaseURL(s.srv.URL()),
			botapi.WithHTTPClient(&http.Client{Transport: meter{s.srv.Transport()}}),
			botapi.WithRetry(botapi.RetryPolicy{MaxAttempts: 2, MaxRetryAfter: -1, RetryUnsafe: true, Backoff: func(int) time.Duration { return 10 * time.Millisecond }}))
		got := map[int64]broadcast.Outcome{}
		sum, err := broadcast.Run(t.Context(), s.sched, chats, text(client), broadcast.WithResult(func(r broadcast.Result) { got[r.ChatID] = r.Outcome }))
		require.NoError(t, err)
		requireLostAnswerUnknown(t, s, chats, chats[7], got, sum)
	})
}

// requireLostAnswerUnknown checks the end of a run in which Telegram
// delivered to chat but its answer was lost: chat got the message once
// and is reported Unknown, and every other chat was delivered.
func requireLostAnswerUnknown(t *testing.T, s *sim, chats []int64, chat int64, got map[int64]broadcast.Outcome, sum broadcast.Summary) {
	t.Helper()
	n := 0
	for _, m := range s.srv.Sent() {
		if m.ChatID == chat {
			n++
		}
	}
	require.Equal(t, 1, n, "messages to the chat whose answer was lost")
	require.Equal(t, broadcast.Unknown, got[chat])
	require.Equal(t, len(chats)-1, sum.Delivered)
}
