package postgres

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestMigrateRefusesNewerSchema: a schema that a newer release migrated (a
// feature at a version this code does not know) is refused with
// ErrNewerLayout, and Migrate changes nothing: a feature not yet applied
// stays absent. Before the fix Migrate returned nil and applied the rest.
func TestMigrateRefusesNewerSchema(t *testing.T) {
	p := testPool(t)
	schema := testSchema(t, p)
	db := New(p, WithSchema(schema))
	require.NoError(t, db.Migrate(t.Context()))
	_, err := p.Exec(t.Context(), db.sql(`INSERT INTO {schema}.migrations (component, version, name) VALUES ('ledger', 99, '0099_future.sql');
DROP TABLE {schema}.webhook_keys;
DELETE FROM {schema}.migrations WHERE component = 'updates'`))
	require.NoError(t, err)

	err = db.Migrate(t.Context())
	require.ErrorIs(t, err, ErrNewerLayout)
	require.ErrorContains(t, err, "ledger")
	var exists bool
	require.NoError(t, p.QueryRow(t.Context(), `SELECT to_regclass($1) IS NOT NULL`, db.ident+".webhook_keys").Scan(&exists))
	require.False(t, exists, "Migrate applied a migration to a newer schema")
}

// TestMigrateIgnoresUnknownFeature: a feature this code does not know (a
// newer release's new store) is not a newer layout of any table this code
// uses: Migrate succeeds.
func TestMigrateIgnoresUnknownFeature(t *testing.T) {
	p := testPool(t)
	db := New(p, WithSchema(testSchema(t, p)))
	require.NoError(t, db.Migrate(t.Context()))
	_, err := p.Exec(t.Context(), db.sql(`INSERT INTO {schema}.migrations (component, version, name) VALUES ('future_feature', 3, '0003_x.sql')`))
	require.NoError(t, err)
	require.NoError(t, db.Migrate(t.Context()))
}
