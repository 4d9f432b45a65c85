package broadcast_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/miniappkit/miniappkit/botapi/botapitest"
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

// takeBackFails is a log whose first Finish with no outcome (the mark of
// an entry not sent taken back) fails before it takes effect: the engine
// was briefly unreachable.
type takeBackFails struct {
	broadcast.Log
	failed atomic.Bool
}

func (l *takeBackFails) Finish(ctx context.Context, id, run string, i int, o broadcast.Outcome) error {
	if o == 0 && l.failed.CompareAndSwap(false, true) {
		return errors.New("engine unreachable")
	}
	return l.Log.Finish(ctx, id, run, i, o)
}

// A chat answers 429 with an hour's retry_after, and the log fails to take
// the entry's mark back once (the engine briefly unreachable); the run is
// cancelled before the hour is over. A 429 proves nothing was delivered:
// the resumed run sends the entry, instead of finding it in flight and
// reporting it Unknown (the message lost).
func TestTakeBackFailureBeforeCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSimWith(t, botapitest.Latency{Base: 40 * time.Millisecond})
		chats := s.users(30)
		s.srv.AddFault(botapitest.FaultRule{Method: "sendMessage", ChatID: chats[3], Times: 1, Fault: botapitest.FaultTooManyRequests(3600)})
		durable := &broadcast.MemoryLog{}
		first := &takeBackFails{Log: durable}
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		var finished atomic.Int32
		_, err := broadcast.Run(ctx, s.sched, chats, text(s.client), broadcast.WithLog(first, "news"),
			broadcast.WithResult(func(broadcast.Result) {
				if finished.Add(1) == int32(len(chats)-1) {
					cancel()
				}
			}))
		require.ErrorIs(t, err, context.Canceled)
		require.True(t, first.failed.Load(), "the take-back failed")

		time.Sleep(time.Hour)
		sum, err := broadcast.Run(t.Context(), s.sched, chats, text(s.client), broadcast.WithLog(durable, "news"))
		require.NoError(t, err)
		require.Zero(t, sum.Unknown, "the entry that got the 429 is reported Unknown")
		require.Equal(t, 1, sum.Delivered)
		perChat := map[int64]int{}
		for _, m := range s.srv.Sent() {
			perChat[m.ChatID]++
		}
		for _, c := range chats {
			require.Equal(t, 1, perChat[c], "chat %d", c)
		}
	})
}

// finishFails is a log whose first Finish with an outcome fails before it
// takes effect: the engine was briefly unreachable.
type finishFails struct {
	broadcast.Log
	failed atomic.Bool
}

func (l *finishFails) Finish(ctx context.Context, id, run string, i int, o broadcast.Outcome) error {
	if o != 0 && l.failed.CompareAndSwap(false, true) {
		return errors.New("engine unreachable")
	}
	return l.Log.Finish(ctx, id, run, i, o)
}

// The log fails once to record a delivery (the engine briefly
// unreachable): the run knows the outcome, reports it Delivered, and
// records it before it returns. Before the fix the entry stayed in flight
// in the log, and running the broadcast again reported it a second time,
// Unknown: two outcomes for one entry.
func TestFinishFailureRecordedBeforeReturn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSimWith(t, botapitest.Latency{Base: 40 * time.Millisecond})
		chats := s.users(30)
		durable := &broadcast.MemoryLog{}
		first := &finishFails{Log: durable}
		sum, err := broadcast.Run(t.Context(), s.sched, chats, text(s.client), broadcast.WithLog(first, "news"))
		require.NoError(t, err)
		require.True(t, first.failed.Load(), "a Finish failed")
		require.Equal(t, len(chats), sum.Delivered)

		var again []broadcast.Result
		second, err := broadcast.Run(t.Context(), s.sched, chats, text(s.client), broadcast.WithLog(durable, "news"),
			broadcast.WithResult(func(r broadcast.Result) { again = append(again, r) }))
		require.NoError(t, err)
		require.Empty(t, again, "entries reported again")
		require.Zero(t, second.Unknown)
		require.Len(t, s.srv.Sent(), len(chats))
	})
}
