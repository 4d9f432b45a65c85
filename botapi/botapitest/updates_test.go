package botapitest

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"
)

func TestGetUpdatesOffsets(t *testing.T) {
	srv := setup(t)
	ann := srv.NewUser("Ann")
	srv.SendUserMessage(ann, "/start now")
	srv.SendUserMessage(ann, "hello")

	ups := pollUpdates(t, srv, map[string]any{})
	require.Len(t, ups, 2)
	require.Equal(t, "/start now", ups[0].Message.Text)
	require.Equal(t, []messageEntity{{Type: "bot_command", Offset: 0, Length: 6}}, ups[0].Message.Entities)
	require.Equal(t, ann.ID, ups[0].Message.From.ID)
	require.Equal(t, "private", ups[0].Message.Chat.Type)
	require.Equal(t, ups[0].UpdateID+1, ups[1].UpdateID)

	t.Run("limit", func(t *testing.T) {
		require.Len(t, pollUpdates(t, srv, map[string]any{"limit": 1}), 1)
	})
	t.Run("offset confirms earlier updates", func(t *testing.T) {
		rest := pollUpdates(t, srv, map[string]any{"offset": ups[1].UpdateID})
		require.Len(t, rest, 1)
		require.Equal(t, "hello", rest[0].Message.Text)
		require.Empty(t, pollUpdates(t, srv, map[string]any{"offset": ups[1].UpdateID + 1}))
	})
	t.Run("negative offset keeps the last ones", func(t *testing.T) {
		srv.SendUserMessage(ann, "a")
		srv.SendUserMessage(ann, "b")
		last := pollUpdates(t, srv, map[string]any{"offset": -1})
		require.Len(t, last, 1)
		require.Equal(t, "b", last[0].Message.Text)
		require.Len(t, pollUpdates(t, srv, map[string]any{}), 1)
	})
	t.Run("allowed_updates filters later updates", func(t *testing.T) {
		pollUpdates(t, srv, map[string]any{"offset": -1, "limit": 1})
		all := pollUpdates(t, srv, map[string]any{})
		pollUpdates(t, srv, map[string]any{"offset": all[len(all)-1].UpdateID + 1, "allowed_updates": []string{"callback_query"}})
		srv.SendUserMessage(ann, "ignored")
		require.Empty(t, pollUpdates(t, srv, map[string]any{}))
		pollUpdates(t, srv, map[string]any{"allowed_updates": []string{}})
		srv.SendUserMessage(ann, "seen")
		require.Len(t, pollUpdates(t, srv, map[string]any{}), 1)
	})
}

func TestGetUpdatesLongPoll(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := NewServer(WithoutListener())
		defer srv.Close()
		ann := srv.NewUser("Ann")

		start := time.Now()
		require.Empty(t, pollUpdates(t, srv, map[string]any{"timeout": 30}))
		require.Equal(t, 30*time.Second, time.Since(start), "an empty long poll lasts its timeout")

		var wg sync.WaitGroup
		wg.Go(func() {
			time.Sleep(5 * time.Second)
			srv.SendUserMessage(ann, "wake up")
		})
		start = time.Now()
		ups := pollUpdates(t, srv, map[string]any{"timeout": 30})
		require.Len(t, ups, 1)
		require.Equal(t, 5*time.Second, time.Since(start), "a new update ends the poll")
		wg.Wait()
	})
}

func TestGetUpdatesConflicts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := NewServer(WithoutListener())
		defer srv.Close()

		var first answer
		var wg sync.WaitGroup
		wg.Go(func() { first = callJSON(t, srv, "getUpdates", map[string]any{"timeout": 50}) })
		synctest.Wait()
		second := callJSON(t, srv, "getUpdates", map[string]any{"timeout": 1})
		wg.Wait()
		requireError(t, first, 409, "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running")
		require.True(t, second.OK)

		callJSON(t, srv, "setWebhook", map[string]any{"url": "https://example.com/hook"}).decode(t, new(bool))
		requireError(t, callJSON(t, srv, "getUpdates", map[string]any{}), 409,
			"Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first")
	})
}

