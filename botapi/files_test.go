package botapi

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDownloadFile(t *testing.T) {
	c, mux := setup(t)
	content := strings.Repeat("0123456789", 100_000) // 1 MB
	mux.HandleFunc("POST /getFile", func(w http.ResponseWriter, r *http.Request) {
		var p map[string]string
		require.NoError(t, json.NewDecoder(r.Body).Decode(&p))
		assert.Equal(t, map[string]string{"file_id": "BQACAgI"}, p)
		reply(w, 200, `{"ok":true,"result":{"file_id":"BQACAgI","file_unique_id":"u","file_size":1000000,"file_path":"documents/file_1.pdf"}}`)
	})
	mux.HandleFunc("GET /documents/file_1.pdf", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, content)
	})
	var buf bytes.Buffer
	n, err := c.DownloadFile(t.Context(), "BQACAgI", &buf)
	require.NoError(t, err)
	assert.Equal(t, int64(len(content)), n)
	assert.Equal(t, content, buf.String())
}

func TestDownloadFileErrors(t *testing.T) {
	c, mux := setup(t, WithRetry(RetryPolicy{MaxAttempts: 1}))
	mux.HandleFunc("POST /getFile", func(w http.ResponseWriter, r *http.Request) {
		var p map[string]string
		json.NewDecoder(r.Body).Decode(&p)
		switch p["file_id"] {
		case "big":
			reply(w, 400, `{"ok":false,"error_code":400,"description":"Bad Request: file is too big"}`)
		case "nopath":
			reply(w, 200, `{"ok":true,"result":{"file_id":"nopath"}}`)
		default:
			reply(w, 200, `{"ok":true,"result":{"file_id":"gone","file_path":"photos/gone.jpg"}}`)
		}
	})
	mux.HandleFunc("GET /photos/gone.jpg", func(w http.ResponseWriter, r *http.Request) {
		reply(w, 404, `{"ok":false,"error_code":404,"description":"Not Found"}`)
	})
	_, err := c.DownloadFile(t.Context(), "big", io.Discard)
	require.ErrorIs(t, err, ErrBadRequest)
	_, err = c.DownloadFile(t.Context(), "nopath", io.Discard)
	require.ErrorIs(t, err, ErrInvalidResponse)
	_, err = c.DownloadFile(t.Context(), "gone", io.Discard)
	require.ErrorIs(t, err, ErrNotFound)
	var e *Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, "downloadFile", e.Method)
}

// TestDownloadFileBoundedBySize checks that a download never writes more
// than the file_size getFile stated, whatever the file server sends.
func TestDownloadFileBoundedBySize(t *testing.T) {
	c, mux := setup(t)
	mux.HandleFunc("POST /getFile", func(w http.ResponseWriter, r *http.Request) {
		reply(w, 200, `{"ok":true,"result":{"file_id":"f","file_unique_id":"u","file_size":4,"file_path":"docs/a.txt"}}`)
	})
	mux.HandleFunc("GET /docs/a.txt", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "abcdefghij")
	})
	var buf bytes.Buffer
	n, err := c.DownloadFile(t.Context(), "f", &buf)
	require.ErrorIs(t, err, ErrInvalidResponse)
	assert.Equal(t, int64(4), n)
	assert.Equal(t, "abcd", buf.String())
	var e *Error
	require.ErrorAs(t, err, &e)
	assert.Zero(t, e.Code, "an invalid 200 answer has Code 0, as ErrInvalidResponse's doc says")
}

// A download that ends cleanly before the file_size getFile stated (a
// chunked body cut short by a proxy) is an error, not a short file. Before
// the fix DownloadFile returned 3 bytes of a 10-byte file and no error.
func TestDownloadFileShorterThanSize(t *testing.T) {
	c, mux := setup(t)
	mux.HandleFunc("POST /getFile", func(w http.ResponseWriter, r *http.Request) {
		reply(w, 200, `{"ok":true,"result":{"file_id":"f","file_unique_id":"u","file_size":10,"file_path":"docs/a.txt"}}`)
	})
	mux.HandleFunc("GET /docs/a.txt", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "abc")
		w.(http.Flusher).Flush() // chunked: the body ends cleanly after 3 bytes
	})
	var buf bytes.Buffer
	n, err := c.DownloadFile(t.Context(), "f", &buf)
	require.ErrorIs(t, err, ErrInvalidResponse)
	assert.Equal(t, int64(3), n)
	var e *Error
	require.ErrorAs(t, err, &e)
	assert.Zero(t, e.Code, "an invalid 200 answer has Code 0, as ErrInvalidResponse's doc says")
}

func TestFileURL(t *testing.T) {
	c := New("1:x", WithBaseURL("http://localhost:8081/"))
	assert.Equal(t, "http://localhost:8081/file/bot1:x/photos/a.jpg", c.FileURL("photos/a.jpg"))
	assert.Equal(t, "http://localhost:8081/file/bot1:x/photos/a.jpg", c.FileURL("/photos/a.jpg"))
}
