package webhook

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/miniappkit/miniappkit/botapi"
	"github.com/stretchr/testify/require"
)

// setup returns a client pointed at a fake Bot API that records the
// setWebhook parameters it receives.
func setupRegister(t *testing.T) (*botapi.Client, *map[string]any, *int) {
	t.Helper()
	got := map[string]any{}
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		require.True(t, strings.HasSuffix(r.URL.Path, "/setWebhook"), r.URL.Path)
		b, err := io.ReadAll(r.Body)
		require.NoError(t, err)
		got = map[string]any{}
		require.NoError(t, json.Unmarshal(b, &got))
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"ok":true,"result":true}`)
	}))
	t.Cleanup(srv.Close)
	return botapi.New("123:ABC", botapi.WithBaseURL(srv.URL)), &got, &calls
}

func TestRegister(t *testing.T) {
	client, got, calls := setupRegister(t)
	tok := NewSecretToken()
	err := Register(t.Context(), client, "https://example.com/hook", tok, &RegisterOptions{
		AllowedUpdates:     []string{"message", "callback_query"},
		MaxConnections:     10,
		DropPendingUpdates: true,
	})
	require.NoError(t, err)
	require.Equal(t, 1, *calls)
	require.Equal(t, map[string]any{
		"url":                  "https://example.com/hook",
		"secret_token":         tok,
		"allowed_updates":      []any{"message", "callback_query"},
		"max_connections":      float64(10),
		"drop_pending_updates": true,
	}, *got)

	require.NoError(t, Register(t.Context(), client, "https://example.com/hook", tok, nil))
	require.Equal(t, map[string]any{"url": "https://example.com/hook", "secret_token": tok}, *got)

	// An empty, non-nil list is sent as [] (every default kind); nil is omitted.
	require.NoError(t, Register(t.Context(), client, "https://example.com/hook", tok, &RegisterOptions{AllowedUpdates: []string{}}))
	require.Equal(t, map[string]any{"url": "https://example.com/hook", "secret_token": tok, "allowed_updates": []any{}}, *got)

	// Every port Telegram delivers to is accepted.
	for _, port := range webhookPorts {
		u := "https://example.com:" + port + "/hook"
		require.NoError(t, Register(t.Context(), client, u, tok, nil))
		require.Equal(t, u, (*got)["url"])
	}
}

func TestRegisterRejectsBeforeCalling(t *testing.T) {
	client, _, calls := setupRegister(t)
	for _, tc := range []struct {
		name, url, token string
		opts             *RegisterOptions
		want             error
	}{
		{"empty token", "https://e.com/h", "", nil, ErrInvalidSecretToken},
		{"bad charset", "https://e.com/h", "abc=", nil, ErrInvalidSecretToken},
		{"too long", "https://e.com/h", strings.Repeat("a", MaxSecretTokenLen+1), nil, ErrInvalidSecretToken},
		{"http url", "http://e.com/h", "tok", nil, nil},
		{"relative url", "/h", "tok", nil, nil},
		{"unsupported port", "https://e.com:8080/h", "tok", nil, nil},
		{"max connections", "https://e.com/h", "tok", &RegisterOptions{MaxConnections: 101}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Register(t.Context(), client, tc.url, tc.token, tc.opts)
			require.Error(t, err)
			if tc.want != nil {
				require.ErrorIs(t, err, tc.want)
			}
			if tc.token != "" {
				require.NotContains(t, err.Error(), tc.token, "the token never appears in an error")
			}
		})
	}
	require.Zero(t, *calls, "nothing reached Telegram")
	require.Error(t, Register(t.Context(), nil, "https://e.com/h", "tok", nil))
}

func TestNewSecretToken(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		tok := NewSecretToken()
		require.NoError(t, CheckSecretToken(tok))
		require.Len(t, tok, 64)
		require.False(t, seen[tok])
		seen[tok] = true
	}
	require.NoError(t, CheckSecretToken(strings.Repeat("a", MaxSecretTokenLen)))
	require.ErrorIs(t, CheckSecretToken(strings.Repeat("a", MaxSecretTokenLen+1)), ErrInvalidSecretToken)
}
