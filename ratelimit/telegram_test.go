package ratelimit

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"
)

func newTelegram(t *testing.T, opts ...Option) *Telegram {
	t.Helper()
	s, err := NewTelegram(append([]Option{WithMargin(0, 0), WithSpare(0)}, opts...)...) // exact limits; TestTelegramMargin covers the margin
	require.NoError(t, err)
	return s
}

func TestNewTelegramRejectsInvalid(t *testing.T) {
	for name, opt := range map[string]Option{
		"chat":     WithChatLimit(Limit{}),
		"group":    WithGroupLimit(Limit{N: 1, Window: time.Second, Burst: 2}),
		"global":   WithGlobalLimit(Limit{N: 0, Window: time.Second}),
		"paid":     WithPaidLimit(Limit{N: 1}),
		"evidence": WithFloodEvidence(0, time.Second),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := NewTelegram(opt)
			require.Error(t, err)
		})
	}
}

func TestTelegramChatLimit(t *testing.T) {
	s := newTelegram(t)
	require.True(t, s.AllowAt(42, Bulk, t0))
	require.False(t, s.AllowAt(42, Bulk, t0.Add(time.Second-1)), "one per second per chat")
	require.Equal(t, time.Second+1, s.DelayAt(42, Bulk, t0))
	require.True(t, s.AllowAt(42, Bulk, t0.Add(time.Second+1)))
}

func TestTelegramGroupLimit(t *testing.T) {
	s := newTelegram(t)
	var sent []int64
	for ms := int64(0); ms <= 120_000; ms++ {
		at := t0.Add(time.Duration(ms) * time.Millisecond)
		if s.AllowAt(-100, Bulk, at) {
			sent = append(sent, ms*int64(time.Millisecond))
		}
	}
	require.Equal(t, 20, maxInClosedWindow(sent, int64(time.Minute)))
	require.Len(t, sent, 40, "20 per minute, every 3 s")
}

func TestTelegramGlobalLimit(t *testing.T) {
	s := newTelegram(t)
	var sent []int64
	chat := int64(1)
	for us := int64(0); us <= 3_000_000; us += 100 {
		at := t0.Add(time.Duration(us) * time.Microsecond)
		if s.AllowAt(chat, Bulk, at) {
			sent = append(sent, us*int64(time.Microsecond))
			chat++
		}
	}
	require.Equal(t, 30, maxInClosedWindow(sent, int64(time.Second)))
	require.GreaterOrEqual(t, len(sent), 90)
}

func TestTelegramPaidLane(t *testing.T) {
	s := newTelegram(t)
	n := 0
	for at := t0; at.Before(t0.Add(time.Second)); {
		if s.AllowAt(int64(n+1), Paid, at) {
			n++
			continue
		}
		at = at.Add(s.DelayAt(int64(n+1), Paid, at))
	}
	require.Equal(t, 1000, n, "paid lane reaches 1000/s")
	// Free lanes count against the paid ceiling too.
	s = newTelegram(t)
	for i := range 30 {
		require.True(t, s.AllowAt(int64(i+1), Interactive, t0.Add(time.Duration(i)*40*time.Millisecond)))
	}
	require.False(t, s.AllowAt(999, Paid, t0.Add(29*40*time.Millisecond)), "same instant as the last free send")
}

func TestTelegramBackoffBlocksOnlyThatChat(t *testing.T) {
	s := newTelegram(t)
	require.False(t, s.BackoffAt(7, 30*time.Second, t0))
	for _, d := range []time.Duration{0, time.Second, 29 * time.Second, 30*time.Second - 1} {
		require.False(t, s.AllowAt(7, Interactive, t0.Add(d)), "blocked at +%v", d)
	}
	require.True(t, s.AllowAt(8, Bulk, t0.Add(time.Second)), "others keep going")
	require.Equal(t, 29*time.Second, s.ChatDelayAt(7, t0.Add(time.Second)))
	require.Equal(t, time.Duration(0), s.ChatDelayAt(8, t0.Add(30*time.Second)))
	require.True(t, s.AllowAt(7, Bulk, t0.Add(30*time.Second)))
	require.Equal(t, Stats{Backoffs: 1}, s.Stats())
}

