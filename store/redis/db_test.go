package redis

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// The tests run against the server named by MINIAPPKIT_REDIS_URL, each
// under a fresh key prefix whose keys are deleted at its end. Without a
// server they skip, or fail when CI is set.
var (
	clientOnce sync.Once
	client     *redis.Client
	clientErr  string
)

// testClient returns the shared client, skipping (or failing in CI) the
// test when there is no server.
func testClient(t testing.TB) *redis.Client {
	t.Helper()
	clientOnce.Do(func() {
		url := os.Getenv("MINIAPPKIT_REDIS_URL")
		if url == "" {
			clientErr = "MINIAPPKIT_REDIS_URL is not set (scripts/dev-services starts a server)"
			return
		}
		opt, err := redis.ParseURL(url)
		if err != nil {
			clientErr = "MINIAPPKIT_REDIS_URL: " + err.Error()
			return
		}
		opt.ContextTimeoutEnabled = true // as the package doc asks
		c := redis.NewClient(opt)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := c.Ping(ctx).Err(); err != nil {
			clientErr = "no Redis at MINIAPPKIT_REDIS_URL: " + err.Error()
			c.Close()
			return
		}
		client = c
	})
	if client == nil {
		if os.Getenv("CI") != "" {
			t.Fatal("store/redis: " + clientErr)
		}
		t.Skip("store/redis: skipping: " + clientErr)
	}
	return client
}

// skipWithoutServer skips (or, in CI, fails) t once, before its subtests,
// when there is no server.
func skipWithoutServer(t testing.TB) { t.Helper(); testClient(t) }

// newTestDB returns a migrated DB under a fresh key prefix.
func newTestDB(t testing.TB) *DB {
	t.Helper()
	c := testClient(t)
	db := New(c, WithKeyPrefix(testPrefix(t, c)))
	if err := db.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	return db
}

// testPrefix returns a fresh key prefix whose keys are deleted when the
// test ends.
func testPrefix(t testing.TB, c *redis.Client) string {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	prefix := "test:" + hex.EncodeToString(b[:]) + ":"
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		iter := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		var keys []string
		for k := range iter.Vals(ctx) {
			keys = append(keys, k)
		}
		if err := iter.Err(); err != nil {
			t.Errorf("scan test keys: %v", err)
			return
		}
		for len(keys) > 0 {
			n := min(len(keys), 500)
			if err := c.Del(ctx, keys[:n]...).Err(); err != nil {
				t.Errorf("delete test keys: %v", err)
				return
			}
			keys = keys[n:]
		}
	})
	return prefix
}
