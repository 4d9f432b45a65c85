package botapitest

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"
)

// settleGoroutines waits, without sleeping, until at most n goroutines
// run, and reports the count; connection goroutines end asynchronously.
func settleGoroutines(n int) int {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if runtime.NumGoroutine() <= n {
			break
		}
		runtime.Gosched()
	}
	return runtime.NumGoroutine()
}

func TestCloseLeavesNoGoroutine(t *testing.T) {
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError) // keeps a redelivery waiting
	}))
	defer hook.Close()
	before := runtime.NumGoroutine()

	srv := NewServer(WithLatency(Latency{Base: time.Millisecond}))
	callJSON(t, srv, "getMe", nil)
	srv.FailNext("getChat", 1, Fault{Kind: FaultHang})
	var wg sync.WaitGroup
	wg.Go(func() { // a call hanging until Close
		resp, err := srv.HTTPClient().Get(methodURL(srv, "getChat"))
		if err == nil {
			resp.Body.Close()
		}
	})
	wg.Go(func() { // a long poll pending at Close
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, methodURL(srv, "getUpdates")+"?timeout=600", nil)
		resp, err := srv.HTTPClient().Do(req)
		if err == nil {
			resp.Body.Close()
		}
	})
	for len(srv.Requests("getUpdates")) == 0 || len(srv.Requests("getChat")) == 0 {
		runtime.Gosched()
	}

	// A failing webhook delivery, waiting for its redelivery at Close.
	hooked := NewServer()
	require.True(t, callJSON(t, hooked, "setWebhook", map[string]any{"url": hook.URL}).OK)
	hooked.SendUserMessage(hooked.NewUser("Bob"), "hi")
	for {
		var info webhookInfo
		callJSON(t, hooked, "getWebhookInfo", nil).decode(t, &info)
		if info.LastErrorMessage != "" {
			require.Equal(t, "Wrong response from the webhook: 500 Internal Server Error", info.LastErrorMessage)
			break
		}
		runtime.Gosched()
	}

	srv.Close()
	hooked.Close()
	wg.Wait()
	srv.Close() // idempotent
	after := settleGoroutines(before)
	if after > before {
		buf := make([]byte, 1<<20)
		t.Fatalf("%d goroutines before, %d after Close:\n%s", before, after, buf[:runtime.Stack(buf, true)])
	}
}

func TestCloseInBubble(t *testing.T) {
	// synctest.Test itself fails if a goroutine of the bubble outlives it.
	synctest.Test(t, func(t *testing.T) {
		hook := &hookRecorder{failures: 100}
		srv := NewServer(WithoutListener(), WithWebhookTransport(HandlerTransport(hook)))
		callJSON(t, srv, "setWebhook", map[string]any{"url": "https://bot.example/hook"})
		srv.SendUserMessage(srv.NewUser("Ann"), "hi")
		time.Sleep(90 * time.Second)
		srv.Close()
	})
}

func TestConcurrentUse(t *testing.T) {
	srv := setup(t)
	users := make([]User, 8)
	for i := range users {
		users[i] = srv.NewUser("U" + strconv.Itoa(i))
	}
	var wg sync.WaitGroup
	for _, u := range users {
		wg.Go(func() {
			for range 10 {
				require.True(t, send(t, srv, u.ID).OK)
				srv.SendUserMessage(u, "hi")
				_ = srv.Requests("sendMessage")
				_ = srv.Stats()
			}
		})
	}
	wg.Go(func() {
		got := 0
		var offset int64
		for got < len(users)*10 {
			ups := pollUpdates(t, srv, map[string]any{"offset": offset, "timeout": 5})
			for _, u := range ups {
				offset = u.UpdateID + 1
				got++
			}
		}
	})
	wg.Wait()
	require.Len(t, srv.Sent(), len(users)*10)
	last := map[int64]int64{}
	for _, m := range srv.Sent() {
		require.Greater(t, m.MessageID, last[m.ChatID], "ids increase per chat")
		last[m.ChatID] = m.MessageID
	}
}

// TestRequestsKeepsTheLastMax checks that the recording is bounded: past
// MaxRecordedRequests the oldest calls are forgotten, in order, while
// Stats.Requests counts every call.
func TestRequestsKeepsTheLastMax(t *testing.T) {
	srv := NewServer(WithoutListener())
	defer srv.Close()
	const extra = 3
	srv.mu.Lock()
	for i := range MaxRecordedRequests + extra {
		srv.st.record(Request{Method: "getMe", Params: map[string]string{"n": strconv.Itoa(i)}})
	}
	srv.mu.Unlock()

	got := srv.Requests("getMe")
	require.Len(t, got, MaxRecordedRequests)
	require.Equal(t, strconv.Itoa(extra), got[0].Params["n"], "the oldest kept")
	require.Equal(t, strconv.Itoa(MaxRecordedRequests+extra-1), got[len(got)-1].Params["n"], "the newest")
	require.Equal(t, MaxRecordedRequests+extra, srv.Stats().Requests)
}

// TestDefaultTokenShape: telego (and other clients) check a token against
// ^\d+:[\w-]{35}$ before any call.
func TestDefaultTokenShape(t *testing.T) {
	require.Regexp(t, `^\d+:[\w-]{35}$`, DefaultToken)
}

// TestTestEnvironmentPath: /bot<token>/test/<method> is served as well.
func TestTestEnvironmentPath(t *testing.T) {
	srv := setup(t)
	resp, err := srv.HTTPClient().Get(srv.URL() + "/bot" + srv.Token() + "/test/getMe")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
}

// TestGetMeFlags: getMe carries every flag, false ones too; messages show
// the bot with its names only.
func TestGetMeFlags(t *testing.T) {
	srv := setup(t, WithBotUser(User{FirstName: "Shop", Username: "shop_bot", CanConnectToBusiness: true}))
	var me map[string]any
	callJSON(t, srv, "getMe", nil).decode(t, &me)
	for _, flag := range []string{"can_join_groups", "can_read_all_group_messages", "supports_inline_queries", "supports_guest_queries",
		"can_connect_to_business", "has_main_web_app", "has_topics_enabled", "allows_users_to_create_topics", "can_manage_bots"} {
		require.Contains(t, me, flag)
	}
	require.Equal(t, true, me["can_connect_to_business"])
	require.Equal(t, false, me["can_join_groups"])
	require.Equal(t, "shop_bot", me["username"])
	ann := srv.NewUser("Ann")
	var m map[string]json.RawMessage
	send(t, srv, ann.ID).decode(t, &m)
	require.JSONEq(t, `{"id":123456,"is_bot":true,"first_name":"Shop","username":"shop_bot"}`, string(m["from"]))
}
