package benchmarks

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	gogithub "github.com/google/go-github/v74/github"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	stripewebhook "github.com/stripe/stripe-go/v84/webhook"
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
// (standard-webhooks/libraries/go v1.3.0) and svix-webhooks/go v1.44.0.
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

// BenchmarkStripeVerify verifies one 1 KB Stripe-Signature delivery with
// miniappkit and stripe-go v84 (webhook.ValidatePayload).
func BenchmarkStripeVerify(b *testing.B) {
	body, _, now := signedKB(b)
	const secret = "whsec_test_secret"
	sig := webhook.SignStripe(secret, now, body)
	h := http.Header{}
	h.Set("Stripe-Signature", sig)
	b.Run("miniappkit", func(b *testing.B) {
		v, err := webhook.NewStripe(secret, webhook.WithClock(func() time.Time { return now }))
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
	b.Run("stripe-go", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := stripewebhook.ValidatePayload(body, sig, secret); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkGitHubVerify verifies one 1 KB X-Hub-Signature-256 delivery
// with miniappkit and go-github v74 (github.ValidateSignature).
func BenchmarkGitHubVerify(b *testing.B) {
	body, _, _ := signedKB(b)
	const secret = "It's a Secret to Everybody"
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	sig := "sha256=" + hex.EncodeToString(m.Sum(nil))
	h := http.Header{}
	h.Set("X-Hub-Signature-256", sig)
	b.Run("miniappkit", func(b *testing.B) {
		v, err := webhook.NewGitHub(secret)
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
	b.Run("go-github", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := gogithub.ValidateSignature(sig, body, []byte(secret)); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkStandardJunkHeader is the cost of an unauthenticated request
// whose webhook-signature header is 1 MiB of well-formed Ed25519 entries,
// through miniappkit's Ed25519 verifier (refused by its size bound before
// any signature is checked).
func BenchmarkStandardJunkHeader(b *testing.B) {
	pub, _, err := ed25519.GenerateKey(nil)
	if err != nil {
		b.Fatal(err)
	}
	v, err := webhook.NewStandardPublicKey("whpk_" + base64.StdEncoding.EncodeToString(pub))
	if err != nil {
		b.Fatal(err)
	}
	entry := "v1a," + base64.StdEncoding.EncodeToString(make([]byte, ed25519.SignatureSize))
	junk := strings.Repeat(entry+" ", (1<<20)/(len(entry)+1))
	h := http.Header{}
	h.Set("webhook-id", whMsgID)
	h.Set("webhook-timestamp", strconv.FormatInt(time.Now().Unix(), 10))
	h.Set("webhook-signature", junk)
	b.ReportAllocs()
	defer reportCPU(b, processCPU())
	for b.Loop() {
		if v.Verify(h, []byte("{}")) == nil {
			b.Fatal("junk verified")
		}
	}
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
