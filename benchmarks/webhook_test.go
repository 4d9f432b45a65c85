package benchmarks

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	svix "github.com/svix/svix-webhooks/go"

	"github.com/miniappkit/miniappkit/botapi"
	"github.com/miniappkit/miniappkit/webhook"
)

const (
	whSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	whMsgID  = "msg_p5jXN8AQM9LWM0D4loKWxJek"
)

// signedKB returns a 1 KB JSON body and its Standard Webhooks headers,
// signed now (the peer libraries check against time.Now).
func signedKB(b *testing.B) ([]byte, http.Header, time.Time) {
	b.Helper()
	body := []byte(`{"type":"invoice.paid","data":{"pad":"` + strings.Repeat("x", 1024-41) + `"}}`)
	if len(body) != 1024 {
		b.Fatalf("body is %d bytes", len(body))
	}
	now := time.Now()
	signer, err := webhook.NewSigner(whSecret)
	if err != nil {
		b.Fatal(err)
	}
	h := http.Header{}
	signer.SetHeaders(h, whMsgID, now, body)
	return body, h, now
}

// BenchmarkStandardVerify verifies one 1 KB Standard Webhooks delivery
// with miniappkit, the reference library
// (standard-webhooks/libraries/go v0.0.1) and svix-webhooks/go v1.44.0.
func BenchmarkStandardVerify(b *testing.B) {
	body, h, now := signedKB(b)
	b.Run("miniappkit", func(b *testing.B) {
		v, err := webhook.NewStandard(whSecret, webhook.WithClock(func() time.Time { return now }))
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if err := v.Verify(h, body); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("standard-webhooks", func(b *testing.B) {
		v, err := standardwebhooks.NewWebhook(whSecret)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if err := v.Verify(body, h); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("svix", func(b *testing.B) {
		v, err := svix.NewWebhook(whSecret)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if err := v.Verify(body, h); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkStandardVerifyParallel is BenchmarkStandardVerify's miniappkit
// case from all procs (the verifier is shared).
func BenchmarkStandardVerifyParallel(b *testing.B) {
	body, h, now := signedKB(b)
	v, err := webhook.NewStandard(whSecret, webhook.WithClock(func() time.Time { return now }))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := v.Verify(h, body); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkTelegramHandler runs one Telegram delivery (a new update_id each
// time) through webhook.NewHandler with a secret token (NewHandler refuses
// to run without one). The cost of the secret-token check alone is in
// BenchmarkSecretTokenCheck. It reports cpu-ns/op as well.
func BenchmarkTelegramHandler(b *testing.B) {
	const token = "Wq3_mL9-zX2pV7kR4tY8nB1cD6fH0jS5aE9gU3iO7lK2"
	run := func(b *testing.B, secret string) {
		h, err := webhook.NewHandler(secret, webhook.UpdateHandlerFunc(func(context.Context, *botapi.Update) error { return nil }),
			webhook.WithStore(webhook.NewMemoryStore(1<<16)))
		if err != nil {
			b.Fatal(err)
		}
		var body []byte
		rd := bytes.NewReader(nil)
		req := httptest.NewRequest(http.MethodPost, "/telegram", nil)
		req.Header.Set(webhook.HeaderSecretToken, token)
		rec := &discardWriter{h: http.Header{}}
		id := int64(0)
		b.ReportAllocs()
		defer reportCPU(b, processCPU())
		for b.Loop() {
			id++
			body = append(strconv.AppendInt(append(body[:0], `{"update_id":`...), id, 10), '}')
			rd.Reset(body)
			req.Body = readCloser{rd}
			req.ContentLength = int64(len(body))
			rec.code = 0
			h.ServeHTTP(rec, req)
			if rec.code != http.StatusOK {
				b.Fatalf("status %d", rec.code)
			}
		}
	}
	b.Run("secret", func(b *testing.B) { run(b, token) })
}

// BenchmarkSecretTokenCheck isolates the check: a bare handler, and the
// same handler behind webhook.SecretTokenMiddleware, which runs the
// constant-time comparison NewHandler uses (401 on mismatch). Besides wall
// ns/op it reports cpu-ns/op (process CPU time per iteration), which other
// processes' load on a shared machine inflates far less.
func BenchmarkSecretTokenCheck(b *testing.B) {
	const token = "Wq3_mL9-zX2pV7kR4tY8nB1cD6fH0jS5aE9gU3iO7lK2"
	bare := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
	req := httptest.NewRequest(http.MethodPost, "/telegram", nil)
	req.Header.Set(webhook.HeaderSecretToken, token)
	rec := &discardWriter{h: http.Header{}}
	b.Run("bare", func(b *testing.B) {
		b.ReportAllocs()
		defer reportCPU(b, processCPU())
		for b.Loop() {
			bare.ServeHTTP(rec, req)
		}
	})
	b.Run("checked", func(b *testing.B) {
		mw, err := webhook.SecretTokenMiddleware(token)
		if err != nil {
			b.Fatal(err)
		}
		checked := mw(bare)
		b.ReportAllocs()
		defer reportCPU(b, processCPU())
		for b.Loop() {
			checked.ServeHTTP(rec, req)
		}
	})
}

type readCloser struct{ *bytes.Reader }

func (readCloser) Close() error { return nil }

// discardWriter is a ResponseWriter that keeps only the status.
type discardWriter struct {
	h    http.Header
	code int
}

func (w *discardWriter) Header() http.Header { return w.h }
func (w *discardWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}
func (w *discardWriter) Write(p []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return len(p), nil
}
