package sqlite

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/miniappkit/miniappkit/webhook"
	"github.com/miniappkit/miniappkit/webhook/storetest"
)

func TestUpdateStore(t *testing.T) {
	skipWithoutServer(t)
	storetest.Run(t, func(t *testing.T) (webhook.Store, storetest.Advance) {
		return newTestDB(t).UpdateStore(), nil
	})
}

// TestCompleteTx: the effect and the completion commit together, or
// neither does.
func TestCompleteTx(t *testing.T) {
	ctx := t.Context()
	db := newTestDB(t)
	s := db.UpdateStore()
	_, err := db.SQL().ExecContext(ctx, `CREATE TABLE effects (update_id INTEGER NOT NULL)`)
	require.NoError(t, err)
	effects := func() (n int) {
		require.NoError(t, db.SQL().QueryRowContext(ctx, `SELECT count(*) FROM effects`).Scan(&n))
		return n
	}
	run := func(key string, commit bool) error {
		tx, err := db.SQL().BeginTx(ctx, nil)
		require.NoError(t, err)
		_, err = tx.ExecContext(ctx, `INSERT INTO effects VALUES (1)`)
		require.NoError(t, err)
		if err := s.CompleteTx(ctx, tx, key, time.Hour); err != nil {
			require.NoError(t, tx.Rollback())
			return err
		}
		if !commit {
			return tx.Rollback()
		}
		return tx.Commit()
	}

	r, err := s.Claim(ctx, "k", "a", time.Minute, nil)
	require.NoError(t, err)
	require.Equal(t, webhook.Claimed, r.State)
	require.NoError(t, run("k", false)) // rolled back: still in flight, no effect
	require.Zero(t, effects())
	r, err = s.Claim(ctx, "k", "b", time.Minute, nil)
	require.NoError(t, err)
	require.Equal(t, webhook.InFlight, r.State)

	require.NoError(t, run("k", true))
	require.Equal(t, 1, effects())
	r, err = s.Claim(ctx, "k", "b", time.Minute, nil)
	require.NoError(t, err)
	require.Equal(t, webhook.Done, r.State)
	require.NoError(t, s.Complete(ctx, "k", "a", time.Hour, nil), "the owner's Complete after CompleteTx")
	require.ErrorIs(t, s.Complete(ctx, "k", "b", time.Hour, nil), webhook.ErrNotOwner)

	require.ErrorIs(t, run("k", true), webhook.ErrNotOwner, "done already")
	require.ErrorIs(t, run("absent", true), webhook.ErrNotOwner)
	require.Equal(t, 1, effects())
}

func TestPurge(t *testing.T) {
	ctx := t.Context()
	s := newTestDB(t).UpdateStore()
	for _, k := range []string{"a", "b"} {
		_, err := s.Claim(ctx, k, "o", time.Millisecond, nil)
		require.NoError(t, err)
	}
	_, err := s.Claim(ctx, "live", "o", time.Hour, nil)
	require.NoError(t, err)
	time.Sleep(5 * time.Millisecond) // the engine's clock cannot be moved
	n, err := s.Purge(ctx)
	require.NoError(t, err)
	require.Equal(t, int64(2), n)
	r, err := s.Claim(ctx, "live", "p", time.Hour, nil)
	require.NoError(t, err)
	require.Equal(t, webhook.InFlight, r.State)
}
