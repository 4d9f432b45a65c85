package postgres

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
)

// TestErrorsNameOperationNotPassword: a failing call's error names the
// operation and never carries the password of the pool's URL.
func TestErrorsNameOperationNotPassword(t *testing.T) {
	pool, err := pgxpool.New(t.Context(), "postgres://user:sekret-pw@127.0.0.1:1/db?sslmode=disable&connect_timeout=2")
	require.NoError(t, err)
	defer pool.Close()
	db := New(pool)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	for op, err := range map[string]error{
		"migrate":            db.Migrate(ctx),
		"update store claim": func() error { _, err := db.UpdateStore().Claim(ctx, "k", "o", time.Minute, nil); return err }(),
	} {
		require.Error(t, err)
		require.Contains(t, err.Error(), "postgres: "+op)
		require.False(t, strings.Contains(err.Error(), "sekret-pw"), "error carries the password: %v", err)
	}
}
