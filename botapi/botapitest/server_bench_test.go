package botapitest

import (
	"bytes"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"
)

// BenchmarkSendMessage measures one sendMessage through the fake: JSON
// body parsed, call recorded, message stored, answer encoded.
func BenchmarkSendMessage(b *testing.B) {
	for _, mode := range []struct {
		name string
		opts []Option
	}{
		{"in-memory", []Option{WithoutListener()}},
		{"loopback", nil},
	} {
		b.Run(mode.name, func(b *testing.B) {
			srv := NewServer(mode.opts...)
			defer srv.Close()
			const users = 64
			bodies := make([][]byte, users)
			for i := range users {
				u := srv.NewUser("U" + strconv.Itoa(i))
				bodies[i] = []byte(`{"chat_id":` + strconv.FormatInt(u.ID, 10) + `,"text":"hello"}`)
			}
			hc := srv.HTTPClient()
			target := methodURL(srv, "sendMessage")
			var n atomic.Int64
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req, _ := http.NewRequest(http.MethodPost, target, bytes.NewReader(bodies[n.Add(1)%users]))
					req.Header.Set("Content-Type", "application/json")
					resp, err := hc.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					if resp.StatusCode != http.StatusOK {
						b.Errorf("status %d", resp.StatusCode)
					}
					resp.Body.Close()
				}
			})
			b.StopTimer()
			if got := len(srv.Sent()); got < b.N {
				b.Fatalf("%d messages sent for %d calls", got, b.N)
			}
		})
	}
}

// BenchmarkLimitsAdmit measures the flood-limit model's decision for one
// send, with one window per chat and the bot-wide window busy.
func BenchmarkLimitsAdmit(b *testing.B) {
	srv := NewServer(WithoutListener())
	defer srv.Close()
	l := newLimits(1)
	now := srv.now()
	var chat int64
	b.ReportAllocs()
	for b.Loop() {
		chat++
		now = now.Add(40_000_000) // 25 sends per second: all admitted
		if _, ok := l.admit(chat%1000, false, now); !ok {
			b.Fatal("refused")
		}
	}
}

// BenchmarkWebhookBacklog drains a backlog of 40 000 updates (from 1 000
// chats) to a webhook served in memory; ns/update is the cost per update.
// Run it alone: go test -run '^$' -bench WebhookBacklog -benchtime 3x.
func BenchmarkWebhookBacklog(b *testing.B) {
	const n, chats = 40_000, 1_000
	b.ReportAllocs()
	for b.Loop() {
		srv := NewServer(WithoutListener(), WithWebhookTransport(HandlerTransport(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))))
		srv.mu.Lock()
		for i := range n {
			srv.st.enqueue("message", int64(i%chats)+1, map[string]int{"message_id": i})
		}
		srv.mu.Unlock()
		req, _ := http.NewRequest(http.MethodPost, methodURL(srv, "setWebhook"), bytes.NewReader([]byte(`{"url":"https://bot.example/hook"}`)))
		req.Header.Set("Content-Type", "application/json")
		resp, err := srv.HTTPClient().Do(req)
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		srv.mu.Lock()
		for srv.st.pending > 0 {
			sig := srv.st.signal
			srv.mu.Unlock()
			<-sig
			srv.mu.Lock()
		}
		srv.mu.Unlock()
		srv.Close()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/update")
}
