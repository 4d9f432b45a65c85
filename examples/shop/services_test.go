package main

import (
	"context"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
	goredis "github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
)

// services returns the PostgreSQL and Redis URLs the replica tests use
// (MINIAPPKIT_POSTGRES_URL, MINIAPPKIT_REDIS_URL), emptied of what an
// earlier run left: the tests own that database and Redis DB. Without
// them the test skips, or fails when CI is set.
func services(t *testing.T) (pgURL, redisURL string) {
	t.Helper()
	pgURL, redisURL = os.Getenv("MINIAPPKIT_POSTGRES_URL"), os.Getenv("MINIAPPKIT_REDIS_URL")
	if pgURL == "" || redisURL == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("MINIAPPKIT_POSTGRES_URL and MINIAPPKIT_REDIS_URL must be set in CI")
		}
		t.Skip("set MINIAPPKIT_POSTGRES_URL and MINIAPPKIT_REDIS_URL to run the replica tests (scripts/dev-services starts both)")
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pgURL)
	require.NoError(t, err)
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, `DROP SCHEMA IF EXISTS miniappkit CASCADE;
		DROP TABLE IF EXISTS shop_orders, shop_outbox, shop_settings, shop_leases`)
	require.NoError(t, err)
	opt, err := goredis.ParseURL(redisURL)
	require.NoError(t, err)
	rdb := goredis.NewClient(opt)
	defer rdb.Close()
	require.NoError(t, rdb.FlushDB(ctx).Err())
	return pgURL, redisURL
}
