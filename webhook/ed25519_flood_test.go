package webhook

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// countEd25519 makes v count the Ed25519 verifications it runs.
func countEd25519(v *Standard) *atomic.Int64 {
	var n atomic.Int64
	v.edVerify = func(pub ed25519.PublicKey, msg, sig []byte) bool {
		n.Add(1)
		return ed25519.Verify(pub, msg, sig)
	}
	return &n
}

// junkEntry returns a well-formed v1a entry of a random signature whose S
// half is canonical (below the group order), as a hostile sender makes
// them to pass any cheap check.
func junkEntry(t testing.TB) string {
	sig := make([]byte, ed25519.SignatureSize)
	_, err := rand.Read(sig)
	require.NoError(t, err)
	sig[63] &= 0x0f // S < 2^252 < the group order
	return "v1a," + base64.StdEncoding.EncodeToString(sig)
}

// nonCanonicalEntry returns a v1a entry whose S is not below the group
// order: no valid Ed25519 signature looks like it.
func nonCanonicalEntry(t testing.TB) string {
	sig := make([]byte, ed25519.SignatureSize)
	_, err := rand.Read(sig)
	require.NoError(t, err)
	for i := 32; i < 64; i++ {
		sig[i] = 0xff
	}
	sig[63] = 0x1f // top three bits clear, S still above the order
	return "v1a," + base64.StdEncoding.EncodeToString(sig)
}

// TestStandardEd25519ChecksBounded: a header of junk v1a entries costs at
// most maxEd25519Checks Ed25519 verifications, cheap rejections (other
// versions, wrong length, not base64, non-canonical S, repeats) cost none,
// and a genuine signature listed among a rotating sender's entries still
// verifies. Before the fix, 8 junk entries cost 8 verifications.
func TestStandardEd25519ChecksBounded(t *testing.T) {
	v, priv := edVerifier(t)
	calls := countEd25519(v)
	now := time.Now()
	body := []byte(`{"ok":true}`)
	other, err := NewSigner("whsk_" + base64.StdEncoding.EncodeToString(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, 32)).Seed()))
	require.NoError(t, err)
	own, err := NewSigner("whsk_" + base64.StdEncoding.EncodeToString(priv.Seed()))
	require.NoError(t, err)
	id := "msg_1"
	ownSig := own.Sign(id, now, body)
	otherSig := other.Sign(id, now, body)
	junk := junkEntry(t)
	eight := make([]string, maxSignatureEntries)
	for i := range eight {
		eight[i] = junkEntry(t)
	}
	nonCanon := make([]string, maxSignatureEntries)
	for i := range nonCanon {
		nonCanon[i] = nonCanonicalEntry(t)
	}
	for _, tc := range []struct {
		name     string
		sig      string
		want     error // nil: verifies
		maxCalls int64
	}{
		{"8 junk v1a", strings.Join(eight, " "), ErrInvalidHeader, 0},
		{"3 junk v1a", strings.Join(eight[:3], " "), ErrInvalidHeader, 0},
		{"2 junk v1a", strings.Join(eight[:2], " "), ErrNoMatchingSignature, 2},
		{"8 non-canonical", strings.Join(nonCanon, " "), ErrNoMatchingSignature, 0},
		{"one junk repeated 8 times", strings.Repeat(junk+" ", 8), ErrNoMatchingSignature, 1},
		{"v1 and malformed entries only", "v1,AAAA v1a,@@@@ v1a,AAAA v2,x", ErrNoMatchingSignature, 0},
		{"rotation: other key then own", otherSig + " " + ownSig, nil, 2},
		{"rotation: own key then other", ownSig + " " + otherSig, nil, 1},
		{"own key among cheap junk", strings.Join(nonCanon[:6], " ") + " v1,AAAA " + ownSig, nil, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			calls.Store(0)
			h := http.Header{}
			h.Set("webhook-id", id)
			h.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
			h.Set("webhook-signature", tc.sig)
			err := v.Verify(h, body)
			if tc.want == nil {
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, tc.want)
			}
			require.LessOrEqual(t, calls.Load(), tc.maxCalls, "Ed25519 verifications")
		})
	}
}

// TestVerifyMiddlewareEd25519NoBodyCopy: VerifyMiddleware with a public
// key verifies the body where it was read (room for the signed prefix is
// reserved in front of it, counted in the in-flight budget), so a request
// allocates about what reading the body takes, not a second copy outside
// the budget. Before the fix the signed message was copied: a 1 MiB body
// cost over 3 MiB of allocations per request.
func TestVerifyMiddlewareEd25519NoBodyCopy(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation figures differ under -race")
	}
	v, priv := edVerifier(t)
	signer, err := NewSigner("whsk_" + base64.StdEncoding.EncodeToString(priv.Seed()))
	require.NoError(t, err)
	body := bytes.Repeat([]byte("x"), 1<<20-1024)
	h := http.Header{}
	signer.SetHeaders(h, "msg_1", time.Now(), body)
	mw := VerifyMiddleware(v)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	serve := func() {
		req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		req.Header = h.Clone()
		rec := httptest.NewRecorder()
		mw.ServeHTTP(rec, req)
		require.Equal(t, http.StatusOK, rec.Code)
	}
	serve() // warm pools
	const n = 8
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range n {
		serve()
	}
	runtime.ReadMemStats(&after)
	perReq := float64(after.TotalAlloc-before.TotalAlloc) / n
	// Reading a body whose buffer doubles from 512 bytes costs about twice
	// its size in allocations; a copy of the signed message adds one more.
	t.Logf("bytes allocated per request: %.0f (body %d)", perReq, len(body))
	require.Less(t, perReq, 2.5*float64(len(body)), "bytes allocated per request: %.0f", perReq)
}

