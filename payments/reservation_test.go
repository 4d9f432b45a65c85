package payments

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/miniappkit/miniappkit/botapi"
)

// lostReserveReply stores reservations but loses the reply of the first.
type lostReserveReply struct {
	*MemoryLedger
	lost bool
}

func (l *lostReserveReply) Reserve(ctx context.Context, ref, holder string, ttl time.Duration) (bool, error) {
	ok, err := l.MemoryLedger.Reserve(ctx, ref, holder, ttl)
	if err == nil && !l.lost {
		l.lost = true
		return false, errors.New("connection reset")
	}
	return ok, err
}

// TestReservationReleasedWhenNotAccepted: a pre-checkout whose ok answer
// Telegram refused as too old gives its order back at once (the defect:
// the order stayed reserved for DefaultReservationTTL and the buyer's
// retry was declined with MsgOrderTaken); a Reserve that stored the
// reservation but lost its reply is tried again, and the query holds the
// order (before, it was declined with MsgUnavailable and released, a
// release that would also free a reservation an earlier delivery of the
// query holds: TestRedeliveryWhoseReserveFailsKeepsReservation).
func TestReservationReleasedWhenNotAccepted(t *testing.T) {
	ctx := t.Context()
	t.Run("query too old", func(t *testing.T) {
		f := newFixture(t)
		p := f.payload(t, Order{Ref: "o", Currency: XTR, Amount: 5})
		f.api.answerErr = &botapi.Error{Method: "answerPreCheckoutQuery", Code: 400,
			Description: "Bad Request: query is too old and response timeout expired or query ID is invalid"}
		require.NoError(t, f.h.HandlePreCheckoutQuery(ctx, query("q1", 1, XTR, 5, p)))
		f.api.answerErr = nil
		require.NoError(t, f.h.HandlePreCheckoutQuery(ctx, query("q2", 1, XTR, 5, p)))
		require.True(t, f.api.lastAnswer(t).OK, "the retry at once is accepted")
		require.NoError(t, f.h.HandlePreCheckoutQuery(ctx, query("q3", 1, XTR, 5, p)))
		require.Equal(t, MsgOrderTaken, f.api.lastAnswer(t).ErrorMessage, "q2 holds the order")
	})
	t.Run("reserve reply lost", func(t *testing.T) {
		f := newFixture(t)
		l := &lostReserveReply{MemoryLedger: f.ledger}
		h, err := NewHandler(f.api, f.codec, l, f.h.fulfil)
		require.NoError(t, err)
		p := f.payload(t, Order{Ref: "o", Currency: XTR, Amount: 5})
		require.NoError(t, h.HandlePreCheckoutQuery(ctx, query("q1", 1, XTR, 5, p)))
		require.True(t, f.api.lastAnswer(t).OK, "the Reserve tried again holds the order")
		require.NoError(t, h.HandlePreCheckoutQuery(ctx, query("q2", 2, XTR, 5, p)))
		require.Equal(t, MsgOrderTaken, f.api.lastAnswer(t).ErrorMessage, "q1 holds the order")
	})
}

// gatedAnswers answers pre-checkout queries as Telegram does, the first
// answer to arrive for a query landing and any later one refused as too
// old; the first call waits at the gate (after signalling entered) before
// it arrives, so a second delivery's answer can overtake it.
type gatedAnswers struct {
	*fakeAPI
	entered, gate chan struct{}
	mu            sync.Mutex
	calls         int
	landed        map[string]bool
}

