package sqlite

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
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

	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() { _, err := b.UpdateStore().Claim(ctx, "k", "o", time.Minute, nil); done <- err }()
	select {
	case err := <-done:
		require.Error(t, err)
		require.True(t, errors.Is(err, context.DeadlineExceeded), "not the ctx's error: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("the write waits out the 60 s busy timeout after its ctx ended")
	}

	require.NoError(t, tx.Rollback())
	_, err = b.UpdateStore().Claim(t.Context(), "k", "o", time.Minute, nil)
	require.NoError(t, err, "the writer connection is usable after the cancelled call")
}
