package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/miniappkit/miniappkit/webhook"
)

// UpdateStore is a webhook.Store in the table <schema>.webhook_keys:
// Claim, Complete and Release are one statement each, with leases and
// TTLs on the server's clock. Rows past their TTL count as absent and are
// overwritten by the next Claim of their key; [UpdateStore.Purge] deletes
// them. It is safe for concurrent use.
type UpdateStore struct {
	db                                                  *DB
	claim, extend, complete, completeTx, release, purge string
}

var _ webhook.Store = (*UpdateStore)(nil)

// UpdateStore returns the schema's webhook.Store, for
// [webhook.WithStore]. Call [DB.Migrate] first.
func (db *DB) UpdateStore() *UpdateStore {
	return &UpdateStore{
		db: db,
		// Insert the key, or take over its row if that has expired, or else
		// leave the row as it is; either way return the row: the caller
		// owns it when the row's owner is the caller.
		claim: db.sql(`INSERT INTO {schema}.webhook_keys AS t (key, state, owner, expires_at, data)
	VALUES ($1, 1, $2, now() + $3 * interval '1 microsecond', $4)
	ON CONFLICT (key) DO UPDATE SET
		state      = CASE WHEN t.expires_at <= now() THEN 1 ELSE t.state END,
		owner      = CASE WHEN t.expires_at <= now() THEN excluded.owner ELSE t.owner END,
		data       = CASE WHEN t.expires_at <= now() THEN excluded.data ELSE t.data END,
		expires_at = CASE WHEN t.expires_at <= now() THEN excluded.expires_at ELSE t.expires_at END
	RETURNING owner, state, data`),
		extend: db.sql(`UPDATE {schema}.webhook_keys SET expires_at = now() + $3 * interval '1 microsecond'
	WHERE key = $1 AND owner = $2 AND state = 1`),
		complete: db.sql(`UPDATE {schema}.webhook_keys SET state = 2, expires_at = now() + $3 * interval '1 microsecond', data = $4
	WHERE key = $1 AND owner = $2`),
		completeTx: db.sql(`UPDATE {schema}.webhook_keys SET state = 2, expires_at = now() + $2 * interval '1 microsecond'
	WHERE key = $1 AND state = 1`),
		release: db.sql(`DELETE FROM {schema}.webhook_keys WHERE key = $1 AND owner = $2 AND state = 1`),
		purge:   db.sql(`DELETE FROM {schema}.webhook_keys WHERE expires_at <= now()`),
	}
}

var errBadDuration = errors.New("postgres: lease and ttl must be positive")

// Claim implements webhook.Store.
func (s *UpdateStore) Claim(ctx context.Context, key, owner string, lease time.Duration, data []byte) (webhook.ClaimResult, error) {
	if err := s.check(ctx, lease); err != nil {
		return webhook.ClaimResult{}, err
	}
	var gotOwner string
	var state int16
	var got []byte
	if err := s.db.pool.QueryRow(ctx, s.claim, key, owner, micros(lease), data).Scan(&gotOwner, &state, &got); err != nil {
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

// Complete implements webhook.Store. Completing a key that the same owner
// completed already (with [UpdateStore.CompleteTx]) succeeds and sets its
// TTL and data again.
func (s *UpdateStore) Complete(ctx context.Context, key, owner string, ttl time.Duration, data []byte) error {
	if err := s.check(ctx, ttl); err != nil {
		return err
	}
	tag, err := s.db.pool.Exec(ctx, s.complete, key, owner, micros(ttl), data)
	return affected("update store complete", tag, err)
}

// Extend implements webhook.Store: one UPDATE, the new lease on the
// server's clock.
func (s *UpdateStore) Extend(ctx context.Context, key, owner string, lease time.Duration) error {
	if err := s.check(ctx, lease); err != nil {
		return err
	}
	tag, err := s.db.pool.Exec(ctx, s.extend, key, owner, micros(lease))
	return affected("update store extend", tag, err)
}

// Release implements webhook.Store.
func (s *UpdateStore) Release(ctx context.Context, key, owner string) error {
	if err := s.check(ctx, 1); err != nil {
		return err
	}
	tag, err := s.db.pool.Exec(ctx, s.release, key, owner)
	return affected("update store release", tag, err)
}

// CompleteTx moves key's in-flight claim, whoever holds it, to done for
// ttl inside tx, a transaction on the same database. Whatever else tx
// writes (the update's effect) then commits together with the completion,
// or not at all: since a key becomes done once per claim, the effect is
// written exactly once per key, even if the process is killed at any
// point. It fails with webhook.ErrNotOwner when the key is not in flight
// (done already, or released): roll tx back then. Until tx ends it holds
// the key's row lock, so a duplicate delivery's Claim waits for the
// commit and then finds the key done.
//
// A handler run by webhook.NewHandler calls it with the key the handler
// claimed, webhook.ClaimFromContext(ctx).Key; the
// handler's own Complete that follows finds the key done by its owner and
// succeeds.
func (s *UpdateStore) CompleteTx(ctx context.Context, tx pgx.Tx, key string, ttl time.Duration) error {
	if err := s.check(ctx, ttl); err != nil {
		return err
	}
	tag, err := tx.Exec(ctx, s.completeTx, key, micros(ttl))
	return affected("update store complete in tx", tag, err)
}

// Purge deletes the rows whose lease or TTL has passed and returns how
// many. Expired rows are harmless (a Claim overwrites them) but take
// space; run Purge from time to time, for example hourly.
func (s *UpdateStore) Purge(ctx context.Context) (int64, error) {
	if s.db.err != nil {
		return 0, s.db.err
	}
	tag, err := s.db.pool.Exec(ctx, s.purge)
	if err != nil {
		return 0, wrap("update store purge", err)
	}
	return tag.RowsAffected(), nil
}

func (s *UpdateStore) check(ctx context.Context, d time.Duration) error {
	if s.db.err != nil {
		return s.db.err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if d <= 0 {
		return errBadDuration
	}
	return nil
}

// affected turns "no row changed" into webhook.ErrNotOwner.
func affected(op string, tag pgconn.CommandTag, err error) error {
	if err != nil {
		return wrap(op, err)
	}
	if tag.RowsAffected() == 0 {
		return webhook.ErrNotOwner
	}
	return nil
}

// micros rounds d up to whole microseconds, the server clock's resolution.
func micros(d time.Duration) int64 {
	return int64((d + time.Microsecond - 1) / time.Microsecond)
}

// IdempotencyStore returns the store for webhook.Idempotency: the same
// table of claims as [DB.UpdateStore] (keys "idem:…" beside "tg:…"), whose
// data column holds each request's fingerprint and stored response.
func (db *DB) IdempotencyStore() *UpdateStore { return db.UpdateStore() }
