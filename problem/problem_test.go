package problem

import (
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWriteDefaults(t *testing.T) {
	tests := []struct {
		name string
		in   Details
		want string
		code int
	}{
		{"zero", Details{}, `{"type":"about:blank","title":"Internal Server Error","status":500}`, 500},
		{"status only", Details{Status: 404}, `{"type":"about:blank","title":"Not Found","status":404}`, 404},
		{"everything", Details{
			Type: "https://example.com/probs/out-of-credit", Title: "You do not have enough credit.",
			Status: 403, Detail: "Your balance is 30.", Instance: "/account/12345/msgs/abc",
			Extensions: map[string]any{"balance": 30, "accounts": []string{"/account/12345"}},
		}, `{"type":"https://example.com/probs/out-of-credit","title":"You do not have enough credit.","status":403,"detail":"Your balance is 30.","instance":"/account/12345/msgs/abc","accounts":["/account/12345"],"balance":30}`, 403},
		{"extension cannot shadow a standard member", Details{Status: 400, Extensions: map[string]any{"status": 200, "title": "x", "reason": "missing"}},
			`{"type":"about:blank","title":"Bad Request","status":400,"reason":"missing"}`, 400},
		{"unencodable extension is dropped", Details{Status: 400, Extensions: map[string]any{"bad": math.Inf(1)}},
			`{"type":"about:blank","title":"Bad Request","status":400}`, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			rec.Header().Set("Cache-Control", "no-store")
			rec.Header().Set("Content-Encoding", "gzip")
			Write(rec, tt.in)
			assert.Equal(t, tt.code, rec.Code)
			assert.Equal(t, ContentType, rec.Header().Get("Content-Type"))
			assert.Equal(t, "nosniff", rec.Header().Get("X-Content-Type-Options"))
			assert.Equal(t, "no-store", rec.Header().Get("Cache-Control"), "caller's headers stay")
			assert.Empty(t, rec.Header().Get("Content-Encoding"))
			assert.Equal(t, tt.want+"\n", rec.Body.String())
			assert.Equal(t, rec.Body.Len(), mustAtoi(t, rec.Header().Get("Content-Length")))
		})
	}
}

func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	require.NoError(t, err)
	return n
}

func TestError(t *testing.T) {
	rec := httptest.NewRecorder()
	Error(rec, http.StatusMethodNotAllowed, "use POST")
	assert.Equal(t, 405, rec.Code)
	assert.JSONEq(t, `{"type":"about:blank","title":"Method Not Allowed","status":405,"detail":"use POST"}`, rec.Body.String())
}

func TestRoundTrip(t *testing.T) {
	in := Details{Type: "https://example.com/t", Title: "T", Status: 401, Detail: "d", Instance: "/i",
		Extensions: map[string]any{"reason": "expired", "n": 2.0}}
	b, err := json.Marshal(in)
	require.NoError(t, err)
	var out Details
	require.NoError(t, json.Unmarshal(b, &out))
	assert.Equal(t, in, out)
}

func TestUnmarshalLenient(t *testing.T) {
	var p Details
	// RFC 9457 3.1: a member of the wrong type is ignored.
	require.NoError(t, json.Unmarshal([]byte(`{"status":"401","title":7,"detail":"x"}`), &p))
	assert.Equal(t, Details{Detail: "x"}, p)
	require.Error(t, json.Unmarshal([]byte(`null`), &p))
	require.Error(t, json.Unmarshal([]byte(`[1]`), &p))
}

// A status that net/http cannot write (a problem decoded from an upstream
// answer may carry any number) is answered 500, keeping the detail.
// Before the fix Write panicked in WriteHeader ("invalid WriteHeader
// code"), so a handler relaying a third party's problem crashed on it.
func TestWriteInvalidStatus(t *testing.T) {
	for _, status := range []int{-1, 42, 99, 1000, math.MaxInt32} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			rec := httptest.NewRecorder()
			require.NotPanics(t, func() { Write(rec, Details{Status: status, Detail: "upstream said so"}) })
			assert.Equal(t, http.StatusInternalServerError, rec.Code)
			var got Details
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &got))
			assert.Equal(t, http.StatusInternalServerError, got.Status)
			assert.Equal(t, "upstream said so", got.Detail)
		})
	}
}
