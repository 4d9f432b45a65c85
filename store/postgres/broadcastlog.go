package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/miniappkit/miniappkit/broadcast"
)

// BroadcastLog is a broadcast.Log in the schema: a row per broadcast (the
// fingerprint of its chat list, the run holding it and until when, on the
// server's clock) and a row per entry in flight or finished. Start,
// Finish and Renew are each one statement that checks the run holds the
// broadcast, with a share lock on its row, and writes in the same step:
// a run taking the broadcast over (Open, one transaction) waits for those
// writes and then sees them, or they wait for it and then write nothing.
// Each call is durable when it returns. Replicas may share it; a
// broadcast id is run by one of them at a time. It is safe for concurrent
// use.
type BroadcastLog struct {
	db                                  *DB
	insertRun, selectRun, take, entries string
	renew, release, start, finish       string
	forget                              string
}

var _ broadcast.Log = (*BroadcastLog)(nil)

// BroadcastLog returns the broadcast.Log in the schema, for
// broadcast.WithLog.
func (db *DB) BroadcastLog() *BroadcastLog {
	const holds = `SELECT 1 FROM {schema}.broadcast_runs WHERE id = $1 AND owner = $3 AND owner <> '' FOR SHARE`
	return &BroadcastLog{
		db:        db,
		insertRun: db.sql(`INSERT INTO {schema}.broadcast_runs (id, list) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING`),
		selectRun: db.sql(`SELECT list FROM {schema}.broadcast_runs WHERE id = $1`),
		take: db.sql(`UPDATE {schema}.broadcast_runs SET owner = $2, lease_until = now() + $3 * interval '1 millisecond'
	WHERE id = $1 AND (owner = '' OR owner = $2 OR lease_until <= now())`),
		entries: db.sql(`SELECT idx, outcome FROM {schema}.broadcast_entries WHERE id = $1 ORDER BY idx`),
		renew: db.sql(`UPDATE {schema}.broadcast_runs SET lease_until = now() + $3 * interval '1 millisecond'
	WHERE id = $1 AND owner = $2 AND owner <> ''`),
		release: db.sql(`UPDATE {schema}.broadcast_runs SET owner = '', lease_until = '-infinity'
	WHERE id = $1 AND owner = $2 AND owner <> ''`),
		start: db.sql(`INSERT INTO {schema}.broadcast_entries (id, idx, outcome)
	SELECT $1, $2::integer, 0::smallint FROM (` + holds + `) h
	ON CONFLICT (id, idx) DO UPDATE SET outcome = 0`),
		finish: db.sql(`INSERT INTO {schema}.broadcast_entries (id, idx, outcome)
	SELECT $1, $2::integer, $4::smallint FROM (` + holds + `) h
	ON CONFLICT (id, idx) DO UPDATE SET outcome = excluded.outcome`),
		forget: db.sql(`WITH h AS (` + holds + `),
	d AS (DELETE FROM {schema}.broadcast_entries WHERE id = $1 AND idx = $2::integer AND EXISTS (SELECT 1 FROM h))
	SELECT EXISTS (SELECT 1 FROM h)`),
	}
}

// lost is the error of a write by a run that does not hold id.
func lost(id string) error {
	return fmt.Errorf("postgres: broadcast log %q: %w", id, broadcast.ErrLeaseLost)
}

// Open implements broadcast.Log.
func (l *BroadcastLog) Open(ctx context.Context, id, list, run string, lease time.Duration) (_ []broadcast.LogEntry, err error) {
	if run == "" {
		return nil, errors.New("postgres: broadcast log: open: empty run token")
	}
	tx, err := l.db.pool.Begin(ctx)
	if err != nil {
		return nil, wrap("broadcast log: open", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback(context.WithoutCancel(ctx))
		}
	}()
	if _, err := tx.Exec(ctx, l.insertRun, id, list); err != nil {
		return nil, wrap("broadcast log: open", err)
	}
	var have string
	if err := tx.QueryRow(ctx, l.selectRun, id).Scan(&have); err != nil {
		return nil, wrap("broadcast log: open", err)
	}
	if have != list {
		return nil, fmt.Errorf("postgres: broadcast log %q: %w", id, broadcast.ErrCursorMismatch)
	}
	tag, err := tx.Exec(ctx, l.take, id, run, lease.Milliseconds())
	if err != nil {
		return nil, wrap("broadcast log: open", err)
	}
	if tag.RowsAffected() != 1 {
		return nil, fmt.Errorf("postgres: broadcast log %q: %w", id, broadcast.ErrRunning)
	}
	// Read after taking the row: every Start that held its share lock
	// before has committed and is seen here.
	rows, err := tx.Query(ctx, l.entries, id)
	if err != nil {
		return nil, wrap("broadcast log: open", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (broadcast.LogEntry, error) {
		var idx int32
		var o int16
		err := row.Scan(&idx, &o)
		return broadcast.LogEntry{Index: int(idx), Outcome: broadcast.Outcome(o)}, err
	})
	if err != nil {
		return nil, wrap("broadcast log: open", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, wrap("broadcast log: open", err)
	}
	return out, nil
}

// held runs one write that changes a row only while run holds id.
func (l *BroadcastLog) held(ctx context.Context, op, q, id string, args ...any) error {
	tag, err := l.db.pool.Exec(ctx, q, append([]any{id}, args...)...)
	if err != nil {
		return wrap("broadcast log: "+op, err)
	}
	if tag.RowsAffected() == 0 {
		return lost(id)
	}
	return nil
}

// Renew implements broadcast.Log.
func (l *BroadcastLog) Renew(ctx context.Context, id, run string, lease time.Duration) error {
	return l.held(ctx, "renew", l.renew, id, run, lease.Milliseconds())
}

// Release implements broadcast.Log.
func (l *BroadcastLog) Release(ctx context.Context, id, run string) error {
	if _, err := l.db.pool.Exec(ctx, l.release, id, run); err != nil {
		return wrap("broadcast log: release", err)
	}
	return nil
}

// Start implements broadcast.Log.
func (l *BroadcastLog) Start(ctx context.Context, id, run string, i int) error {
	return l.held(ctx, "start", l.start, id, int32(i), run)
}

// Finish implements broadcast.Log.
func (l *BroadcastLog) Finish(ctx context.Context, id, run string, i int, o broadcast.Outcome) error {
	if o != 0 {
		return l.held(ctx, "finish", l.finish, id, int32(i), run, int16(o))
	}
	var holds bool
	if err := l.db.pool.QueryRow(ctx, l.forget, id, int32(i), run).Scan(&holds); err != nil {
		return wrap("broadcast log: finish", err)
	}
	if !holds {
		return lost(id)
	}
	return nil
}
