package webhook

// Fuzz targets for every parser of untrusted input. CI runs each briefly;
// to run one longer:
//
//	go test -run '^$' -fuzz '^FuzzStandardVerify$' -fuzztime 30s ./webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miniappkit/miniappkit/botapi"
)

const fuzzMaxInput = 64 << 10

// FuzzSecretHeader: the constant-time check accepts exactly the configured
// token, whatever the header holds.
func FuzzSecretHeader(f *testing.F) {
	f.Add("abcDEF_123-xyz", "abcDEF_123-xyz")
	f.Add("abcDEF_123-xyz", "abcDEF_123-xyzx")
	f.Add("abcDEF_123-xyz", "")
	f.Add("a", "b")
	for _, v := range loadVectors(f) {
		if v.Scheme == "telegram-secret-token" || v.Scheme == "telegram-secret-token-format" {
			f.Add(v.Secret, v.Headers["X-Telegram-Bot-Api-Secret-Token"])
		}
	}
	f.Fuzz(func(t *testing.T, want, got string) {
		if len(want) > 1024 || len(got) > 1024 {
			return
		}
		h := http.Header{}
		h.Set(HeaderSecretToken, got)
		st := checkSecretHeader(h, want)
		switch {
		case got == "" && st != tokenMissing:
			t.Fatalf("empty header: %v", st)
		case got != "" && (st == tokenOK) != (got == want):
			t.Fatalf("want %q got %q: %v", want, got, st)
		}
		if err := CheckSecretToken(want); err == nil {
			for i := 0; i < len(want); i++ {
				if !strings.ContainsRune(secretTokenAlphabet, rune(want[i])) {
					t.Fatalf("accepted %q", want)
				}
			}
		}
	})
}

// FuzzStandardVerify: Verify never panics on any header, and a signature
// made by Signer always verifies while any change to the body fails.
func FuzzStandardVerify(f *testing.F) {
	for _, v := range loadVectors(f) {
		if v.Scheme == "standard-webhooks-v1" && v.PayloadRepeat == nil {
			id, ts, sig := standardHeaders(v.header())
			f.Add(id, ts, sig, v.body())
		}
	}
	f.Add("msg_1", "1614265330", "v1,abc v1a,def v2,x ,", []byte("{}"))
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	now := time.Unix(1614265330, 0)
	s, err := NewStandard(secret, WithClock(func() time.Time { return now }))
	if err != nil {
		f.Fatal(err)
	}
	signer, err := NewSigner(secret)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, id, ts, sig string, body []byte) {
		if len(id)+len(ts)+len(sig)+len(body) > fuzzMaxInput {
			return
		}
		h := http.Header{}
		h.Set("webhook-id", id)
		h.Set("webhook-timestamp", ts)
		h.Set("webhook-signature", sig)
		_ = s.Verify(h, body) // must not panic

		if id == "" || strings.ContainsAny(id, "\r\n") {
			return
		}
		good := http.Header{}
		signer.SetHeaders(good, id, now, body)
		if len(id) > maxWebhookIDBytes { // over the cap: refused before any MAC
			if err := s.Verify(good, body); !errors.Is(err, ErrInvalidHeader) {
				t.Fatalf("a %d-byte webhook-id: %v, want ErrInvalidHeader", len(id), err)
			}
			return
		}
		if err := s.Verify(good, body); err != nil {
			t.Fatalf("own signature rejected: %v", err)
		}
		if err := s.Verify(good, append(bytes.Clone(body), 'x')); err == nil {
			t.Fatal("tampered body accepted")
		}
	})
}

// FuzzStripeHeader: parsing never panics, a parsed t is what was sent, and
// SignStripe's output always verifies.
func FuzzStripeHeader(f *testing.F) {
	for _, v := range loadVectors(f) {
		if v.Scheme == "stripe-v1" {
			f.Add(v.Headers["Stripe-Signature"], v.body())
		}
	}
	f.Add("t=1,v1=00,v0=zz,x", []byte("{}"))
	now := time.Unix(1_700_000_000, 0)
	s, err := NewStripe("whsec_test_secret", WithClock(func() time.Time { return now }))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, header string, body []byte) {
		if len(header)+len(body) > fuzzMaxInput {
			return
		}
		p, err := parseStripeHeader(header)
		if err == nil && strconv.FormatInt(p.ts, 10) != strings.TrimLeft(p.t, "0") && p.ts != 0 {
			t.Fatalf("t=%q parsed as %d", p.t, p.ts)
		}
		h := http.Header{}
		h.Set("Stripe-Signature", header)
		_ = s.Verify(h, body)
		h.Set("Stripe-Signature", SignStripe("whsec_test_secret", now, body))
		if err := s.Verify(h, body); err != nil {
			t.Fatalf("own signature rejected: %v", err)
		}
	})
}

