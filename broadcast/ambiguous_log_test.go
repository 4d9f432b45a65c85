package broadcast_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/miniappkit/miniappkit/broadcast"
	"github.com/miniappkit/miniappkit/internal/faulttest"
	"github.com/stretchr/testify/require"
)

// ambiguousLog makes the call number at (1-based) of the Log write op take
// effect and then report context.Canceled (faulttest.Ambiguous). Unlike
// writtenThenCanceled, the run's context does not end: only the reply is
// wrong.
type ambiguousLog struct {
	broadcast.Log
	faulttest.Ambiguous
}

func (l *ambiguousLog) lie(op string, err error) error {
	if err == nil && l.Lie(op) {
		return context.Canceled
	}
	return err
}

func (l *ambiguousLog) Open(ctx context.Context, id, list, run string, lease time.Duration) ([]broadcast.LogEntry, error) {
	e, err := l.Log.Open(ctx, id, list, run, lease)
	if err = l.lie("Open", err); err != nil {
		return nil, err
	}
	return e, nil
}

func (l *ambiguousLog) Renew(ctx context.Context, id, run string, lease time.Duration) error {
	return l.lie("Renew", l.Log.Renew(ctx, id, run, lease))
}

func (l *ambiguousLog) Start(ctx context.Context, id, run string, i int) error {
	return l.lie("Start", l.Log.Start(ctx, id, run, i))
}

func (l *ambiguousLog) Finish(ctx context.Context, id, run string, i int, o broadcast.Outcome) error {
	return l.lie("Finish", l.Log.Finish(ctx, id, run, i, o))
}

func (l *ambiguousLog) Release(ctx context.Context, id, run string) error {
	return l.lie("Release", l.Log.Release(ctx, id, run))
}

// TestAmbiguousLogWrites: whichever Log write takes effect and then
// reports an error, the broadcast (resumed, a lease later at most, when
// the run failed) reaches every chat exactly once and reports no entry
// Unknown: nothing sent twice, lost, or left in flight.
func TestAmbiguousLogWrites(t *testing.T) {
	for _, op := range []string{"Open", "Renew", "Start", "Finish", "Release"} {
		ats := []int{1, 2, 7}
		switch op {
		case "Open", "Release":
			ats = []int{1}
		case "Renew":
			ats = []int{1, 2}
		}
		for _, at := range ats {
			t.Run(fmt.Sprintf("%s#%d", op, at), func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					s := newSim(t)
					chats := s.users(30)
					durable := &broadcast.MemoryLog{}
					const lease = 600 * time.Millisecond // renewed every 200 ms
					amb := &ambiguousLog{Log: durable, Ambiguous: faulttest.Ambiguous{Op: op, At: at}}
					log := broadcast.Log(amb)
					var unknown int
					for try := 0; ; try++ {
						require.Less(t, try, 5, "the broadcast never finished")
						sum, err := broadcast.Run(t.Context(), s.sched, chats, text(s.client), broadcast.WithLog(log, "news"), broadcast.WithLease(lease))
						unknown += sum.Unknown
						if err == nil {
							break
						}
						if !errors.Is(err, broadcast.ErrRunning) && !errors.Is(err, context.Canceled) {
							t.Fatalf("run: %v", err)
						}
						time.Sleep(lease + time.Second) // resumed a lease later, as the caller does after ErrRunning
					}
					require.True(t, amb.Lied(), "the %s call #%d never came", op, at)
					require.Zero(t, unknown, "entries reported Unknown")
					perChat := map[int64]int{}
					for _, m := range s.srv.Sent() {
						perChat[m.ChatID]++
					}
					for _, c := range chats {
						require.Equal(t, 1, perChat[c], "sends to chat %d", c)
					}
				})
			})
		}
	}
}
