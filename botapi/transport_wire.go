package botapi

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// This file holds the HTTP/1.1 wire format of [Transport]: a request writer
// for the common case (a body of known length, or none) and a response head
// parser with the body framings (Content-Length, chunked, until close).

// MaxResponseHeadSize bounds the status line and header fields of an answer
// read by [Transport]: 64 KiB. A longer head fails the request with
// [ErrResponseHead].
const MaxResponseHeadSize = 64 << 10

// maxChunkLineSize bounds a chunk-size line (with its extensions) of a chunked
// body.
const maxChunkLineSize = 4 << 10

// ErrResponseHead is matched by the error of a [Transport] round trip whose
// answer does not parse as an HTTP/1.x response head (bad status line, header
// field or framing, or a head longer than [MaxResponseHeadSize]), and by the
// read error of a malformed chunked body.
var ErrResponseHead = errors.New("botapi: transport: malformed HTTP response")

// headErr is a parse failure of a response head or body framing; it wraps
// ErrResponseHead. Its text quotes no input, so no header value (a cookie)
// reaches an error.
func headErr(what string) error {
	return fmt.Errorf("%w: %s", ErrResponseHead, what)
}

// headField is one parsed header field: its canonical key and the bounds of
// its value in persistConn.vals.
type headField struct {
	key        string
	start, end int
}

// wireScratch holds the reusable buffers of one connection's parser.
type wireScratch struct {
	line   []byte      // a line longer than the bufio.Reader's buffer
	vals   []byte      // the header values of the head being read
	fields []headField // the header fields of the head being read
}

// canFastWrite reports whether writeRequest can frame req itself: no
// transfer-encoding or trailer of the caller's, a body of known length (or
// none), and a plain host and path. Other requests go through req.Write.
func canFastWrite(req *http.Request) bool {
	if len(req.TransferEncoding) != 0 || len(req.Trailer) != 0 || req.URL.Opaque != "" {
		return false
	}
	if req.Body != nil && req.Body != http.NoBody && req.ContentLength <= 0 {
		return false // unknown length: chunked, as req.Write does it
	}
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	return host != "" && validHostHeader(host)
}

// validHostHeader reports whether h can be written as a Host header as is:
// printable ASCII without spaces, and no IPv6 zone (which req.Write strips).
func validHostHeader(h string) bool {
	for i := 0; i < len(h); i++ {
		if c := h[i]; c <= ' ' || c >= 0x7f || c == '%' || c == '/' || c == '?' || c == '#' {
			return false
		}
	}
	return true
}

// writeRequest writes req to bw (not flushed) when canFastWrite(req): request
// line, Host, User-Agent, Content-Length, Connection: close when req.Close,
// the caller's header fields (validated: a field name that is not a token or
// a value with a control character fails, naming the field only), then
// exactly ContentLength bytes of the body. It closes req.Body.
func writeRequest(bw *bufio.Writer, req *http.Request, lr *io.LimitedReader) (err error) {
	if req.Body != nil {
		defer func() {
			if cerr := req.Body.Close(); err == nil && cerr != nil {
				err = cerr
			}
		}()
	}
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	if !isToken(method) {
		return fmt.Errorf("botapi: transport: invalid method %q", method)
	}
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	uri := req.URL.RequestURI()
	if strings.ContainsAny(uri, " \r\n") {
		return errors.New("botapi: transport: invalid request URI")
	}
	for k, vs := range req.Header {
		if !isToken(k) {
			return fmt.Errorf("botapi: transport: invalid header field name %q", k)
		}
		for _, v := range vs {
			if !validFieldValue(v) {
				return fmt.Errorf("botapi: transport: invalid header field value for %q", k)
			}
		}
	}
	bw.WriteString(method)
	bw.WriteByte(' ')
	bw.WriteString(uri)
	bw.WriteString(" HTTP/1.1\r\nHost: ")
	bw.WriteString(host)
	ua := "Go-http-client/1.1"
	if vs, ok := req.Header["User-Agent"]; ok {
		ua = ""
		if len(vs) > 0 {
			ua = vs[0]
		}
	}
	if ua != "" {
		bw.WriteString("\r\nUser-Agent: ")
		bw.WriteString(ua)
	}
	hasBody := req.Body != nil && req.Body != http.NoBody
	switch {
	case hasBody:
		bw.WriteString("\r\nContent-Length: ")
		writeDecimal(bw, req.ContentLength)
	case method == http.MethodPost || method == http.MethodPut || method == http.MethodPatch:
		bw.WriteString("\r\nContent-Length: 0")
	}
	if req.Close {
		bw.WriteString("\r\nConnection: close")
	}
	for k, vs := range req.Header {
		switch k {
		case "Host", "User-Agent", "Content-Length", "Transfer-Encoding", "Trailer":
			continue
		}
		for _, v := range vs {
			bw.WriteString("\r\n")
			bw.WriteString(k)
			bw.WriteString(": ")
			bw.WriteString(strings.TrimSpace(v))
		}
	}
	bw.WriteString("\r\n\r\n")
	if !hasBody {
		return nil
	}
	*lr = io.LimitedReader{R: req.Body, N: req.ContentLength}
	n, err := bw.ReadFrom(lr)
	lr.R = nil
	if err != nil {
		return err
	}
	if n != req.ContentLength {
		return fmt.Errorf("botapi: transport: ContentLength=%d with Body length %d", req.ContentLength, n)
	}
	var one [1]byte
	if m, _ := req.Body.Read(one[:]); m > 0 {
		return fmt.Errorf("botapi: transport: ContentLength=%d with a longer Body", req.ContentLength)
	}
	return nil
}

