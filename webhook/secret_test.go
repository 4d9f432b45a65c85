package webhook

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSecretTokenMiddleware(t *testing.T) {
	mw, err := SecretTokenMiddleware(testToken)
	require.NoError(t, err)
	ok := mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	for _, tc := range []struct {
		name, token string
		want        int
	}{
		{"match", testToken, http.StatusNoContent},
		{"missing", "", http.StatusUnauthorized},
		{"mismatch", "x" + testToken[1:], http.StatusUnauthorized},
		{"shorter", testToken[:len(testToken)-1], http.StatusUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, "/", nil)
			if tc.token != "" {
				req.Header.Set(HeaderSecretToken, tc.token)
			}
			rec := httptest.NewRecorder()
			ok.ServeHTTP(rec, req)
			require.Equal(t, tc.want, rec.Code)
		})
	}
	_, err = SecretTokenMiddleware("bad token")
	require.ErrorIs(t, err, ErrInvalidSecretToken)
	_, err = SecretTokenMiddleware("")
	require.ErrorIs(t, err, ErrNoSecretToken)
}

func TestTokenEqual(t *testing.T) {
	require.True(t, tokenEqual("abc", "abc"))
	require.False(t, tokenEqual("abd", "abc"))
	require.False(t, tokenEqual("ab", "abc"))
	require.False(t, tokenEqual("abcd", "abc"))
	require.False(t, tokenEqual("", "abc"))
}

// TestTokenEqualAllocs: crypto/subtle on the strings' bytes copies nothing.
func TestTokenEqualAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	want := NewSecretToken()
	got := string([]byte(want))
	require.Zero(t, testing.AllocsPerRun(100, func() { _ = tokenEqual(got, want) }))
}

func BenchmarkSecretCheck(b *testing.B) {
	bare := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
	req := httptest.NewRequest(http.MethodPost, "/", nil)
	tok := NewSecretToken()
	req.Header.Set(HeaderSecretToken, tok)
	rec := httptest.NewRecorder()
	b.Run("bare", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			bare.ServeHTTP(rec, req)
		}
	})
	b.Run("checked", func(b *testing.B) {
		mw, err := SecretTokenMiddleware(tok)
		require.NoError(b, err)
		h := mw(bare)
		b.ReportAllocs()
		for b.Loop() {
			h.ServeHTTP(rec, req)
		}
	})
}
