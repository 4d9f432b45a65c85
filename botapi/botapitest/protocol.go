package botapitest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf16"
)

// Sizes and lengths that Telegram documents. One place per fact.
const (
	// maxBodyBytes bounds a request body: Telegram accepts uploads of up
	// to 50 MB through the Bot API.
	// Telegram docs: https://core.telegram.org/bots/api#sending-files
	maxBodyBytes = 50 << 20
	// maxTextLength is the length of a message text after entities parsing.
	// Telegram docs: https://core.telegram.org/bots/api#sendmessage
	maxTextLength = 4096
	// maxCaptionLength bounds media captions.
	// Telegram docs: https://core.telegram.org/bots/api#sendphoto
	maxCaptionLength = 1024
	// maxCallbackDataBytes bounds an inline button's callback_data.
	// Telegram docs: https://core.telegram.org/bots/api#inlinekeyboardbutton
	maxCallbackDataBytes = 64
	// maxCallbackAnswerLength bounds answerCallbackQuery's text.
	// Telegram docs: https://core.telegram.org/bots/api#answercallbackquery
	maxCallbackAnswerLength = 200
)

// apiError is an unsuccessful answer: the envelope's error_code,
// description and parameters.
type apiError struct {
	code            int
	description     string
	retryAfter      int
	migrateToChatID int64
}

// Error returns Telegram's description.
func (e *apiError) Error() string { return e.description }

func badRequest(what string) *apiError {
	return &apiError{code: http.StatusBadRequest, description: "Bad Request: " + what}
}

func forbidden(what string) *apiError {
	return &apiError{code: http.StatusForbidden, description: "Forbidden: " + what}
}

// Telegram's answers for the common failures, word for word. Where
// tdlib/telegram-bot-api's telegram-bot-api/Client.cpp writes the text it
// is named: "chat_id is empty" (Client::get_chat_id), "query is too old
// and response timeout expired or query ID is invalid" (QUERY_ID_INVALID
// in Client::fail_query_with_error), "terminated by other getUpdates
// request" (Client::process_get_updates_query's conflict), "message to be
// replied not found" (the reply check), "message is not modified: ..."
// (MESSAGE_NOT_MODIFIED in fail_query_with_error), "bot was blocked by the
// user" (USER_IS_BLOCKED there). The others ("chat not found" is TDLib's,
// "message text is empty", "message is too long", "bot can't initiate
// conversation with a user", "wrong file identifier/HTTP URL specified",
// "message to edit not found") come from Telegram's own servers through
// TDLib and are as Telegram sends them to bots.
var (
	errUnauthorized   = &apiError{code: http.StatusUnauthorized, description: "Unauthorized"}
	errNotFound       = &apiError{code: http.StatusNotFound, description: "Not Found"}
	errChatNotFound   = badRequest("chat not found")
	errChatIDEmpty    = badRequest("chat_id is empty")
	errTextEmpty      = badRequest("message text is empty")
	errTextTooLong    = badRequest("message is too long")
	errCaptionTooLong = badRequest("message caption is too long")
	errBlocked        = forbidden("bot was blocked by the user")
	errCantInitiate   = forbidden("bot can't initiate conversation with a user")
	// errNotSupported is the fake's own answer for a Bot API method it
	// does not serve: a 400, so that clients do not retry it, with a
	// description no Telegram answer has.
	errNotSupported  = badRequest("method not supported by the fake")
	errReplyNotFound = badRequest("message to be replied not found")
	errWrongFileID   = badRequest("wrong file identifier/HTTP URL specified")
	errMessageIDBad  = badRequest("MESSAGE_ID_INVALID")
	errQueryTooOld   = badRequest("query is too old and response timeout expired or query ID is invalid")
	errWebhookActive = &apiError{code: http.StatusConflict, description: "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"}
	errPollConflict  = &apiError{code: http.StatusConflict, description: "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"}
	errInternal      = &apiError{code: http.StatusInternalServerError, description: "Internal Server Error"}
	errMarkupBad     = badRequest("can't parse reply keyboard markup JSON object")
	errUserNotFound  = badRequest("user not found")
	errNotModified   = badRequest("message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message")
)

// errParamRequired is Client::get_required_string_arg's error, as
// Client::fail_query_with_error words it.
func errParamRequired(name string) *apiError {
	return badRequest(`parameter "` + name + `" is required`)
}

