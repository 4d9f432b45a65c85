package sqlite

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/miniappkit/miniappkit/broadcast"
)

// BroadcastLog is a broadcast.Log in the file: a row per broadcast (the
// fingerprint of its chat list, the run holding it and until when, on
// SQLite's clock) and a row per entry in flight or finished. Start, Finish
// and Renew are each one statement on the writer connection that checks
// the run holds the broadcast and writes in the same step; Open and the
// forgetting of an entry not sent are one transaction. Each call is
// durable when it returns (synchronous FULL by default). Each send makes
// two writes, so a broadcast runs at the file's commit rate at most: ample
// at Telegram's 30/s; at the paid 1000/s use WithSynchronous("NORMAL") (a
// power loss may then lose the last commits, a process crash does not).
// Processes sharing the file share the leases (SQLite's clock is the
// machine's). It is safe for concurrent use.
type BroadcastLog struct{ db *DB }

var _ broadcast.Log = (*BroadcastLog)(nil)

// BroadcastLog returns the broadcast.Log in the file, for
// broadcast.WithLog.
func (db *DB) BroadcastLog() *BroadcastLog { return &BroadcastLog{db: db} }

const (
	// blHolds is true when run ?3 holds broadcast ?1.
	blHolds = `EXISTS (SELECT 1 FROM broadcast_runs WHERE id = ?1 AND owner = ?3 AND owner <> '')`
	// blTake gives broadcast ?1 to run ?2 for ?3 ms, unless another run's
	// lease is live.
	blTake = `UPDATE broadcast_runs SET owner = ?2, lease_until = ` + nowMS + ` + ?3
		WHERE id = ?1 AND (owner = '' OR owner = ?2 OR lease_until <= ` + nowMS + `)`
	blRenew = `UPDATE broadcast_runs SET lease_until = ` + nowMS + ` + ?3
		WHERE id = ?1 AND owner = ?2 AND owner <> ''`
	blRelease = `UPDATE broadcast_runs SET owner = '', lease_until = 0 WHERE id = ?1 AND owner = ?2 AND owner <> ''`
	blStart   = `INSERT INTO broadcast_entries (id, idx, outcome) SELECT ?1, ?2, 0 WHERE ` + blHolds + `
		ON CONFLICT (id, idx) DO UPDATE SET outcome = 0`
	blFinish = `INSERT INTO broadcast_entries (id, idx, outcome) SELECT ?1, ?2, ?4 WHERE ` + blHolds + `
		ON CONFLICT (id, idx) DO UPDATE SET outcome = excluded.outcome`
)

// lost is the error of a write by a run that does not hold id.
func lost(id string) error {
	return fmt.Errorf("sqlite: broadcast log %q: %w", id, broadcast.ErrLeaseLost)
}

// Open implements broadcast.Log.
func (l *BroadcastLog) Open(ctx context.Context, id, list, run string, lease time.Duration) (_ []broadcast.LogEntry, err error) {
	tx, err := l.db.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, wrap("broadcast log: open", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if _, err := tx.ExecContext(ctx, `INSERT INTO broadcast_runs (id, list) VALUES (?, ?) ON CONFLICT (id) DO NOTHING`, id, list); err != nil {
		return nil, wrap("broadcast log: open", err)
	}
	var have string
	if err := tx.QueryRowContext(ctx, `SELECT list FROM broadcast_runs WHERE id = ?`, id).Scan(&have); err != nil {
		return nil, wrap("broadcast log: open", err)
	}
	if have != list {
		return nil, fmt.Errorf("sqlite: broadcast log %q: %w", id, broadcast.ErrCursorMismatch)
	}
	if run == "" {
		return nil, errors.New("sqlite: broadcast log: open: empty run token")
	}
	res, err := tx.ExecContext(ctx, blTake, id, run, lease.Milliseconds())
	if err != nil {
		return nil, wrap("broadcast log: open", err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return nil, fmt.Errorf("sqlite: broadcast log %q: %w", id, broadcast.ErrRunning)
	}
	rows, err := tx.QueryContext(ctx, `SELECT idx, outcome FROM broadcast_entries WHERE id = ? ORDER BY idx`, id)
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
	rows.Close()
	if err := tx.Commit(); err != nil {
		return nil, wrap("broadcast log: open", err)
	}
	return out, nil
}

// held runs one write that changes a row only while run holds id.
func (l *BroadcastLog) held(ctx context.Context, op, q, id string, args ...any) error {
	res, err := l.db.exec(ctx, q, append([]any{id}, args...)...)
	if err != nil {
		return wrap("broadcast log: "+op, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return wrap("broadcast log: "+op, err)
	} else if n == 0 {
		return lost(id)
	}
	return nil
}

// Renew implements broadcast.Log.
func (l *BroadcastLog) Renew(ctx context.Context, id, run string, lease time.Duration) error {
	return l.held(ctx, "renew", blRenew, id, run, lease.Milliseconds())
}

// Release implements broadcast.Log.
func (l *BroadcastLog) Release(ctx context.Context, id, run string) error {
	if _, err := l.db.exec(ctx, blRelease, id, run); err != nil {
		return wrap("broadcast log: release", err)
	}
	return nil
}

// Start implements broadcast.Log.
func (l *BroadcastLog) Start(ctx context.Context, id, run string, i int) error {
	return l.held(ctx, "start", blStart, id, i, run)
}

// Finish implements broadcast.Log.
func (l *BroadcastLog) Finish(ctx context.Context, id, run string, i int, o broadcast.Outcome) (err error) {
	if o != 0 {
		return l.held(ctx, "finish", blFinish, id, i, run, int(o))
	}
	// Forget the entry: a DELETE cannot tell a missing entry from a run
	// that does not hold the id, so check and delete in one transaction.
	tx, err := l.db.w.BeginTx(ctx, nil)
	if err != nil {
		return wrap("broadcast log: finish", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	var holds bool
	if err := tx.QueryRowContext(ctx, `SELECT `+blHolds, id, nil, run).Scan(&holds); err != nil {
		return wrap("broadcast log: finish", err)
	}
	if !holds {
		return lost(id)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM broadcast_entries WHERE id = ? AND idx = ?`, id, i); err != nil {
		return wrap("broadcast log: finish", err)
	}
	if err := tx.Commit(); err != nil {
		return wrap("broadcast log: finish", err)
	}
	return nil
}