func TestTelegramBotWidePause(t *testing.T) {
	t.Run("chat 0", func(t *testing.T) {
		s := newTelegram(t)
		require.True(t, s.BackoffAt(0, 10*time.Second, t0))
		require.False(t, s.AllowAt(5, Bulk, t0.Add(9*time.Second)))
		require.False(t, s.AllowAt(6, Interactive, t0.Add(9*time.Second)))
		require.False(t, s.AllowAt(6, Paid, t0.Add(9*time.Second)))
		require.True(t, s.AllowAt(5, Bulk, t0.Add(10*time.Second)))
	})
	t.Run("three chats are not evidence", func(t *testing.T) {
		s := newTelegram(t)
		for i := range 3 {
			require.False(t, s.BackoffAt(int64(i+1), 5*time.Second, t0.Add(time.Duration(i)*300*time.Millisecond)))
		}
		require.True(t, s.AllowAt(100, Bulk, t0.Add(time.Second)))
	})
	t.Run("five chats within a second", func(t *testing.T) {
		s := newTelegram(t)
		paused := false
		for i := range 5 {
			paused = s.BackoffAt(int64(i+1), 5*time.Second, t0.Add(time.Duration(i)*200*time.Millisecond))
		}
		require.True(t, paused)
		require.False(t, s.AllowAt(100, Bulk, t0.Add(5*time.Second)))
		require.True(t, s.AllowAt(100, Bulk, t0.Add(5800*time.Millisecond)))
		require.Equal(t, Stats{Backoffs: 5, Pauses: 1}, s.Stats())
	})
	t.Run("the same chat twice is one chat", func(t *testing.T) {
		s := newTelegram(t, WithFloodEvidence(2, time.Second))
		require.False(t, s.BackoffAt(1, time.Second, t0))
		require.False(t, s.BackoffAt(1, time.Second, t0.Add(time.Millisecond)))
		require.True(t, s.BackoffAt(2, time.Second, t0.Add(2*time.Millisecond)))
	})
	t.Run("spread out is not evidence", func(t *testing.T) {
		s := newTelegram(t, WithFloodEvidence(2, time.Second))
		require.False(t, s.BackoffAt(1, time.Second, t0))
		require.False(t, s.BackoffAt(2, time.Second, t0.Add(1500*time.Millisecond)))
	})
}

func TestLaneContext(t *testing.T) {
	_, ok := LaneFromContext(t.Context())
	require.False(t, ok)
	l, ok := LaneFromContext(WithLane(t.Context(), Paid))
	require.True(t, ok)
	require.Equal(t, Paid, l)
	require.Equal(t, "paid", l.String())
}

func TestTelegramWaitPacesOneChat(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newTelegram(t)
		start := time.Now()
		for range 3 {
			require.NoError(t, s.Wait(t.Context(), 1))
		}
		require.Equal(t, 2*(time.Second+1), time.Since(start))
	})
}

// A hot chat with many queued sends does not delay other chats.
func TestTelegramNoHeadOfLineBlocking(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newTelegram(t)
		ctx := WithLane(t.Context(), Bulk)
		var wg sync.WaitGroup
		for range 50 {
			wg.Go(func() { _ = s.Wait(ctx, 1) })
		}
		time.Sleep(time.Millisecond) // let the hot chat's waiters queue
		start := time.Now()
		for i := range 30 {
			require.NoError(t, s.Wait(ctx, int64(100+i)))
		}
		require.LessOrEqual(t, time.Since(start), time.Second, "30 other chats in about a second")
		wg.Wait()
	})
}

// Interactive sends take the next bot-wide slot before bulk ones.
func TestTelegramInteractiveBeforeBulk(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newTelegram(t)
		bulk := WithLane(t.Context(), Bulk)
		ctx, cancel := context.WithCancel(bulk)
		defer cancel()
		var wg sync.WaitGroup
		for w := range 20 {
			wg.Go(func() {
				for i := int64(0); ctx.Err() == nil; i++ {
					_ = s.Wait(ctx, 1000+int64(w)*1_000_000+i)
				}
			})
		}
		time.Sleep(5 * time.Second) // bulk saturates the global limit
		var worst time.Duration
		for i := range 20 {
			time.Sleep(200 * time.Millisecond)
			start := time.Now()
			require.NoError(t, s.Wait(WithLane(t.Context(), Interactive), int64(1+i)))
			worst = max(worst, time.Since(start))
		}
		require.LessOrEqual(t, worst, s.cs.Load().global.Interval, "at most one bot-wide slot")
		cancel()
		wg.Wait()
	})
}

func TestTelegramWaitCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newTelegram(t)
		s.Backoff(1, time.Hour)
		ctx, cancel := context.WithCancel(WithLane(t.Context(), Bulk))
		errc := make(chan error)
		go func() { errc <- s.Wait(ctx, 1) }()
		time.Sleep(time.Second)
		cancel()
		start := time.Now()
		require.ErrorIs(t, <-errc, context.Canceled)
		require.Equal(t, time.Duration(0), time.Since(start))
		require.True(t, s.Allow(2, Bulk), "nothing held")
		ended, stop := context.WithCancel(t.Context())
		stop()
		require.ErrorIs(t, s.Wait(ended, 3), context.Canceled)
	})
}

func TestTelegramBackoffDuringWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newTelegram(t)
		require.NoError(t, s.Wait(t.Context(), 9))
		done := make(chan time.Time)
		go func() {
			_ = s.Wait(t.Context(), 9)
			done <- time.Now()
		}()
		time.Sleep(500 * time.Millisecond)
		start := time.Now()
		s.Backoff(9, 10*time.Second)
		require.Equal(t, start.Add(10*time.Second), <-done)
	})
}

type errStore struct{ *MemoryStore }

func (*errStore) Peek(context.Context, time.Time, []Cell) (Verdict, error) {
	return Verdict{}, context.DeadlineExceeded
}

func (*errStore) Reserve(context.Context, time.Time, []Cell, int, time.Duration) (Verdict, error) {
	return Verdict{}, context.DeadlineExceeded
}

func TestTelegramStoreError(t *testing.T) {
	s := newTelegram(t, WithStore(&errStore{NewMemoryStore()}))
	err := s.Wait(t.Context(), 1)
	require.ErrorIs(t, err, ErrStore)
	require.ErrorIs(t, err, context.DeadlineExceeded)
}

func TestTelegramAdmission(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newTelegram(t)
		require.NoError(t, s.Wait(t.Context(), 5))
		ctx := WithAdmission(context.WithoutCancel(t.Context()), 5)
		require.NoError(t, s.Wait(ctx, 6), "another chat's admission does not apply")
		start := time.Now()
		require.NoError(t, s.Wait(ctx, 5), "admitted: no wait")
		require.Equal(t, time.Duration(0), time.Since(start))
		require.NoError(t, s.Wait(ctx, 5), "used up: waits")
		require.Equal(t, time.Second+1-s.cs.Load().global.Interval, time.Since(start))
	})
}

func TestTelegramWaitFailsEarlyOnDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newTelegram(t)
		s.Backoff(1, 10*time.Second)
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		start := time.Now()
		require.ErrorIs(t, s.Wait(ctx, 1), ErrLimitExceeded)
		require.Equal(t, time.Duration(0), time.Since(start), "at once")
		require.NoError(t, s.Wait(ctx, 2), "other chats within the deadline")
	})
}

// TestTelegramMargin checks that the windows are stretched by the margin,
// that 429s raise it step by step up to the maximum, and that Admit's
// send context makes one send and is cancelled by a Backoff for its chat.
func TestTelegramMargin(t *testing.T) {
	s, err := NewTelegram(WithMargin(40*time.Millisecond, 50*time.Millisecond))
	require.NoError(t, err)
	require.True(t, s.AllowAt(1, Bulk, t0))
	require.False(t, s.AllowAt(1, Bulk, t0.Add(time.Second+39*time.Millisecond)))
	require.True(t, s.AllowAt(1, Bulk, t0.Add(time.Second+41*time.Millisecond)))
	require.Equal(t, 40*time.Millisecond, s.Stats().Margin)
	s.BackoffAt(2, time.Second, t0)
	require.Equal(t, 45*time.Millisecond, s.Stats().Margin)
	s.BackoffAt(3, time.Second, t0)
	s.BackoffAt(4, time.Second, t0)
	require.Equal(t, 50*time.Millisecond, s.Stats().Margin, "capped")
	s.calm(time.Now().Add(29 * time.Second))
	require.Equal(t, 50*time.Millisecond, s.Stats().Margin, "not calm yet")
	s.calm(time.Now().Add(31 * time.Second))
	require.Equal(t, 45*time.Millisecond, s.Stats().Margin, "a step down after 30 s without a 429")
	s.calm(time.Now().Add(32 * time.Second))
	require.Equal(t, 45*time.Millisecond, s.Stats().Margin, "one step per 30 s")
	s.calm(time.Now().Add(62 * time.Second))
	require.Equal(t, 40*time.Millisecond, s.Stats().Margin)
	s.calm(time.Now().Add(200 * time.Second))
	require.Equal(t, 40*time.Millisecond, s.Stats().Margin, "never below the configured margin")
	_, err = NewTelegram(WithMargin(-1, 0))
	require.Error(t, err)
	_, err = NewTelegram(WithMargin(time.Second, 0))
	require.Error(t, err)
}