// writeDecimal writes n ≥ 0 in decimal, without the allocation of a
// strconv buffer that escapes into the writer.
func writeDecimal(bw *bufio.Writer, n int64) {
	div := int64(1)
	for n/div >= 10 {
		div *= 10
	}
	for ; div > 0; div /= 10 {
		bw.WriteByte(byte('0' + n/div%10))
	}
}

// isToken reports whether s is a non-empty RFC 9110 token (a method or a
// field name).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isTokenByte(s[i]) {
			return false
		}
	}
	return true
}

func isTokenByte(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// validFieldValue reports whether v holds no control character other than
// horizontal tab.
func validFieldValue[T string | []byte](v T) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// readLine returns the next line of br without its line ending (CRLF or LF),
// joining reads when the line is longer than br's buffer, and fails once a
// line would take the total past *budget bytes. The slice is valid until the
// next read of br or of sc.line.
func readLine(br *bufio.Reader, sc *wireScratch, budget *int) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		sc.line = append(sc.line[:0], line...)
		for err == bufio.ErrBufferFull {
			if len(sc.line) > *budget {
				return nil, headErr("head too long")
			}
			line, err = br.ReadSlice('\n')
			sc.line = append(sc.line, line...)
		}
		line = sc.line
	}
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	if *budget -= len(line); *budget < 0 {
		return nil, headErr("head too long")
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, nil
}

// responseHead is what readResponseHead tells the caller beyond the
// *http.Response: how the body is framed.
type responseHead struct {
	framing bodyFraming
	length  int64 // for framingLength
}

type bodyFraming uint8

const (
	framingNone    bodyFraming = iota // no body
	framingLength                     // Content-Length bytes
	framingChunked                    // chunked transfer coding
	framingClose                      // until the server closes
)

// readResponseHead reads one response head from br: status line and header
// fields, at most MaxResponseHeadSize bytes. It fills resp (Status,
// StatusCode, Proto, Header, ContentLength, TransferEncoding, Close) and
// says how the body is framed; it does not set resp.Body. method is the
// request's (a HEAD answer has no body).
func readResponseHead(br *bufio.Reader, sc *wireScratch, method string, resp *http.Response) (responseHead, error) {
	budget := MaxResponseHeadSize
	line, err := readLine(br, sc, &budget)
	if err != nil {
		return responseHead{}, err
	}
	if err := parseStatusLine(line, resp); err != nil {
		return responseHead{}, err
	}
	sc.vals = sc.vals[:0]
	sc.fields = sc.fields[:0]
	for {
		line, err := readLine(br, sc, &budget)
		if err != nil {
			return responseHead{}, err
		}
		if len(line) == 0 {
			break
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			return responseHead{}, headErr("header line without a field name")
		}
		name, value := line[:colon], trimOWS(line[colon+1:])
		for _, c := range name {
			if !isTokenByte(c) {
				return responseHead{}, headErr("invalid header field name")
			}
		}
		if !validFieldValue(value) {
			return responseHead{}, headErr("invalid header field value")
		}
		start := len(sc.vals)
		sc.vals = append(sc.vals, value...)
		sc.fields = append(sc.fields, headField{key: canonicalKey(name), start: start, end: len(sc.vals)})
	}
	return finishHead(sc, method, resp)
}

