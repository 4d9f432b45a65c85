package payments

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/miniappkit/miniappkit/botapi"
)

// viaClient records every pre-checkout answer in fakeAPI and, while client
// is set, also sends it with client (a real botapi.Client pointed at a
// failing loopback server) and returns that call's error: the handler sees
// botapi's own errors, not hand-made ones.
type viaClient struct {
	*fakeAPI
	client *botapi.Client
}

func (a *viaClient) AnswerPreCheckoutQuery(ctx context.Context, p *botapi.AnswerPreCheckoutQueryParams) error {
	if err := a.fakeAPI.AnswerPreCheckoutQuery(ctx, p); err != nil || a.client == nil {
		return err
	}
	return a.client.AnswerPreCheckoutQuery(ctx, p)
}

// refusingBreaker is an open circuit: every attempt is refused unsent.
type refusingBreaker struct{}

func (refusingBreaker) Allow() (func(error), error) { return nil, errors.New("circuit open") }

// closedPort returns a loopback base URL nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	url := "http://" + ln.Addr().String()
	require.NoError(t, ln.Close())
	return url
}

// dropAfterRequest returns the base URL of a loopback server that reads
// each request whole and then drops the connection without an answer,
// counting the requests it read.
func dropAfterRequest(t *testing.T, read *atomic.Int32) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		read.Add(1)
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			_ = conn.Close()
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// badGatewayThenTooOld returns the base URL of a loopback server that
// answers a first request 502 (counted in landed: it may have been
// applied) and every later one 400 "query is too old", as Telegram answers
// a second answer to a query whose first did land.
func badGatewayThenTooOld(t *testing.T, landed *atomic.Int32) string {
	t.Helper()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		if n.Add(1) == 1 {
			landed.Add(1)
			w.WriteHeader(http.StatusBadGateway)
			_, _ = io.WriteString(w, `{"ok":false,"error_code":502,"description":"Bad Gateway"}`)
			return
		}
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"ok":false,"error_code":400,"description":"Bad Request: query is too old and response timeout expired or query ID is invalid"}`)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func oneAttempt(baseURL string, opts ...botapi.Option) *botapi.Client {
	return botapi.New("123456:TEST-token", append([]botapi.Option{botapi.WithBaseURL(baseURL),
		botapi.WithRetry(botapi.RetryPolicy{MaxAttempts: 1})}, opts...)...)
}

// fateFixture is a handler on f's codec and ledger (f's clock) that answers
// through api.
func fateFixture(t *testing.T, opts ...Option) (*fixture, *viaClient, *syncLog) {
	t.Helper()
	f := newFixture(t)
	log := &syncLog{}
	api := &viaClient{fakeAPI: f.api}
	fulfil := func(context.Context, Tx, Payment, Order) error { return nil }
	h, err := NewHandler(api, f.codec, f.ledger, fulfil,
		append([]Option{WithClock(f.clock), WithLogger(log.logger())}, opts...)...)
	require.NoError(t, err)
	f.h = h
	return f, api, log
}

// TestReservationKeptAfterAmbiguousAnswer: an ok answer to a provider
// payment's pre-checkout that failed in a way that hides its fate (Telegram
// may have got the ok and be charging) keeps the order reserved until the
// reservation's TTL: another pre-checkout of the order is declined with
// MsgOrderTaken meanwhile, and the update is acknowledged (nil: a
// redelivery's answer would be refused and release it). Before the fix the
// reservation was released at once and the second pre-checkout approved,
// so Telegram could charge the order twice, and a duplicate provider
// charge cannot be refunded through the Bot API.
func TestReservationKeptAfterAmbiguousAnswer(t *testing.T) {
	var read atomic.Int32
	for _, tc := range []struct {
		name   string
		err    error          // the fake answer's error
		client *botapi.Client // or the error of a real call through it
	}{
		{name: "timeout", err: fmt.Errorf("botapi: answerPreCheckoutQuery: %w", context.DeadlineExceeded)},
		{name: "5xx", err: &botapi.Error{Method: "answerPreCheckoutQuery", Code: 502, Description: "Bad Gateway"}},
		{name: "non-JSON 2xx", err: fmt.Errorf("botapi: answerPreCheckoutQuery: %w", botapi.ErrInvalidResponse)},
		{name: "unknown error", err: errors.New("connection reset by peer")},
		{name: "connection dropped after the request (real client)", client: oneAttempt(dropAfterRequest(t, &read))},
		{name: "5xx, retried with RetryUnsafe, then too old (real client)", client: botapi.New("123456:TEST-token",
			botapi.WithBaseURL(badGatewayThenTooOld(t, &read)),
			botapi.WithRetry(botapi.RetryPolicy{RetryUnsafe: true, Backoff: func(int) time.Duration { return time.Millisecond }}))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			f, api, log := fateFixture(t)
			p := f.payload(t, Order{Ref: "o", Currency: "USD", Amount: 500})
			f.api.answerErr, api.client = tc.err, tc.client
			before := read.Load()
			err := f.h.HandlePreCheckoutQuery(ctx, query("q1", 1, "USD", 500, p))
			require.True(t, f.api.lastAnswer(t).OK, "the ok answer was sent")
			if tc.client != nil {
				require.Equal(t, before+1, read.Load(), "the answer reached the server")
			}

			f.api.answerErr, api.client = nil, nil
			require.NoError(t, f.h.HandlePreCheckoutQuery(ctx, query("q2", 2, "USD", 500, p)))
			a := f.api.lastAnswer(t)
			require.False(t, a.OK, "a second buyer is not approved while the first ok may be charging")
			require.Equal(t, MsgOrderTaken, a.ErrorMessage)
			require.NoError(t, err, "acknowledged: a redelivery's answer would be refused whatever became of this one")
			require.Contains(t, log.String(), "may have reached Telegram")
			require.Contains(t, log.String(), "level=WARN")
			require.NotContains(t, log.String(), "TEST-token")

			f.advance(DefaultReservationTTL)
			require.NoError(t, f.h.HandlePreCheckoutQuery(ctx, query("q3", 2, "USD", 500, p)))
			require.True(t, f.api.lastAnswer(t).OK, "the reservation ended with its TTL")
		})
	}
}

// TestReservationReleasedWhenOutcomeKnown: a pre-checkout whose outcome is
// known gives its order back at once, so the buyer's retry is accepted:
// an ok answer Telegram refused (400 "query is too old", 429) or that never
// left (connection refused, a circuit breaker's refusal). (A declined
// query holds no reservation: a Reserve that fails twice is declined and
// releases nothing, TestRedeliveryWhoseReserveFailsKeepsReservation.)
func TestReservationReleasedWhenOutcomeKnown(t *testing.T) {
	tooOld := &botapi.Error{Method: "answerPreCheckoutQuery", Code: 400,
		Description: "Bad Request: query is too old and response timeout expired or query ID is invalid"}
	for _, tc := range []struct {
		name    string
		err     error
		client  *botapi.Client
		wantErr error
	}{
		{name: "query too old", err: tooOld},
		{name: "429", err: &botapi.Error{Method: "answerPreCheckoutQuery", Code: 429, Description: "Too Many Requests: retry after 5"},
			wantErr: botapi.ErrTooManyRequests},
		{name: "connection refused (real client)", client: oneAttempt(closedPort(t)), wantErr: botapi.ErrNetwork},
		{name: "circuit open (real client)", client: oneAttempt(closedPort(t), botapi.WithBreaker(refusingBreaker{})), wantErr: botapi.ErrCircuitOpen},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			f, api, _ := fateFixture(t)
			p := f.payload(t, Order{Ref: "o", Currency: "USD", Amount: 500})
			f.api.answerErr, api.client = tc.err, tc.client
			err := f.h.HandlePreCheckoutQuery(ctx, query("q1", 1, "USD", 500, p))
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr, "a redelivery may cure it")
			} else {
				require.NoError(t, err)
			}
			require.True(t, f.api.lastAnswer(t).OK)

			f.api.answerErr, api.client = nil, nil
			require.NoError(t, f.h.HandlePreCheckoutQuery(ctx, query("q2", 1, "USD", 500, p)))
			require.True(t, f.api.lastAnswer(t).OK, "released at once: the retry is accepted")
			require.NoError(t, f.h.HandlePreCheckoutQuery(ctx, query("q3", 2, "USD", 500, p)))
			require.Equal(t, MsgOrderTaken, f.api.lastAnswer(t).ErrorMessage, "q2 holds the order")
		})
	}
}
