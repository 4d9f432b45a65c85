package redis

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestNewRejectsBadOptions(t *testing.T) {
	for name, db := range map[string]*DB{
		"empty prefix": New(nil, WithKeyPrefix("")),
		"nil client":   New(nil),
	} {
		t.Run(name, func(t *testing.T) {
			require.Error(t, db.Migrate(t.Context()))
			_, err := db.UpdateStore().Claim(t.Context(), "k", "o", time.Second, nil)
			require.Error(t, err)
			_, err = db.Ledger().Get(t.Context(), "c")
			require.Error(t, err)
		})
	}
}

// TestMigrateIdempotent: Migrate twice records each feature's version.
func TestMigrateIdempotent(t *testing.T) {
	db := newTestDB(t)
	require.NoError(t, db.Migrate(t.Context()))
	got, err := db.c.HGetAll(t.Context(), db.prefix+"migrations").Result()
	require.NoError(t, err)
	require.Equal(t, map[string]string{"ledger": "1", "updates": "3"}, got)
}

// TestMigrateNewerLayout: a server migrated by a newer release (a
// feature's layout at a higher version) makes Migrate fail with
// ErrNewerLayout, and the newer version stays recorded (before the fix,
// Migrate succeeded and wrote the older version over it).
func TestMigrateNewerLayout(t *testing.T) {
	db := newTestDB(t)
	require.NoError(t, db.Migrate(t.Context()))
	key := db.prefix + "migrations"
	require.NoError(t, db.c.HSet(t.Context(), key, "ledger", 2).Err())
	err := db.Migrate(t.Context())
	require.ErrorIs(t, err, ErrNewerLayout)
	require.ErrorContains(t, err, "ledger")
	got, err := db.c.HGetAll(t.Context(), key).Result()
	require.NoError(t, err)
	require.Equal(t, map[string]string{"ledger": "2", "updates": "3"}, got)
}

// TestInFlightKeyExpires: a key whose owner died is dropped by Redis
// itself once its lease and the grace have passed (no sweeper needed).
func TestInFlightKeyExpires(t *testing.T) {
	db := newTestDB(t)
	s := db.UpdateStore()
	_, err := s.Claim(t.Context(), "k", "o", time.Minute, nil)
	require.NoError(t, err)
	ttl, err := db.c.PTTL(t.Context(), s.key("k")).Result()
	require.NoError(t, err)
	require.Greater(t, ttl, InFlightGrace)
	require.LessOrEqual(t, ttl, InFlightGrace+time.Minute)
}
