package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/miniappkit/miniappkit/internal/faulttest"
)

// TestBlockedCallsHonourContext: a call whose statement waits for a lock
// another transaction holds (a key's row, the schema's migrate lock)
// returns once its ctx ends, with an error that is the ctx's, and the
// pool's connection is usable afterwards.
func TestBlockedCallsHonourContext(t *testing.T) {
	db := newTestDB(t)
	s := db.UpdateStore()
	_, err := s.Claim(t.Context(), "k", "a", time.Minute, nil)
	require.NoError(t, err)

	tx, err := db.pool.Begin(t.Context())
	require.NoError(t, err)
	defer func() { _ = tx.Rollback(context.Background()) }()
	_, err = tx.Exec(t.Context(), db.sql(`SELECT 1 FROM {schema}.webhook_keys WHERE key = 'k' FOR UPDATE`))
	require.NoError(t, err)
	_, err = tx.Exec(t.Context(), `SELECT pg_advisory_xact_lock(hashtextextended('miniappkit migrate ' || $1, 0))`, db.schema)
	require.NoError(t, err)

	for name, call := range map[string]func(context.Context) error{
		"claim": func(ctx context.Context) error {
			_, err := s.Claim(ctx, "k", "b", time.Minute, nil)
			return err
		},
		"complete": func(ctx context.Context) error { return s.Complete(ctx, "k", "a", time.Minute, nil) },
		"migrate":  db.Migrate,
	} {
		t.Run(name, func(t *testing.T) { faulttest.ReturnsAtDeadline(t, 10*time.Second, call) })
	}
	require.NoError(t, tx.Rollback(t.Context()))
	require.NoError(t, s.Complete(t.Context(), "k", "a", time.Minute, nil))
}
