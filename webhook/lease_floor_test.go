package webhook

import (
	"context"
	"testing"
	"time"

	"github.com/miniappkit/miniappkit/botapi"
	"github.com/stretchr/testify/require"
)

// TestLeaseFloor: a lease too short to renew (a third of it is the
// renewal period and timeout) is refused at construction. Before,
// Idempotency{Lease: time.Nanosecond} and WithLease(time.Nanosecond) were
// accepted, and one request whose handler ran 50 ms made the renewal timer
// spin: 28 039 Extend calls, each failing at once (its timeout already
// passed), each with a log line.
func TestLeaseFloor(t *testing.T) {
	for _, d := range []time.Duration{time.Nanosecond, 3 * time.Nanosecond, time.Millisecond, MinLease - 1} {
		_, err := Idempotency(NewMemoryStore(8), IdempotencyOptions{Lease: d})
		require.Error(t, err, "Idempotency Lease %v", d)
		_, err = NewHandler(testToken, UpdateHandlerFunc(func(context.Context, *botapi.Update) error { return nil }), WithLease(d))
		require.Error(t, err, "WithLease(%v)", d)
	}
	_, err := Idempotency(NewMemoryStore(8), IdempotencyOptions{Lease: MinLease})
	require.NoError(t, err)
	_, err = NewHandler(testToken, UpdateHandlerFunc(func(context.Context, *botapi.Update) error { return nil }), WithLease(MinLease))
	require.NoError(t, err)
}
