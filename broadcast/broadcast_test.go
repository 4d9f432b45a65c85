package broadcast

import (
	"context"
	"errors"
	"io"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/miniappkit/miniappkit/botapi"
	"github.com/miniappkit/miniappkit/ratelimit"
	"github.com/stretchr/testify/require"
)

func newSched(t *testing.T) *ratelimit.Telegram {
	t.Helper()
	s, err := ratelimit.NewTelegram(ratelimit.WithMargin(0, 0), ratelimit.WithSpare(0)) // exact limits
	require.NoError(t, err)
	return s
}

// scripted answers each chat with the errors listed for it, in turn, then nil.
type scripted struct {
	mu    sync.Mutex
	errs  map[int64][]error
	calls []int64
}

func (s *scripted) send(_ context.Context, chat int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, chat)
	if q := s.errs[chat]; len(q) > 0 {
		s.errs[chat] = q[1:]
		return q[0]
	}
	return nil
}

func TestOutcomes(t *testing.T) {
	blocked := &botapi.Error{Method: "sendMessage", Code: 403, Description: "Forbidden: bot was blocked by the user"}
	notFound := &botapi.Error{Method: "sendMessage", Code: 400, Description: "Bad Request: chat not found"}
	migrated := &botapi.Error{Method: "sendMessage", Code: 400, Description: "Bad Request: group chat was upgraded to a supergroup chat", MigrateToChatID: -1009}
	server := &botapi.Error{Method: "sendMessage", Code: 500, Description: "Internal Server Error"}
	flood := &botapi.Error{Method: "sendMessage", Code: 429, Description: "Too Many Requests: retry after 5", RetryAfter: 5 * time.Second}
	reset := errors.Join(botapi.ErrNetwork, io.ErrUnexpectedEOF)
	for _, tc := range []struct {
		name  string
		errs  []error
		want  Outcome
		calls []int64
		to    int64
	}{
		{"delivered", nil, Delivered, []int64{-5}, 0},
		{"blocked", []error{blocked}, Permanent, []int64{-5}, 0},
		{"chat not found", []error{notFound}, Permanent, []int64{-5}, 0},
		{"migrated", []error{migrated}, Migrated, []int64{-5, -1009}, -1009},
		{"5xx is unknown", []error{server}, Unknown, []int64{-5}, 0},
		{"reset is unknown", []error{reset}, Unknown, []int64{-5}, 0},
		{"429 is sent again", []error{flood, flood}, Delivered, []int64{-5, -5, -5}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				sc := &scripted{errs: map[int64][]error{-5: tc.errs}}
				var got []Result
				sum, err := Run(t.Context(), newSched(t), []int64{-5}, sc.send, WithResult(func(r Result) { got = append(got, r) }))
				require.NoError(t, err)
				require.Len(t, got, 1)
				require.Equal(t, tc.want, got[0].Outcome, "%v", got[0].Err)
				require.Equal(t, tc.to, got[0].MigratedTo)
				require.Equal(t, tc.calls, sc.calls)
				require.Equal(t, 1, sum.Done)
				if tc.want == Permanent || tc.want == Unknown {
					require.Error(t, got[0].Err)
				}
			})
		})
	}
	t.Run("migrated then blocked", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			sc := &scripted{errs: map[int64][]error{-5: {migrated}, -1009: {blocked}}}
			var got Result
			_, err := Run(t.Context(), newSched(t), []int64{-5}, sc.send, WithResult(func(r Result) { got = r }))
			require.NoError(t, err)
			require.Equal(t, Permanent, got.Outcome)
			require.Equal(t, int64(-1009), got.MigratedTo)
		})
	})
	t.Run("migrated once only", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			sc := &scripted{errs: map[int64][]error{-5: {migrated}, -1009: {migrated}}}
			var got Result
			_, err := Run(t.Context(), newSched(t), []int64{-5}, sc.send, WithResult(func(r Result) { got = r }))
			require.NoError(t, err)
			require.Equal(t, Permanent, got.Outcome)
			require.Equal(t, []int64{-5, -1009}, sc.calls)
		})
	})
}

func TestRunNeedsScheduler(t *testing.T) {
	_, err := Run(t.Context(), nil, []int64{1}, func(context.Context, int64) error { return nil })
	require.ErrorIs(t, err, ErrNoScheduler)
}

func TestSendsCarryLaneAndAdmission(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sched := newSched(t)
		var lanes []ratelimit.Lane
		var waited []time.Duration
		_, err := Run(t.Context(), sched, []int64{1, 2}, func(ctx context.Context, chat int64) error {
			l, _ := ratelimit.LaneFromContext(ctx)
			lanes = append(lanes, l)
			start := time.Now()
			// What a botapi client with this scheduler does before sending:
			require.NoError(t, sched.Wait(ctx, chat))
			waited = append(waited, time.Since(start))
			return nil
		}, WithLane(ratelimit.Paid), WithConcurrency(1))
		require.NoError(t, err)
		require.Equal(t, []ratelimit.Lane{ratelimit.Paid, ratelimit.Paid}, lanes)
		require.Equal(t, []time.Duration{0, 0}, waited, "the broadcast's own wait admitted the send")
	})
}

