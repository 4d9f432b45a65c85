package sqlite

import (
	"context"
	"fmt"

	"github.com/miniappkit/miniappkit/broadcast"
)

// BroadcastLog is a broadcast.Log in the file: a row per broadcast (the
// fingerprint of its chat list) and a row per entry in flight or
// finished, each call one statement on the writer connection, durable
// when it returns (synchronous FULL by default). Each send makes two
// writes, so a broadcast runs at the file's commit rate at most: ample at
// Telegram's 30/s; at the paid 1000/s use WithSynchronous("NORMAL") (a
// power loss may then lose the last commits, a process crash does not). It
// is safe for concurrent use.
type BroadcastLog struct{ db *DB }

var _ broadcast.Log = (*BroadcastLog)(nil)

// BroadcastLog returns the broadcast.Log in the file, for
// broadcast.WithLog.
func (db *DB) BroadcastLog() *BroadcastLog { return &BroadcastLog{db: db} }

// Open implements broadcast.Log.
func (l *BroadcastLog) Open(ctx context.Context, id, list string) ([]broadcast.LogEntry, error) {
	if _, err := l.db.w.ExecContext(ctx, `INSERT INTO broadcast_runs (id, list) VALUES (?, ?) ON CONFLICT (id) DO NOTHING`, id, list); err != nil {
		return nil, wrap("broadcast log: open", err)
	}
	var have string
	if err := l.db.w.QueryRowContext(ctx, `SELECT list FROM broadcast_runs WHERE id = ?`, id).Scan(&have); err != nil {
		return nil, wrap("broadcast log: open", err)
	}
	if have != list {
		return nil, fmt.Errorf("sqlite: broadcast log %q: %w", id, broadcast.ErrCursorMismatch)
	}
	rows, err := l.db.w.QueryContext(ctx, `SELECT idx, outcome FROM broadcast_entries WHERE id = ? ORDER BY idx`, id)
	if err != nil {
		return nil, wrap("broadcast log: open", err)
	}
	defer rows.Close()
	var out []broadcast.LogEntry
	for rows.Next() {
		var e broadcast.LogEntry
		if err := rows.Scan(&e.Index, &e.Outcome); err != nil {
			return nil, wrap("broadcast log: open", err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("broadcast log: open", err)
	}
	return out, nil
}

// Start implements broadcast.Log.
func (l *BroadcastLog) Start(ctx context.Context, id string, i int) error {
	_, err := l.db.w.ExecContext(ctx, `INSERT INTO broadcast_entries (id, idx, outcome) VALUES (?, ?, 0)
	ON CONFLICT (id, idx) DO UPDATE SET outcome = 0`, id, i)
	if err != nil {
		return wrap("broadcast log: start", err)
	}
	return nil
}

// Finish implements broadcast.Log.
func (l *BroadcastLog) Finish(ctx context.Context, id string, i int, o broadcast.Outcome) error {
	var err error
	if o == 0 {
		_, err = l.db.w.ExecContext(ctx, `DELETE FROM broadcast_entries WHERE id = ? AND idx = ?`, id, i)
	} else {
		_, err = l.db.w.ExecContext(ctx, `INSERT INTO broadcast_entries (id, idx, outcome) VALUES (?, ?, ?)
	ON CONFLICT (id, idx) DO UPDATE SET outcome = excluded.outcome`, id, i, int(o))
	}
	if err != nil {
		return wrap("broadcast log: finish", err)
	}
	return nil
}
