package sqlite

import (
	"path/filepath"
	"testing"
)

// newTestDB opens and migrates a fresh file in the test's temp dir.
func newTestDB(t testing.TB, opts ...Option) *DB {
	t.Helper()
	db, err := Open(filepath.Join(t.TempDir(), "test.db"), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	return db
}

// skipWithoutServer does nothing: SQLite needs no server (the engines'
// tests share their shape).
func skipWithoutServer(testing.TB) {}
