package broadcast_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"

	"github.com/miniappkit/miniappkit/broadcast"
	"github.com/stretchr/testify/require"
)

// cancelledDuringStart is a log whose Start, on its nth call, ends the
// run's context while it marks the entry in flight and then reports
// success, as a client does whose command had completed when the context
// ended (go-redis does not watch a context while it reads a reply; pgx
// returns the result of a statement that finished).
type cancelledDuringStart struct {
	broadcast.Log
	nth    int32
	calls  atomic.Int32
	cancel context.CancelFunc
}

func (l *cancelledDuringStart) Start(ctx context.Context, id, run string, i int) error {
	err := l.Log.Start(ctx, id, run, i)
	if l.calls.Add(1) == l.nth {
		l.cancel()
	}
	return err
}

// A cancel that lands while the log marks an entry in flight, the mark
// succeeding: no request starts after the cancel (Run's doc: "no new
// request starts"), and the entry, never sent, is not left in flight, so
// the resumed run sends it instead of reporting it Unknown.
func TestNoRequestAfterCancelDuringStart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSim(t)
		chats := s.users(200)
		durable := &broadcast.MemoryLog{}
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		var (
			mu   sync.Mutex
			late []int64 // sends begun after the cancel
		)
		send := text(s.client)
		watched := func(sctx context.Context, chat int64) error {
			if ctx.Err() != nil {
				mu.Lock()
				late = append(late, chat)
				mu.Unlock()
			}
			return send(sctx, chat)
		}
		first := &cancelledDuringStart{Log: durable, nth: 50, cancel: cancel}
		_, err := broadcast.Run(ctx, s.sched, chats, watched, broadcast.WithLog(first, "news"))
		require.ErrorIs(t, err, context.Canceled)
		require.Empty(t, late, "requests started after the cancel")

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
