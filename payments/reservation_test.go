package payments

import (
	"context"
	"errors"
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

// TestReservationReleasedWhenNotAccepted: a pre-checkout the handler does
// not answer ok gives its order back at once: the answer refused as too old
// (the defect: the order stayed reserved for DefaultReservationTTL and the
// buyer's retry was declined with MsgOrderTaken), and a Reserve that stored
// the reservation but lost its reply (declined with MsgUnavailable).
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
		require.Equal(t, MsgUnavailable, f.api.lastAnswer(t).ErrorMessage)
		require.NoError(t, h.HandlePreCheckoutQuery(ctx, query("q2", 1, XTR, 5, p)))
		require.True(t, f.api.lastAnswer(t).OK, "the declined query's stored reservation was released")
	})
}
