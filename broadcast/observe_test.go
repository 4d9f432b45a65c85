package broadcast

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/miniappkit/miniappkit/botapi"
	"github.com/miniappkit/miniappkit/ratelimit"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type sendRecorder struct {
	mu     sync.Mutex
	events []SendEvent
}

func (r *sendRecorder) ObserveSend(_ context.Context, e SendEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func TestObserverSends(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		flood := &botapi.Error{Method: "sendMessage", Code: 429, Description: "Too Many Requests: retry after 2", RetryAfter: 2 * time.Second}
		blocked := &botapi.Error{Method: "sendMessage", Code: 403, Description: "Forbidden: bot was blocked by the user"}
		sc := &scripted{errs: map[int64][]error{2: {flood}, 3: {blocked}}}
		rec := &sendRecorder{}
		sched := newSched(t)
		sum, err := Run(t.Context(), sched, []int64{1, 2, 3, 1}, sc.send, WithObserver(rec), WithConcurrency(1))
		require.NoError(t, err)
		require.Equal(t, 4, sum.Done)

		rec.mu.Lock()
		defer rec.mu.Unlock()
		require.Len(t, rec.events, 5, "four entries finished, one postponed by a 429")
		var delivered, permanent, limited int
		for _, e := range rec.events {
			assert.Equal(t, ratelimit.Bulk, e.Lane)
			switch {
			case e.Outcome == Delivered:
				delivered++
				require.NoError(t, e.Err)
			case e.Outcome == Permanent:
				permanent++
				assert.Equal(t, int64(3), e.ChatID)
				require.ErrorIs(t, e.Err, botapi.ErrForbidden)
			case e.Postponed == PostponedRateLimited:
				limited++
				assert.Equal(t, int64(2), e.ChatID)
				assert.Equal(t, Outcome(0), e.Outcome)
			default:
				t.Errorf("unexpected event %+v", e)
			}
		}
		assert.Equal(t, 3, delivered)
		assert.Equal(t, 1, permanent)
		assert.Equal(t, 1, limited)
		assert.Equal(t, 0, rec.events[len(rec.events)-1].Pending, "nothing left after the last send")
		assert.Equal(t, 3, rec.events[0].Pending)
		// Sends follow one another at the bot-wide 30/s: some waited on
		// the scheduler.
		var waited time.Duration
		for _, e := range rec.events {
			assert.GreaterOrEqual(t, e.Wait, time.Duration(0))
			waited += e.Wait
		}
		assert.Positive(t, waited)
	})
}
