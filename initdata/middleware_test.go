package initdata

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestMiddleware(t *testing.T) {
	v := NewValidator(testToken, WithClock(at(testAuthDate)))
	signed := Sign(testValues(), testToken, testAuthDate)
	expired := Sign(testValues(), testToken, testAuthDate.Add(-DefaultMaxAge-time.Second))
	tests := []struct {
		name   string
		header []string // Authorization values
		ok     bool
	}{
		{"valid", []string{"tma " + signed}, true},
		{"scheme in capitals", []string{"TMA " + signed}, true},
		{"extra spaces", []string{"tma   " + signed}, true},
		{"no header", nil, false},
		{"empty header", []string{""}, false},
		{"scheme only", []string{"tma"}, false},
		{"scheme and space only", []string{"tma "}, false},
		{"other scheme", []string{"Bearer " + signed}, false},
		{"no scheme", []string{signed}, false},
		{"tampered", []string{"tma " + signed + "&x=1"}, false},
		{"expired", []string{"tma " + expired}, false},
		{"malformed", []string{"tma {}"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			called := false
			h := Middleware(v)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				called = true
				d, ok := FromContext(r.Context())
				require.True(t, ok)
				require.Equal(t, int64(279058397), d.User.ID)
				w.WriteHeader(http.StatusNoContent)
			}))
			req := httptest.NewRequest(http.MethodGet, "/api/me", nil)
			for _, hv := range tt.header {
				req.Header.Add("Authorization", hv)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			require.Equal(t, tt.ok, called)
			if tt.ok {
				require.Equal(t, http.StatusNoContent, rec.Code)
				return
			}
			require.Equal(t, http.StatusUnauthorized, rec.Code)
			require.Equal(t, "application/json", rec.Header().Get("Content-Type"))
			require.Equal(t, "tma", rec.Header().Get("WWW-Authenticate"))
			require.Equal(t, "no-store", rec.Header().Get("Cache-Control"))
			require.JSONEq(t, `{"error":"unauthorized"}`, rec.Body.String())
		})
	}
}

func TestMiddlewarePanicsOnNilValidator(t *testing.T) {
	require.Panics(t, func() { Middleware(nil) })
}

func TestContext(t *testing.T) {
	_, ok := FromContext(context.Background())
	require.False(t, ok)
	d := InitData{QueryID: "q", User: &User{ID: 1}}
	got, ok := FromContext(NewContext(context.Background(), d))
	require.True(t, ok)
	require.Equal(t, d, got)
	require.Equal(t, "initdata context key initdata", initDataKey.String())
}