// finishHead builds resp.Header from the parsed fields (one string and one
// slice for all values) and decides the body's framing.
func finishHead(sc *wireScratch, method string, resp *http.Response) (responseHead, error) {
	all := string(sc.vals)
	vals := make([]string, len(sc.fields))
	h := make(http.Header, len(sc.fields))
	for i, f := range sc.fields {
		vals[i] = all[f.start:f.end]
		if vs, ok := h[f.key]; ok {
			h[f.key] = append(vs, vals[i])
		} else {
			h[f.key] = vals[i : i+1 : i+1]
		}
	}
	resp.Header = h

	// Connection: close, or HTTP/1.0 without keep-alive.
	keepAlive := false
	for _, v := range h["Connection"] {
		for tok := range strings.SplitSeq(v, ",") {
			switch tok = strings.TrimSpace(tok); {
			case strings.EqualFold(tok, "close"):
				resp.Close = true
			case strings.EqualFold(tok, "keep-alive"):
				keepAlive = true
			}
		}
	}
	if resp.ProtoMinor == 0 && !keepAlive {
		resp.Close = true
	}

	chunked := false
	if tes, ok := h["Transfer-Encoding"]; ok {
		if len(tes) != 1 || !strings.EqualFold(strings.TrimSpace(tes[0]), "chunked") || resp.ProtoMinor == 0 {
			return responseHead{}, headErr("unsupported Transfer-Encoding")
		}
		chunked = true
		delete(h, "Transfer-Encoding")
	}
	length := int64(-1)
	if cls, ok := h["Content-Length"]; ok {
		if chunked {
			delete(h, "Content-Length") // chunked framing wins (RFC 9112 §6.3)
		} else {
			for i, v := range cls {
				n, ok := parseContentLength(v)
				if !ok || i > 0 && n != length {
					return responseHead{}, headErr("invalid Content-Length")
				}
				length = n
			}
		}
	}

	noBody := method == http.MethodHead || resp.StatusCode < 200 ||
		resp.StatusCode == http.StatusNoContent || resp.StatusCode == http.StatusNotModified
	switch {
	case noBody:
		resp.ContentLength = 0
		if method == http.MethodHead && length >= 0 {
			resp.ContentLength = length
		}
		return responseHead{framing: framingNone}, nil
	case chunked:
		resp.ContentLength = -1
		resp.TransferEncoding = []string{"chunked"}
		return responseHead{framing: framingChunked}, nil
	case length == 0:
		resp.ContentLength = 0
		return responseHead{framing: framingNone}, nil
	case length > 0:
		resp.ContentLength = length
		return responseHead{framing: framingLength, length: length}, nil
	}
	resp.ContentLength = -1
	resp.Close = true
	return responseHead{framing: framingClose}, nil
}

// parseStatusLine parses "HTTP/1.x NNN reason" into resp.
func parseStatusLine(line []byte, resp *http.Response) error {
	const prefix = "HTTP/1."
	if len(line) < len(prefix)+5 || string(line[:len(prefix)]) != prefix ||
		line[len(prefix)] != '0' && line[len(prefix)] != '1' || line[len(prefix)+1] != ' ' {
		return headErr("malformed status line")
	}
	resp.ProtoMajor, resp.ProtoMinor = 1, int(line[len(prefix)]-'0')
	resp.Proto = "HTTP/1.1"
	if resp.ProtoMinor == 0 {
		resp.Proto = "HTTP/1.0"
	}
	rest := line[len(prefix)+2:]
	if len(rest) < 3 || len(rest) > 3 && rest[3] != ' ' {
		return headErr("malformed status code")
	}
	code := 0
	for _, c := range rest[:3] {
		if c < '0' || c > '9' {
			return headErr("malformed status code")
		}
		code = code*10 + int(c-'0')
	}
	if code < 100 {
		return headErr("malformed status code")
	}
	if !validFieldValue(rest) {
		return headErr("invalid status line")
	}
	resp.StatusCode = code
	switch string(rest) { // the common answers, without allocating
	case "200 OK":
		resp.Status = "200 OK"
	case "400 Bad Request":
		resp.Status = "400 Bad Request"
	case "429 Too Many Requests":
		resp.Status = "429 Too Many Requests"
	default:
		resp.Status = string(rest)
	}
	return nil
}

