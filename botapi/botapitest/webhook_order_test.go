package botapitest

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strconv"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"
)

// orderHook records the text of each message delivered, per chat, and
// fails the deliveries its fail function picks.
type orderHook struct {
	mu       sync.Mutex
	byChat   map[int64][]string
	attempts map[string]int
	inflight map[int64]int // per chat
	maxChat  int           // most deliveries of one chat at once
	maxAll   int
	all      int
	fail     func(text string, attempt int) bool
}

func newOrderHook() *orderHook {
	return &orderHook{byChat: map[int64][]string{}, attempts: map[string]int{}, inflight: map[int64]int{}}
}

func (h *orderHook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var u update
	if err := jsonDecode(r.Body, &u); err != nil || u.Message == nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	chat, text := u.Message.Chat.ID, u.Message.Text
	h.mu.Lock()
	h.inflight[chat]++
	h.all++
	h.maxChat = max(h.maxChat, h.inflight[chat])
	h.maxAll = max(h.maxAll, h.all)
	h.attempts[text]++
	failed := h.fail != nil && h.fail(text, h.attempts[text])
	h.mu.Unlock()

	time.Sleep(10 * time.Millisecond) // the bot works on it

	h.mu.Lock()
	defer h.mu.Unlock()
	h.inflight[chat]--
	h.all--
	if failed {
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	h.byChat[chat] = append(h.byChat[chat], text)
}

func texts(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = prefix + strconv.Itoa(i)
	}
	return out
}

// TestWebhookPerChatOrder: one user's 20 messages arrive in order, one at a
// time, however the network's jitter would reorder parallel deliveries,
// while two chats proceed in parallel.
func TestWebhookPerChatOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hook := newOrderHook()
		srv := NewServer(WithoutListener(), WithWebhookTransport(HandlerTransport(hook)),
			WithLatency(Latency{Base: 40 * time.Millisecond, Jitter: 20 * time.Millisecond}))
		defer srv.Close()
		ann, bob := srv.NewUser("Ann"), srv.NewUser("Bob")
		callJSON(t, srv, "setWebhook", map[string]any{"url": "https://bot.example/hook"}).decode(t, new(bool))
		for i := range 20 {
			srv.SendUserMessage(ann, "a"+strconv.Itoa(i))
			srv.SendUserMessage(bob, "b"+strconv.Itoa(i))
		}
		time.Sleep(time.Minute)
		hook.mu.Lock()
		defer hook.mu.Unlock()
		require.Equal(t, texts("a", 20), hook.byChat[ann.ID])
		require.Equal(t, texts("b", 20), hook.byChat[bob.ID])
		require.Equal(t, 1, hook.maxChat, "one delivery per chat at a time")
		require.Equal(t, 2, hook.maxAll, "chats in parallel")
	})
}

// TestWebhookRetriesBeforeNext: a failed update is retried before the
// chat's next update is delivered.
func TestWebhookRetriesBeforeNext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hook := newOrderHook()
		hook.fail = func(text string, attempt int) bool { return text == "a1" && attempt <= 3 }
		srv := NewServer(WithoutListener(), WithWebhookTransport(HandlerTransport(hook)))
		defer srv.Close()
		ann, bob := srv.NewUser("Ann"), srv.NewUser("Bob")
		callJSON(t, srv, "setWebhook", map[string]any{"url": "https://bot.example/hook"}).decode(t, new(bool))
		for i := range 5 {
			srv.SendUserMessage(ann, "a"+strconv.Itoa(i))
		}
		srv.SendUserMessage(bob, "b0")
		time.Sleep(time.Second)
		hook.mu.Lock()
		require.Equal(t, []string{"b0"}, hook.byChat[bob.ID], "another chat is not held up")
		hook.mu.Unlock()
		time.Sleep(time.Minute)
		hook.mu.Lock()
		defer hook.mu.Unlock()
		require.Equal(t, texts("a", 5), hook.byChat[ann.ID])
		require.Equal(t, 4, hook.attempts["a1"])
		require.Equal(t, 1, hook.attempts["a2"], "a2 waited for a1")
	})
}

// TestWebhookBackoffLikeTelegram: WebhookActor::on_update_error retries at
// once after the first failure, then after 2, 4, 8 ... seconds.
func TestWebhookBackoffLikeTelegram(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var at []time.Duration
		start := time.Now()
		hook := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			defer mu.Unlock()
			at = append(at, time.Since(start))
			if len(at) < 5 {
				w.WriteHeader(http.StatusBadGateway)
			}
		})
		srv := NewServer(WithoutListener(), WithWebhookTransport(HandlerTransport(hook)))
		defer srv.Close()
		callJSON(t, srv, "setWebhook", map[string]any{"url": "https://bot.example/hook"}).decode(t, new(bool))
		srv.SendUserMessage(srv.NewUser("Ann"), "hi")
		time.Sleep(time.Minute)
		mu.Lock()
		defer mu.Unlock()
		require.Equal(t, []time.Duration{0, 0, 2 * time.Second, 6 * time.Second, 14 * time.Second}, at)
	})
}

