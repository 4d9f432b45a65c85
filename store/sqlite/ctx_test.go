package sqlite

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/miniappkit/miniappkit/internal/faulttest"
)

// TestBusyWaitHonoursContext: with the file's write lock held by another
// handle (as another process would), a write waits up to the busy
// timeout (60 s here), but returns once its ctx ends, with the ctx's error.
func TestBusyWaitHonoursContext(t *testing.T) {
	path := filepath.Join(t.TempDir(), "two.db")
	a, err := Open(path)
	require.NoError(t, err)
	defer a.Close()
	require.NoError(t, a.Migrate(t.Context()))
	b, err := Open(path, WithBusyTimeout(60_000))
	require.NoError(t, err)
	defer b.Close()
	require.NoError(t, b.Migrate(t.Context()))

	tx, err := a.SQL().BeginTx(t.Context(), nil) // BEGIN IMMEDIATE: the write lock
	require.NoError(t, err)
	defer func() { _ = tx.Rollback() }()

	faulttest.ReturnsAtDeadline(t, 30*time.Second, func(ctx context.Context) error { // not the 60 s busy timeout
		_, err := b.UpdateStore().Claim(ctx, "k", "o", time.Minute, nil)
		return err
	})

	require.NoError(t, tx.Rollback())
	_, err = b.UpdateStore().Claim(t.Context(), "k", "o", time.Minute, nil)
	require.NoError(t, err, "the writer connection is usable after the cancelled call")
}
