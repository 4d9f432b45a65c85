package botapi

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// parseResponse reads one response (head and body) the way Transport does,
// from raw bytes.
func parseResponse(raw, method string) (*http.Response, []byte, error) {
	br := bufio.NewReaderSize(strings.NewReader(raw), 64)
	var sc wireScratch
	resp := &http.Response{}
	head, err := readResponseHead(br, &sc, method, resp)
	if err != nil {
		return nil, nil, err
	}
	var body io.Reader
	switch head.framing {
	case framingNone:
		body = http.NoBody
	case framingLength:
		body = io.LimitReader(br, head.length)
	case framingChunked:
		body = &chunkedReader{br: br, sc: &sc}
	case framingClose:
		body = br
	}
	b, err := io.ReadAll(body)
	if head.framing == framingLength && err == nil && int64(len(b)) < head.length {
		err = io.ErrUnexpectedEOF
	}
	return resp, b, err
}

func TestReadResponseHead(t *testing.T) {
	long := strings.Repeat("v", 300) // longer than the test reader's 64-byte buffer
	tests := []struct {
		name, raw, method string
		status            int
		statusText        string
		header            http.Header
		length            int64
		close             bool
		te                []string
		body              string
	}{
		{name: "content-length", raw: "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\nDate: x\r\n\r\n{}",
			status: 200, statusText: "200 OK", length: 2, body: "{}",
			header: http.Header{"Content-Type": {"application/json"}, "Content-Length": {"2"}, "Date": {"x"}}},
		{name: "keys canonicalised, values trimmed, repeated fields kept", raw: "HTTP/1.1 429 Too Many Requests\r\ncontent-length:  1 \r\nRETRY-AFTER:\t3\r\nx-a: 1\r\nX-A: 2\r\n\r\n!",
			status: 429, statusText: "429 Too Many Requests", length: 1, body: "!",
			header: http.Header{"Content-Length": {"1"}, "Retry-After": {"3"}, "X-A": {"1", "2"}}},
		{name: "bare LF line endings", raw: "HTTP/1.1 200 OK\nContent-Length: 1\n\nz",
			status: 200, statusText: "200 OK", length: 1, body: "z", header: http.Header{"Content-Length": {"1"}}},
		{name: "no reason phrase", raw: "HTTP/1.1 204\r\n\r\n",
			status: 204, statusText: "204", header: http.Header{}},
		{name: "a line longer than the buffer", raw: "HTTP/1.1 200 OK\r\nX-Long: " + long + "\r\nContent-Length: 0\r\n\r\n",
			status: 200, statusText: "200 OK", header: http.Header{"X-Long": {long}, "Content-Length": {"0"}}},
		{name: "chunked with extensions and trailer", raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 99\r\n\r\n" +
			"3;ext=1\r\nabc\r\nA\r\n0123456789\r\n0\r\nX-Trailer: t\r\n\r\n",
			status: 200, statusText: "200 OK", length: -1, te: []string{"chunked"}, body: "abc0123456789", header: http.Header{}},
		{name: "until close", raw: "HTTP/1.1 200 OK\r\n\r\nall of it",
			status: 200, statusText: "200 OK", length: -1, close: true, body: "all of it", header: http.Header{}},
		{name: "connection close", raw: "HTTP/1.1 200 OK\r\nConnection: keep-alive, Close\r\nContent-Length: 0\r\n\r\n",
			status: 200, statusText: "200 OK", close: true, header: http.Header{"Connection": {"keep-alive, Close"}, "Content-Length": {"0"}}},
		{name: "HTTP/1.0 closes", raw: "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx",
			status: 200, statusText: "200 OK", length: 1, close: true, body: "x", header: http.Header{"Content-Length": {"1"}}},
		{name: "HTTP/1.0 keep-alive", raw: "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\nx",
			status: 200, statusText: "200 OK", length: 1, body: "x", header: http.Header{"Connection": {"keep-alive"}, "Content-Length": {"1"}}},
		{name: "HEAD keeps Content-Length, has no body", method: http.MethodHead, raw: "HTTP/1.1 200 OK\r\nContent-Length: 512\r\n\r\n",
			status: 200, statusText: "200 OK", length: 512, header: http.Header{"Content-Length": {"512"}}},
		{name: "304 has no body", raw: "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n",
			status: 304, statusText: "304 Not Modified", header: http.Header{"Content-Length": {"10"}}},
		{name: "1xx has no body", raw: "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n",
			status: 103, statusText: "103 Early Hints", header: http.Header{"Link": {"</a>"}}},
		{name: "same Content-Length twice", raw: "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx",
			status: 200, statusText: "200 OK", length: 1, body: "x", header: http.Header{"Content-Length": {"1", "1"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body, err := parseResponse(tt.raw, tt.method)
			require.NoError(t, err)
			assert.Equal(t, tt.status, resp.StatusCode)
			assert.Equal(t, tt.statusText, resp.Status)
			assert.Equal(t, tt.header, resp.Header)
			assert.Equal(t, tt.length, resp.ContentLength)
			assert.Equal(t, tt.close, resp.Close)
			assert.Equal(t, tt.te, resp.TransferEncoding)
			assert.Equal(t, tt.body, string(body))
			assert.Equal(t, 1, resp.ProtoMajor)
		})
	}
}

func TestReadResponseHeadMalformed(t *testing.T) {
	tests := []struct{ name, raw string }{
		{"not HTTP", "<html>hello</html>\r\n\r\n"},
		{"HTTP/2 status line", "HTTP/2 200 OK\r\n\r\n"},
		{"HTTP/1.2", "HTTP/1.2 200 OK\r\n\r\n"},
		{"short status code", "HTTP/1.1 20 OK\r\n\r\n"},
		{"letters in status code", "HTTP/1.1 2x0 OK\r\n\r\n"},
		{"status code below 100", "HTTP/1.1 099 Odd\r\n\r\n"},
		{"no space after status code", "HTTP/1.1 200OK\r\n\r\n"},
		{"control character in status line", "HTTP/1.1 200 O\x00K\r\n\r\n"},
		{"header without colon", "HTTP/1.1 200 OK\r\nNoColon\r\n\r\n"},
		{"empty field name", "HTTP/1.1 200 OK\r\n: v\r\n\r\n"},
		{"space before colon", "HTTP/1.1 200 OK\r\nContent-Length : 1\r\n\r\nx"},
		{"obsolete line folding", "HTTP/1.1 200 OK\r\nX-A: 1\r\n 2\r\n\r\n"},
		{"control character in value", "HTTP/1.1 200 OK\r\nX-A: a\x01b\r\n\r\n"},
		{"CR inside a value", "HTTP/1.1 200 OK\r\nX-A: a\rb\r\n\r\n"},
		{"negative Content-Length", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n"},
		{"signed Content-Length", "HTTP/1.1 200 OK\r\nContent-Length: +1\r\n\r\nx"},
		{"overflowing Content-Length", "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n"},
		{"conflicting Content-Length", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxy"},
		{"listed Content-Length", "HTTP/1.1 200 OK\r\nContent-Length: 1, 1\r\n\r\nx"},
		{"gzip transfer coding", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"},
		{"chunked on HTTP/1.0", "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"},
		{"head too long", "HTTP/1.1 200 OK\r\n" + strings.Repeat("X-Pad: "+strings.Repeat("p", 100)+"\r\n", MaxResponseHeadSize/100) + "\r\n"},
		{"one line too long", "HTTP/1.1 200 OK\r\nX-Pad: " + strings.Repeat("p", MaxResponseHeadSize) + "\r\n\r\n"},
		{"bad chunk size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"},
		{"empty chunk size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\n"},
		{"huge chunk size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1000000000000000\r\n"},
		{"chunk size line too long", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;" + strings.Repeat("e", maxChunkLineSize) + "\r\nx\r\n0\r\n\r\n"},
		{"chunk without CRLF after its data", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nxy\r\n0\r\n\r\n"},
		{"trailer too long", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-T: " + strings.Repeat("t", MaxResponseHeadSize) + "\r\n\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := parseResponse(tt.raw, http.MethodPost)
			require.ErrorIs(t, err, ErrResponseHead)
			assert.NotContains(t, err.Error(), "pppp", "the error quotes no input")
		})
	}
}

func TestReadResponseTruncated(t *testing.T) {
	for _, raw := range []string{
		"",
		"HTTP/1.1 200 OK",
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n",
	} {
		_, _, err := parseResponse(raw, http.MethodPost)
		require.ErrorIs(t, err, io.ErrUnexpectedEOF, "%q", raw)
	}
}

func TestWriteRequest(t *testing.T) {
	u, err := url.Parse("http://api.example:8081/bot1:x/sendMessage?a=b")
	require.NoError(t, err)
	tests := []struct {
		name   string
		req    *http.Request
		check  func(t *testing.T, r *http.Request, body string)
		header string // must appear in the raw request
	}{
		{name: "JSON POST", req: &http.Request{Method: "POST", URL: u, Host: u.Host, ContentLength: 13,
			Header: http.Header{"Content-Type": {"application/json"}, "X-Multi": {"1", "2"}},
			Body:   io.NopCloser(strings.NewReader(`{"chat_id":1}`))},
			header: "Content-Length: 13\r\n",
			check: func(t *testing.T, r *http.Request, body string) {
				assert.Equal(t, "POST", r.Method)
				assert.Equal(t, "/bot1:x/sendMessage?a=b", r.RequestURI)
				assert.Equal(t, "api.example:8081", r.Host)
				assert.Equal(t, "application/json", r.Header.Get("Content-Type"))
				assert.Equal(t, []string{"1", "2"}, r.Header["X-Multi"])
				assert.Equal(t, "Go-http-client/1.1", r.UserAgent())
				assert.Equal(t, `{"chat_id":1}`, body)
			}},
		{name: "POST without body", req: &http.Request{Method: "POST", URL: u, Header: http.Header{}, Body: http.NoBody},
			header: "Content-Length: 0\r\n",
			check: func(t *testing.T, r *http.Request, body string) {
				assert.Equal(t, int64(0), r.ContentLength)
				assert.Equal(t, "api.example:8081", r.Host, "URL host when Host is empty")
			}},
		{name: "GET, close, own and empty User-Agent", req: &http.Request{URL: u, Close: true,
			Header: http.Header{"User-Agent": {"me"}, "Host": {"ignored"}, "Content-Length": {"9"}}},
			header: "Connection: close\r\n",
			check: func(t *testing.T, r *http.Request, body string) {
				assert.Equal(t, "GET", r.Method)
				assert.Equal(t, "me", r.UserAgent())
				assert.True(t, r.Close)
				assert.Equal(t, "api.example:8081", r.Host)
				assert.Equal(t, int64(0), r.ContentLength)
			}},
		{name: "empty User-Agent sends none", req: &http.Request{URL: u, Header: http.Header{"User-Agent": {""}}},
			check: func(t *testing.T, r *http.Request, body string) {
				_, ok := r.Header["User-Agent"]
				assert.False(t, ok)
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.True(t, canFastWrite(tt.req))
			var out bytes.Buffer
			bw := bufio.NewWriter(&out)
			var lr io.LimitedReader
			require.NoError(t, writeRequest(bw, tt.req, &lr))
			require.NoError(t, bw.Flush())
			assert.Contains(t, out.String(), tt.header)
			r, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(out.Bytes())))
			require.NoError(t, err)
			body, err := io.ReadAll(r.Body)
			require.NoError(t, err)
			tt.check(t, r, string(body))
		})
	}
}

func TestWriteRequestRejects(t *testing.T) {
	u, err := url.Parse("http://api.example/x")
	require.NoError(t, err)
	body := func(s string) io.ReadCloser { return io.NopCloser(strings.NewReader(s)) }
	tests := []struct {
		name string
		req  *http.Request
		want string
	}{
		{"field name with a space", &http.Request{URL: u, Header: http.Header{"X A": {"1"}}}, `invalid header field name "X A"`},
		{"value with CRLF", &http.Request{URL: u, Header: http.Header{"Authorization": {"secret\r\nX-Evil: 1"}}}, `invalid header field value for "Authorization"`},
		{"method with a space", &http.Request{Method: "GE T", URL: u, Header: http.Header{}}, "invalid method"},
		{"short body", &http.Request{Method: "POST", URL: u, Header: http.Header{}, ContentLength: 5, Body: body("abc")}, "ContentLength=5 with Body length 3"},
		{"long body", &http.Request{Method: "POST", URL: u, Header: http.Header{}, ContentLength: 2, Body: body("abc")}, "ContentLength=2 with a longer Body"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var lr io.LimitedReader
			err := writeRequest(bufio.NewWriter(io.Discard), tt.req, &lr)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.NotContains(t, err.Error(), "secret")
		})
	}

	// Requests writeRequest does not frame go through req.Write.
	chunked := &http.Request{Method: "POST", URL: u, Header: http.Header{}, ContentLength: -1, Body: body("x")}
	assert.False(t, canFastWrite(chunked), "unknown length")
	zoned := &http.Request{URL: &url.URL{Scheme: "http", Host: "[fe80::1%25eth0]:80", Path: "/"}}
	assert.False(t, canFastWrite(zoned), "IPv6 zone")
	assert.False(t, canFastWrite(&http.Request{URL: u, TransferEncoding: []string{"chunked"}}))
}

// FuzzReadResponse feeds arbitrary bytes to the response parser of
// Transport: head, framing and body. Parsing must end in a value or an error,
// never a panic; the head read stays within MaxResponseHeadSize; and an
// answer it accepts with a Content-Length is one net/http reads alike.
//
//	go test -run '^$' -fuzz FuzzReadResponse -fuzztime 10s ./botapi
func FuzzReadResponse(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{\"ok\":true}",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n0\r\nT: 1\r\n\r\n",
		"HTTP/1.0 502 Bad Gateway\r\n\r\n<html>502</html>",
		"HTTP/1.1 100 Continue\r\n\r\n",
		"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 3\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffff\r\n",
	} {
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, raw string, head bool) {
		if len(raw) > 1<<20 {
			return
		}
		method := http.MethodPost
		if head {
			method = http.MethodHead
		}
		br := bufio.NewReaderSize(strings.NewReader(raw), 4096)
		var sc wireScratch
		resp := &http.Response{}
		h, err := readResponseHead(br, &sc, method, resp)
		if len(sc.vals) > MaxResponseHeadSize || len(sc.line) > MaxResponseHeadSize+4096 {
			t.Fatalf("scratch grew to %d/%d bytes", len(sc.vals), len(sc.line))
		}
		if err != nil {
			return
		}
		if resp.StatusCode < 100 || resp.StatusCode > 999 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		if h.framing == framingChunked {
			n, _ := io.Copy(io.Discard, &chunkedReader{br: br, sc: &sc})
			if n > int64(len(raw)) {
				t.Fatalf("chunked body of %d bytes from %d bytes of input", n, len(raw))
			}
			return
		}
		if h.framing != framingLength || head {
			return
		}
		nr, err := http.ReadResponse(bufio.NewReader(strings.NewReader(raw)), nil)
		if err != nil {
			t.Fatalf("accepted a head net/http rejects: %v", err)
		}
		nr.Body.Close()
		if nr.StatusCode != resp.StatusCode || nr.ContentLength != resp.ContentLength {
			t.Fatalf("status %d, length %d; net/http: %d, %d", resp.StatusCode, resp.ContentLength, nr.StatusCode, nr.ContentLength)
		}
	})
}

func TestWriteDecimal(t *testing.T) {
	for _, n := range []int64{0, 7, 10, 99, 100, 12345, 1 << 40, 1<<63 - 1} {
		var out bytes.Buffer
		bw := bufio.NewWriter(&out)
		writeDecimal(bw, n)
		require.NoError(t, bw.Flush())
		assert.Equal(t, strconv.FormatInt(n, 10), out.String())
	}
}
