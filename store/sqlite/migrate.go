package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"

	"github.com/miniappkit/miniappkit/internal/sqlmigrate"
)

// migrations holds one directory per feature (ledger, updates, ...), each
// with files NNNN_name.sql applied in order of NNNN. A feature adds a file
// to add a migration; features never share a version sequence.
//
//go:embed migrations
var migrations embed.FS

// migration is one file of one feature; loadMigrations reads and checks
// them (shared with the other SQL engine).
type migration = sqlmigrate.Migration

var loadMigrations = sqlmigrate.Load

// ErrNewerLayout is the error of [DB.Migrate] when the file holds a
// feature's tables at a migration version newer than this version of the
// package knows (a newer release migrated it): the stores would misread
// them.
var ErrNewerLayout = errors.New("sqlite: the database's schema is newer than this version of miniappkit knows")

// Migrate creates or updates the tables of every store in the file. It is
// idempotent and safe to run from several processes at once: each
// migration runs in its own write transaction (BEGIN IMMEDIATE, so
// processes take turns) and is recorded in miniappkit_migrations as
// (component, version), so it runs once. When the file records a feature
// at a version newer than this package knows, it fails with
// [ErrNewerLayout] before applying anything (a feature it does not know at
// all, a newer release's new store, is left alone).
func (db *DB) Migrate(ctx context.Context) error {
	ms, err := loadMigrations(migrations)
	if err != nil {
		return wrap("migrate", err)
	}
	const versions = `CREATE TABLE IF NOT EXISTS miniappkit_migrations (
	component  TEXT    NOT NULL,
	version    INTEGER NOT NULL,
	name       TEXT    NOT NULL,
	applied_at INTEGER NOT NULL DEFAULT (unixepoch()),
	PRIMARY KEY (component, version)
) WITHOUT ROWID`
	if _, err := db.w.ExecContext(ctx, versions); err != nil {
		return wrap("migrate: version table", err)
	}
	if err := db.checkNotNewer(ctx, ms); err != nil {
		return err
	}
	for _, m := range ms {
		if err := db.apply(ctx, m); err != nil {
			return wrap(fmt.Sprintf("migrate %s %s", m.Component, m.Name), err)
		}
	}
	for _, q := range hotStatements {
		if _, err := db.stmt(ctx, q); err != nil {
			return wrap("migrate: prepare", err)
		}
	}
	return nil
}

// checkNotNewer fails with ErrNewerLayout if the file records a feature
// at a version above the highest of ms.
func (db *DB) checkNotNewer(ctx context.Context, ms []migration) error {
	rows, err := db.w.QueryContext(ctx, `SELECT component, max(version) FROM miniappkit_migrations GROUP BY component`)
	if err != nil {
		return wrap("migrate: versions", err)
	}
	defer rows.Close()
	recorded := make(map[string]int)
	for rows.Next() {
		var c string
		var v int
		if err := rows.Scan(&c, &v); err != nil {
			return wrap("migrate: versions", err)
		}
		recorded[c] = v
	}
	if err := rows.Err(); err != nil {
		return wrap("migrate: versions", err)
	}
	if c := sqlmigrate.Newer(ms, recorded); c != "" {
		return fmt.Errorf("sqlite: migrate: feature %s: %w", c, ErrNewerLayout)
	}
	return nil
}

func (db *DB) apply(ctx context.Context, m migration) (err error) {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, tx.Rollback())
		}
	}()
	var one int
	switch err := tx.QueryRowContext(ctx, `SELECT 1 FROM miniappkit_migrations WHERE component = ? AND version = ?`,
		m.Component, m.Version).Scan(&one); {
	case err == nil:
		return tx.Rollback() // applied already
	case !errors.Is(err, sql.ErrNoRows):
		return err
	}
	if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO miniappkit_migrations (component, version, name) VALUES (?, ?, ?)`,
		m.Component, m.Version, m.Name); err != nil {
		return err
	}
	return tx.Commit()
}
