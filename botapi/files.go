package botapi

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// FileURL returns the URL to download a file from, given the file_path of a
// [File] that getFile returned. The URL holds the bot token, as Telegram
// designs it: never log it, and never hand it to a user's browser; stream the
// file through your backend with [Client.DownloadFile] instead.
//
// Telegram docs: https://core.telegram.org/bots/api#getfile
func (c *Client) FileURL(filePath string) string {
	p := c.key().base + "/file/bot" + c.key().token + "/"
	if strings.HasSuffix(c.key().prefix, "/test/") {
		p += "test/"
	}
	return p + strings.TrimPrefix(filePath, "/")
}

// DownloadFile calls getFile for fileID, then streams the file's content to
// w without buffering it whole, and returns the number of bytes written.
// Telegram's cloud server lets bots download files of up to 20 MB. When
// getFile states the file's size, the download is bounded by it: a longer
// body fails with [ErrInvalidResponse] after writing file_size bytes, and
// so does a shorter one after writing what came. The download itself is
// not retried (w may have received part of the file); getFile is retried
// like any call.
//
// Telegram docs: https://core.telegram.org/bots/api#getfile
func (c *Client) DownloadFile(ctx context.Context, fileID string, w io.Writer) (int64, error) {
	var f *struct {
		FilePath string `json:"file_path"`
		FileSize int64  `json:"file_size"`
	}
	if err := c.do(ctx, "getFile", map[string]any{"file_id": fileID}, &f); err != nil {
		return 0, err
	}
	if f == nil || f.FilePath == "" {
		return 0, &Error{Method: "getFile", err: ErrInvalidResponse, Description: "no file_path in the answer"}
	}
	const method = "downloadFile"
	if c.err != nil {
		return 0, fmt.Errorf("botapi: %s: %w", method, c.err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.FileURL(f.FilePath), nil)
	if err != nil {
		return 0, &netError{method: method, err: c.redact(err)}
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return 0, fmt.Errorf("botapi: %s: %w", method, ctxErr)
		}
		return 0, &netError{method: method, err: c.redact(err)}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		data, err := io.ReadAll(io.LimitReader(resp.Body, MaxErrorBodySize))
		if err != nil {
			if ctxErr := ctx.Err(); ctxErr != nil {
				return 0, fmt.Errorf("botapi: %s: %w", method, ctxErr)
			}
			return 0, &netError{method: method, err: c.redact(err), status: resp.StatusCode}
		}
		err = c.decodeRedacted(method, resp.StatusCode, resp.Header.Get("Content-Type"), data, nil)
		if err == nil { // ok:true with a non-200 status
			err = &Error{Method: method, Code: resp.StatusCode, Description: http.StatusText(resp.StatusCode)}
		}
		return 0, err
	}
	var body io.Reader = resp.Body
	if f.FileSize > 0 {
		body = io.LimitReader(resp.Body, f.FileSize)
	}
	n, err := io.Copy(w, body)
	if err == nil && f.FileSize > 0 {
		if n < f.FileSize {
			return n, &Error{Method: method, err: ErrInvalidResponse,
				Description: fmt.Sprintf("file of %d bytes ended after %d", f.FileSize, n)}
		}
		var probe [1]byte
		if k, _ := io.ReadFull(resp.Body, probe[:]); k > 0 {
			return n, &Error{Method: method, err: ErrInvalidResponse,
				Description: fmt.Sprintf("file longer than the %d bytes getFile stated", f.FileSize)}
		}
	}
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return n, fmt.Errorf("botapi: %s: %w", method, ctxErr)
		}
		return n, fmt.Errorf("botapi: %s: after %d bytes: %w", method, n, c.redact(err))
	}
	return n, nil
}
