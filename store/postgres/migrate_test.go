package postgres

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestMigrateConcurrent: several Migrates of one fresh schema at once, on
// separate connections (as several processes would); every migration is
// applied exactly once, and Migrate again changes nothing.
func TestMigrateConcurrent(t *testing.T) {
	p := testPool(t)
	schema := testSchema(t, p)
	const n = 4
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { errs[i] = New(p, WithSchema(schema)).Migrate(t.Context()) })
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	db := New(p, WithSchema(schema))
	require.NoError(t, db.Migrate(t.Context()))
	ms, err := loadMigrations(migrations)
	require.NoError(t, err)
	var rows int
	require.NoError(t, p.QueryRow(t.Context(), db.sql(`SELECT count(*) FROM {schema}.migrations`)).Scan(&rows))
	require.Equal(t, len(ms), rows)
}

// TestSchemaQuoted: a schema name that needs quoting works and cannot
// inject SQL.
func TestSchemaQuoted(t *testing.T) {
	p := testPool(t)
	name := testSchema(t, p) + `"; DROP TABLE x; --`
	t.Cleanup(func() { _, _ = p.Exec(t.Context(), "DROP SCHEMA IF EXISTS "+New(p, WithSchema(name)).ident+" CASCADE") })
	db := New(p, WithSchema(name))
	require.NoError(t, db.Migrate(t.Context()))
	_, first, err := db.Ledger().Record(t.Context(), paymentFor("c"), false)
	require.NoError(t, err)
	require.True(t, first)
}

func TestNewRejectsBadOptions(t *testing.T) {
	for name, db := range map[string]*DB{
		"empty schema": New(nil, WithSchema("")),
		"nil pool":     New(nil),
	} {
		t.Run(name, func(t *testing.T) {
			require.Error(t, db.Migrate(t.Context()))
			_, err := db.UpdateStore().Claim(t.Context(), "k", "o", 1, nil)
			require.Error(t, err)
			_, err = db.Ledger().Get(t.Context(), "c")
			require.Error(t, err)
		})
	}
}
