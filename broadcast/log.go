package broadcast

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"
)

// A Log is the durable record of a broadcast's sends, so that a process
// killed in the middle (SIGKILL, a crash, a deploy) never sends an entry
// twice: before a request, [Run] marks its entry in flight; after it, the
// entry's outcome, or that nothing was sent (a 429, a failed connect).
// Resumed with the same log and id, Run sends every entry the log does not
// hold, reports each one left in flight as [Unknown] with [ErrInterrupted]
// (its request may have reached Telegram: it is never resent silently),
// and skips the finished ones.
//
// A broadcast id is run by one run at a time (see the package doc,
// "One run per broadcast"): [Log.Open] takes a lease on the id for the
// run, a token unique to the run ([Run] makes a random one), and every
// write after it is the lease holder's only. The lease is measured on the
// engine's clock (SQL now(), Redis TIME; the memory log's time.Now), never
// the caller's.
//
// Implementations must be safe for concurrent use and make each call
// durable before returning. The main module ships [MemoryLog] (for tests:
// it survives a cancelled Run, not a process); the store modules implement
// it on SQLite, Postgres and Redis. broadcast/logtest is the contract kit.
type Log interface {
	// Open starts broadcast id over a chat list with fingerprint list (see
	// [Fingerprint]), or resumes it, for the run run, and returns the
	// entries it holds: Outcome 0 for an entry in flight. It takes the
	// id's lease for run until lease from now: it fails with [ErrRunning]
	// while another run holds a lease that has not expired (a run's own
	// lease it simply renews), and with [ErrCursorMismatch] when id was
	// started over another list.
	Open(ctx context.Context, id, list, run string, lease time.Duration) ([]LogEntry, error)
	// Renew extends run's lease on id to lease from now. It fails with
	// [ErrLeaseLost] unless run holds the id (it may renew a lease that
	// has expired, as long as no other run has taken the id since).
	Renew(ctx context.Context, id, run string, lease time.Duration) error
	// Start marks entry i of broadcast id in flight. It fails with
	// [ErrLeaseLost], and marks nothing, unless run holds the id: the
	// check and the mark are one atomic step.
	Start(ctx context.Context, id, run string, i int) error
	// Finish records entry i's outcome; Outcome 0 means nothing was sent,
	// and forgets the entry (a resumed run sends it). It fails with
	// [ErrLeaseLost], and records nothing, unless run holds the id.
	Finish(ctx context.Context, id, run string, i int, o Outcome) error
	// Release gives up run's lease on id, if run holds it, so that the
	// next run need not wait for it to expire. The entries stay.
	Release(ctx context.Context, id, run string) error
}

// LogEntry is an entry a [Log] holds: in flight (Outcome 0) or finished.
type LogEntry struct {
	Index   int
	Outcome Outcome
}

// ErrInterrupted is the error of an entry a [Log] held in flight when its
// run stopped: its outcome is [Unknown].
var ErrInterrupted = errors.New("broadcast: the send was in flight when the run stopped; it may have been delivered")

// ErrRunning is returned by [Log.Open], and so by [Run] with [WithLog],
// while another run holds the broadcast id's lease: it is running (an old
// replica still alive during a rolling restart), or it was killed less
// than its lease ago. Try again later: once the other run ends or its
// lease expires, the id is free and the new run resumes it.
var ErrRunning = errors.New("broadcast: another run holds the broadcast id")

// ErrLeaseLost is returned by a [Log]'s writes when the run no longer
// holds the broadcast id (another run took it after the lease expired),
// and by [Run] when its run lost the lease: it stopped sending at once.
var ErrLeaseLost = errors.New("broadcast: the run no longer holds the broadcast id")

// DefaultLease is how long a run's lease on its broadcast id lasts unless
// [WithLease] says otherwise: a killed run's broadcast is resumed after
// at most this long. [Run] renews the lease every third of it.
const DefaultLease = 30 * time.Second

// minLease is the shortest lease [WithLease] accepts: engines keep
// leases in milliseconds, and a renewal must fit in a third of one.
const minLease = 10 * time.Millisecond

// WithLog makes [Run] record every send in l under the broadcast id (see
// [Log]), and resume from it. With a log, a [Cursor] is not needed: the
// log is the position. [Run] fails when l is nil.
func WithLog(l Log, id string) Option {
	return func(o *options) { o.log, o.logID, o.logSet = l, id, true }
}

// WithLease sets how long the run's lease on its broadcast id lasts (see
// [Log]): after a kill, the broadcast can be resumed this long after the
// last renewal at the latest. Run renews it every third of d. The default
// is [DefaultLease]; d must be at least 10 ms.
func WithLease(d time.Duration) Option { return func(o *options) { o.lease = d } }

// newRunToken returns a random token naming one run.
func newRunToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	return hex.EncodeToString(b[:])
}

// MemoryLog is a [Log] in memory, its leases on time.Now. It is safe for
// concurrent use; the zero value is ready to use.
type MemoryLog struct {
	mu sync.Mutex
	m  map[string]*memoryBroadcast
}

type memoryBroadcast struct {
	list    string
	owner   string    // the run holding the id, "" for none
	until   time.Time // when its lease expires
	entries map[int]Outcome
}

// Open implements [Log].
func (l *MemoryLog) Open(_ context.Context, id, list, run string, lease time.Duration) ([]LogEntry, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m == nil {
		l.m = map[string]*memoryBroadcast{}
	}
	b := l.m[id]
	if b == nil {
		b = &memoryBroadcast{list: list, entries: map[int]Outcome{}}
		l.m[id] = b
	}
	if b.list != list {
		return nil, fmt.Errorf("%w: log %q", ErrCursorMismatch, id)
	}
	now := time.Now()
	if b.owner != "" && b.owner != run && now.Before(b.until) {
		return nil, fmt.Errorf("%w: log %q", ErrRunning, id)
	}
	b.owner, b.until = run, now.Add(lease)
	out := make([]LogEntry, 0, len(b.entries))
	for _, i := range slices.Sorted(maps.Keys(b.entries)) {
		out = append(out, LogEntry{Index: i, Outcome: b.entries[i]})
	}
	return out, nil
}

// held returns broadcast id if run holds it. Callers hold mu.
func (l *MemoryLog) held(id, run string) (*memoryBroadcast, error) {
	b := l.m[id]
	if b == nil || b.owner == "" || b.owner != run {
		return nil, fmt.Errorf("%w: log %q", ErrLeaseLost, id)
	}
	return b, nil
}

// Renew implements [Log].
func (l *MemoryLog) Renew(_ context.Context, id, run string, lease time.Duration) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, err := l.held(id, run)
	if err != nil {
		return err
	}
	b.until = time.Now().Add(lease)
	return nil
}

// Start implements [Log].
func (l *MemoryLog) Start(_ context.Context, id, run string, i int) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, err := l.held(id, run)
	if err != nil {
		return err
	}
	b.entries[i] = 0
	return nil
}

// Finish implements [Log].
func (l *MemoryLog) Finish(_ context.Context, id, run string, i int, o Outcome) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, err := l.held(id, run)
	if err != nil {
		return err
	}
	if o == 0 {
		delete(b.entries, i)
	} else {
		b.entries[i] = o
	}
	return nil
}

// Release implements [Log].
func (l *MemoryLog) Release(_ context.Context, id, run string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if b, err := l.held(id, run); err == nil {
		b.owner, b.until = "", time.Time{}
	}
	return nil
}
