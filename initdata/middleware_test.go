package initdata

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/miniappkit/miniappkit/problem"
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
		reason string // the public reason of a 401
	}{
		{"valid", []string{"tma " + signed}, true, ""},
		{"scheme in capitals", []string{"TMA " + signed}, true, ""},
		{"extra spaces", []string{"tma   " + signed}, true, ""},
		{"no header", nil, false, "missing"},
		{"empty header", []string{""}, false, "missing"},
		{"scheme only", []string{"tma"}, false, "missing"},
		{"scheme and space only", []string{"tma "}, false, "missing"},
		{"other scheme", []string{"Bearer " + signed}, false, "missing"},
		{"no scheme", []string{signed}, false, "missing"},
		{"tampered", []string{"tma " + signed + "&x=1"}, false, "invalid"},
		{"expired", []string{"tma " + expired}, false, "expired"},
		{"malformed", []string{"tma {}"}, false, "invalid"},
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
			require.Equal(t, "application/problem+json", rec.Header().Get("Content-Type"))
			require.Equal(t, "tma", rec.Header().Get("WWW-Authenticate"))
			require.Equal(t, "no-store", rec.Header().Get("Cache-Control"))
			var p problem.Details
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &p))
			require.Equal(t, http.StatusUnauthorized, p.Status)
			require.Equal(t, tt.reason, p.Extensions["reason"], "public reason")
			require.NotContains(t, rec.Body.String(), signed[:40], "the body never echoes the data")
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

func TestMiddlewareErrorHandler(t *testing.T) {
	v := NewValidator(testToken, WithClock(at(testAuthDate)))
	expired := Sign(testValues(), testToken, testAuthDate.Add(-DefaultMaxAge-time.Hour))
	tests := []struct {
		name   string
		header string
		want   error
	}{
		{"missing", "", ErrMissing},
		{"expired", "tma " + expired, ErrExpired},
		{"wrong token", "tma " + Sign(testValues(), "other:token", testAuthDate), ErrHashInvalid},
		{"malformed", "tma a=b;c", ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got error
			h := Middleware(v, WithErrorHandler(func(w http.ResponseWriter, r *http.Request, err error) {
				got = err
				w.WriteHeader(http.StatusTeapot)
			}))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				t.Fatal("next must not run")
			}))
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			if tt.header != "" {
				req.Header.Set("Authorization", tt.header)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			require.Equal(t, http.StatusTeapot, rec.Code)
			require.ErrorIs(t, got, tt.want)
		})
	}
	require.Panics(t, func() { Middleware(v, WithErrorHandler(nil)) })
}

func TestMiddlewareRequireUser(t *testing.T) {
	v := NewValidator(testToken, WithClock(at(testAuthDate)))
	noUser := url.Values{"query_id": {"AAH"}, "chat_type": {"group"}}
	raw := Sign(noUser, testToken, testAuthDate)
	for _, require_ := range []bool{false, true} {
		var opts []MiddlewareOption
		if require_ {
			opts = append(opts, WithRequireUser())
		}
		var hookErr error
		opts = append(opts, WithErrorHandler(func(w http.ResponseWriter, r *http.Request, err error) {
			hookErr = err
			DefaultErrorHandler(w, r, err)
		}))
		called := false
		h := Middleware(v, opts...)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			called = true
			d, _ := FromContext(r.Context())
			_, ok := d.UserID()
			require.False(t, ok)
		}))
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.Header.Set("Authorization", "tma "+raw)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		require.Equal(t, !require_, called)
		if require_ {
			require.ErrorIs(t, hookErr, ErrUserMissing)
			require.Equal(t, http.StatusUnauthorized, rec.Code)
			require.Contains(t, rec.Body.String(), `"reason":"invalid"`)
		}
	}
}

func TestMiddlewareLogsWhyNeverWhat(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	v := NewValidator(testToken, WithClock(at(testAuthDate)))
	expired := Sign(testValues(), testToken, testAuthDate.Add(-DefaultMaxAge-90*time.Minute))
	wrong := Sign(testValues(), "123:other", testAuthDate)
	h := Middleware(v, WithLogger(logger))(http.NotFoundHandler())
	for _, hv := range []string{"", "tma " + expired, "tma " + wrong, "tma a=b;c"} {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		if hv != "" {
			req.Header.Set("Authorization", hv)
		}
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
	out := logs.String()
	require.Contains(t, out, "level=DEBUG", "a missing header is routine")
	require.Contains(t, out, "expired_by=1h30m0s", "how far past the maximum age")
	require.Contains(t, out, "level=WARN", "a wrong hash is worth a warning")
	require.Contains(t, out, "hash invalid")
	require.Contains(t, out, "malformed")
	for _, secret := range []string{testToken, "123:other", expired[:30], wrong[len(wrong)-64:], "279058397"} {
		require.NotContains(t, out, secret, "logs never carry the token or the data")
	}
}

func TestPublicReason(t *testing.T) {
	require.Equal(t, "missing", PublicReason(ErrMissing))
	require.Equal(t, "expired", PublicReason(fmtWrap(ErrExpired)))
	require.Equal(t, "invalid", PublicReason(ErrHashInvalid))
	require.Equal(t, "invalid", PublicReason(errors.New("other")))
}

func fmtWrap(err error) error { return &reason{err, "x"} }

func TestUserIDChatID(t *testing.T) {
	var d InitData
	_, ok := d.UserID()
	require.False(t, ok)
	_, ok = d.ChatID()
	require.False(t, ok)
	d = InitData{User: &User{ID: 7}, Chat: &Chat{ID: -100}}
	id, ok := d.UserID()
	require.True(t, ok)
	require.Equal(t, int64(7), id)
	id, ok = d.ChatID()
	require.True(t, ok)
	require.Equal(t, int64(-100), id)
}