// parseContentLength parses a Content-Length value: decimal digits only, at
// most 18 of them.
func parseContentLength(v string) (int64, bool) {
	v = strings.TrimSpace(v)
	if v == "" || len(v) > 18 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return 0, false
		}
		n = n*10 + int64(v[i]-'0')
	}
	return n, true
}

// trimOWS trims spaces and horizontal tabs at both ends of b.
func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// commonKeys are the canonical forms of the header fields an answer usually
// has, so that reading them allocates no key.
var commonKeys = [...]string{
	"Content-Type", "Content-Length", "Date", "Connection", "Transfer-Encoding",
	"Server", "Retry-After", "Keep-Alive", "Content-Encoding", "Cache-Control",
	"Strict-Transport-Security", "Access-Control-Allow-Origin",
	"Access-Control-Expose-Headers", "Access-Control-Allow-Methods",
	"Vary", "Set-Cookie", "Location",
}

// canonicalKey is http.CanonicalHeaderKey of name, without allocating for
// the common keys.
func canonicalKey(name []byte) string {
	for _, k := range commonKeys {
		if len(k) == len(name) && equalFoldASCII(k, name) {
			return k
		}
	}
	return http.CanonicalHeaderKey(string(name))
}

// equalFoldASCII reports whether s and b are equal under ASCII case folding;
// they have the same length.
func equalFoldASCII(s string, b []byte) bool {
	for i := 0; i < len(s); i++ {
		x, y := s[i], b[i]
		if x == y {
			continue
		}
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// chunkedReader decodes a chunked body from br (RFC 9112 §7.1). Chunk
// extensions and trailer fields are read and dropped; a chunk-size line is
// at most maxChunkLineSize bytes and the trailer section at most
// MaxResponseHeadSize.
type chunkedReader struct {
	br    *bufio.Reader
	sc    *wireScratch
	left  int64 // bytes left in the current chunk
	inEnd bool  // the CRLF after the current chunk's data is due
	eof   bool
}

func (r *chunkedReader) Read(p []byte) (int, error) {
	if r.eof {
		return 0, io.EOF
	}
	if r.left == 0 {
		if r.inEnd {
			if err := r.readCRLF(); err != nil {
				return 0, err
			}
			r.inEnd = false
		}
		size, err := r.readSize()
		if err != nil {
			return 0, err
		}
		if size == 0 {
			if err := r.readTrailer(); err != nil {
				return 0, err
			}
			r.eof = true
			return 0, io.EOF
		}
		r.left, r.inEnd = size, true
	}
	if int64(len(p)) > r.left {
		p = p[:r.left]
	}
	n, err := r.br.Read(p)
	r.left -= int64(n)
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

func (r *chunkedReader) readCRLF() error {
	budget := 2
	line, err := readLine(r.br, r.sc, &budget)
	if err != nil || len(line) != 0 {
		return headErr("chunk data not followed by CRLF")
	}
	return nil
}

func (r *chunkedReader) readSize() (int64, error) {
	budget := maxChunkLineSize
	line, err := readLine(r.br, r.sc, &budget)
	if err != nil {
		if errors.Is(err, ErrResponseHead) {
			return 0, headErr("chunk-size line too long")
		}
		return 0, err
	}
	if i := bytes.IndexByte(line, ';'); i >= 0 {
		line = line[:i]
	}
	line = trimOWS(line)
	if len(line) == 0 || len(line) > 15 { // at most 2^60-1
		return 0, headErr("invalid chunk size")
	}
	var n int64
	for _, c := range line {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, headErr("invalid chunk size")
		}
		n = n<<4 | int64(c)
	}
	return n, nil
}

func (r *chunkedReader) readTrailer() error {
	budget := MaxResponseHeadSize
	for {
		line, err := readLine(r.br, r.sc, &budget)
		if err != nil {
			return err
		}
		if len(line) == 0 {
			return nil
		}
	}
}
