package redis

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/miniappkit/miniappkit/webhook"
	"github.com/miniappkit/miniappkit/webhook/storetest"
)

// clusterDB returns a migrated DB on the Redis Cluster whose nodes
// MINIAPPKIT_REDIS_CLUSTER lists ("host:port,host:port,…"), under a fresh
// key prefix; the test skips without it (no CI job runs a cluster). Its
// keys expire on their own (24 h at most).
func clusterDB(t *testing.T, prefix string) *DB {
	t.Helper()
	addrs := needCluster(t)
	c := goredis.NewClusterClient(&goredis.ClusterOptions{Addrs: strings.Split(addrs, ","), ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = c.Close() })
	var b [6]byte
	_, _ = rand.Read(b[:])
	db := New(c, WithKeyPrefix(strings.ReplaceAll(prefix, "?", hex.EncodeToString(b[:]))))
	require.NoError(t, db.Migrate(t.Context()))
	return db
}

// TestClusterUpdateStore: the contract kit on a Redis Cluster, with the
// default layout of keys (one slot per entry) and with a prefix holding
// a hash tag (one slot for all).
func TestClusterUpdateStore(t *testing.T) {
	needCluster(t)
	for _, prefix := range []string{"test:?:", "test{?}:"} {
		t.Run(prefix, func(t *testing.T) {
			storetest.Run(t, func(t *testing.T) (webhook.Store, storetest.Advance) {
				return clusterDB(t, prefix).UpdateStore(), nil
			})
		})
	}
}

// TestClusterCompleteTxAgreesWithCluster: CompleteTx refuses with
// ErrCrossSlot exactly the effects the cluster itself refuses with
// CROSSSLOT in a transaction of the entry's slot, and applies the others.
func TestClusterCompleteTxAgreesWithCluster(t *testing.T) {
	needCluster(t)
	for _, prefix := range []string{"test:?:", "test{?}:"} {
		t.Run(prefix, func(t *testing.T) {
			ctx := t.Context()
			db := clusterDB(t, prefix)
			s := db.UpdateStore()
			cc := db.c.(*goredis.ClusterClient)
			other := "other:" + strings.Trim(db.prefix, "{}:") // no hash tag: another slot than the entries'
			for name, fx := range map[string]struct {
				ok bool
				fx func(p goredis.Pipeliner, mine func(string) string)
			}{
				"incr mine":  {true, func(p goredis.Pipeliner, mine func(string) string) { p.Incr(ctx, mine("n")) }},
				"incr other": {false, func(p goredis.Pipeliner, mine func(string) string) { p.Incr(ctx, other) }},
				"mset":       {true, func(p goredis.Pipeliner, mine func(string) string) { p.MSet(ctx, mine("a"), other, mine("b"), other) }},
				"mset other": {false, func(p goredis.Pipeliner, mine func(string) string) { p.MSet(ctx, mine("a"), 1, other, 2) }},
				"eval": {true, func(p goredis.Pipeliner, mine func(string) string) {
					p.Eval(ctx, "return 1", []string{mine("a")}, other)
				}},
				"eval other": {false, func(p goredis.Pipeliner, mine func(string) string) {
					p.Eval(ctx, "return 1", []string{mine("a"), other})
				}},
				"zunionstore": {true, func(p goredis.Pipeliner, mine func(string) string) {
					p.ZUnionStore(ctx, mine("z"), &goredis.ZStore{Keys: []string{mine("a")}})
				}},
				"zunionstore other": {false, func(p goredis.Pipeliner, mine func(string) string) {
					p.ZUnionStore(ctx, mine("z"), &goredis.ZStore{Keys: []string{mine("a"), other}})
				}},
				"sort store": {true, func(p goredis.Pipeliner, mine func(string) string) {
					p.SortStore(ctx, mine("l"), mine("s"), &goredis.Sort{})
				}},
				"sort store other": {false, func(p goredis.Pipeliner, mine func(string) string) {
					p.SortStore(ctx, mine("l"), other, &goredis.Sort{})
				}},
				"object other": {false, func(p goredis.Pipeliner, mine func(string) string) { p.ObjectEncoding(ctx, other) }},
				"keyless": {true, func(p goredis.Pipeliner, mine func(string) string) {
					p.Ping(ctx)
					p.Publish(ctx, "c", "x")
					p.Time(ctx)
				}},
			} {
				t.Run(name, func(t *testing.T) {
					key := "k:" + name
					_, err := s.Claim(ctx, key, "a", time.Minute, nil)
					require.NoError(t, err)
					tag, err := s.HashTag(key)
					require.NoError(t, err)
					mine := func(n string) string { return "fx:" + tag + ":" + name + ":" + n }
					require.NoError(t, cc.RPush(ctx, mine("l"), 1).Err())
					// The cluster's own verdict, from a transaction of the
					// entry's slot without the guard.
					_, raw := cc.TxPipelined(ctx, func(p goredis.Pipeliner) error {
						p.Get(ctx, s.key(key))
						fx.fx(p, mine)
						return nil
					})
					if errors.Is(raw, goredis.Nil) {
						raw = nil
					}
					err = s.CompleteTx(ctx, key, time.Hour, func(p goredis.Pipeliner) error { fx.fx(p, mine); return nil })
					if fx.ok {
						require.NoError(t, raw, "the cluster")
						require.NoError(t, err, "CompleteTx")
					} else {
						require.ErrorContains(t, raw, "CROSSSLOT", "the cluster")
						require.ErrorIs(t, err, ErrCrossSlot, "CompleteTx")
					}
				})
			}
		})
	}
}

// needCluster returns MINIAPPKIT_REDIS_CLUSTER, skipping the test without it.
func needCluster(t *testing.T) string {
	t.Helper()
	addrs := os.Getenv("MINIAPPKIT_REDIS_CLUSTER")
	if addrs == "" {
		t.Skip("MINIAPPKIT_REDIS_CLUSTER not set: no Redis Cluster to test against")
	}
	return addrs
}
