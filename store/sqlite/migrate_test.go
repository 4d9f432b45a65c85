package sqlite

import (
	"path/filepath"
	"sync"
	"testing"
	"testing/fstest"

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
		comps[m.component] = true
	}
	require.True(t, comps["ledger"] && comps["updates"], "components %v", comps)
}

func TestLoadMigrationsRejectsBadNames(t *testing.T) {
	for name, fsys := range map[string]fstest.MapFS{
		"no number":   {"migrations/a/init.sql": {Data: []byte("x")}},
		"not sql":     {"migrations/a/0001_init.txt": {Data: []byte("x")}},
		"same number": {"migrations/a/0001_x.sql": {Data: []byte("x")}, "migrations/a/01_y.sql": {Data: []byte("y")}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := loadMigrations(fsys)
			require.Error(t, err)
		})
	}
	ms, err := loadMigrations(fstest.MapFS{
		"migrations/b/0002_two.sql": {Data: []byte("2")},
		"migrations/b/0010_ten.sql": {Data: []byte("10")},
		"migrations/a/0001_one.sql": {Data: []byte("1")},
	})
	require.NoError(t, err)
	var got []string
	for _, m := range ms {
		got = append(got, m.component+"/"+m.name)
	}
	require.Equal(t, []string{"a/0001_one.sql", "b/0002_two.sql", "b/0010_ten.sql"}, got)
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
