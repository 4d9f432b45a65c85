package httpjson

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDecode(t *testing.T) {
	type req struct {
		ID string `json:"id"`
	}
	tests := []struct {
		name, ctype, body string
		status            int
	}{
		{"ok", "application/json", `{"id":"a"}`, 0},
		{"ok with charset and space", "application/json; charset=utf-8", " {\"id\":\"a\"}\n", 0},
		{"no content type", "", `{"id":"a"}`, 0},
		{"form", "application/x-www-form-urlencoded", `{"id":"a"}`, 415},
		{"unknown field", "application/json", `{"id":"a","x":1}`, 400},
		{"two values", "application/json", `{"id":"a"}{"id":"b"}`, 400},
		{"trailing garbage", "application/json", `{"id":"a"} x`, 400},
		{"not JSON", "application/json", `id=a`, 400},
		{"wrong type", "application/json", `{"id":1}`, 400},
		{"empty", "application/json", ``, 400},
		{"oversize valid JSON", "application/json", `{"id":"` + strings.Repeat("a", 100) + `"}`, 413},
		{"oversize garbage", "application/json", strings.Repeat("x", 100), 413},
		{"oversize after a value", "application/json", `{"id":"a"}` + strings.Repeat(" ", 100), 413},
	}
	var oversize string
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(tt.body))
			if tt.ctype != "" {
				r.Header.Set("Content-Type", tt.ctype)
			}
			w := httptest.NewRecorder()
			var v req
			ok := Decode(w, r, 64, &v)
			if tt.status == 0 {
				require.True(t, ok, w.Body.String())
				require.Equal(t, "a", v.ID)
				return
			}
			require.False(t, ok)
			require.Equal(t, tt.status, w.Code)
			require.Equal(t, "application/problem+json", w.Header().Get("Content-Type"))
			if tt.status == 413 {
				if oversize == "" {
					oversize = w.Body.String()
				}
				require.Equal(t, oversize, w.Body.String(), "the same answer for every oversize body")
			}
		})
	}
}

func TestProblems(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /a", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("a")) })
	mux.HandleFunc("POST /a", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("a")) })
	h := Problems(mux)
	for _, tc := range []struct {
		method, path string
		status       int
		allow        string
	}{
		{"GET", "/a", 200, ""},
		{"DELETE", "/a", 405, "GET, HEAD, POST"},
		{"GET", "/nope", 404, ""},
		{"GET", "//a", 0, ""}, // the mux's redirect to the clean path stays
	} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(tc.method, tc.path, nil))
		if tc.status == 0 {
			require.Equal(t, 3, w.Code/100, "a redirect for %s", tc.path)
			require.Equal(t, "/a", w.Header().Get("Location"))
			continue
		}
		require.Equal(t, tc.status, w.Code, tc.path)
		if tc.status >= 400 {
			require.Equal(t, "application/problem+json", w.Header().Get("Content-Type"))
			require.Contains(t, w.Body.String(), `"status":`)
			require.Equal(t, tc.allow, w.Header().Get("Allow"))
		}
	}
}

// FuzzDecode sends arbitrary bodies: the answer is success with the value
// set, or a problem with a status from the documented set. Run it longer
// with
//
//	go test -run '^$' -fuzz '^FuzzDecode$' -fuzztime 1m ./internal/httpjson
func FuzzDecode(f *testing.F) {
	for _, s := range []string{`{"id":"a"}`, `{"id":"a"} `, `{"id":"a","x":1}`, `{"id":1}`, `[]`, ``, `{"id":"a"}{}`, strings.Repeat(" ", 70)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		var v struct {
			ID string `json:"id"`
		}
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		if Decode(w, r, 64, &v) {
			if len(body) > 64 {
				t.Fatalf("accepted a %d-byte body over the 64-byte limit", len(body))
			}
			return
		}
		switch w.Code {
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
		default:
			t.Fatalf("body %q: status %d", body, w.Code)
		}
		if w.Header().Get("Content-Type") != "application/problem+json" {
			t.Fatalf("body %q: answered as %q", body, w.Header().Get("Content-Type"))
		}
		if (len(body) > 64) != (w.Code == http.StatusRequestEntityTooLarge) {
			t.Fatalf("body of %d bytes: status %d", len(body), w.Code)
		}
	})
}