func (g *gatedAnswers) AnswerPreCheckoutQuery(ctx context.Context, p *botapi.AnswerPreCheckoutQueryParams) error {
	g.mu.Lock()
	g.calls++
	first := g.calls == 1
	g.mu.Unlock()
	if first {
		close(g.entered)
		<-g.gate
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.landed[p.PreCheckoutQueryID] {
		return &botapi.Error{Method: "answerPreCheckoutQuery", Code: 400,
			Description: "Bad Request: query is too old and response timeout expired or query ID is invalid"}
	}
	g.landed[p.PreCheckoutQueryID] = true
	return g.fakeAPI.AnswerPreCheckoutQuery(ctx, p)
}

// TestOvertakenDeliveryKeepsReservation: one query delivered twice at once
// (a redelivery racing the first delivery): the first delivery reserves
// the order, the second reserves it again and its ok answer lands first;
// the first's answer is then refused as too old, and its release must
// change nothing (the ledger's pin, whichever delivery releases), so
// another query for the order is declined with MsgOrderTaken.
func TestOvertakenDeliveryKeepsReservation(t *testing.T) {
	ctx := t.Context()
	f := newFixture(t)
	api := &gatedAnswers{fakeAPI: f.api, entered: make(chan struct{}), gate: make(chan struct{}), landed: map[string]bool{}}
	h, err := NewHandler(api, f.codec, f.ledger, f.h.fulfil)
	require.NoError(t, err)
	p := f.payload(t, Order{Ref: "o", Currency: XTR, Amount: 5})

	first := make(chan error, 1)
	go func() { first <- h.HandlePreCheckoutQuery(ctx, query("q1", 1, XTR, 5, p)) }()
	<-api.entered // the first delivery reserved the order; its answer is on its way
	require.NoError(t, h.HandlePreCheckoutQuery(ctx, query("q1", 1, XTR, 5, p)))
	require.True(t, f.api.lastAnswer(t).OK, "the second delivery's ok answer landed")
	close(api.gate)
	require.NoError(t, <-first, "the refused answer is acknowledged")

	require.NoError(t, h.HandlePreCheckoutQuery(ctx, query("q2", 2, XTR, 5, p)))
	require.Equal(t, MsgOrderTaken, f.api.lastAnswer(t).ErrorMessage, "q1's charge holds the order")
}

// failedReserve fails, before they reach the ledger (nothing is stored),
// the Reserve calls by holder q1 numbered (1-based, q1's calls only) in
// fail.
type failedReserve struct {
	*MemoryLedger
	mu    sync.Mutex
	calls int
	fail  func(n int) bool
}

func (l *failedReserve) Reserve(ctx context.Context, ref, holder string, ttl time.Duration) (bool, error) {
	if holder == "q1" {
		l.mu.Lock()
		l.calls++
		fail := l.fail(l.calls)
		l.mu.Unlock()
		if fail {
			return false, errors.New("connection refused")
		}
	}
	return l.MemoryLedger.Reserve(ctx, ref, holder, ttl)
}

// TestRedeliveryWhoseReserveFailsKeepsReservation: q1 is answered ok
// (Telegram charges), then delivered again, and the redelivery's Reserve
// fails without storing anything (the store briefly out of reach, or the
// decision's deadline spent by the check); its answer is refused as too
// old. The reservation q1's first answer made good must stay: q2 of the
// order is declined with MsgOrderTaken, whether the handler's retry of the
// Reserve fails too or not.
func TestRedeliveryWhoseReserveFailsKeepsReservation(t *testing.T) {
	ctx := t.Context()
	for _, tc := range []struct {
		name string
		fail func(n int) bool
	}{
		{"once", func(n int) bool { return n == 2 }},
		{"every time", func(n int) bool { return n >= 2 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			l := &failedReserve{MemoryLedger: f.ledger, fail: tc.fail}
			h, err := NewHandler(f.api, f.codec, l, f.h.fulfil)
			require.NoError(t, err)
			p := f.payload(t, Order{Ref: "o", Currency: XTR, Amount: 5})
			require.NoError(t, h.HandlePreCheckoutQuery(ctx, query("q1", 1, XTR, 5, p)))
			require.True(t, f.api.lastAnswer(t).OK, "q1 answered ok: Telegram charges")

			f.api.mu.Lock()
			f.api.answerErr = &botapi.Error{Method: "answerPreCheckoutQuery", Code: 400,
				Description: "Bad Request: query is too old and response timeout expired or query ID is invalid"}
			f.api.mu.Unlock()
			require.NoError(t, h.HandlePreCheckoutQuery(ctx, query("q1", 1, XTR, 5, p)), "q1 delivered again")
			f.api.mu.Lock()
			f.api.answerErr = nil
			f.api.mu.Unlock()

			require.NoError(t, h.HandlePreCheckoutQuery(ctx, query("q2", 2, XTR, 5, p)))
			require.Equal(t, MsgOrderTaken, f.api.lastAnswer(t).ErrorMessage, "q1's charge holds the order")
		})
	}
}
