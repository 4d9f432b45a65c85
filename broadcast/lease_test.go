package broadcast_test

import (
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/miniappkit/miniappkit/botapi/botapitest"
	"github.com/miniappkit/miniappkit/broadcast"
	"github.com/stretchr/testify/require"
)

// Two runs of one broadcast id at once on one log (an old pod still alive
// during a rolling restart, each with its own scheduler and client): no
// chat gets the message twice. The run that comes second finds the id
// taken (ErrRunning) and sends nothing.
func TestTwoRunsOneID(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := newSimWith(t, botapitest.Latency{Base: 40 * time.Millisecond, Jitter: 20 * time.Millisecond})
		chats := a.users(300)
		b := newSimWith(t, a.lat)
		b.srv = a.srv // one Telegram
		b.client = newClient(a.srv)
		log := &broadcast.MemoryLog{}
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for k, s := range []*sim{a, b} {
			wg.Go(func() {
				_, errs[k] = broadcast.Run(t.Context(), s.sched, chats, text(s.client), broadcast.WithLog(log, "news"))
			})
		}
		wg.Wait()
		perChat := map[int64]int{}
		for _, m := range a.srv.Sent() {
			perChat[m.ChatID]++
		}
		for _, c := range chats {
			require.LessOrEqual(t, perChat[c], 1, "chat %d got the message twice", c)
		}
		require.Len(t, perChat, len(chats), "every chat got the message")
		failed := 0
		for _, err := range errs {
			if err != nil {
				require.ErrorIs(t, err, broadcast.ErrRunning)
				failed++
			}
		}
		require.Equal(t, 1, failed, "one run owns the id, the other is refused: %v", errors.Join(errs...))
	})
}
