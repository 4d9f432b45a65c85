package sqlite

import (
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestMigrateConcurrent: several handles on one file (as several processes
// would be) migrate at once; every migration is applied exactly once, and
// Migrate again changes nothing.
func TestMigrateConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.db")
	const n = 4
	dbs := make([]*DB, n)
	for i := range dbs {
		db, err := Open(path)
		require.NoError(t, err)
		t.Cleanup(func() { db.Close() })
		dbs[i] = db
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i, db := range dbs {
		wg.Go(func() { errs[i] = db.Migrate(t.Context()) })
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	require.NoError(t, dbs[0].Migrate(t.Context()))
	ms, err := loadMigrations(migrations)
	require.NoError(t, err)
	var rows int
	require.NoError(t, dbs[0].w.QueryRow(`SELECT count(*) FROM miniappkit_migrations`).Scan(&rows))
	require.Equal(t, len(ms), rows)
	comps := map[string]bool{}
	for _, m := range ms {
		comps[m.Component] = true
	}
	require.True(t, comps["ledger"] && comps["updates"], "components %v", comps)
}

func TestOpenRejectsBadOptions(t *testing.T) {
	dir := t.TempDir()
	for name, opts := range map[string][]Option{
		"readers":      {WithReaders(0)},
		"synchronous":  {WithSynchronous("sometimes")},
		"busy timeout": {WithBusyTimeout(-1)},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Open(filepath.Join(dir, "x.db"), opts...)
			require.Error(t, err)
		})
	}
	_, err := Open(filepath.Join(dir, "x.db?mode=ro"))
	require.Error(t, err)
	_, err = Open("")
	require.Error(t, err)
}
