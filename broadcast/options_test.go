package broadcast_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miniappkit/miniappkit/broadcast"
	"github.com/miniappkit/miniappkit/ratelimit"
	"github.com/stretchr/testify/require"
)

// An option that cannot work fails Run before anything is sent, with the
// log untouched, instead of running a broadcast that cannot deliver: a
// send timeout of 0 (an unset configuration field) or below expired every
// send before its request, and Run reported every entry Unknown, never to
// be sent, and returned nil.
func TestInvalidOptionsFailClosed(t *testing.T) {
	for _, tc := range []struct {
		name string
		opt  broadcast.Option
		want string
	}{
		{"zero send timeout", broadcast.WithSendTimeout(0), "send timeout must be positive"},
		{"negative send timeout", broadcast.WithSendTimeout(-time.Second), "send timeout must be positive"},
		{"nil clock", broadcast.WithClock(nil), "no clock"},
		{"interactive lane", broadcast.WithLane(ratelimit.Interactive), "lane must be bulk or paid"},
		{"unknown lane", broadcast.WithLane(ratelimit.Lane(9)), "lane must be bulk or paid"},
		// The log asked for is missing (a nil read from a config): the
		// broadcast would run without the record that keeps a resumed
		// run from sending twice. It ran, log-less, before the fix.
		{"nil log", broadcast.WithLog(nil, "b"), "nil Log"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sched, err := ratelimit.NewTelegram()
			require.NoError(t, err)
			var sends atomic.Int32
			log := &broadcast.MemoryLog{}
			sum, err := broadcast.Run(t.Context(), sched, []int64{1, 2, 3}, func(context.Context, int64) error {
				sends.Add(1)
				return nil
			}, broadcast.WithLog(log, "b"), tc.opt)
			require.ErrorContains(t, err, tc.want)
			require.Zero(t, sends.Load())
			require.Zero(t, sum.Done)
			// The log was not opened: another run may take the id at once.
			_, err = log.Open(t.Context(), "b", broadcast.Fingerprint([]int64{1, 2, 3}), "other", time.Minute)
			require.NoError(t, err)
		})
	}
}