func TestWebhookSetDeleteInfo(t *testing.T) {
	srv := setup(t, WithWebhookTransport(HandlerTransport(http.NotFoundHandler())))
	a := callJSON(t, srv, "deleteWebhook", map[string]any{})
	require.Equal(t, "Webhook is already deleted", a.Description)
	a = callJSON(t, srv, "setWebhook", map[string]any{"url": "https://bot.example/hook", "max_connections": 5, "secret_token": "s3cr3t_-"})
	require.True(t, a.OK)
	require.Equal(t, "Webhook was set", a.Description)
	a = callJSON(t, srv, "setWebhook", map[string]any{"url": "https://bot.example/hook", "max_connections": 5, "secret_token": "s3cr3t_-"})
	require.Equal(t, "Webhook is already set", a.Description)
	requireError(t, callJSON(t, srv, "setWebhook", map[string]any{"url": "ftp://x"}), 400, "Bad Request: invalid webhook URL specified")
	requireError(t, callJSON(t, srv, "setWebhook", map[string]any{"url": "https://x.example", "secret_token": "no spaces"}), 400,
		"Bad Request: secret token contains unallowed characters")
	requireError(t, callJSON(t, srv, "setWebhook", map[string]any{"url": "https://x.example", "secret_token": strings.Repeat("s", 257)}), 400,
		"Bad Request: secret token is too long")

	var info webhookInfo
	callJSON(t, srv, "getWebhookInfo", nil).decode(t, &info)
	require.Equal(t, "https://bot.example/hook", info.URL)
	require.Equal(t, 5, info.MaxConnections)

	a = callJSON(t, srv, "setWebhook", map[string]any{"url": ""})
	require.Equal(t, "Webhook was deleted", a.Description)
}

// hookRecorder is a webhook endpoint that fails its first failures calls.
type hookRecorder struct {
	mu       sync.Mutex
	failures int
	bodies   []update
	secrets  []string
	inflight int
	maxSeen  int
	hold     chan struct{} // when set, each call waits on it
}

func (h *hookRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	h.inflight++
	h.maxSeen = max(h.maxSeen, h.inflight)
	hold := h.hold
	h.mu.Unlock()
	if hold != nil {
		<-hold
	}
	b, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.inflight--
	h.secrets = append(h.secrets, r.Header.Get("X-Telegram-Bot-Api-Secret-Token"))
	if h.failures > 0 {
		h.failures--
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	var u update
	_ = json.Unmarshal(b, &u)
	h.bodies = append(h.bodies, u)
}

func TestWebhookDeliveryAndRedelivery(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hook := &hookRecorder{failures: 2}
		srv := NewServer(WithoutListener(), WithWebhookTransport(HandlerTransport(hook)))
		defer srv.Close()
		ann := srv.NewUser("Ann")
		callJSON(t, srv, "setWebhook", map[string]any{"url": "https://bot.example/hook", "secret_token": "tok"}).decode(t, new(bool))

		srv.SendUserMessage(ann, "hi")
		synctest.Wait()
		var info webhookInfo
		callJSON(t, srv, "getWebhookInfo", nil).decode(t, &info)
		require.Equal(t, 1, info.PendingUpdateCount)
		require.Equal(t, "Wrong response from the webhook: 500 Internal Server Error", info.LastErrorMessage)
		require.Equal(t, time.Now().Unix(), info.LastErrorDate)

		hook.mu.Lock()
		require.Empty(t, hook.bodies, "failed, and failed again at once")
		hook.mu.Unlock()
		time.Sleep(2 * time.Second) // the second retry, 2 s later, succeeds
		synctest.Wait()

		hook.mu.Lock()
		require.Len(t, hook.bodies, 1)
		require.Equal(t, "hi", hook.bodies[0].Message.Text)
		require.Equal(t, []string{"tok", "tok", "tok"}, hook.secrets)
		hook.mu.Unlock()
		callJSON(t, srv, "getWebhookInfo", nil).decode(t, &info)
		require.Zero(t, info.PendingUpdateCount)
	})
}

