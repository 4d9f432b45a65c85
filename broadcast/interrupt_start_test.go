package broadcast_test

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"

	"github.com/miniappkit/miniappkit/broadcast"
	"github.com/stretchr/testify/require"
)

// writtenThenCanceled is a log whose Start, on its nth call, marks the
// entry in flight and then reports the context's end, as a database
// driver does when the context ends just after its statement committed
// (modernc.org/sqlite returns ctx.Err() whenever the context ended during
// the call).
type writtenThenCanceled struct {
	broadcast.Log
	nth    int32
	calls  atomic.Int32
	cancel context.CancelFunc
}

func (l *writtenThenCanceled) Start(ctx context.Context, id, run string, i int) error {
	if err := l.Log.Start(ctx, id, run, i); err != nil {
		return err
	}
	if l.calls.Add(1) == l.nth {
		l.cancel()
		return context.Canceled
	}
	return nil
}

// An interrupt (Ctrl-C) that lands while the log marks an entry in flight,
// after the mark is written but before Start returns: nothing was sent, so
// the entry must not stay in flight, which a resumed run would report
// Unknown and never send. Before the fix the resumed run reported it
// Unknown: the examples/broadcast resume test saw 189 of 190 users reached.
func TestInterruptDuringStartLeavesNothingInFlight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSim(t)
		chats := s.users(200)
		durable := &broadcast.MemoryLog{}
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		first := &writtenThenCanceled{Log: durable, nth: 50, cancel: cancel}
		_, err := broadcast.Run(ctx, s.sched, chats, text(s.client), broadcast.WithLog(first, "news"))
		require.ErrorIs(t, err, context.Canceled)

		sum, err := broadcast.Run(t.Context(), s.sched, chats, text(s.client), broadcast.WithLog(durable, "news"))
		require.NoError(t, err)
		require.Zero(t, sum.Unknown, "an entry never sent is reported Unknown")
		perChat := map[int64]int{}
		for _, m := range s.srv.Sent() {
			perChat[m.ChatID]++
		}
		for _, c := range chats {
			require.Equal(t, 1, perChat[c], "chat %d", c)
		}
	})
}
