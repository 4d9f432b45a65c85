package broadcast

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
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
// Implementations must be safe for concurrent use and make each call
// durable before returning. The main module ships [MemoryLog] (for tests:
// it survives a cancelled Run, not a process); the store modules implement
// it on SQLite, Postgres and Redis. broadcast/logtest is the contract kit.
type Log interface {
	// Open starts broadcast id over a chat list with fingerprint list (see
	// [Fingerprint]), or resumes it, and returns the entries it holds:
	// Outcome 0 for an entry in flight. It fails with [ErrCursorMismatch]
	// when id was started over another list.
	Open(ctx context.Context, id, list string) ([]LogEntry, error)
	// Start marks entry i of broadcast id in flight.
	Start(ctx context.Context, id string, i int) error
	// Finish records entry i's outcome; Outcome 0 means nothing was sent,
	// and forgets the entry (a resumed run sends it).
	Finish(ctx context.Context, id string, i int, o Outcome) error
}

// LogEntry is an entry a [Log] holds: in flight (Outcome 0) or finished.
type LogEntry struct {
	Index   int
	Outcome Outcome
}

// ErrInterrupted is the error of an entry a [Log] held in flight when its
// run stopped: its outcome is [Unknown].
var ErrInterrupted = errors.New("broadcast: the send was in flight when the run stopped; it may have been delivered")

// WithLog makes [Run] record every send in l under the broadcast id (see
// [Log]), and resume from it. With a log, a [Cursor] is not needed: the
// log is the position.
func WithLog(l Log, id string) Option {
	return func(o *options) { o.log, o.logID = l, id }
}

// MemoryLog is a [Log] in memory. It is safe for concurrent use; the zero
// value is ready to use.
type MemoryLog struct {
	mu sync.Mutex
	m  map[string]*memoryBroadcast
}

type memoryBroadcast struct {
	list    string
	entries map[int]Outcome
}

// Open implements [Log].
func (l *MemoryLog) Open(_ context.Context, id, list string) ([]LogEntry, error) {
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
	out := make([]LogEntry, 0, len(b.entries))
	for _, i := range slices.Sorted(maps.Keys(b.entries)) {
		out = append(out, LogEntry{Index: i, Outcome: b.entries[i]})
	}
	return out, nil
}

// errNotOpen is returned for a broadcast id that was never opened.
var errNotOpen = errors.New("broadcast: log: broadcast not opened")

// Start implements [Log].
func (l *MemoryLog) Start(_ context.Context, id string, i int) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.m[id]
	if b == nil {
		return errNotOpen
	}
	b.entries[i] = 0
	return nil
}

// Finish implements [Log].
func (l *MemoryLog) Finish(_ context.Context, id string, i int, o Outcome) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.m[id]
	if b == nil {
		return errNotOpen
	}
	if o == 0 {
		delete(b.entries, i)
	} else {
		b.entries[i] = o
	}
	return nil
}
