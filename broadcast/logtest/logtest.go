// Package logtest is the contract kit of broadcast.Log: any
// implementation (the memory log, the store modules' logs, your own) runs
// [Run] against a fresh log and passes.
package logtest

import (
	"context"
	"sync"
	"testing"

	"github.com/miniappkit/miniappkit/broadcast"
	"github.com/stretchr/testify/require"
)

// Run checks the contract of broadcast.Log on logs from newLog, each
// empty of the broadcast ids the checks use (they are random per call, so
// one database may serve every call).
func Run(t *testing.T, newLog func(t *testing.T) broadcast.Log) {
	t.Helper()
	ctx := context.Background()
	id := func(t *testing.T) string { return "logtest-" + t.Name() + "-" + randomID(t) }

	t.Run("lifecycle", func(t *testing.T) {
		l, b := newLog(t), id(t)
		got, err := l.Open(ctx, b, "list-a")
		require.NoError(t, err)
		require.Empty(t, got)
		require.NoError(t, l.Start(ctx, b, 3))
		require.NoError(t, l.Start(ctx, b, 1))
		require.NoError(t, l.Start(ctx, b, 7))
		require.NoError(t, l.Finish(ctx, b, 1, broadcast.Delivered))
		require.NoError(t, l.Finish(ctx, b, 7, 0)) // not sent: forgotten
		require.NoError(t, l.Start(ctx, b, 9))
		require.NoError(t, l.Finish(ctx, b, 9, broadcast.Permanent))
		got, err = l.Open(ctx, b, "list-a")
		require.NoError(t, err)
		require.Equal(t, []broadcast.LogEntry{{Index: 1, Outcome: broadcast.Delivered}, {Index: 3}, {Index: 9, Outcome: broadcast.Permanent}}, got)
		require.NoError(t, l.Finish(ctx, b, 3, broadcast.Unknown))
		got, err = l.Open(ctx, b, "list-a")
		require.NoError(t, err)
		require.Equal(t, broadcast.LogEntry{Index: 3, Outcome: broadcast.Unknown}, got[1])
	})

	t.Run("another list", func(t *testing.T) {
		l, b := newLog(t), id(t)
		_, err := l.Open(ctx, b, "list-a")
		require.NoError(t, err)
		_, err = l.Open(ctx, b, "list-b")
		require.ErrorIs(t, err, broadcast.ErrCursorMismatch)
	})

	t.Run("ids apart", func(t *testing.T) {
		l, a, b := newLog(t), id(t), id(t)+"-b"
		for _, x := range []string{a, b} {
			_, err := l.Open(ctx, x, "list")
			require.NoError(t, err)
		}
		require.NoError(t, l.Start(ctx, a, 1))
		require.NoError(t, l.Finish(ctx, a, 1, broadcast.Delivered))
		got, err := l.Open(ctx, b, "list")
		require.NoError(t, err)
		require.Empty(t, got)
	})

	t.Run("concurrent", func(t *testing.T) {
		l, b := newLog(t), id(t)
		_, err := l.Open(ctx, b, "list")
		require.NoError(t, err)
		var wg sync.WaitGroup
		for w := range 8 {
			wg.Go(func() {
				for i := w; i < 400; i += 8 {
					if err := l.Start(ctx, b, i); err != nil {
						t.Error(err)
						return
					}
					if err := l.Finish(ctx, b, i, broadcast.Delivered); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		got, err := l.Open(ctx, b, "list")
		require.NoError(t, err)
		require.Len(t, got, 400)
		for i, e := range got {
			require.Equal(t, broadcast.LogEntry{Index: i, Outcome: broadcast.Delivered}, e)
		}
	})
}