func tooManyRequests(retryAfter int) *apiError {
	return &apiError{
		code:        http.StatusTooManyRequests,
		description: "Too Many Requests: retry after " + strconv.Itoa(retryAfter),
		retryAfter:  retryAfter,
	}
}

// envelope is Telegram's answer object.
// Telegram docs: https://core.telegram.org/bots/api#making-requests
type envelope struct {
	OK          bool            `json:"ok"`
	Result      any             `json:"result,omitempty"`
	ErrorCode   int             `json:"error_code,omitempty"`
	Description string          `json:"description,omitempty"`
	Parameters  *responseParams `json:"parameters,omitempty"`
}

type responseParams struct {
	MigrateToChatID int64 `json:"migrate_to_chat_id,omitempty"`
	RetryAfter      int   `json:"retry_after,omitempty"`
}

// described is a successful result that Telegram sends with a description
// (setWebhook's "Webhook was set").
type described struct {
	result      any
	description string
}

func writeResult(w http.ResponseWriter, result any) {
	env := envelope{OK: true, Result: result}
	if d, ok := result.(described); ok {
		env.Result, env.Description = d.result, d.description
	}
	writeJSON(w, http.StatusOK, env)
}

func writeError(w http.ResponseWriter, e *apiError) {
	env := envelope{ErrorCode: e.code, Description: e.description}
	if e.retryAfter > 0 || e.migrateToChatID != 0 {
		env.Parameters = &responseParams{MigrateToChatID: e.migrateToChatID, RetryAfter: e.retryAfter}
	}
	if e.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.retryAfter))
	}
	writeJSON(w, e.code, env)
}

func writeJSON(w http.ResponseWriter, status int, env envelope) {
	b, err := json.Marshal(env)
	if err != nil {
		// Results are the fake's own values; this cannot happen.
		panic("botapitest: encoding an answer: " + err.Error())
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// badGatewayPage is the page nginx answers when Telegram's backend is down.
const badGatewayPage = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.18.0</center>\r\n</body>\r\n</html>\r\n"

func writeBadGateway(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/html")
	w.Header().Set("Server", "nginx/1.18.0")
	w.WriteHeader(http.StatusBadGateway)
	_, _ = io.WriteString(w, badGatewayPage)
}

// params holds a call's parameters the way Telegram sees them: every value
// is a string; JSON strings are unquoted, other JSON values keep their JSON
// text, so "42" and 42, or an object and its JSON in a form field, read alike.
type params map[string]string

// File describes one uploaded file of a multipart request.
type File struct {
	// Field is the multipart field name (the parameter, or the name an
	// attach://<name> reference uses).
	Field string
	// Name is the file name the client sent.
	Name string
	// Size is the number of bytes uploaded.
	Size int64

	data []byte // the content, kept up to maxDownloadBytes for getFile
}

var errBadBody = badRequest("can't parse request body")

// parseParams reads the query string and, for a POST, the body: JSON,
// application/x-www-form-urlencoded or multipart/form-data.
func parseParams(r *http.Request) (params, []File, *apiError) {
	p := params{}
	for k, v := range r.URL.Query() {
		if len(v) > 0 {
			p[k] = v[0]
		}
	}
	if r.Body == nil || r.Method == http.MethodGet || r.Method == http.MethodHead {
		return p, nil, nil
	}
	if r.ContentLength > maxBodyBytes {
		return nil, nil, errTooLarge // answered before the body is read
	}
	body := http.MaxBytesReader(nil, r.Body, maxBodyBytes)
	ct, ctParams, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "application/json":
		b, err := io.ReadAll(body)
		if err != nil {
			return nil, nil, bodyError(err)
		}
		readJSONParams(b, p)
	case "application/x-www-form-urlencoded":
		b, err := io.ReadAll(body)
		if err != nil {
			return nil, nil, bodyError(err)
		}
		r.Body = io.NopCloser(strings.NewReader(string(b)))
		if err := r.ParseForm(); err != nil {
			return nil, nil, errBadBody
		}
		for k, v := range r.PostForm {
			if len(v) > 0 {
				p[k] = v[0]
			}
		}
	case "multipart/form-data":
		files, err := readMultipart(multipart.NewReader(body, ctParams["boundary"]), p)
		if err != nil {
			return nil, nil, bodyError(err)
		}
		return p, files, nil
	default:
		// Telegram ignores a body it does not understand.
		_, _ = io.Copy(io.Discard, body)
	}
	return p, nil, nil
}

// bodyError is the answer to a body that failed to read or parse: 413 when
// it passed maxBodyBytes, whatever its content type, 400 otherwise.
func bodyError(err error) *apiError {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return errTooLarge
	}
	return errBadBody
}

