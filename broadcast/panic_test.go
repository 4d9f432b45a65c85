package broadcast_test

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/miniappkit/miniappkit/broadcast"
	"github.com/miniappkit/miniappkit/ratelimit"
	"github.com/stretchr/testify/require"
)

// runRecovered calls broadcast.Run and returns what it panicked with, if
// anything, as a caller that recovers does (net/http recovers a handler's
// panic).
func runRecovered(ctx context.Context, run func(context.Context) error) (p any, err error) {
	defer func() { p = recover() }()
	return nil, run(ctx)
}

// A result callback that panics (a bug in the caller's bookkeeping) on a
// worker: the panic reaches Run's caller, where it can be recovered,
// after the sends in flight have finished and been recorded and the
// broadcast id's lease has been given back. Before, the panic was on a
// worker goroutine and killed the process: the lease stayed taken, and
// the sends in flight were left in the log, for a resumed run to report
// Unknown.
func TestCallbackPanicReachesCaller(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSim(t)
		chats := s.users(200)
		log := &broadcast.MemoryLog{}
		var results atomic.Int32
		p, err := runRecovered(t.Context(), func(ctx context.Context) error {
			_, err := broadcast.Run(ctx, s.sched, chats, text(s.client), broadcast.WithLog(log, "news"),
				broadcast.WithResult(func(broadcast.Result) {
					if results.Add(1) == 40 {
						panic("bookkeeping bug")
					}
				}))
			return err
		})
		require.Equal(t, "bookkeeping bug", p, "the panic reaches the caller (err %v)", err)

		// The lease was given back: the next run starts at once, and
		// finds no send left in flight.
		sum, err := broadcast.Run(t.Context(), s.sched, chats, text(s.client), broadcast.WithLog(log, "news"), broadcast.WithLease(time.Hour))
		require.NoError(t, err)
		require.Zero(t, sum.Unknown)
		perChat := map[int64]int{}
		for _, m := range s.srv.Sent() {
			perChat[m.ChatID]++
		}
		for _, c := range chats {
			require.Equal(t, 1, perChat[c], "chat %d", c)
		}
	})
}

// A SendFunc that panics: the panic reaches Run's caller, and its
// admission is released, so the scheduler, which lives on, holds no
// bot-wide room for a send that will never end.
func TestSendPanicReachesCaller(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSim(t)
		chats := s.users(100)
		send := text(s.client)
		var calls atomic.Int32
		p, _ := runRecovered(t.Context(), func(ctx context.Context) error {
			_, err := broadcast.Run(ctx, s.sched, chats, func(ctx context.Context, chat int64) error {
				if calls.Add(1) == 40 {
					panic("send bug")
				}
				return send(ctx, chat)
			})
			return err
		})
		require.Equal(t, "send bug", p)
		held := s.sched.Stats().LateHolds
		time.Sleep(10 * time.Second)
		require.Equal(t, held, s.sched.Stats().LateHolds, "bot-wide room held for the send that panicked")
	})
}

// A result callback that panics on the report of an entry the last run
// left in flight, which Run makes on its own goroutine before the
// workers start: the lease is given back all the same (before the fix it
// went on being renewed for as long as the process lived, and every later
// run of the broadcast got ErrRunning).
func TestReportPanicReleasesLease(t *testing.T) {
	chats := []int64{1, 2}
	log := &broadcast.MemoryLog{}
	ctx := t.Context()
	_, err := log.Open(ctx, "news", broadcast.Fingerprint(chats), "killed", time.Minute)
	require.NoError(t, err)
	require.NoError(t, log.Start(ctx, "news", "killed", 0))
	require.NoError(t, log.Release(ctx, "news", "killed"))

	sched, err := ratelimit.NewTelegram()
	require.NoError(t, err)
	var sends atomic.Int32
	p, _ := runRecovered(ctx, func(ctx context.Context) error {
		_, err := broadcast.Run(ctx, sched, chats, func(context.Context, int64) error {
			sends.Add(1)
			return nil
		}, broadcast.WithLog(log, "news"), broadcast.WithResult(func(r broadcast.Result) {
			if r.Outcome == broadcast.Unknown {
				panic("report bug")
			}
		}))
		return err
	})
	require.Equal(t, "report bug", p)
	require.Zero(t, sends.Load(), "the run stopped before sending")
	_, err = log.Open(ctx, "news", broadcast.Fingerprint(chats), "next", time.Minute)
	require.NoError(t, err, "the lease was given back")
}