func TestCursorSkipsDone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sc := &scripted{}
		sum, err := Run(t.Context(), newSched(t), []int64{1, 2, 3, 4, 5, 6}, sc.send,
			WithCursor(Cursor{Next: 2, Done: [][2]int{{3, 4}, {5, 6}, {99, 100}}}), WithConcurrency(1))
		require.NoError(t, err)
		require.Equal(t, []int64{3, 5}, sc.calls)
		require.Equal(t, Summary{Total: 6, Done: 6, Delivered: 2, Cursor: Cursor{Next: 6, List: Fingerprint([]int64{1, 2, 3, 4, 5, 6})}}, sum)
	})
}

func TestProgress(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var ps []Progress
		var cursors []Cursor
		_, err := Run(t.Context(), newSched(t), []int64{1, 2, 3}, (&scripted{}).send, WithConcurrency(1),
			WithProgress(func(p Progress) { ps = append(ps, p); cursors = append(cursors, p.Cursor()) }))
		require.NoError(t, err)
		require.Len(t, ps, 3)
		for i, p := range ps {
			require.Equal(t, i+1, p.Done)
			require.Equal(t, i+1, p.Delivered)
			require.Equal(t, 3, p.Total)
			require.Equal(t, Cursor{Next: i + 1, List: Fingerprint([]int64{1, 2, 3})}, cursors[i])
		}
		require.Equal(t, 2*(time.Second/30+1), ps[2].Elapsed, "two bot-wide slots")
		require.Equal(t, Cursor{}, Progress{}.Cursor())
	})
}

func TestOutcomeString(t *testing.T) {
	for o, s := range map[Outcome]string{Delivered: "delivered", Permanent: "permanent", Migrated: "migrated", Unknown: "unknown", 0: "invalid"} {
		require.Equal(t, s, o.String())
	}
}

func TestCursorOutOfRange(t *testing.T) {
	for _, c := range []Cursor{
		{Next: -5, Done: [][2]int{{-1, 0}, {2, 3}, {2, 3}, {1 << 40, 1<<40 + 1}}},
		{Next: 1 << 40},
		{Next: 1, Done: [][2]int{{4, 5}, {0, 1}, {3, 4}, {3, 1}}},
	} {
		synctest.Test(t, func(t *testing.T) {
			sc := &scripted{}
			sum, err := Run(t.Context(), newSched(t), []int64{1, 2, 3, 4, 5}, sc.send, WithCursor(c), WithConcurrency(1))
			require.NoError(t, err)
			require.Equal(t, 5, sum.Done)
			want := map[int]bool{}
			for i := max(c.Next, 0); i < 5; i++ {
				want[i] = true
			}
			for _, span := range c.Done {
				for i := span[0]; i < span[1]; i++ {
					delete(want, i)
				}
			}
			require.Len(t, sc.calls, len(want), "%+v", c)
		})
	}
}

type failingStore struct{ *ratelimit.MemoryStore }

func (failingStore) Peek(context.Context, time.Time, []ratelimit.Cell) (ratelimit.Verdict, error) {
	return ratelimit.Verdict{}, errors.New("store down")
}

func (failingStore) Reserve(context.Context, time.Time, []ratelimit.Cell, int, time.Duration) (ratelimit.Verdict, error) {
	return ratelimit.Verdict{}, errors.New("store down")
}

func TestStoreFailureDoesNotSpin(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sched, err := ratelimit.NewTelegram(ratelimit.WithStore(failingStore{ratelimit.NewMemoryStore()}))
		require.NoError(t, err)
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		sc := &scripted{}
		sum, err := Run(ctx, sched, []int64{1, 2}, sc.send)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		require.Empty(t, sc.calls, "nothing sent without the scheduler's word")
		require.Equal(t, Cursor{List: Fingerprint([]int64{1, 2})}, sum.Cursor)
	})
}

func TestCursorMismatch(t *testing.T) {
	_, err := Run(t.Context(), newSched(t), []int64{1, 2}, (&scripted{}).send, WithCursor(Cursor{Next: 1, List: Fingerprint([]int64{1, 3})}))
	require.ErrorIs(t, err, ErrCursorMismatch)
}

func TestCursorRuns(t *testing.T) {
	r := newRun(make([]int64, 300), options{clock: time.Now, cursor: Cursor{Next: 3, Done: [][2]int{{5, 7}, {60, 200}, {250, 251}}}}, nil)
	require.Equal(t, Cursor{Next: 3, Done: [][2]int{{5, 7}, {60, 200}, {250, 251}}}, r.cursor())
}
