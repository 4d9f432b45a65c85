package sqlite

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestMigrateRefusesNewerSchema: a file that a newer release migrated (a
// feature at a version this code does not know) is refused with
// ErrNewerLayout, and Migrate changes nothing: a feature not yet applied
// stays absent. Before the fix Migrate returned nil and applied the rest.
func TestMigrateRefusesNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "newer.db")
	db, err := Open(path)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	require.NoError(t, db.Migrate(t.Context()))
	// A newer release added ledger migration 99, and this file has no
	// webhook keys table yet (dropped with its record, as if the feature
	// had not been migrated).
	_, err = db.w.ExecContext(t.Context(), `INSERT INTO miniappkit_migrations (component, version, name) VALUES ('ledger', 99, '0099_future.sql');
DROP TABLE miniappkit_webhook_keys;
DELETE FROM miniappkit_migrations WHERE component = 'updates'`)
	require.NoError(t, err)

	err = db.Migrate(t.Context())
	require.ErrorIs(t, err, ErrNewerLayout)
	require.ErrorContains(t, err, "ledger")
	var n int
	require.NoError(t, db.w.QueryRowContext(t.Context(),
		`SELECT count(*) FROM sqlite_master WHERE name = 'miniappkit_webhook_keys'`).Scan(&n))
	require.Zero(t, n, "Migrate applied a migration to a newer database")

	// A second handle (another process) is refused the same way.
	db2, err := Open(path)
	require.NoError(t, err)
	t.Cleanup(func() { db2.Close() })
	require.ErrorIs(t, db2.Migrate(t.Context()), ErrNewerLayout)
}

// TestMigrateIgnoresUnknownFeature: a feature this code does not know (a
// newer release's new store) is not a newer layout of any table this code
// uses: Migrate succeeds.
func TestMigrateIgnoresUnknownFeature(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "unknown.db"))
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	require.NoError(t, db.Migrate(t.Context()))
	_, err = db.w.ExecContext(t.Context(), `INSERT INTO miniappkit_migrations (component, version, name) VALUES ('future_feature', 3, '0003_x.sql')`)
	require.NoError(t, err)
	require.NoError(t, db.Migrate(t.Context()))
}
