// Package logtest is the contract kit of broadcast.Log: any
// implementation (the memory log, the store modules' logs, your own) runs
// [Run] against a fresh log and passes. In your log's tests:
//
//	func TestLog(t *testing.T) {
//		logtest.Run(t, func(t *testing.T) broadcast.Log { return newMyLog(t) })
//	}
//
// [Check] runs the same checks without a *testing.T and returns the
// failures as an error.
//
// It checks the lifecycle (in flight, finished, not sent and forgotten),
// writes repeated after they took effect (a lost reply),
// that a broadcast id belongs to one chat list (ErrCursorMismatch), that
// ids are kept apart, concurrent use, and the lease: one run holds an id
// at a time (ErrRunning for the others, ErrLeaseLost for the writes of a
// run that no longer holds it), a released or expired lease lets the next
// run in, and a write racing a takeover either lands before it (and the
// new run sees it) or not at all; and, end to end through broadcast.Run,
// that a run cut off from the engine past its lease stops with
// ErrLeaseLost once the next run takes the id, no chat getting the
// message twice. The lease checks wait for a lease of 200 ms to expire
// on the engine's clock.
package logtest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miniappkit/miniappkit/broadcast"
)

// must fails the test at once on err.
func must(t tb, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// long is a lease no check outlives.
const long = time.Minute

// short is the lease of the checks that wait for one to expire.
const short = 200 * time.Millisecond

// open opens broadcast id over list for run with a long lease, failing
// the test on an error.
func open(t tb, l broadcast.Log, id, list, run string) []broadcast.LogEntry {
	t.Helper()
	got, err := l.Open(t.Context(), id, list, run, long)
	must(t, err)
	return got
}

// lost fails the test unless err is broadcast.ErrLeaseLost.
func lost(t tb, what string, err error) {
	t.Helper()
	if !errors.Is(err, broadcast.ErrLeaseLost) {
		t.Fatalf("%s by a run that does not hold the id: %v, want ErrLeaseLost", what, err)
	}
}

// openWhenFree opens id for run, trying again while another run's lease
// has not expired (for at most 30 s).
func openWhenFree(t tb, l broadcast.Log, id, list, run string, lease time.Duration) []broadcast.LogEntry {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		got, err := l.Open(t.Context(), id, list, run, lease)
		if err == nil {
			return got
		}
		if !errors.Is(err, broadcast.ErrRunning) || time.Now().After(deadline) {
			t.Fatalf("Open after the other run's lease expired: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// equal fails the test unless got equals want.
func equal(t tb, want, got []broadcast.LogEntry) {
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
// one database may serve every call), one subtest per check.
func Run(t *testing.T, newLog func(t *testing.T) broadcast.Log) {
	t.Helper()
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			c.fn(t, func() broadcast.Log { return newLog(t) })
		})
	}
}

// Check runs every check, each on a log from newLog, and returns the
// failures joined (nil if the log conforms): [Run] for a caller without a
// *testing.T, such as a health check of a deployed engine. ctx bounds the
// checks' requests; they take about two seconds on a local engine.
func Check(ctx context.Context, newLog func() broadcast.Log) error {
	var errs []error
	for _, c := range checks {
		if err := runCheck(ctx, c.name, func(t tb) { c.fn(t, newLog) }); err != nil {
			errs = append(errs, fmt.Errorf("logtest: %s: %w", c.name, err))
		}
	}
	return errors.Join(errs...)
}

// id returns a broadcast id of its own for a check.
func id(t tb) string { return "logtest-" + t.Name() + "-" + randomID() }

// checks is the contract, one named check each.
var checks = []struct {
	name string
	fn   func(t tb, newLog func() broadcast.Log)
}{
	{"lifecycle", func(t tb, newLog func() broadcast.Log) {
		ctx := t.Context()
		l, b, r := newLog(), id(t), randomID()
		equal(t, nil, open(t, l, b, "list-a", r))
		must(t, l.Start(ctx, b, r, 3))
		must(t, l.Start(ctx, b, r, 1))
		must(t, l.Start(ctx, b, r, 7))
		must(t, l.Finish(ctx, b, r, 1, broadcast.Delivered))
		must(t, l.Finish(ctx, b, r, 7, 0)) // not sent: forgotten
		must(t, l.Start(ctx, b, r, 9))
		must(t, l.Finish(ctx, b, r, 9, broadcast.Permanent))
		equal(t, []broadcast.LogEntry{{Index: 1, Outcome: broadcast.Delivered}, {Index: 3}, {Index: 9, Outcome: broadcast.Permanent}}, open(t, l, b, "list-a", r))
		must(t, l.Finish(ctx, b, r, 3, broadcast.Unknown))
		must(t, l.Release(ctx, b, r))
		// The next run resumes what the last one left.
		equal(t, []broadcast.LogEntry{{Index: 1, Outcome: broadcast.Delivered}, {Index: 3, Outcome: broadcast.Unknown}, {Index: 9, Outcome: broadcast.Permanent}}, open(t, l, b, "list-a", randomID()))
	}},

	// Each write repeated by its run after it took effect, as Run does
	// when a write's reply was lost (a driver reporting a cancelled
	// context after its statement committed, a connection reset after
	// COMMIT): a repeated Open, Renew, Start or Finish succeeds and keeps
	// what the first wrote; Finish(0) after a Start reported failed takes
	// the mark back; a repeated Release frees the id.
	{"repeated writes", func(t tb, newLog func() broadcast.Log) {
		ctx := t.Context()
		l, b, r := newLog(), id(t), randomID()
		open(t, l, b, "list-a", r)
		equal(t, nil, open(t, l, b, "list-a", r))
		for range 2 {
			must(t, l.Renew(ctx, b, r, long))
			must(t, l.Start(ctx, b, r, 1))
			must(t, l.Start(ctx, b, r, 2))
		}
		for range 2 {
			must(t, l.Finish(ctx, b, r, 1, broadcast.Delivered))
			must(t, l.Finish(ctx, b, r, 2, 0)) // the mark taken back
		}
		must(t, l.Start(ctx, b, r, 3))
		equal(t, []broadcast.LogEntry{{Index: 1, Outcome: broadcast.Delivered}, {Index: 3}}, open(t, l, b, "list-a", r))
		for range 2 {
			must(t, l.Release(ctx, b, r))
		}
		equal(t, []broadcast.LogEntry{{Index: 1, Outcome: broadcast.Delivered}, {Index: 3}}, open(t, l, b, "list-a", randomID()))
	}},

	{"another list", func(t tb, newLog func() broadcast.Log) {
		ctx := t.Context()
		l, b := newLog(), id(t)
		r := randomID()
		open(t, l, b, "list-a", r)
		must(t, l.Release(ctx, b, r))
		if _, err := l.Open(ctx, b, "list-b", randomID(), long); !errors.Is(err, broadcast.ErrCursorMismatch) {
			t.Fatalf("Open over another list: %v, want ErrCursorMismatch", err)
		}
	}},

	{"ids apart", func(t tb, newLog func() broadcast.Log) {
		ctx := t.Context()
		l, a, b, r := newLog(), id(t), id(t)+"-b", randomID()
		open(t, l, a, "list", r)
		open(t, l, b, "list", r)
		must(t, l.Start(ctx, a, r, 1))
		must(t, l.Finish(ctx, a, r, 1, broadcast.Delivered))
		equal(t, nil, open(t, l, b, "list", r))
	}},

	{"concurrent", func(t tb, newLog func() broadcast.Log) {
		ctx := t.Context()
		l, b, r := newLog(), id(t), randomID()
		open(t, l, b, "list", r)
		var wg sync.WaitGroup
		for w := range 8 {
			wg.Go(func() {
				for i := w; i < 400; i += 8 {
					if err := l.Start(ctx, b, r, i); err != nil {
						t.Error(err)
						return
					}
					if err := l.Finish(ctx, b, r, i, broadcast.Delivered); err != nil {
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
		equal(t, want, open(t, l, b, "list", r))
	}},

	{"one run at a time", func(t tb, newLog func() broadcast.Log) {
		ctx := t.Context()
		l, b, r1, r2 := newLog(), id(t), randomID(), randomID()
		open(t, l, b, "list", r1)
		must(t, l.Start(ctx, b, r1, 1))
		if _, err := l.Open(ctx, b, "list", r2, long); !errors.Is(err, broadcast.ErrRunning) {
			t.Fatalf("Open while another run holds the id: %v, want ErrRunning", err)
		}
		lost(t, "Start", l.Start(ctx, b, r2, 2))
		lost(t, "Finish", l.Finish(ctx, b, r2, 1, broadcast.Delivered))
		lost(t, "Renew", l.Renew(ctx, b, r2, long))
		must(t, l.Release(ctx, b, r2)) // not the holder: nothing happens
		// The holder may open again (a retried Open) and renew.
		equal(t, []broadcast.LogEntry{{Index: 1}}, open(t, l, b, "list", r1))
		must(t, l.Renew(ctx, b, r1, long))
		if _, err := l.Open(ctx, b, "list", r2, long); !errors.Is(err, broadcast.ErrRunning) {
			t.Fatalf("Open after the holder renewed: %v, want ErrRunning", err)
		}
		// Released, the id is free at once, and the old run's writes fail.
		must(t, l.Release(ctx, b, r1))
		equal(t, []broadcast.LogEntry{{Index: 1}}, open(t, l, b, "list", r2))
		lost(t, "Start", l.Start(ctx, b, r1, 2))
		lost(t, "Finish", l.Finish(ctx, b, r1, 1, broadcast.Delivered))
		lost(t, "Renew", l.Renew(ctx, b, r1, long))
		equal(t, []broadcast.LogEntry{{Index: 1}}, open(t, l, b, "list", r2))
	}},

	{"expired lease", func(t tb, newLog func() broadcast.Log) {
		ctx := t.Context()
		l, b, r1, r2 := newLog(), id(t), randomID(), randomID()
		if _, err := l.Open(ctx, b, "list", r1, short); err != nil {
			t.Fatal(err)
		}
		must(t, l.Start(ctx, b, r1, 4))
		// r1 is killed: its lease expires, and r2 takes the id.
		equal(t, []broadcast.LogEntry{{Index: 4}}, openWhenFree(t, l, b, "list", r2, long))
		lost(t, "Start", l.Start(ctx, b, r1, 5))
		lost(t, "Finish", l.Finish(ctx, b, r1, 4, 0))
		lost(t, "Renew", l.Renew(ctx, b, r1, long))
		must(t, l.Finish(ctx, b, r2, 4, broadcast.Unknown))
		equal(t, []broadcast.LogEntry{{Index: 4, Outcome: broadcast.Unknown}}, open(t, l, b, "list", r2))
	}},

	{"renew after expiry", func(t tb, newLog func() broadcast.Log) {
		ctx := t.Context()
		// A run paused longer than its lease, which no other run took,
		// still holds the id: renewing is safe, as taking the id changes
		// its holder.
		l, b, r1 := newLog(), id(t), randomID()
		if _, err := l.Open(ctx, b, "list", r1, 10*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
		must(t, l.Renew(ctx, b, r1, long))
		if _, err := l.Open(ctx, b, "list", randomID(), long); !errors.Is(err, broadcast.ErrRunning) {
			t.Fatalf("Open after the holder renewed: %v, want ErrRunning", err)
		}
	}},

	{"concurrent opens", func(t tb, newLog func() broadcast.Log) {
		ctx := t.Context()
		l, b := newLog(), id(t)
		var won atomic.Int32
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				_, err := l.Open(ctx, b, "list", randomID(), long)
				switch {
				case err == nil:
					won.Add(1)
				case !errors.Is(err, broadcast.ErrRunning):
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if n := won.Load(); n != 1 {
			t.Fatalf("%d of 8 runs opening one id at once got it, want 1", n)
		}
	}},

	{"start racing a takeover", func(t tb, newLog func() broadcast.Log) {
		// r1 marks entries in flight as fast as it can while its lease
		// expires and r2 takes the id: every Start r1 saw succeed must be
		// in what r2's Open returned, or r2 would send it again.
		// A round in which r1's short lease ran out before its first Start
		// (the machine stalled for longer than short) tests nothing: it is
		// run again, up to 20 rounds.
		l := newLog()
		var started, seen map[int]bool
		for round := 0; len(started) == 0; round++ {
			if round == 20 {
				t.Fatal("r1 marked nothing before its lease expired, in 20 rounds")
			}
			started, seen = startRacingTakeover(t, l, id(t), randomID(), randomID())
			if t.Failed() {
				return
			}
		}
		for i := range started {
			if !seen[i] {
				t.Fatalf("r1 marked entry %d in flight, and r2's Open did not see it (of %d marked)", i, len(started))
			}
		}
	}},

	{"run taken over", func(t tb, newLog func() broadcast.Log) { runTakenOver(t, newLog(), id(t)) }},
}

// startRacingTakeover opens b for r1 with a short lease and marks entries
// in flight from 4 goroutines until r1 loses its lease, while r2 opens b
// once it is free. It returns the entries r1 saw marked and those r2's
// Open returned.
func startRacingTakeover(t tb, l broadcast.Log, b, r1, r2 string) (started, seen map[int]bool) {
	t.Helper()
	ctx := t.Context()
	if _, err := l.Open(ctx, b, "list", r1, short); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	started = map[int]bool{}
	var taken atomic.Bool // r2's Open has returned
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := w; ; i = (i + 4) % 40_000 {
				after := taken.Load()
				err := l.Start(ctx, b, r1, i)
				if errors.Is(err, broadcast.ErrLeaseLost) {
					return
				}
				if err != nil {
					t.Error(err)
					return
				}
				if after {
					t.Error("r1 marked an entry in flight after r2 took the id")
					return
				}
				mu.Lock()
				started[i] = true
				mu.Unlock()
			}
		})
	}
	got := openWhenFree(t, l, b, "list", r2, long)
	taken.Store(true)
	wg.Wait()
	seen = map[int]bool{}
	for _, e := range got {
		seen[e.Index] = true
	}
	return started, seen
}
