package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// The tests run against the server named by MINIAPPKIT_POSTGRES_URL, each
// in a fresh schema dropped at its end. Without a server they skip, or
// fail when CI is set.
var (
	poolOnce sync.Once
	pool     *pgxpool.Pool
	poolErr  string
)

// testPool returns the shared pool, skipping (or failing in CI) the test
// when there is no server.
func testPool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	poolOnce.Do(func() {
		url := os.Getenv("MINIAPPKIT_POSTGRES_URL")
		if url == "" {
			poolErr = "MINIAPPKIT_POSTGRES_URL is not set (scripts/dev-services starts a server)"
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		p, err := pgxpool.New(ctx, url)
		if err == nil {
			err = p.Ping(ctx)
		}
		if err != nil {
			poolErr = "no PostgreSQL at MINIAPPKIT_POSTGRES_URL: " + err.Error()
			return
		}
		pool = p
	})
	if pool == nil {
		if os.Getenv("CI") != "" {
			t.Fatal("store/postgres: " + poolErr)
		}
		t.Skip("store/postgres: skipping: " + poolErr)
	}
	return pool
}

// newTestDB returns a migrated DB in a fresh schema.
func newTestDB(t testing.TB) *DB {
	t.Helper()
	p := testPool(t)
	db := New(p, WithSchema(testSchema(t, p)))
	if err := db.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	return db
}

// testSchema returns a fresh schema name, dropped with its tables when the
// test ends.
func testSchema(t testing.TB, p *pgxpool.Pool) string {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "test_" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := p.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{name}.Sanitize()+" CASCADE"); err != nil {
			t.Errorf("drop test schema: %v", err)
		}
	})
	return name
}

// skipWithoutServer skips (or, in CI, fails) t once, before its subtests,
// when there is no server.
func skipWithoutServer(t testing.TB) { t.Helper(); testPool(t) }