// BenchmarkStandardEd25519Junk: the CPU an unauthenticated request costs
// with a webhook-signature header of 8 well-formed junk v1a entries (the
// most entries a header may list), through Verify with a 1 KiB body.
func BenchmarkStandardEd25519Junk(b *testing.B) {
	v, _ := edVerifier(b)
	entries := make([]string, maxSignatureEntries)
	for i := range entries {
		entries[i] = junkEntry(b)
	}
	for _, tc := range []struct {
		name string
		sig  string
	}{
		{"8 entries", strings.Join(entries, " ")},
		{"2 entries", strings.Join(entries[:2], " ")},
	} {
		b.Run(tc.name, func(b *testing.B) {
			h := http.Header{}
			h.Set("webhook-id", "msg_1")
			h.Set("webhook-timestamp", strconv.FormatInt(time.Now().Unix(), 10))
			h.Set("webhook-signature", tc.sig)
			body := bytes.Repeat([]byte("x"), 1024)
			b.ReportAllocs()
			for b.Loop() {
				if v.Verify(h, body) == nil {
					b.Fatal("junk verified")
				}
			}
		})
	}
}

// FuzzStandardVerifyEd25519: for a public key, Verify never panics on any
// header, never runs more than maxEd25519Checks Ed25519 verifications, and
// a signature by the key verifies (also beside a rotating sender's other
// key, in any order, and through VerifyMiddleware's in-place path) while
// any change to the body fails. Run it with
//
//	go test ./webhook -run '^$' -fuzz FuzzStandardVerifyEd25519 -fuzztime 20s
func FuzzStandardVerifyEd25519(f *testing.F) {
	f.Add("msg_1", "1614265330", "v1,abc v1a,def v2,x ,", []byte("{}"), false)
	f.Add("msg_2", "1614265330", strings.Repeat(junkEntry(f)+" ", 3), []byte("x"), true)
	f.Add("msg_3", "1614265330", nonCanonicalEntry(f), []byte(""), true)
	now := time.Unix(1614265330, 0)
	seed := bytes.Repeat([]byte{1}, ed25519.SeedSize)
	priv := ed25519.NewKeyFromSeed(seed)
	v, err := NewStandardPublicKey("whpk_"+base64.StdEncoding.EncodeToString(priv.Public().(ed25519.PublicKey)),
		WithClock(func() time.Time { return now }))
	require.NoError(f, err)
	calls := countEd25519(v)
	own, err := NewSigner("whsk_" + base64.StdEncoding.EncodeToString(seed))
	require.NoError(f, err)
	other, err := NewSigner("whsk_" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{2}, ed25519.SeedSize)))
	require.NoError(f, err)
	f.Fuzz(func(t *testing.T, id, ts, sig string, body []byte, otherFirst bool) {
		if len(id)+len(ts)+len(sig)+len(body) > fuzzMaxInput {
			return
		}
		h := http.Header{}
		h.Set("webhook-id", id)
		h.Set("webhook-timestamp", ts)
		h.Set("webhook-signature", sig)
		calls.Store(0)
		_ = v.Verify(h, body) // must not panic
		if c := calls.Load(); c > maxEd25519Checks {
			t.Fatalf("%d Ed25519 checks for one request", c)
		}
		if id == "" || len(id) > maxWebhookIDBytes || strings.ContainsAny(id, "\r\n") {
			return
		}
		good := http.Header{}
		good.Set("webhook-id", id)
		good.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
		a, b := own.Sign(id, now, body), other.Sign(id, now, body)
		if otherFirst {
			a, b = b, a
		}
		good.Set("webhook-signature", a+" "+b)
		if err := v.Verify(good, body); err != nil {
			t.Fatalf("own signature rejected: %v", err)
		}
		buf := make([]byte, signedPrefixRoom+len(body))
		copy(buf[signedPrefixRoom:], body)
		if err := v.verifyInPlace(good, buf, signedPrefixRoom); err != nil {
			t.Fatalf("own signature rejected in place: %v", err)
		}
		if !bytes.Equal(buf[signedPrefixRoom:], body) {
			t.Fatal("verifying in place changed the body")
		}
		if err := v.Verify(good, append(bytes.Clone(body), 'x')); err == nil {
			t.Fatal("tampered body accepted")
		}
	})
}
