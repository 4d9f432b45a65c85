package redis

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestLedgerPinReadInPlace: order bindings written by a release without
// the pin (no field "a") or left with another holder's stale pin (an
// older process took the order over) work as this release expects: the
// holder delivered again pins its reservation, and a stale pin held by
// another holder does not block the current holder's release.
func TestLedgerPinReadInPlace(t *testing.T) {
	ctx := t.Context()
	db := newTestDB(t)
	l := db.Ledger()
	const future = "9000000000000000" // µs: far ahead of the server's TIME
	require.NoError(t, db.c.HSet(ctx, l.set("ob:o"), "h", "q1", "u", future).Err())
	require.NoError(t, db.c.HSet(ctx, l.set("ob:s"), "h", "q2", "u", future, "a", "q1").Err())

	ok, err := l.Reserve(ctx, "o", "q1", time.Hour)
	require.NoError(t, err)
	require.True(t, ok, "q1 delivered again reserves its order")
	require.NoError(t, l.ReleaseReservation(ctx, "o", "q1"))
	ok, err = l.Reserve(ctx, "o", "q2", time.Hour)
	require.NoError(t, err)
	require.False(t, ok, "q1 reserved again: its release must leave the order reserved")

	require.NoError(t, l.ReleaseReservation(ctx, "s", "q2"))
	ok, err = l.Reserve(ctx, "s", "q3", time.Hour)
	require.NoError(t, err)
	require.True(t, ok, "q2 reserved once (the pin is q1's): its release frees the order")
}
