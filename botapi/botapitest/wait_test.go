package botapitest

import (
	"context"
	"runtime"
	"strconv"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"
)

func TestWaitForAndWaitSent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := NewServer(WithoutListener(), WithLatency(Latency{Base: time.Second}))
		defer srv.Close()
		ann := srv.NewUser("Ann")
		go func() {
			for i := range 3 {
				time.Sleep(time.Second)
				send(t, srv, ann.ID, "text", "m"+strconv.Itoa(i))
			}
		}()
		sent, err := srv.WaitSent(t.Context(), 2)
		require.NoError(t, err)
		require.Len(t, sent, 2)
		r, err := srv.WaitFor(t.Context(), func(r Request) bool { return r.Params["text"] == "m2" })
		require.NoError(t, err)
		require.Equal(t, "sendMessage", r.Method)
		require.Len(t, srv.Sent(), 3, "WaitFor returns once the call is performed")

		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		_, err = srv.WaitSent(ctx, 10)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		go func() { time.Sleep(time.Second); srv.Close() }()
		_, err = srv.WaitFor(t.Context(), func(Request) bool { return false })
		require.ErrorIs(t, err, ErrClosed)
	})
}

// TestMemoryBounded: a server that sends a message to each of many chats
// keeps only what Memory allows, and Stats still counts everything.
func TestMemoryBounded(t *testing.T) {
	srv := setup(t, WithoutListener(), WithMemory(Memory{MessagesPerChat: 5, Messages: 50, Requests: 20, Sent: 30}))
	ann := srv.NewUser("Ann")
	for range 10 {
		require.True(t, send(t, srv, ann.ID).OK)
	}
	msgs := srv.Messages(ann.ID)
	require.Len(t, msgs, 5, "the last 5 of the chat")
	require.Equal(t, int64(10), msgs[4].MessageID)
	requireError(t, callJSON(t, srv, "editMessageText", map[string]any{"chat_id": ann.ID, "message_id": 1, "text": "x"}), 400,
		"Bad Request: message to edit not found")
	for i := range 100 {
		u := srv.NewUser("U" + strconv.Itoa(i))
		require.True(t, send(t, srv, u.ID).OK)
	}
	st := srv.Stats()
	require.Equal(t, 110, st.Sent)
	require.Equal(t, 111, st.Requests, "110 sends and an edit")
	require.Len(t, srv.Sent(), 30)
	require.Len(t, srv.Requests(""), 20)
	srv.mu.Lock()
	stored := 0
	for _, c := range srv.st.chats {
		stored += len(c.msgs)
	}
	srv.mu.Unlock()
	require.LessOrEqual(t, stored, 50)
}

// TestMemoryFlat sends 100 000 messages to 1000 chats: once the bounds
// are reached (20 000 messages kept) the heap stops growing with the
// count.
func TestMemoryFlat(t *testing.T) {
	srv := setup(t, WithoutListener(), WithMemory(Memory{Messages: 20_000, Sent: 10_000, Requests: 1000}))
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	const n, chats = 100_000, 1000
	srv.mu.Lock()
	ch := srv.st.chats
	for i := range chats {
		id := int64(1_000_000 + i)
		ch[id] = &chat{Chat: Chat{ID: id, Type: "private"}, msgs: map[int64]*message{}, started: true}
	}
	bot := srv.st.bot
	srv.mu.Unlock()
	var mid uint64
	for i := range n {
		srv.mu.Lock()
		m := srv.st.newMessage(ch[int64(1_000_000+i%chats)], &bot)
		m.Text = "hello"
		srv.st.recordSent("sendmessage", m, params{})
		srv.mu.Unlock()
		if i == 30_000 {
			mid = heap()
		}
	}
	end := heap()
	t.Logf("heap after 30000 messages: %d B, after %d: %d B", mid, n, end)
	require.Less(t, float64(end), 1.15*float64(mid), "memory stays flat once the bounds are reached")
}
