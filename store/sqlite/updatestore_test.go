package sqlite

import (
	"context"
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
// neither does (storetest.CompleteTx).
func TestCompleteTx(t *testing.T) {
	db := newTestDB(t)
	_, err := db.SQL().ExecContext(t.Context(), `CREATE TABLE effects (update_id INTEGER NOT NULL)`)
	require.NoError(t, err)
	s := db.UpdateStore()
	storetest.CompleteTx(t, s, func(ctx context.Context, key string, commit bool) error {
		tx, err := db.SQL().BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback() // after Commit or Rollback: sql.ErrTxDone
		if _, err := tx.ExecContext(ctx, `INSERT INTO effects VALUES (1)`); err != nil {
			return err
		}
		if err := s.CompleteTx(ctx, tx, key, time.Hour); err != nil {
			if rerr := tx.Rollback(); rerr != nil {
				return rerr
			}
			return err
		}
		if !commit {
			return tx.Rollback()
		}
		return tx.Commit()
	}, func(ctx context.Context) (n int, err error) {
		err = db.SQL().QueryRowContext(ctx, `SELECT count(*) FROM effects`).Scan(&n)
		return n, err
	})
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
