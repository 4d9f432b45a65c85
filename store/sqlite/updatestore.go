package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/miniappkit/miniappkit/webhook"
)

// UpdateStore is a webhook.Store in the table miniappkit_webhook_keys:
// Claim, Complete and Release are one statement each on the writer, with
// leases and TTLs on SQLite's clock. Rows past their TTL count as absent
// and are overwritten by the next Claim of their key; [UpdateStore.Purge]
// deletes them. It is safe for concurrent use.
type UpdateStore struct{ db *DB }

var _ webhook.Store = (*UpdateStore)(nil)

// UpdateStore returns the file's webhook.Store, for [webhook.WithStore].
// Call [DB.Migrate] first.
func (db *DB) UpdateStore() *UpdateStore { return &UpdateStore{db: db} }

var errBadDuration = errors.New("sqlite: lease and ttl must be positive")

// nowMS is SQLite's clock in Unix milliseconds.
const nowMS = `CAST(unixepoch('subsec') * 1000 AS INTEGER)`

// claimSQL inserts the key, or takes over its row if that has expired, or
// else leaves the row as it is; either way it returns the row, and the
// caller owns it when the row's owner is the caller.
const claimSQL = `INSERT INTO miniappkit_webhook_keys AS t (key, state, owner, expires_at, data)
	VALUES (?1, 1, ?2, ` + nowMS + ` + ?3, ?4)
	ON CONFLICT (key) DO UPDATE SET
		state      = CASE WHEN t.expires_at <= ` + nowMS + ` THEN 1 ELSE t.state END,
		owner      = CASE WHEN t.expires_at <= ` + nowMS + ` THEN excluded.owner ELSE t.owner END,
		data       = CASE WHEN t.expires_at <= ` + nowMS + ` THEN excluded.data ELSE t.data END,
		expires_at = CASE WHEN t.expires_at <= ` + nowMS + ` THEN excluded.expires_at ELSE t.expires_at END
	RETURNING owner, state, data`

// hotStatements are prepared by Migrate, so that no call prepares on the
// writer while a transaction of the caller's may hold it.
var hotStatements = []string{claimSQL, completeSQL, releaseSQL, completeTxSQL}

// Claim implements webhook.Store.
func (s *UpdateStore) Claim(ctx context.Context, key, owner string, lease time.Duration, data []byte) (webhook.ClaimResult, error) {
	if err := ctx.Err(); err != nil {
		return webhook.ClaimResult{}, err
	}
	if lease <= 0 {
		return webhook.ClaimResult{}, errBadDuration
	}
	var gotOwner string
	var state int
	var got []byte
	row, err := s.db.queryRow(ctx, claimSQL, key, owner, millis(lease), data)
	if err == nil {
		err = row.Scan(&gotOwner, &state, &got)
	}
	if err != nil {
		return webhook.ClaimResult{}, wrap("update store claim", err)
	}
	if gotOwner == owner && state == 1 {
		return webhook.ClaimResult{State: webhook.Claimed}, nil
	}
	if state == 2 {
		return webhook.ClaimResult{State: webhook.Done, Data: got}, nil
	}
	return webhook.ClaimResult{State: webhook.InFlight, Data: got}, nil
}

const completeSQL = `UPDATE miniappkit_webhook_keys SET state = 2, expires_at = ` + nowMS + ` + ?3, data = ?4
	WHERE key = ?1 AND owner = ?2`

// Complete implements webhook.Store. Completing a key that the same owner
// completed already (with [UpdateStore.CompleteTx]) succeeds and sets its
// TTL and data again.
func (s *UpdateStore) Complete(ctx context.Context, key, owner string, ttl time.Duration, data []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if ttl <= 0 {
		return errBadDuration
	}
	res, err := s.db.exec(ctx, completeSQL, key, owner, millis(ttl), data)
	return affected("update store complete", res, err)
}

// Release implements webhook.Store.
func (s *UpdateStore) Release(ctx context.Context, key, owner string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	res, err := s.db.exec(ctx, releaseSQL, key, owner)
	return affected("update store release", res, err)
}

// CompleteTx moves key's in-flight claim, whoever holds it, to done for
// ttl inside tx, a transaction on [DB.SQL]. Whatever else tx writes (the
// update's effect) then commits together with the completion, or not at
// all: since a key becomes done once per claim, the effect is written
// exactly once per key, even if the process is killed at any point. It
// fails with webhook.ErrNotOwner when the key is not in flight (done
// already, or released): roll tx back then.
//
// A handler run by webhook.NewHandler calls it with the key the handler
// claimed, webhook.ClaimFromContext(ctx).Key; the
// handler's own Complete that follows finds the key done by its owner and
// succeeds.
func (s *UpdateStore) CompleteTx(ctx context.Context, tx *sql.Tx, key string, ttl time.Duration) error {
	if ttl <= 0 {
		return errBadDuration
	}
	// tx holds the writer's one connection: never prepare on the writer
	// here (that would wait for tx). Migrate prepared the statement.
	var res sql.Result
	var err error
	if v, ok := s.db.stmts.Load(completeTxSQL); ok {
		res, err = tx.StmtContext(ctx, v.(*sql.Stmt)).ExecContext(ctx, key, millis(ttl))
	} else {
		res, err = tx.ExecContext(ctx, completeTxSQL, key, millis(ttl))
	}
	return affected("update store complete in tx", res, err)
}

const extendSQL = `UPDATE miniappkit_webhook_keys SET expires_at = ` + nowMS + ` + ?3 WHERE key = ?1 AND owner = ?2 AND state = 1`

// Extend implements webhook.Store: one UPDATE, the new lease on the
// database's clock.
func (s *UpdateStore) Extend(ctx context.Context, key, owner string, lease time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if lease <= 0 {
		return errBadDuration
	}
	res, err := s.db.exec(ctx, extendSQL, key, owner, millis(lease))
	return affected("update store extend", res, err)
}

const releaseSQL = `DELETE FROM miniappkit_webhook_keys WHERE key = ? AND owner = ? AND state = 1`

const completeTxSQL = `UPDATE miniappkit_webhook_keys SET state = 2, expires_at = ` + nowMS + ` + ?2 WHERE key = ?1 AND state = 1`

// Purge deletes the rows whose lease or TTL has passed and returns how
// many. Expired rows are harmless (a Claim overwrites them) but take
// space; run Purge from time to time, for example hourly.
func (s *UpdateStore) Purge(ctx context.Context) (int64, error) {
	res, err := s.db.w.ExecContext(ctx, `DELETE FROM miniappkit_webhook_keys WHERE expires_at <= `+nowMS)
	if err != nil {
		return 0, wrap("update store purge", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, wrap("update store purge", err)
	}
	return n, nil
}

// affected turns "no row changed" into webhook.ErrNotOwner.
func affected(op string, res sql.Result, err error) error {
	if err != nil {
		return wrap(op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return wrap(op, err)
	}
	if n == 0 {
		return webhook.ErrNotOwner
	}
	return nil
}

// millis rounds d up to whole milliseconds.
func millis(d time.Duration) int64 {
	return int64((d + time.Millisecond - 1) / time.Millisecond)
}

// IdempotencyStore returns the store for webhook.Idempotency: the same
// table of claims as [DB.UpdateStore] (keys "idem:…" beside "tg:…"), whose
// data column holds each request's fingerprint and stored response.
func (db *DB) IdempotencyStore() *UpdateStore { return db.UpdateStore() }
