package botapitest

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// setup gives a fresh server closed at the end of the test.
func setup(t *testing.T, opts ...Option) *Server {
	t.Helper()
	srv := NewServer(opts...)
	t.Cleanup(srv.Close)
	return srv
}

// answer is a decoded Bot API answer plus its HTTP status and headers.
type answer struct {
	OK          bool            `json:"ok"`
	Result      json.RawMessage `json:"result"`
	ErrorCode   int             `json:"error_code"`
	Description string          `json:"description"`
	Parameters  *responseParams `json:"parameters"`
	status      int
	header      http.Header
}

func (a answer) decode(t *testing.T, v any) {
	t.Helper()
	require.True(t, a.OK, "call failed: %d %s", a.ErrorCode, a.Description)
	require.NoError(t, json.Unmarshal(a.Result, v))
}

func do(t *testing.T, srv *Server, req *http.Request) answer {
	t.Helper()
	resp, err := srv.HTTPClient().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var a answer
	require.NoError(t, json.Unmarshal(b, &a), "body %q", b)
	a.status, a.header = resp.StatusCode, resp.Header
	return a
}

func methodURL(srv *Server, method string) string {
	return srv.URL() + "/bot" + srv.Token() + "/" + method
}

// callJSON posts params as a JSON body.
func callJSON(t *testing.T, srv *Server, method string, params any) answer {
	t.Helper()
	b, err := json.Marshal(params)
	require.NoError(t, err)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, methodURL(srv, method), bytes.NewReader(b))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	return do(t, srv, req)
}

// callForm posts params as application/x-www-form-urlencoded.
func callForm(t *testing.T, srv *Server, method string, params url.Values) answer {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, methodURL(srv, method), strings.NewReader(params.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return do(t, srv, req)
}

// callGet sends params in the query string of a GET.
func callGet(t *testing.T, srv *Server, method string, params url.Values) answer {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, methodURL(srv, method)+"?"+params.Encode(), nil)
	require.NoError(t, err)
	return do(t, srv, req)
}

// callMultipart uploads files (field name to content) with fields.
func callMultipart(t *testing.T, srv *Server, method string, fields map[string]string, files map[string]string) answer {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range fields {
		require.NoError(t, mw.WriteField(k, v))
	}
	for field, content := range files {
		fw, err := mw.CreateFormFile(field, field+".bin")
		require.NoError(t, err)
		_, err = io.WriteString(fw, content)
		require.NoError(t, err)
	}
	require.NoError(t, mw.Close())
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, methodURL(srv, method), &body)
	require.NoError(t, err)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return do(t, srv, req)
}

// requireError checks a failed answer against Telegram's code and text.
func requireError(t *testing.T, a answer, code int, description string) {
	t.Helper()
	require.False(t, a.OK)
	require.Equal(t, code, a.status)
	require.Equal(t, code, a.ErrorCode)
	require.Equal(t, description, a.Description)
	require.Nil(t, a.Result)
}

type update struct {
	UpdateID         int64              `json:"update_id"`
	Message          *message           `json:"message"`
	CallbackQuery    *callbackQuery     `json:"callback_query"`
	PreCheckoutQuery *preCheckoutQuery  `json:"pre_checkout_query"`
	MyChatMember     *chatMemberUpdated `json:"my_chat_member"`
}

func pollUpdates(t *testing.T, srv *Server, params map[string]any) []update {
	t.Helper()
	var ups []update
	callJSON(t, srv, "getUpdates", params).decode(t, &ups)
	return ups
}

// updateKindsOf polls the pending updates and returns their kinds.
func updateKindsOf(t *testing.T, srv *Server) []string {
	t.Helper()
	var ups []map[string]json.RawMessage
	callJSON(t, srv, "getUpdates", map[string]any{}).decode(t, &ups)
	var kinds []string
	for _, u := range ups {
		for k := range u {
			if k != "update_id" {
				kinds = append(kinds, k)
			}
		}
	}
	return kinds
}