func TestTelegramAdmit(t *testing.T) {
	s := newTelegram(t)
	parent, stop := context.WithCancel(WithLane(t.Context(), Bulk))
	ctx, release := s.Admit(parent, 42)
	stop()
	require.NoError(t, ctx.Err(), "the caller's cancellation does not cut the send")
	lane, _ := LaneFromContext(ctx)
	require.Equal(t, Bulk, lane)
	require.NoError(t, s.Wait(ctx, 42), "admitted")
	require.ErrorIs(t, s.Wait(ctx, 42), ErrAdmissionUsed, "a retry goes back to the caller")
	s.Backoff(7, time.Second)
	require.NoError(t, ctx.Err(), "another chat's 429")
	s.Backoff(42, time.Second)
	require.ErrorIs(t, context.Cause(ctx), ErrBackoff)
	release()
	ctx2, release2 := s.Admit(t.Context(), 42)
	release2()
	s.Backoff(42, time.Second)
	require.ErrorIs(t, ctx2.Err(), context.Canceled, "released")
	require.NotErrorIs(t, context.Cause(ctx2), ErrBackoff)
	require.Empty(t, s.admits)
}

// TestTelegramLateSends checks the lateness model: the spare send of each
// bot-wide window, an overdue send holding a bot-wide slot once overdue,
// one more each window while on its way and one at its end, and its chat
// paced from its end.
func TestTelegramLateSends(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, err := NewTelegram(WithMargin(10*time.Millisecond, 10*time.Millisecond), WithGlobalLimit(Limit{N: 10, Window: time.Second}))
		require.NoError(t, err)
		global := func() time.Duration { return s.cs.Load().global.Interval }
		require.Equal(t, 1010*time.Millisecond/9+1, global(), "10 per second, one spare, 10 ms margin")
		ctx := WithLane(t.Context(), Bulk)
		// delay is how long the next bulk send to a new chat waits.
		delay := func() time.Duration { return s.DelayAt(1000, Bulk, time.Now()) }

		// A quick send sets the fastest round trip.
		require.NoError(t, s.Wait(ctx, 1))
		sctx, release := s.Admit(ctx, 1)
		require.NoError(t, s.Wait(sctx, 1))
		time.Sleep(30 * time.Millisecond)
		release()
		require.Equal(t, int64(30*time.Millisecond), s.minRTT.Load())
		require.Zero(t, s.Stats().LateHolds)

		// A slow one: overdue after 30 + 2×10 + 10/4 ms.
		require.NoError(t, s.Wait(ctx, 2))
		_, release = s.Admit(ctx, 2)
		time.Sleep(52500*time.Microsecond - 1)
		synctest.Wait()
		require.Zero(t, s.Stats().LateHolds)
		before := delay()
		time.Sleep(time.Millisecond)
		synctest.Wait()
		require.Equal(t, int64(1), s.Stats().LateHolds, "on its way")
		require.Equal(t, before-time.Millisecond+global()/latePieces+1, delay(), "an eighth of a slot held")
		time.Sleep(1009*time.Millisecond - 1)
		synctest.Wait()
		require.Equal(t, int64(latePieces), s.Stats().LateHolds, "a slot per window, in pieces")
		release()
		end := time.Now()
		require.Equal(t, 1010*time.Millisecond+1, s.ChatDelayAt(2, end), "its chat counts from its end")
		require.Zero(t, s.ChatDelayAt(3, end))
		time.Sleep(1010 * time.Millisecond)
		synctest.Wait()
		held := s.Stats().LateHolds
		require.GreaterOrEqual(t, held, int64(2*latePieces), "and a window after its end")
		time.Sleep(5 * time.Second)
		require.Equal(t, held, s.Stats().LateHolds, "then none")

		_, err = NewTelegram(WithSpare(-1))
		require.Error(t, err)
		_, err = NewTelegram(WithSpare(30))
		require.Error(t, err)
	})
}
