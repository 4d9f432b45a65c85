package webhook

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/miniappkit/miniappkit/botapi"
	"github.com/stretchr/testify/require"
)

const swSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

func fixedClock(t time.Time) VerifyOption { return WithClock(func() time.Time { return t }) }

func TestStandardTolerance(t *testing.T) {
	sent := time.Unix(1_700_000_000, 0)
	signer, err := NewSigner(swSecret)
	require.NoError(t, err)
	h := http.Header{}
	body := []byte(`{}`)
	signer.SetHeaders(h, "msg_1", sent, body)
	for _, tc := range []struct {
		name string
		now  time.Time
		tol  time.Duration
		want error
	}{
		{"on time", sent, 0, nil},
		{"5 min late", sent.Add(5 * time.Minute), 0, nil},
		{"5 min 1 s late", sent.Add(5*time.Minute + time.Second), 0, ErrTimestampTooOld},
		{"5 min early", sent.Add(-5 * time.Minute), 0, nil},
		{"5 min 1 s early", sent.Add(-5*time.Minute - time.Second), 0, ErrTimestampTooNew},
		{"wider tolerance", sent.Add(time.Hour), 2 * time.Hour, nil},
		{"narrower tolerance", sent.Add(11 * time.Second), 10 * time.Second, ErrTimestampTooOld},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := []VerifyOption{fixedClock(tc.now)}
			if tc.tol != 0 {
				opts = append(opts, WithTolerance(tc.tol))
			}
			v, err := NewStandard(swSecret, opts...)
			require.NoError(t, err)
			err = v.Verify(h, body)
			if tc.want == nil {
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, tc.want)
			}
		})
	}
}

func TestStandardRotationAndBothSchemes(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	seed := make([]byte, ed25519.SeedSize)
	for i := range seed {
		seed[i] = byte(i)
	}
	priv := ed25519.NewKeyFromSeed(seed)
	whsk := "whsk_" + base64.StdEncoding.EncodeToString(priv)
	whpk := "whpk_" + base64.StdEncoding.EncodeToString(priv.Public().(ed25519.PublicKey))
	oldSecret := "whsec_" + base64.StdEncoding.EncodeToString([]byte("an-old-secret-of-24-byte"))

	// The sender signs with the old secret, the new one and an Ed25519 key.
	signer, err := NewSigner(oldSecret, swSecret, whsk)
	require.NoError(t, err)
	h := http.Header{}
	body := []byte(`{"a":1}`)
	signer.SetHeaders(h, "msg_rot", now, body)
	require.Len(t, strings.Fields(h.Get("webhook-signature")), 3)

	for name, mk := range map[string]func() (*Standard, error){
		"new secret": func() (*Standard, error) { return NewStandard(swSecret, fixedClock(now)) },
		"old secret": func() (*Standard, error) { return NewStandard(oldSecret, fixedClock(now)) },
		"public key": func() (*Standard, error) { return NewStandardPublicKey(whpk, fixedClock(now)) },
	} {
		t.Run(name, func(t *testing.T) {
			v, err := mk()
			require.NoError(t, err)
			require.NoError(t, v.Verify(h, body))
			require.ErrorIs(t, v.Verify(h, []byte(`{"a":2}`)), ErrNoMatchingSignature)
		})
	}
	// The seed form of a whsk_ key signs the same.
	s2, err := NewSigner("whsk_" + base64.StdEncoding.EncodeToString(seed))
	require.NoError(t, err)
	require.Contains(t, h.Get("webhook-signature"), s2.Sign("msg_rot", now, body))
}

func TestStandardBadSecrets(t *testing.T) {
	for _, s := range []string{
		"", "whsec_", "whsec_!!!notbase64",
		"whsec_" + base64.StdEncoding.EncodeToString(make([]byte, 15)),
	} {
		_, err := NewStandard(s)
		require.ErrorIs(t, err, ErrBadSecret, "%q", s)
		_, err = NewSigner(s)
		require.ErrorIs(t, err, ErrBadSecret, "%q", s)
	}
	_, err := NewStandard("whsec_" + base64.StdEncoding.EncodeToString(make([]byte, 16)))
	require.NoError(t, err, "16 bytes is the minimum")
	for _, k := range []string{"", "whpk_", "whpk_AAAA", "whpk_" + base64.StdEncoding.EncodeToString(make([]byte, 33))} {
		_, err := NewStandardPublicKey(k)
		require.ErrorIs(t, err, ErrBadSecret, "%q", k)
	}
	_, err = NewSigner()
	require.ErrorIs(t, err, ErrBadSecret)
	_, err = NewSigner("whsk_AAAA")
	require.ErrorIs(t, err, ErrBadSecret)
	_, err = NewStandard(swSecret, WithTolerance(0))
	require.Error(t, err)
	_, err = NewStandard(swSecret, WithClock(nil))
	require.Error(t, err)
	_, err = NewStripe("", nil)
	require.ErrorIs(t, err, ErrBadSecret)
	_, err = NewGitHub("")
	require.ErrorIs(t, err, ErrBadSecret)
	_, err = NewStripe("x", WithVerifyMaxBodyBytes(0))
	require.Error(t, err)
}

