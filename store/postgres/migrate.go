package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/miniappkit/miniappkit/internal/sqlmigrate"
)

// migrations holds one directory per feature (ledger, updates, ...), each
// with files NNNN_name.sql applied in order of NNNN; {schema} in a file is
// the quoted schema name. A feature adds a file to add a migration;
// features never share a version sequence.
//
//go:embed migrations
var migrations embed.FS

// loadMigrations reads and checks the migrations (shared with the other SQL
// engine).
var loadMigrations = sqlmigrate.Load

// ErrNewerLayout is the error of [DB.Migrate] when the schema holds a
// feature's tables at a migration version newer than this version of the
// package knows (a newer release migrated it): the stores would misread
// them.
var ErrNewerLayout = errors.New("postgres: the database's schema is newer than this version of miniappkit knows")

// Migrate creates the schema and the tables of every store, or brings them
// up to date. It is idempotent and safe to run from several processes at
// once: it runs in one transaction holding a transaction-scoped advisory
// lock named for the schema, and records each migration in
// <schema>.migrations as (component, version), so each runs once. When the
// schema records a feature at a version newer than this package knows, it
// fails with [ErrNewerLayout] and changes nothing (a feature it does not
// know at all, a newer release's new store, is left alone).
func (db *DB) Migrate(ctx context.Context) (err error) {
	if db.err != nil {
		return db.err
	}
	ms, err := loadMigrations(migrations)
	if err != nil {
		return wrap("migrate", err)
	}
	tx, err := db.pool.Begin(ctx)
	if err != nil {
		return wrap("migrate", err)
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, tx.Rollback(context.WithoutCancel(ctx)))
		}
	}()
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('miniappkit migrate ' || $1, 0))`, db.schema); err != nil {
		return wrap("migrate: lock", err)
	}
	if _, err := tx.Exec(ctx, db.sql(`CREATE SCHEMA IF NOT EXISTS {schema};
CREATE TABLE IF NOT EXISTS {schema}.migrations (
	component  text        NOT NULL,
	version    integer     NOT NULL,
	name       text        NOT NULL,
	applied_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (component, version)
)`), pgx.QueryExecModeSimpleProtocol); err != nil {
		return wrap("migrate: version table", err)
	}
	rows, err := tx.Query(ctx, db.sql(`SELECT component, max(version) FROM {schema}.migrations GROUP BY component`))
	if err != nil {
		return wrap("migrate: versions", err)
	}
	recorded := make(map[string]int)
	var c string
	var v int
	if _, err := pgx.ForEachRow(rows, []any{&c, &v}, func() error { recorded[c] = v; return nil }); err != nil {
		return wrap("migrate: versions", err)
	}
	if c := sqlmigrate.Newer(ms, recorded); c != "" {
		return fmt.Errorf("postgres: migrate: feature %s: %w", c, ErrNewerLayout)
	}
	for _, m := range ms {
		var applied bool
		if err := tx.QueryRow(ctx, db.sql(`SELECT EXISTS (SELECT 1 FROM {schema}.migrations WHERE component = $1 AND version = $2)`),
			m.Component, m.Version).Scan(&applied); err != nil {
			return wrap("migrate", err)
		}
		if applied {
			continue
		}
		if _, err := tx.Exec(ctx, db.sql(m.SQL), pgx.QueryExecModeSimpleProtocol); err != nil {
			return wrap(fmt.Sprintf("migrate %s %s", m.Component, m.Name), err)
		}
		if _, err := tx.Exec(ctx, db.sql(`INSERT INTO {schema}.migrations (component, version, name) VALUES ($1, $2, $3)`),
			m.Component, m.Version, m.Name); err != nil {
			return wrap(fmt.Sprintf("migrate %s %s", m.Component, m.Name), err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return wrap("migrate: commit", err)
	}
	return nil
}
