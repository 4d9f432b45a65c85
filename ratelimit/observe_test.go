package ratelimit

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type schedRecorder struct {
	mu       sync.Mutex
	waits    []WaitEvent
	backoffs []BackoffEvent
}

func (r *schedRecorder) ObserveWait(_ context.Context, e WaitEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.waits = append(r.waits, e)
}

func (r *schedRecorder) ObserveBackoff(_ context.Context, e BackoffEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.backoffs = append(r.backoffs, e)
}

func TestObserverWaits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &schedRecorder{}
		s, err := NewTelegram(WithObserver(rec), WithMargin(0, 0))
		require.NoError(t, err)
		ctx := WithLane(t.Context(), Bulk)
		require.NoError(t, s.Wait(ctx, 7)) // at once
		var wg sync.WaitGroup
		wg.Go(func() { _ = s.Wait(ctx, 7) }) // a second to chat 7
		synctest.Wait()
		wg.Go(func() { _ = s.Wait(ctx, 7) }) // joins the queue: one waiting before it
		wg.Wait()
		dl, cancel := context.WithTimeout(t.Context(), time.Millisecond)
		defer cancel()
		require.ErrorIs(t, s.Wait(dl, 7), ErrLimitExceeded)
		require.NoError(t, s.Wait(context.Background(), 0)) // a context without a lane, no chat

		rec.mu.Lock()
		defer rec.mu.Unlock()
		require.Len(t, rec.waits, 5)
		first := rec.waits[0]
		assert.Equal(t, WaitEvent{Lane: Bulk, Chat: "private"}, first)
		// The two queued Waits: one ends after a second, the other after
		// two (whichever wakes first sends first); the second began with
		// one Wait in progress.
		a, b := rec.waits[1], rec.waits[2]
		assert.InDelta(t, time.Second, a.Duration, float64(time.Millisecond))
		assert.InDelta(t, 2*time.Second, b.Duration, float64(time.Millisecond))
		assert.ElementsMatch(t, []int64{0, 1}, []int64{a.Waiting, b.Waiting}, "the queue depth when each began")
		assert.Equal(t, "limit_exceeded", WaitClass(rec.waits[3].Err))
		assert.Equal(t, Interactive, rec.waits[4].Lane)
		assert.Equal(t, "none", rec.waits[4].Chat)
		assert.Equal(t, int64(0), s.waiting.Load(), "every Wait counted out")
	})
}

func TestObserverBackoffs(t *testing.T) {
	rec := &schedRecorder{}
	s, err := NewTelegram(WithObserver(rec), WithFloodEvidence(2, time.Second))
	require.NoError(t, err)
	now := time.Unix(1_700_000_000, 0)
	s.BackoffAt(-100, 3*time.Second, now)
	s.BackoffAt(-200, 0, now) // second chat within the window: the bot pauses
	s.BackoffAt(0, 5*time.Second, now)
	assert.Equal(t, []BackoffEvent{
		{Chat: "group", RetryAfter: 3 * time.Second, Paused: false, Margin: DefaultMargin + marginStep},
		{Chat: "group", RetryAfter: time.Second, Paused: true, Margin: DefaultMargin + 2*marginStep},
		{Chat: "none", RetryAfter: 5 * time.Second, Paused: true, Margin: DefaultMargin + 3*marginStep},
	}, rec.backoffs)
	assert.Equal(t, "", WaitClass(nil))
	assert.Equal(t, "canceled", WaitClass(context.Canceled))
	assert.Equal(t, "store", WaitClass(ErrStore))
}

// BenchmarkTelegramObserver measures a Wait that passes at once, with no
// observer and with a no-op one.
func BenchmarkTelegramObserver(b *testing.B) {
	for _, bc := range []struct {
		name string
		opts []Option
	}{{"none", nil}, {"noop", []Option{WithObserver(noopSchedObserver{})}}} {
		b.Run(bc.name, func(b *testing.B) {
			inf := Limit{N: 1 << 30, Window: time.Second, Burst: 1 << 29}
			s, err := NewTelegram(append(bc.opts, WithChatLimit(inf), WithGroupLimit(inf), WithGlobalLimit(inf), WithPaidLimit(inf))...)
			require.NoError(b, err)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if err := s.Wait(ctx, 7); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

type noopSchedObserver struct{}

func (noopSchedObserver) ObserveWait(context.Context, WaitEvent)       {}
func (noopSchedObserver) ObserveBackoff(context.Context, BackoffEvent) {}