func TestErrorsHoldNoSecrets(t *testing.T) {
	for _, s := range []string{"whsec_c2VjcmV0LXNlY3JldA", "whsec_!!!secret-material!!!"} {
		_, err := NewStandard(s)
		require.Error(t, err)
		require.NotContains(t, err.Error(), strings.TrimPrefix(s, "whsec_"))
	}
}

func TestStripeTooOld(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	body := []byte(`{}`)
	v, err := NewStripe("sk", fixedClock(now.Add(301*time.Second)))
	require.NoError(t, err)
	h := http.Header{}
	h.Set("Stripe-Signature", SignStripe("sk", now, body))
	require.ErrorIs(t, v.Verify(h, body), ErrTimestampTooOld)
	h.Set("Stripe-Signature", "t=1700000000,v0=abc")
	v2, _ := NewStripe("sk", fixedClock(now))
	require.ErrorIs(t, v2.Verify(h, body), ErrNoMatchingSignature)
	h.Set("Stripe-Signature", "t=1,t=2,v1=00")
	require.ErrorIs(t, v2.Verify(h, body), ErrInvalidHeader)
	h.Set("Stripe-Signature", "v1=00")
	require.ErrorIs(t, v2.Verify(h, body), ErrInvalidHeader)
}

func TestVerifyMiddleware(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	v, err := NewStandard(swSecret, fixedClock(now), WithVerifyMaxBodyBytes(32))
	require.NoError(t, err)
	signer, _ := NewSigner(swSecret)
	var got string
	h := VerifyMiddleware(v)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got = string(b)
	}))
	send := func(body string, sign bool) int {
		req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		if sign {
			signer.SetHeaders(req.Header, "msg_1", now, []byte(body))
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	require.Equal(t, http.StatusOK, send(`{"ok":true}`, true))
	require.Equal(t, `{"ok":true}`, got, "the next handler reads the verified bytes")
	got = ""
	require.Equal(t, http.StatusUnauthorized, send(`{"ok":true}`, false))
	require.Equal(t, http.StatusRequestEntityTooLarge, send(strings.Repeat("x", 33), true))
	require.Empty(t, got)
	require.Panics(t, func() { VerifyMiddleware(nil) })
}

func TestReadBody(t *testing.T) {
	for _, tc := range []struct {
		name    string
		body    string
		cl      int64
		limit   int64
		want    string
		tooLong bool
	}{
		{"declared", "hello", 5, 5, "hello", false},
		{"declared too long", "hello!", 6, 5, "", true},
		{"chunked", "hello", -1, 5, "hello", false},
		{"chunked too long", "hello!", -1, 5, "", true},
		{"empty", "", 0, 5, "", false},
		{"grows", strings.Repeat("a", 5000), 5000, 8000, strings.Repeat("a", 5000), false},
		{"chunked grows", strings.Repeat("a", 5000), -1, 8000, strings.Repeat("a", 5000), false},
		{"chunked at the limit", strings.Repeat("a", 8000), -1, 8000, strings.Repeat("a", 8000), false},
		{"chunked just over", strings.Repeat("a", 8001), -1, 8000, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(tc.body))
			req.ContentLength = tc.cl
			budget := newBodyBudget(1 << 20)
			b, held, err := readBody(req, tc.limit, budget)
			budget.give(held)
			require.Equal(t, int64(1<<20), budget.left.Load(), "all given back")
			if tc.tooLong {
				var mbe *http.MaxBytesError
				require.ErrorAs(t, err, &mbe)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, string(b))
		})
	}
}

// TestReadBodyBudget: a read that would take more than the budget left
// fails with errBodyBudget, holding nothing more.
func TestReadBodyBudget(t *testing.T) {
	budget := newBodyBudget(3000)
	req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(strings.Repeat("a", 5000)))
	_, held, err := readBody(req, 1<<20, budget)
	require.ErrorIs(t, err, errBodyBudget)
	budget.give(held)
	require.Equal(t, int64(3000), budget.left.Load())

	std, err := NewStandard(swSecret, WithVerifyMaxInFlightBytes(DefaultMaxBodyBytes))
	require.NoError(t, err)
	req = httptest.NewRequest(http.MethodPost, "/", strings.NewReader(strings.Repeat("a", 5000)))
	_, held, err = readBody(req, 1<<20, std.budget)
	require.NoError(t, err)
	_, err = NewStandard(swSecret, WithVerifyMaxInFlightBytes(DefaultMaxBodyBytes-1))
	require.Error(t, err, "a budget below one body fails at construction")
	_, err = NewHandler(testToken, UpdateHandlerFunc(func(context.Context, *botapi.Update) error { return nil }), WithMaxInFlightBytes(10))
	require.Error(t, err)
	_ = held
}