// errTooLarge is Telegram's answer to a body over its limit
// (td/net/HttpReader.cpp).
var errTooLarge = &apiError{code: http.StatusRequestEntityTooLarge, description: "Request Entity Too Large"}

// readJSONParams reads a JSON object's members into p as
// HttpReader::parse_json_parameters (td/net/HttpReader.cpp) does: member by
// member, and a body that stops parsing is not an error, the members read
// before it stay and the rest is ignored.
func readJSONParams(b []byte, p params) {
	dec := json.NewDecoder(bytes.NewReader(b))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return
		}
		key, ok := tok.(string)
		if !ok {
			return
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return
		}
		if v, ok := jsonParam(raw); ok {
			p[key] = v
		}
	}
}

// jsonParam turns one JSON value into Telegram's string form; null drops.
func jsonParam(raw json.RawMessage) (string, bool) {
	s := strings.TrimSpace(string(raw))
	if s == "" || s == "null" {
		return "", false
	}
	if s[0] == '"' {
		var v string
		if err := json.Unmarshal(raw, &v); err == nil {
			return v, true
		}
	}
	return s, true
}

func readMultipart(mr *multipart.Reader, p params) ([]File, error) {
	var files []File
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return files, nil
		}
		if err != nil {
			return nil, err
		}
		name := part.FormName()
		if part.FileName() != "" {
			// Keep what getFile could serve; count the rest.
			var buf bytes.Buffer
			n, err := io.Copy(&buf, io.LimitReader(part, maxDownloadBytes+1))
			if err != nil {
				return nil, err
			}
			data := buf.Bytes()
			if n > maxDownloadBytes {
				data = nil
				more, err := io.Copy(io.Discard, part)
				if err != nil {
					return nil, err
				}
				n += more
			}
			files = append(files, File{Field: name, Name: part.FileName(), Size: n, data: data})
			if _, ok := p[name]; !ok {
				p[name] = "attach://" + name
			}
			continue
		}
		b, err := io.ReadAll(part)
		if err != nil {
			return nil, err
		}
		p[name] = string(b)
	}
}

func (p params) str(name string) string { return p[name] }

func (p params) has(name string) bool { _, ok := p[name]; return ok }

// int64 reads an integer parameter; ok is false when it is absent or not a number.
func (p params) int64(name string) (int64, bool) {
	v, ok := p[name]
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil {
		return 0, false
	}
	return n, true
}

func (p params) intOr(name string, def int) int {
	n, ok := p.int64(name)
	if !ok {
		return def
	}
	return int(n)
}

// clampedInt reads an integer as Client::get_integer_arg does: def when
// absent or empty, else the number (td::to_integer: the leading digits,
// 0 for none), clamped to [lo, hi].
func (p params) clampedInt(name string, def, lo, hi int) int {
	v := strings.TrimSpace(p[name])
	if v == "" {
		return def
	}
	neg := false
	if v[0] == '-' || v[0] == '+' {
		neg, v = v[0] == '-', v[1:]
	}
	n := 0
	for i := 0; i < len(v) && v[i] >= '0' && v[i] <= '9' && n <= hi+1; i++ {
		n = n*10 + int(v[i]-'0')
	}
	if neg {
		n = -n
	}
	return min(max(n, lo), hi)
}

// bool reads a flag as Client::to_bool does: "true", "yes" or "1", in any
// case, around spaces.
func (p params) bool(name string) bool {
	v := strings.ToLower(strings.TrimSpace(p[name]))
	return v == "true" || v == "yes" || v == "1"
}

// object decodes a parameter that carries a JSON-serialized object.
func (p params) object(name string, v any) bool {
	s, ok := p[name]
	if !ok {
		return false
	}
	return json.Unmarshal([]byte(s), v) == nil
}

// textLength counts as Telegram does: UTF-16 code units.
func textLength(s string) int { return len(utf16.Encode([]rune(s))) }