// TestWebhookChangedDuringBackoff checks that an update whose delivery
// failed, and which a new webhook is delivering while the old attempt waits
// out its backoff, is not delivered twice at once when that wait ends.
func TestWebhookChangedDuringBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hook := &hookRecorder{failures: 2}
		srv := NewServer(WithoutListener(), WithWebhookTransport(HandlerTransport(hook)))
		defer srv.Close()
		ann := srv.NewUser("Ann")
		callJSON(t, srv, "setWebhook", map[string]any{"url": "https://bot.example/a"}).decode(t, new(bool))
		srv.SendUserMessage(ann, "hi")
		synctest.Wait() // the first attempt failed; it waits out its backoff

		hold := make(chan struct{})
		hook.mu.Lock()
		hook.hold = hold
		hook.mu.Unlock()
		callJSON(t, srv, "setWebhook", map[string]any{"url": "https://bot.example/b"}).decode(t, new(bool))
		synctest.Wait() // the new webhook's attempt is in flight
		time.Sleep(2 * time.Second)
		synctest.Wait() // the old attempt's backoff is over

		hook.mu.Lock()
		require.Equal(t, 1, hook.inflight, "one delivery of the update at a time")
		hook.mu.Unlock()
		close(hold)
		synctest.Wait()
		hook.mu.Lock()
		defer hook.mu.Unlock()
		require.Len(t, hook.bodies, 1)
		require.Equal(t, 1, hook.maxSeen)
	})
}

func TestWebhookMaxConnections(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hook := &hookRecorder{hold: make(chan struct{})}
		srv := NewServer(WithoutListener(), WithWebhookTransport(HandlerTransport(hook)))
		defer srv.Close()
		callJSON(t, srv, "setWebhook", map[string]any{"url": "https://bot.example/hook", "max_connections": 2}).decode(t, new(bool))
		for i := range 5 { // five chats: each chat's updates go one at a time
			srv.SendUserMessage(srv.NewUser("U"+strconv.Itoa(i)), "x")
		}
		synctest.Wait()
		hook.mu.Lock()
		require.Equal(t, 2, hook.inflight)
		hook.mu.Unlock()
		close(hook.hold)
		synctest.Wait()
		hook.mu.Lock()
		defer hook.mu.Unlock()
		require.Len(t, hook.bodies, 5)
		require.Equal(t, 2, hook.maxSeen)
	})
}

func TestWebhookOverLoopback(t *testing.T) {
	got := make(chan update, 1)
	hookSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var u update
		_ = json.NewDecoder(r.Body).Decode(&u)
		got <- u
	}))
	defer hookSrv.Close()
	srv := setup(t)
	ann := srv.NewUser("Ann")
	callJSON(t, srv, "setWebhook", map[string]any{"url": hookSrv.URL}).decode(t, new(bool))
	srv.SendUserMessage(ann, "ping")
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	select {
	case u := <-got:
		require.Equal(t, "ping", u.Message.Text)
	case <-ctx.Done():
		t.Fatal("no webhook delivery")
	}
}

func TestWebhookReplyInResponse(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hook := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var u update
			_ = json.NewDecoder(r.Body).Decode(&u)
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"method":"sendMessage","chat_id":`+jsonInt(u.Message.Chat.ID)+`,"text":"pong"}`)
		})
		srv := NewServer(WithoutListener(), WithWebhookTransport(HandlerTransport(hook)))
		defer srv.Close()
		ann := srv.NewUser("Ann")
		callJSON(t, srv, "setWebhook", map[string]any{"url": "https://bot.example/hook"}).decode(t, new(bool))
		srv.SendUserMessage(ann, "ping")
		synctest.Wait()
		sent := srv.Sent()
		require.Len(t, sent, 1)
		require.Equal(t, "pong", sent[0].Text)
		require.Equal(t, ann.ID, sent[0].ChatID)
	})
}

func jsonInt(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}
