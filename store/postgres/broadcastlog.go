package postgres

import (
	"context"
	"fmt"

	"github.com/miniappkit/miniappkit/broadcast"
)

// BroadcastLog is a broadcast.Log in the schema: a row per broadcast (the
// fingerprint of its chat list) and a row per entry in flight or
// finished, each call one statement, durable when it returns. Replicas
// may share it, each running its own broadcast ids. It is safe for
// concurrent use.
type BroadcastLog struct {
	db                            *DB
	insertRun, selectRun, entries string
	start, finish, forget         string
}

var _ broadcast.Log = (*BroadcastLog)(nil)

// BroadcastLog returns the broadcast.Log in the schema, for
// broadcast.WithLog.
func (db *DB) BroadcastLog() *BroadcastLog {
	return &BroadcastLog{
		db:        db,
		insertRun: db.sql(`INSERT INTO {schema}.broadcast_runs (id, list) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING`),
		selectRun: db.sql(`SELECT list FROM {schema}.broadcast_runs WHERE id = $1`),
		entries:   db.sql(`SELECT idx, outcome FROM {schema}.broadcast_entries WHERE id = $1 ORDER BY idx`),
		start: db.sql(`INSERT INTO {schema}.broadcast_entries (id, idx, outcome) VALUES ($1, $2, 0)
	ON CONFLICT (id, idx) DO UPDATE SET outcome = 0`),
		finish: db.sql(`INSERT INTO {schema}.broadcast_entries (id, idx, outcome) VALUES ($1, $2, $3)
	ON CONFLICT (id, idx) DO UPDATE SET outcome = excluded.outcome`),
		forget: db.sql(`DELETE FROM {schema}.broadcast_entries WHERE id = $1 AND idx = $2`),
	}
}

// Open implements broadcast.Log.
func (l *BroadcastLog) Open(ctx context.Context, id, list string) ([]broadcast.LogEntry, error) {
	if _, err := l.db.pool.Exec(ctx, l.insertRun, id, list); err != nil {
		return nil, wrap("broadcast log: open", err)
	}
	var have string
	if err := l.db.pool.QueryRow(ctx, l.selectRun, id).Scan(&have); err != nil {
		return nil, wrap("broadcast log: open", err)
	}
	if have != list {
		return nil, fmt.Errorf("postgres: broadcast log %q: %w", id, broadcast.ErrCursorMismatch)
	}
	rows, err := l.db.pool.Query(ctx, l.entries, id)
	if err != nil {
		return nil, wrap("broadcast log: open", err)
	}
	defer rows.Close()
	var out []broadcast.LogEntry
	for rows.Next() {
		var idx int32
		var o int16
		if err := rows.Scan(&idx, &o); err != nil {
			return nil, wrap("broadcast log: open", err)
		}
		out = append(out, broadcast.LogEntry{Index: int(idx), Outcome: broadcast.Outcome(o)})
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("broadcast log: open", err)
	}
	return out, nil
}

// Start implements broadcast.Log.
func (l *BroadcastLog) Start(ctx context.Context, id string, i int) error {
	if _, err := l.db.pool.Exec(ctx, l.start, id, int32(i)); err != nil {
		return wrap("broadcast log: start", err)
	}
	return nil
}

// Finish implements broadcast.Log.
func (l *BroadcastLog) Finish(ctx context.Context, id string, i int, o broadcast.Outcome) error {
	var err error
	if o == 0 {
		_, err = l.db.pool.Exec(ctx, l.forget, id, int32(i))
	} else {
		_, err = l.db.pool.Exec(ctx, l.finish, id, int32(i), int16(o))
	}
	if err != nil {
		return wrap("broadcast log: finish", err)
	}
	return nil
}
