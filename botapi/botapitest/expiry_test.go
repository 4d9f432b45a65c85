package botapitest

import (
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Telegram keeps an update "not longer than 24 hours" (getUpdates docs),
// and queries a user waits on less (Client.cpp's add_update timeouts).
// Before the fix the fake kept every update until the bot took it.
func TestUpdatesExpire(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	vc := NewVirtualClock(t0)
	srv := setup(t, WithoutListener(), WithVirtualClock(vc))
	ann := srv.NewUser("Ann")
	texts := func() []string {
		t.Helper()
		var out []string
		for _, u := range pollUpdates(t, srv, map[string]any{}) {
			out = append(out, u.Message.Text)
		}
		return out
	}
	pending := func() int {
		t.Helper()
		var info webhookInfo
		callJSON(t, srv, "getWebhookInfo", nil).decode(t, &info)
		return info.PendingUpdateCount
	}

	srv.SendUserMessage(ann, "old")
	vc.Advance(12 * time.Hour)
	srv.SendUserMessage(ann, "new")
	vc.Advance(12 * time.Hour)
	require.Equal(t, []string{"old", "new"}, texts(), "24 hours old: still kept")
	vc.Advance(time.Second)
	require.Equal(t, []string{"new"}, texts(), "older than 24 hours: dropped")
	require.Equal(t, 1, pending())
	vc.Advance(12 * time.Hour)
	require.Empty(t, texts())
	require.Zero(t, pending())

	// Confirming by offset still works across the gap.
	srv.SendUserMessage(ann, "later")
	ups := pollUpdates(t, srv, map[string]any{})
	require.Len(t, ups, 1)
	require.Empty(t, pollUpdates(t, srv, map[string]any{"offset": ups[0].UpdateID + 1}))
}

func TestShortLivedUpdatesExpire(t *testing.T) {
	tests := []struct {
		kind string
		life time.Duration
		make func(t *testing.T, srv *Server, u User)
	}{
		{"inline_query", 30 * time.Second, func(_ *testing.T, srv *Server, u User) { srv.SendInlineQuery(u, "tea") }},
		{"callback_query", 150 * time.Second, func(t *testing.T, srv *Server, u User) {
			callJSON(t, srv, "sendMessage", map[string]any{"chat_id": u.ID, "text": "Pick", "reply_markup": map[string]any{
				"inline_keyboard": [][]map[string]string{{{"text": "Tea", "callback_data": "tea"}}}}}).decode(t, new(message))
			_, err := srv.PressButton(u, "Tea")
			require.NoError(t, err)
		}},
		{"message", MaxUpdateAge, func(_ *testing.T, srv *Server, u User) { srv.SendUserMessage(u, "hi") }},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			vc := NewVirtualClock(time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC))
			srv := setup(t, WithoutListener(), WithVirtualClock(vc))
			ann := srv.NewUser("Ann")
			tt.make(t, srv, ann)
			vc.Advance(tt.life)
			require.Equal(t, []string{tt.kind}, updateKindsOf(t, srv))
			vc.Advance(time.Second)
			require.Empty(t, updateKindsOf(t, srv))
		})
	}
}

// expiryHook is a webhook that answers 429 with Retry-After: 3600 to the
// message "stale" and takes every other one, reporting its text on got.
type expiryHook struct {
	staleHits atomic.Int32
	got       chan string
}

func (h *expiryHook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var u update
	if err := jsonDecode(r.Body, &u); err != nil || u.Message == nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	if u.Message.Text == "stale" {
		h.staleHits.Add(1)
		w.Header().Set("Retry-After", "3600")
		w.WriteHeader(http.StatusTooManyRequests)
		return
	}
	h.got <- u.Message.Text
}

// The webhook's queue drops an update older than 24 hours as getUpdates
// does: one failing and waiting to be retried is not retried after it,
// and a backlog that aged before setWebhook is not delivered.
func TestWebhookUpdatesExpire(t *testing.T) {
	newServer := func(t *testing.T) (*Server, *VirtualClock, *expiryHook) {
		vc := NewVirtualClock(time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC))
		hook := &expiryHook{got: make(chan string, 16)}
		srv := setup(t, WithoutListener(), WithVirtualClock(vc), WithWebhookTransport(HandlerTransport(hook)))
		return srv, vc, hook
	}
	info := func(t *testing.T, srv *Server) webhookInfo {
		t.Helper()
		var info webhookInfo
		callJSON(t, srv, "getWebhookInfo", nil).decode(t, &info)
		return info
	}
	receive := func(t *testing.T, hook *expiryHook) string {
		t.Helper()
		select {
		case s := <-hook.got:
			return s
		case <-time.After(10 * time.Second):
			t.Fatal("no delivery in 10 s")
			return ""
		}
	}
	setWebhook := func(t *testing.T, srv *Server) {
		t.Helper()
		callJSON(t, srv, "setWebhook", map[string]any{"url": "https://bot.example/hook"}).decode(t, new(bool))
	}

	t.Run("retried", func(t *testing.T) {
		srv, vc, hook := newServer(t)
		ann, bob := srv.NewUser("Ann"), srv.NewUser("Bob")
		setWebhook(t, srv)
		srv.SendUserMessage(ann, "stale")
		waitUntil(t, func() bool { return info(t, srv).LastErrorDate != 0 }, "the first delivery fails")
		require.Equal(t, int32(1), hook.staleHits.Load())

		// The retry is due an hour later; a day passes first.
		vc.Advance(MaxUpdateAge + time.Second)
		srv.SendUserMessage(bob, "fresh")
		require.Equal(t, "fresh", receive(t, hook))
		waitUntil(t, func() bool { return info(t, srv).PendingUpdateCount == 0 }, "the stale update is dropped, not retried")
		require.Equal(t, int32(1), hook.staleHits.Load())
	})

	t.Run("backlog", func(t *testing.T) {
		srv, vc, hook := newServer(t)
		ann := srv.NewUser("Ann")
		srv.SendUserMessage(ann, "stale")
		vc.Advance(MaxUpdateAge + time.Second)
		srv.SendUserMessage(ann, "fresh")
		setWebhook(t, srv)
		require.Equal(t, "fresh", receive(t, hook), "the chat's first update is gone")
		waitUntil(t, func() bool { return info(t, srv).PendingUpdateCount == 0 }, "nothing is left pending")
		require.Zero(t, hook.staleHits.Load())
	})
}

// waitUntil polls cond, on the test's goroutine, until it holds; it fails
// the test after 10 s of real time.
func waitUntil(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after 10 s: not yet: %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}
