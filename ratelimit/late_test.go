package ratelimit

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"
)

// maxIn returns the most of the sorted times within any closed window of
// length w.
func maxIn(ts []time.Time, w time.Duration) int {
	best, j := 0, 0
	for i := range ts {
		for ts[i].Sub(ts[j]) > w {
			j++
		}
		best = max(best, i-j+1)
	}
	return best
}

// TestLateSendSharedStore: two schedulers (two replicas) on one store. An
// overdue send of one may reach Telegram at any moment until its answer,
// so the other must keep a send of each bot-wide window free for it too:
// every window that may hold its arrival has room for it beyond the
// spare. Before the fix the lateness was the first scheduler's own: the
// second took 9 of 10 slots of a window (a spare only), and two late
// sends of one replica put 31 sends into a second at the fake in S9.
func TestLateSendSharedStore(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const margin = 10 * time.Millisecond
		store := NewMemoryStore()
		opts := []Option{WithStore(store), WithMargin(margin, margin), WithGlobalLimit(Limit{N: 10, Window: time.Second})}
		a, err := NewTelegram(opts...)
		require.NoError(t, err)
		b, err := NewTelegram(opts...)
		require.NoError(t, err)
		ctx := WithLane(t.Context(), Bulk)

		// A quick send of a's sets its fastest round trip: 30 ms.
		require.NoError(t, a.Wait(ctx, 1))
		_, release := a.Admit(ctx, 1)
		time.Sleep(30 * time.Millisecond)
		release()

		// A slow one: overdue after 30 + 2×10 + 10/4 ms, answered after 600 ms.
		require.NoError(t, a.Wait(ctx, 2))
		_, release = a.Admit(ctx, 2)
		start := time.Now()
		od, end := start.Add(52500*time.Microsecond), start.Add(600*time.Millisecond)
		require.Equal(t, od.Sub(start), a.overdue(a.cs.Load()))
		// Meanwhile b sends to new chats as fast as it may, for 3 s.
		var sent []time.Time
		for i := int64(100); time.Since(start) < 3*time.Second; i++ {
			require.NoError(t, b.Wait(ctx, i))
			if !time.Now().Before(end) && release != nil {
				release()
				release = nil
			}
			sent = append(sent, time.Now())
		}
		// Every window that starts while the send is overdue and on its way
		// may hold its arrival: b leaves a send free in it beyond the spare.
		var in []time.Time
		w := time.Second + margin
		for _, at := range sent {
			if !at.Before(od) && !at.After(end.Add(w)) {
				in = append(in, at)
			}
		}
		require.LessOrEqual(t, maxIn(in, w), 10-DefaultSpare-1)
		require.Equal(t, 10-DefaultSpare, maxIn(sent[len(sent)/2:], w), "full pace once it is over")
	})
}

// TestNotSent: a send that was never made (a circuit breaker refused it
// at once) teaches no round trip and holds no room; before NotSent, its
// 1 µs "round trip" became the fastest, and every real send then looked
// overdue.
func TestNotSent(t *testing.T) {
	now := t0
	s, err := NewTelegram(WithClock(func() time.Time { return now }))
	require.NoError(t, err)
	ctx := WithLane(t.Context(), Bulk)
	_, release := s.Admit(ctx, 1)
	now = now.Add(40 * time.Millisecond)
	release()
	require.Equal(t, int64(40*time.Millisecond), s.minRTT.Load())

	sctx, release := s.Admit(ctx, 2)
	require.NoError(t, s.Wait(sctx, 2), "the client's wait, admitted")
	now = now.Add(time.Microsecond)
	NotSent(sctx)
	release()
	release() // a second release does nothing
	require.Equal(t, int64(40*time.Millisecond), s.minRTT.Load())
	require.Zero(t, s.Stats().LateHolds)
	NotSent(ctx) // no admission: nothing
}

// A send cut short by a 429 on its chat (Backoff cancels its context: an
// interactive reply to the user got the 429, or a second send to the
// group) ends 1 ms after it began, but that is no round trip: the
// scheduler must not learn from it that Telegram answers in 1 ms, or every
// later send slower than that by 2.25 margins counts as overdue and holds
// bot-wide slots, for the scheduler's life.
func TestBackoffCancelTeachesNoRoundTrip(t *testing.T) {
	now := t0
	s, err := NewTelegram(WithClock(func() time.Time { return now }))
	require.NoError(t, err)
	ctx := WithLane(t.Context(), Bulk)
	_, release := s.Admit(ctx, 1)
	now = now.Add(40 * time.Millisecond)
	release()
	require.Equal(t, int64(40*time.Millisecond), s.minRTT.Load())

	sctx, release := s.Admit(ctx, 2)
	now = now.Add(time.Millisecond)
	s.Backoff(2, time.Second) // another send's 429 on chat 2
	require.ErrorIs(t, context.Cause(sctx), ErrBackoff)
	release() // the client gave up at once
	require.Equal(t, int64(40*time.Millisecond), s.minRTT.Load(), "a send cut short is no round trip")
}
