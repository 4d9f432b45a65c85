package broadcast_test

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"

	"github.com/miniappkit/miniappkit/botapi"
	"github.com/miniappkit/miniappkit/botapi/botapitest"
	"github.com/miniappkit/miniappkit/broadcast"
	"github.com/stretchr/testify/require"
)

// The bot's token is revoked in the middle of a broadcast (BotFather's
// /revoke): Telegram answers every send 401 Unauthorized. A 401 proves
// the message was not delivered, and every send after it would get one:
// the run stops with the error instead of reporting the rest of the list
// Unknown ("may have been delivered", never to be sent), and a run
// resumed with the new token sends every entry not delivered, once.
// Before the fix Run returned nil with 150 of the 200 entries Unknown.
func TestRevokedTokenStopsRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSim(t)
		chats := s.users(200)
		log := &broadcast.MemoryLog{}
		var done atomic.Int32
		var remove func()
		sum, err := broadcast.Run(t.Context(), s.sched, chats, text(s.client), broadcast.WithLog(log, "news"),
			broadcast.WithResult(func(broadcast.Result) {
				if done.Add(1) == 50 {
					remove = s.srv.AddFault(botapitest.FaultRule{Method: "sendMessage", Fault: botapitest.Fault{Code: 401, Description: "Unauthorized"}})
				}
			}))
		require.ErrorIs(t, err, botapi.ErrUnauthorized)
		require.Zero(t, sum.Unknown, "entries refused with 401 reported Unknown")
		require.Less(t, sum.Done, len(chats))

		remove() // the new token
		second, err := broadcast.Run(context.Background(), s.sched, chats, text(s.client), broadcast.WithLog(log, "news"))
		require.NoError(t, err)
		require.Zero(t, second.Unknown)
		require.Equal(t, len(chats), sum.Delivered+second.Delivered)
		perChat := map[int64]int{}
		for _, m := range s.srv.Sent() {
			perChat[m.ChatID]++
		}
		for _, c := range chats {
			require.Equal(t, 1, perChat[c], "chat %d", c)
		}
	})
}
