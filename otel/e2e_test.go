package otel

import (
	"context"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/miniappkit/miniappkit/botapi"
	"github.com/miniappkit/miniappkit/botapi/botapitest"
	"github.com/miniappkit/miniappkit/broadcast"
	"github.com/miniappkit/miniappkit/ratelimit"
)

// TestBroadcastThrough429: a broadcast on the fake Telegram whose first
// send answers 429. The seams agree: the client counts one 429, the
// scheduler one backoff, the broadcast one postponed send, and every chat
// is delivered once; each call is one span.
func TestBroadcastThrough429(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hs := newHarness(t)
		srv := botapitest.NewServer(botapitest.WithoutListener())
		defer srv.Close()
		chats := []int64{srv.NewUser("A").ID, srv.NewUser("B").ID, srv.NewUser("C").ID}
		srv.FailNext("sendMessage", 1, botapitest.FaultTooManyRequests(2))

		sched, err := ratelimit.NewTelegram(ratelimit.WithObserver(hs.obs))
		require.NoError(t, err)
		client := srv.Client(botapi.WithLimiter(sched), botapi.WithObserver(hs.obs))
		sum, err := broadcast.Run(context.Background(), sched, chats,
			broadcast.Message(client, botapi.SendMessageParams{Text: "hello"}), broadcast.WithObserver(hs.obs))
		require.NoError(t, err)
		require.Equal(t, 3, sum.Delivered)
		require.Len(t, srv.Sent(), 3, "each chat once")

		limited := sumPoints(t, hs.metric(t, "miniappkit.botapi.rate_limited"))
		assert.Equal(t, int64(1), find(t, limited, map[string]any{"miniappkit.botapi.method": "sendMessage"}).count)
		backoffs := sumPoints(t, hs.metric(t, "miniappkit.ratelimit.backoffs"))
		assert.Equal(t, int64(1), find(t, backoffs, map[string]any{"miniappkit.ratelimit.chat": "private", "miniappkit.ratelimit.paused": false}).count)
		sends := sumPoints(t, hs.metric(t, "miniappkit.broadcast.sends"))
		assert.Equal(t, int64(3), find(t, sends, map[string]any{"miniappkit.ratelimit.lane": "bulk", "miniappkit.broadcast.outcome": "delivered"}).count)
		assert.Equal(t, int64(1), find(t, sends, map[string]any{"miniappkit.ratelimit.lane": "bulk", "miniappkit.broadcast.outcome": "postponed", "miniappkit.broadcast.postponed": "rate_limited"}).count)
		assert.Equal(t, int64(0), gaugeValue(t, hs.metric(t, "miniappkit.broadcast.pending"), map[string]any{"miniappkit.ratelimit.lane": "bulk"}))

		var calls int
		for _, s := range hs.spans.Ended() {
			if s.Name() == "botapi sendMessage" {
				calls++
			}
		}
		assert.Equal(t, 4, calls, "three sends and the one answered 429: the client did not retry it (the broadcast did)")
	})
}
