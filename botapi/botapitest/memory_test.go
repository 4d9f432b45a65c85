package botapitest

import (
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// heapNow returns the live heap after a collection.
func heapNow() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestMemoryFlatDefaults sends N and then 10N messages (N the default
// [Memory].Sent, the largest default bound) to 1000 chats on a server with
// the default [Memory]: the heap after 10N is within 15 % of the heap after
// N, and the fake holds at most maxDefaultMemory. It records every send as
// the handler does (the call, the message, the sent record); with
// MINIAPPKIT_LONG=1 the sends go through the HTTP handler instead.
func TestMemoryFlatDefaults(t *testing.T) {
	if raceEnabled {
		t.Skip("a million sends under the race detector take minutes; run without -race")
	}
	const maxDefaultMemory = 48 << 20
	const chats = 1000
	n := Memory{}.withDefaults().Sent
	base := heapNow()
	srv := setup(t, WithoutListener())
	ids := make([]string, chats)
	for i := range ids {
		ids[i] = strconv.FormatInt(srv.NewUser("u").ID, 10)
	}
	send := func(i int) {
		id := ids[i%chats]
		text := "hello number " + strconv.Itoa(i)
		srv.mu.Lock()
		defer srv.mu.Unlock()
		c := srv.st.chats[srv.st.users[int64(1001+i%chats)].ID]
		srv.st.record(Request{Method: "sendMessage", HTTPMethod: http.MethodPost, ContentType: "application/json",
			Params: params{"chat_id": id, "text": text}, At: srv.now(), done: new(bool)})
		m := srv.st.newMessage(c, &srv.st.bot)
		m.Text = text
		srv.st.recordSent("sendmessage", m, params{})
	}
	if os.Getenv("MINIAPPKIT_LONG") == "1" {
		h, url := srv.Handler(), methodURL(srv, "sendMessage")
		send = func(i int) {
			body := `{"chat_id":` + ids[i%chats] + `,"text":"hello number ` + strconv.Itoa(i) + `"}`
			req := httptest.NewRequest(http.MethodPost, url, strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != http.StatusOK {
				t.Fatalf("send %d: %s", i, w.Body)
			}
		}
	}
	var mid uint64
	for i := range 10 * n {
		send(i)
		if i+1 == n {
			mid = heapNow()
		}
	}
	end := heapNow()
	runtime.KeepAlive(srv)
	grown := func(h uint64) float64 { return float64(int64(h)-int64(base)) / 1e6 }
	t.Logf("default Memory, %d chats: the fake holds %.1f MB after %d sends and %.1f MB after %d", chats, grown(mid), n, grown(end), 10*n)
	require.Less(t, float64(end), 1.15*float64(mid), "memory stays flat once the default bounds are reached")
	require.Less(t, int64(end)-int64(base), int64(maxDefaultMemory), "the default bounds keep the fake under %d MiB", maxDefaultMemory>>20)
}