// TestWebhookRetryAfterHeader: a Retry-After in the webhook's answer sets
// the wait before the retry (WebhookActor: response->get_retry_after()).
func TestWebhookRetryAfterHeader(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var at []time.Duration
		start := time.Now()
		hook := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			defer mu.Unlock()
			at = append(at, time.Since(start))
			if len(at) == 1 {
				w.Header().Set("Retry-After", "7")
				w.WriteHeader(http.StatusTooManyRequests)
			}
		})
		srv := NewServer(WithoutListener(), WithWebhookTransport(HandlerTransport(hook)))
		defer srv.Close()
		callJSON(t, srv, "setWebhook", map[string]any{"url": "https://bot.example/hook"}).decode(t, new(bool))
		srv.SendUserMessage(srv.NewUser("Ann"), "hi")
		time.Sleep(time.Minute)
		mu.Lock()
		defer mu.Unlock()
		require.Equal(t, []time.Duration{0, 7 * time.Second}, at)
	})
}

func jsonDecode(r io.Reader, v any) error { return json.NewDecoder(r).Decode(v) }

// TestWebhookBacklogLinear drains a backlog of 10 000 updates (40 000
// with MINIAPPKIT_LONG=1), from one chat and from a chat each: the
// dispatcher looks at each queue entry O(1) times, where it used to rescan
// the whole backlog for every delivery, and the store is empty afterwards.
func TestWebhookBacklogLinear(t *testing.T) {
	n := 10_000
	if os.Getenv("MINIAPPKIT_LONG") == "1" {
		n = 40_000
	}
	for _, chats := range []int{1, n} {
		t.Run(strconv.Itoa(chats)+" chats", func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var mu sync.Mutex
				got := 0
				hook := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					mu.Lock()
					got++
					mu.Unlock()
				})
				srv := NewServer(WithoutListener(), WithWebhookTransport(HandlerTransport(hook)))
				defer srv.Close()
				srv.mu.Lock()
				for i := range n {
					srv.st.enqueue("message", int64(i%chats)+1, map[string]int{"message_id": i})
				}
				srv.mu.Unlock()
				callJSON(t, srv, "setWebhook", map[string]any{"url": "https://bot.example/hook"}).decode(t, new(bool))
				synctest.Wait()
				mu.Lock()
				require.Equal(t, n, got)
				mu.Unlock()
				srv.mu.Lock()
				defer srv.mu.Unlock()
				require.LessOrEqual(t, srv.st.steps, 2*n, "O(1) dispatcher steps per update")
				require.Zero(t, srv.st.pending)
				require.Empty(t, srv.st.queues)
				require.Less(t, len(srv.st.log), 100, "the log was trimmed")
			})
		})
	}
}

// TestWebhookReplyRules: a form-encoded reply is performed too, and the
// methods Telegram ignores in a reply (setWebhook, deleteWebhook, close,
// logOut, get*) are ignored.
func TestWebhookReplyRules(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		replies := make(chan [2]string, 10) // content type, body
		hook := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rep := <-replies
			w.Header().Set("Content-Type", rep[0])
			_, _ = io.WriteString(w, rep[1])
		})
		srv := NewServer(WithoutListener(), WithWebhookTransport(HandlerTransport(hook)))
		defer srv.Close()
		ann := srv.NewUser("Ann")
		callJSON(t, srv, "setWebhook", map[string]any{"url": "https://bot.example/hook"}).decode(t, new(bool))
		id := strconv.FormatInt(ann.ID, 10)
		replies <- [2]string{"application/json", `{"method":"deleteWebhook"}`}
		replies <- [2]string{"application/json", `{"method":"LogOut"}`}
		replies <- [2]string{"application/json", `{"method":"getUpdates"}`}
		replies <- [2]string{"application/x-www-form-urlencoded", "method=sendMessage&chat_id=" + id + "&text=pong"}
		for range 4 {
			srv.SendUserMessage(ann, "ping")
		}
		synctest.Wait()
		var info webhookInfo
		callJSON(t, srv, "getWebhookInfo", nil).decode(t, &info)
		require.Equal(t, "https://bot.example/hook", info.URL, "deleteWebhook in a reply is ignored")
		require.Zero(t, info.PendingUpdateCount)
		require.Empty(t, srv.Requests("deleteWebhook"))
		require.Empty(t, srv.Requests("getUpdates"))
		sent := srv.Sent()
		require.Len(t, sent, 1)
		require.Equal(t, "pong", sent[0].Text)
	})
}
