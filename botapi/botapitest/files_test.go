package botapitest

import (
	"io"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestGetFileDownload(t *testing.T) {
	srv := setup(t)
	ann := srv.NewUser("Ann")
	var m message
	callMultipart(t, srv, "sendDocument", map[string]string{"chat_id": jsonInt(ann.ID)}, map[string]string{"document": "hello, file"}).decode(t, &m)
	var f struct {
		FileID   string `json:"file_id"`
		FileSize int64  `json:"file_size"`
		FilePath string `json:"file_path"`
	}
	callJSON(t, srv, "getFile", map[string]any{"file_id": m.Document.FileID}).decode(t, &f)
	require.Equal(t, m.Document.FileID, f.FileID)
	require.Equal(t, int64(11), f.FileSize)
	require.NotEmpty(t, f.FilePath)

	resp, err := srv.HTTPClient().Get(srv.URL() + "/file/bot" + srv.Token() + "/" + f.FilePath)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "hello, file", string(body))

	resp, err = srv.HTTPClient().Get(srv.URL() + "/file/bot1:wrong/" + f.FilePath)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNotFound, resp.StatusCode, "the token guards downloads")

	requireError(t, callJSON(t, srv, "getFile", map[string]any{"file_id": "nope"}), 400, "Bad Request: invalid file_id")
	requireError(t, callJSON(t, srv, "getFile", map[string]any{}), 400, "Bad Request: file_id not specified")
}

func TestFileStoreBounded(t *testing.T) {
	fs := newFileStore(3, 10)
	for i, size := range []int{4, 4, 4, 1} {
		fs.add(&storedFile{id: string(rune('a' + i)), kind: "document", data: make([]byte, size)})
	}
	require.Nil(t, fs.byID["a"], "over 10 bytes: the oldest goes")
	require.NotNil(t, fs.byID["d"])
	require.LessOrEqual(t, fs.bytes, int64(10))
	require.LessOrEqual(t, len(fs.byID), 3)
	require.Equal(t, len(fs.byID), len(fs.byPath))
}
