// Package logtest is the contract kit of broadcast.Log: any
// implementation (the memory log, the store modules' logs, your own) runs
// [Run] against a fresh log and passes. In your log's tests:
//
//	func TestLog(t *testing.T) {
//		logtest.Run(t, func(t *testing.T) broadcast.Log { return newMyLog(t) })
//	}
//
// It checks the lifecycle (in flight, finished, not sent and forgotten),
// that a broadcast id belongs to one chat list (ErrCursorMismatch), that
// ids are kept apart, and concurrent use.
package logtest

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"testing"

	"github.com/miniappkit/miniappkit/broadcast"
)

// must fails the test at once on err.
func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// open opens broadcast id over list, failing the test on an error.
func open(t *testing.T, l broadcast.Log, id, list string) []broadcast.LogEntry {
	t.Helper()
	got, err := l.Open(context.Background(), id, list)
	must(t, err)
	return got
}

// equal fails the test unless got equals want.
func equal(t *testing.T, want, got []broadcast.LogEntry) {
	t.Helper()
	if len(want) == 0 && len(got) == 0 {
		return
	}
	if !reflect.DeepEqual(want, got) {
		t.Fatalf("log holds %v, want %v", got, want)
	}
}

// Run checks the contract of broadcast.Log on logs from newLog, each
// empty of the broadcast ids the checks use (they are random per call, so
// one database may serve every call).
func Run(t *testing.T, newLog func(t *testing.T) broadcast.Log) {
	t.Helper()
	ctx := context.Background()
	id := func(t *testing.T) string { return "logtest-" + t.Name() + "-" + randomID(t) }

	t.Run("lifecycle", func(t *testing.T) {
		l, b := newLog(t), id(t)
		equal(t, nil, open(t, l, b, "list-a"))
		must(t, l.Start(ctx, b, 3))
		must(t, l.Start(ctx, b, 1))
		must(t, l.Start(ctx, b, 7))
		must(t, l.Finish(ctx, b, 1, broadcast.Delivered))
		must(t, l.Finish(ctx, b, 7, 0)) // not sent: forgotten
		must(t, l.Start(ctx, b, 9))
		must(t, l.Finish(ctx, b, 9, broadcast.Permanent))
		equal(t, []broadcast.LogEntry{{Index: 1, Outcome: broadcast.Delivered}, {Index: 3}, {Index: 9, Outcome: broadcast.Permanent}}, open(t, l, b, "list-a"))
		must(t, l.Finish(ctx, b, 3, broadcast.Unknown))
		equal(t, []broadcast.LogEntry{{Index: 1, Outcome: broadcast.Delivered}, {Index: 3, Outcome: broadcast.Unknown}, {Index: 9, Outcome: broadcast.Permanent}}, open(t, l, b, "list-a"))
	})

	t.Run("another list", func(t *testing.T) {
		l, b := newLog(t), id(t)
		open(t, l, b, "list-a")
		if _, err := l.Open(ctx, b, "list-b"); !errors.Is(err, broadcast.ErrCursorMismatch) {
			t.Fatalf("Open over another list: %v, want ErrCursorMismatch", err)
		}
	})

	t.Run("ids apart", func(t *testing.T) {
		l, a, b := newLog(t), id(t), id(t)+"-b"
		open(t, l, a, "list")
		open(t, l, b, "list")
		must(t, l.Start(ctx, a, 1))
		must(t, l.Finish(ctx, a, 1, broadcast.Delivered))
		equal(t, nil, open(t, l, b, "list"))
	})

	t.Run("concurrent", func(t *testing.T) {
		l, b := newLog(t), id(t)
		open(t, l, b, "list")
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
		want := make([]broadcast.LogEntry, 400)
		for i := range want {
			want[i] = broadcast.LogEntry{Index: i, Outcome: broadcast.Delivered}
		}
		equal(t, want, open(t, l, b, "list"))
	})
}
