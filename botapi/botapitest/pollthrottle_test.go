package botapitest

import (
	"encoding/json"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"
)

// With WithPollThrottle a getUpdates that repeats the previous offset within
// 3 s waits at least 3 s, and one within 0.5 s gets at most 1 update, as
// Telegram's Client::process_get_updates_query does; without it every call
// answers at once.
func TestPollThrottle(t *testing.T) {
	poll := func(t *testing.T, srv *Server, offset int64) (n int, took time.Duration) {
		start := time.Now()
		var ups []json.RawMessage
		callJSON(t, srv, "getUpdates", map[string]any{"offset": offset, "timeout": 0}).decode(t, &ups)
		return len(ups), time.Since(start)
	}
	synctest.Test(t, func(t *testing.T) {
		srv := NewServer(WithoutListener(), WithPollThrottle())
		defer srv.Close()
		n, took := poll(t, srv, 0)
		require.Equal(t, 0, n)
		require.Zero(t, took, "the first poll answers at once")
		n, took = poll(t, srv, 0)
		require.Equal(t, 0, n)
		require.Equal(t, 3*time.Second, took, "a repeat within 3 s is a 3 s long poll")
		time.Sleep(3 * time.Second)
		_, took = poll(t, srv, 0)
		require.Zero(t, took, "3 s after the last poll it answers at once again")

		ann := srv.NewUser("Ann")
		srv.SendUserMessage(ann, "a")
		srv.SendUserMessage(ann, "b")
		n, took = poll(t, srv, 0)
		require.Equal(t, 1, n, "a repeat within 0.5 s gets one update")
		require.Zero(t, took, "updates are there: no wait")
		time.Sleep(time.Second)
		n, _ = poll(t, srv, 0)
		require.Equal(t, 2, n, "after 0.5 s the whole limit")
		n, took = poll(t, srv, 1)
		require.Equal(t, 2, n, "another offset is not a repeat")
		require.Zero(t, took)
	})
	synctest.Test(t, func(t *testing.T) {
		srv := NewServer(WithoutListener())
		defer srv.Close()
		for range 3 {
			_, took := poll(t, srv, 0)
			require.Zero(t, took, "off by default")
		}
	})
}