// FuzzGitHubSignature: never panics; a correct signature always verifies.
func FuzzGitHubSignature(f *testing.F) {
	for _, v := range loadVectors(f) {
		if v.Scheme == "github-sha256" {
			f.Add(v.Headers["X-Hub-Signature-256"], v.body())
		}
	}
	g, err := NewGitHub("It's a Secret to Everybody")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, header string, body []byte) {
		if len(header)+len(body) > fuzzMaxInput {
			return
		}
		h := http.Header{}
		h.Set("X-Hub-Signature-256", header)
		if err := g.Verify(h, body); err == nil && !strings.EqualFold(header, githubSig("It's a Secret to Everybody", body)) {
			t.Fatalf("accepted %q", header)
		}
	})
}

// FuzzIdempotencyKey: a parsed key is 1..max visible ASCII/space bytes, and
// quoting it as an sf-string parses back to the same key.
func FuzzIdempotencyKey(f *testing.F) {
	for _, s := range []string{`"8e03978e-40d5-43e8-bc93-6894a57f9324"`, `abc`, `"a\"b\\c"`, `""`, `"x`, "é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		if len(v) > 4096 {
			return
		}
		key, err := parseIdempotencyKey([]string{v}, DefaultMaxKeyLength)
		if err != nil {
			return
		}
		if len(key) == 0 || len(key) > DefaultMaxKeyLength {
			t.Fatalf("key length %d", len(key))
		}
		for i := 0; i < len(key); i++ {
			if key[i] < 0x20 || key[i] > 0x7e {
				t.Fatalf("byte %#x in key", key[i])
			}
		}
		quoted := `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(key) + `"`
		back, err := parseIdempotencyKey([]string{quoted}, DefaultMaxKeyLength)
		if err != nil || back != key {
			t.Fatalf("round trip %q → %q → %q, %v", key, quoted, back, err)
		}
	})
}

// FuzzHandlerBody: the webhook handler answers every body with 200 (ran,
// duplicate or dropped as undecodable), never 4xx, and never panics.
func FuzzHandlerBody(f *testing.F) {
	f.Add([]byte(`{"update_id":1}`))
	f.Add([]byte(`{"update_id":2,"message":{"message_id":1,"date":0,"chat":{"id":1,"type":"private"},"text":"hi"}}`))
	f.Add([]byte(`{"update_id":`))
	f.Add([]byte(`[]`))
	h := mustHandler(f, testToken, UpdateHandlerFunc(func(context.Context, *botapi.Update) error { return nil }), WithMaxBodyBytes(fuzzMaxInput))
	f.Fuzz(func(t *testing.T, body []byte) {
		if len(body) > 2*fuzzMaxInput {
			return
		}
		req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		req.Header.Set(HeaderSecretToken, testToken)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Fatalf("status %d", rec.Code)
		}
	})
}

// FuzzScanUpdateID: the scan that finds the update_id of a body that does
// not decode (for the log line) never panics, never reads a negative id,
// and agrees with a full decode on every body that decodes to an update.
// Run with: go test -run '^$' -fuzz FuzzScanUpdateID ./webhook
func FuzzScanUpdateID(f *testing.F) {
	f.Add([]byte(`{"update_id":123456789,"message":{}}`))
	f.Add([]byte(`{ "update_id" : 7 }`))
	f.Add([]byte(`{"update_id":`))
	f.Add([]byte(`"update_id":-5`))
	f.Fuzz(func(t *testing.T, body []byte) {
		if len(body) > fuzzMaxInput {
			return
		}
		got := scanUpdateID(body)
		if got < 0 {
			t.Fatalf("negative id %d", got)
		}
		var u struct {
			UpdateID int64 `json:"update_id"`
		}
		// Only bodies that are exactly {"update_id":N} (N < 10^18) must agree:
		// elsewhere the scan may find the name inside a string.
		if bytes.HasPrefix(body, []byte(`{"update_id":`)) && json.Unmarshal(body, &u) == nil && u.UpdateID > 0 && u.UpdateID < 1e17 &&
			bytes.Equal(body, []byte(`{"update_id":`+strconv.FormatInt(u.UpdateID, 10)+`}`)) && got != u.UpdateID {
			t.Fatalf("scan %d, decode %d", got, u.UpdateID)
		}
	})
}
