package sqlite

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestLedgerUpgradePinsHeldReservation: a file at ledger migration 0002
// whose order is reserved by a query (its first delivery) is migrated to
// 0003 (reserved_again_by); the query delivered again then pins the
// reservation, so its release frees nothing and another query is refused.
func TestLedgerUpgradePinsHeldReservation(t *testing.T) {
	ctx := t.Context()
	db := newTestDB(t)
	// Back to 0002, with a reservation held by q1.
	_, err := db.w.ExecContext(ctx, `ALTER TABLE miniappkit_payment_orders DROP COLUMN reserved_again_by;
		DELETE FROM miniappkit_migrations WHERE component = 'ledger' AND version = 3;
		INSERT INTO miniappkit_payment_orders (order_ref, holder, reserved_until) VALUES ('o', 'q1', `+ledgerNowNS+` + 3600000000000)`)
	require.NoError(t, err)
	require.NoError(t, db.Migrate(ctx))

	l := db.Ledger()
	ok, err := l.Reserve(ctx, "o", "q1", time.Hour)
	require.NoError(t, err)
	require.True(t, ok, "q1 delivered again reserves its order")
	require.NoError(t, l.ReleaseReservation(ctx, "o", "q1"))
	ok, err = l.Reserve(ctx, "o", "q2", time.Hour)
	require.NoError(t, err)
	require.False(t, ok, "q1 reserved again: its release must leave the order reserved")
}
