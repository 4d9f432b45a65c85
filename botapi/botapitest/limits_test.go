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

func TestLimitsPerChatBurst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := NewServer(WithoutListener(), WithRateLimits(1))
		defer srv.Close()
		ann := srv.NewUser("Ann")
		// A short burst over 1/s goes through, as Telegram's FAQ allows.
		for i := range perChatBurst {
			require.True(t, send(t, srv, ann.ID).OK, "message %d of the burst", i)
		}
		a := send(t, srv, ann.ID)
		requireError(t, a, 429, "Too Many Requests: retry after 1")
		require.Equal(t, 1, a.Parameters.RetryAfter)
		require.Equal(t, "1", a.header.Get("Retry-After"))
		time.Sleep(time.Second)
		require.True(t, send(t, srv, ann.ID).OK, "then one per second")
		requireError(t, send(t, srv, ann.ID), 429, "Too Many Requests: retry after 1")

		st := srv.Stats()
		require.Equal(t, 2, st.TooManyRequests)
		require.Equal(t, map[int64]int{ann.ID: 2}, st.TooManyRequestsByChat)
		sent := srv.Sent()
		require.Len(t, sent, perChatBurst+1)
		require.Equal(t, time.Second, sent[perChatBurst].At.Sub(sent[0].At))
	})
}

// TestLimitsForgiveJitter sends to one chat at 1/s on average, each send
// early or late by up to 40 ms as a network with jitter delivers them: a
// strict one-second window refuses every early one, Telegram does not.
func TestLimitsForgiveJitter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := NewServer(WithoutListener(), WithRateLimits(1), WithSeed(7))
		defer srv.Close()
		ann := srv.NewUser("Ann")
		g := srv.NewGroup("Club")
		rng := newRand(3)
		start := time.Now()
		for i := range 300 {
			jitter := time.Duration(rng.Int64N(int64(80*time.Millisecond))) - 40*time.Millisecond
			at := start.Add(time.Duration(i)*time.Second + jitter)
			time.Sleep(time.Until(at))
			require.True(t, send(t, srv, ann.ID).OK, "send %d", i)
			if i%3 == 0 { // the group's 20 per minute
				require.True(t, send(t, srv, g.ID).OK, "group send %d", i)
			}
		}
		require.Zero(t, srv.Stats().TooManyRequests)
	})
}

func TestLimitsPerGroup(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := NewServer(WithoutListener(), WithRateLimits(1))
		defer srv.Close()
		g := srv.NewGroup("Club")
		// A minute's worth of messages, one a second (the chat limit).
		for i := range perGroupLimit {
			require.True(t, send(t, srv, g.ID).OK, "message %d", i)
			time.Sleep(time.Second)
		}
		// The group's bucket refills one message per 3 s: 20 sends in 20 s
		// leave it 40 s ahead, 3 s short of the 57 s it forgives... then
		// it is full at t = 29 s.
		for i := perGroupLimit; i < 29; i++ {
			require.True(t, send(t, srv, g.ID).OK, "message %d", i)
			time.Sleep(time.Second)
		}
		a := send(t, srv, g.ID)
		requireError(t, a, 429, "Too Many Requests: retry after 1")
		time.Sleep(time.Second)
		require.True(t, send(t, srv, g.ID).OK)
		// Sustained, the group takes one message per 3 s.
		time.Sleep(time.Second)
		requireError(t, send(t, srv, g.ID), 429, "Too Many Requests: retry after 2")
	})
}

func TestLimitsGroupBurst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := NewServer(WithoutListener(), WithRateLimits(1))
		defer srv.Close()
		g := srv.NewGroup("Club")
		// Telegram counts a group against the per-chat limit as well: a
		// burst of 3, then one a second.
		for range perChatBurst {
			require.True(t, send(t, srv, g.ID).OK)
		}
		requireError(t, send(t, srv, g.ID), 429, "Too Many Requests: retry after 1")
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
		for i := range globalBurst {
			require.True(t, send(t, srv, users[i].ID).OK)
		}
		requireError(t, send(t, srv, users[globalLimit].ID), 429, "Too Many Requests: retry after 1")
		require.True(t, send(t, srv, users[globalLimit+1].ID, "allow_paid_broadcast", true).OK,
			"paid broadcast lifts the bot-wide limit to 1000/s")
		sent := srv.Sent()
		require.True(t, sent[len(sent)-1].PaidBroadcast)
		// Sustained: 30 a second.
		time.Sleep(time.Second / globalLimit)
		require.True(t, send(t, srv, users[globalLimit].ID).OK)
		requireError(t, send(t, srv, users[0].ID), 429, "Too Many Requests: retry after 1")
	})
}

func TestLimitsPaidCeiling(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := NewServer(WithoutListener(), WithRateLimits(1))
		defer srv.Close()
		var refused int
		for i := range paidGlobalBurst + 10 {
			u := srv.NewUser("U" + strconv.Itoa(i))
			if !send(t, srv, u.ID, "allow_paid_broadcast", true).OK {
				refused++
			}
		}
		require.Equal(t, 10, refused)
	})
}

func TestLimitsScale(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := NewServer(WithoutListener(), WithRateLimits(10))
		defer srv.Close()
		ann := srv.NewUser("Ann")
		for range perChatBurst {
			require.True(t, send(t, srv, ann.ID).OK)
		}
		requireError(t, send(t, srv, ann.ID), 429, "Too Many Requests: retry after 1")
		time.Sleep(100 * time.Millisecond)
		require.True(t, send(t, srv, ann.ID).OK, "scale 10 makes the 1 s interval 100 ms")
	})
}

func TestLimitsWithClock(t *testing.T) {
	// The webhook dispatcher reads the clock from its own goroutine: a
	// VirtualClock moves safely while the server runs.
	clock := NewVirtualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	srv := setup(t, WithoutListener(), WithRateLimits(1), WithClock(clock.Now))
	ann := srv.NewUser("Ann")
	for range perChatBurst {
		require.True(t, send(t, srv, ann.ID).OK)
	}
	requireError(t, send(t, srv, ann.ID), 429, "Too Many Requests: retry after 1")
	clock.Advance(999 * time.Millisecond)
	requireError(t, send(t, srv, ann.ID), 429, "Too Many Requests: retry after 1")
	clock.Advance(time.Millisecond)
	require.True(t, send(t, srv, ann.ID).OK)
	require.Equal(t, clock.Now(), srv.Sent()[perChatBurst].At)
}

func TestNewServerPanicsOnBadScale(t *testing.T) {
	require.Panics(t, func() { NewServer(WithRateLimits(-1)) })
}
