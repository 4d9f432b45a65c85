package botapitest

import (
	"strconv"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"
)

func send(t *testing.T, srv *Server, chatID int64, extra ...any) answer {
	t.Helper()
	p := map[string]any{"chat_id": chatID, "text": "hi"}
	for i := 0; i+1 < len(extra); i += 2 {
		p[extra[i].(string)] = extra[i+1]
	}
	return callJSON(t, srv, "sendMessage", p)
}

func TestLimitsPerChat(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := NewServer(WithoutListener(), WithRateLimits(1))
		defer srv.Close()
		ann := srv.NewUser("Ann")
		require.True(t, send(t, srv, ann.ID).OK)
		a := send(t, srv, ann.ID)
		requireError(t, a, 429, "Too Many Requests: retry after 1")
		require.Equal(t, 1, a.Parameters.RetryAfter)
		require.Equal(t, "1", a.header.Get("Retry-After"))
		time.Sleep(time.Second)
		require.True(t, send(t, srv, ann.ID).OK)

		st := srv.Stats()
		require.Equal(t, 1, st.TooManyRequests)
		require.Equal(t, map[int64]int{ann.ID: 1}, st.TooManyRequestsByChat)
		sent := srv.Sent()
		require.Len(t, sent, 2)
		require.Equal(t, time.Second, sent[1].At.Sub(sent[0].At))
	})
}

func TestLimitsPerGroup(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := NewServer(WithoutListener(), WithRateLimits(1))
		defer srv.Close()
		g := srv.NewGroup("Club")
		for i := range perGroupLimit {
			require.True(t, send(t, srv, g.ID).OK, "message %d", i)
			time.Sleep(time.Second)
		}
		// 20 messages in the last 60 s: the oldest leaves the window at 60 s.
		a := send(t, srv, g.ID)
		requireError(t, a, 429, "Too Many Requests: retry after 40")
		time.Sleep(40 * time.Second)
		require.True(t, send(t, srv, g.ID).OK)
	})
}

func TestLimitsGlobalAndPaidBroadcast(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := NewServer(WithoutListener(), WithRateLimits(1))
		defer srv.Close()
		users := make([]User, globalLimit+2)
		for i := range users {
			users[i] = srv.NewUser("U" + strconv.Itoa(i))
		}
		for i := range globalLimit {
			require.True(t, send(t, srv, users[i].ID).OK)
		}
		requireError(t, send(t, srv, users[globalLimit].ID), 429, "Too Many Requests: retry after 1")
		require.True(t, send(t, srv, users[globalLimit+1].ID, "allow_paid_broadcast", true).OK,
			"paid broadcast lifts the bot-wide limit to 1000/s")
		sent := srv.Sent()
		require.True(t, sent[len(sent)-1].PaidBroadcast)
	})
}

func TestLimitsScale(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := NewServer(WithoutListener(), WithRateLimits(10))
		defer srv.Close()
		ann := srv.NewUser("Ann")
		require.True(t, send(t, srv, ann.ID).OK)
		requireError(t, send(t, srv, ann.ID), 429, "Too Many Requests: retry after 1")
		time.Sleep(100 * time.Millisecond)
		require.True(t, send(t, srv, ann.ID).OK, "scale 10 makes the 1 s window 100 ms")
	})
}

func TestLimitsWithClock(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	srv := setup(t, WithoutListener(), WithRateLimits(1), WithClock(func() time.Time { return now }))
	ann := srv.NewUser("Ann")
	require.True(t, send(t, srv, ann.ID).OK)
	requireError(t, send(t, srv, ann.ID), 429, "Too Many Requests: retry after 1")
	now = now.Add(999 * time.Millisecond)
	requireError(t, send(t, srv, ann.ID), 429, "Too Many Requests: retry after 1")
	now = now.Add(time.Millisecond)
	require.True(t, send(t, srv, ann.ID).OK)
	require.Equal(t, now, srv.Sent()[1].At)
}

func TestNewServerPanicsOnBadScale(t *testing.T) {
	require.Panics(t, func() { NewServer(WithRateLimits(-1)) })
}
