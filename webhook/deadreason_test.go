package webhook

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
	"unicode/utf8"

	"github.com/miniappkit/miniappkit/botapi"
	"github.com/stretchr/testify/require"
)

// textQueue is a MemoryQueue whose Bury, like a Postgres TEXT column,
// refuses a reason that is not valid UTF-8 or holds a NUL byte (SQLSTATE
// 22021, "invalid byte sequence for encoding UTF8").
type textQueue struct{ *MemoryQueue }

type textJob struct{ Job }

func (q textQueue) Pop(ctx context.Context) (Job, error) {
	j, err := q.MemoryQueue.Pop(ctx)
	if err != nil {
		return nil, err
	}
	return textJob{j}, nil
}

func (j textJob) Bury(ctx context.Context, reason string) error {
	if !utf8.ValidString(reason) || strings.ContainsRune(reason, 0) {
		return errors.New("invalid byte sequence for encoding UTF8 (SQLSTATE 22021)")
	}
	return j.Job.Bury(ctx, reason)
}

// TestWorkerDeadLetterReasonIsText: a handler error that is long and not
// ASCII (cut at 1 KiB inside a rune), or holds a NUL or invalid UTF-8, is
// still dead-lettered on a queue that stores the reason as text, after
// one run. Before, the reason was cut at byte 1024 as it came: Postgres
// refused every Bury, and the Worker postponed the update and re-ran the
// failing handler forever, never dead-lettering it.
func TestWorkerDeadLetterReasonIsText(t *testing.T) {
	for name, msg := range map[string]string{
		"cut rune": strings.Repeat("a", maxReasonBytes-1) + "é and more",
		"nul":      "bad\x00byte",
		"invalid":  "bad\xffbyte",
	} {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				q := textQueue{NewMemoryQueue(8)}
				var runs atomic.Int32
				w := mustWorker(t, q, UpdateHandlerFunc(func(context.Context, *botapi.Update) error {
					runs.Add(1)
					return errors.New(msg)
				}), WithMaxAttempts(1))
				push(t, q, 9)
				ctx, cancel := context.WithCancel(t.Context())
				done := make(chan error)
				go func() { done <- w.Run(ctx, 1) }()
				time.Sleep(time.Hour) // the fake clock runs through any backoffs
				synctest.Wait()
				cancel()
				<-done
				dead, err := q.DeadLetters(t.Context(), 10)
				require.NoError(t, err)
				require.Len(t, dead, 1, "dead-lettered")
				require.Equal(t, int32(1), runs.Load(), "ran once")
				r := dead[0].Reason
				require.True(t, utf8.ValidString(r) && !strings.ContainsRune(r, 0), "reason %q", r)
				require.LessOrEqual(t, len(r), maxReasonBytes)
			})
		})
	}
}
