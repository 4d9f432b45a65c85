package botapitest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/stretchr/testify/require"
)

func TestProtocolEnvelopeAndErrors(t *testing.T) {
	srv := setup(t)

	t.Run("wrong token is Unauthorized", func(t *testing.T) {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL()+"/bot1:wrong/getMe", nil)
		require.NoError(t, err)
		requireError(t, do(t, srv, req), 401, "Unauthorized")
	})
	t.Run("malformed token is Not Found", func(t *testing.T) {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL()+"/botnotatoken/getMe", nil)
		require.NoError(t, err)
		requireError(t, do(t, srv, req), 404, "Not Found")
	})
	t.Run("unknown method is Not Found", func(t *testing.T) {
		requireError(t, callJSON(t, srv, "sendTelepathy", map[string]any{}), 404, "Not Found")
	})
	t.Run("path without method is Not Found", func(t *testing.T) {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL()+"/bot"+srv.Token()+"/", nil)
		require.NoError(t, err)
		requireError(t, do(t, srv, req), 404, "Not Found")
	})
	t.Run("method names are case-insensitive", func(t *testing.T) {
		var me User
		callGet(t, srv, "GETME", nil).decode(t, &me)
		require.Equal(t, int64(123456), me.ID)
		require.True(t, me.IsBot)
	})
	t.Run("success envelope", func(t *testing.T) {
		a := callGet(t, srv, "getMe", nil)
		require.True(t, a.OK)
		require.Equal(t, 200, a.status)
		require.Equal(t, "application/json", a.header.Get("Content-Type"))
	})
}

func TestProtocolBodies(t *testing.T) {
	srv := setup(t)
	u := srv.NewUser("Ann")
	id := strconv.FormatInt(u.ID, 10)

	var m message
	callGet(t, srv, "sendMessage", url.Values{"chat_id": {id}, "text": {"by GET"}}).decode(t, &m)
	require.Equal(t, "by GET", m.Text)
	callForm(t, srv, "sendMessage", url.Values{"chat_id": {id}, "text": {"by form"},
		"reply_markup": {`{"inline_keyboard":[[{"text":"Go","callback_data":"go"}]]}`}}).decode(t, &m)
	require.Equal(t, "by form", m.Text)
	require.JSONEq(t, `{"inline_keyboard":[[{"text":"Go","callback_data":"go"}]]}`, string(m.ReplyMarkup))
	callJSON(t, srv, "sendMessage", map[string]any{"chat_id": u.ID, "text": "by JSON",
		"reply_markup": map[string]any{"inline_keyboard": [][]map[string]string{{{"text": "Go", "callback_data": "go"}}}}}).decode(t, &m)
	require.Equal(t, "by JSON", m.Text)
	require.Equal(t, int64(3), m.MessageID)

	var doc message
	callMultipart(t, srv, "sendDocument", map[string]string{"chat_id": id, "caption": "report"},
		map[string]string{"document": "0123456789"}).decode(t, &doc)
	require.Equal(t, "document.bin", doc.Document.FileName)
	require.Equal(t, int64(10), doc.Document.FileSize)

	reqs := srv.Requests("sendmessage")
	require.Len(t, reqs, 3)
	require.Equal(t, "GET", reqs[0].HTTPMethod)
	require.Equal(t, id, reqs[0].Params["chat_id"])
	require.Equal(t, id, reqs[2].Params["chat_id"], "a JSON number reads like its form value")
	var markup struct {
		InlineKeyboard [][]struct{ Text string } `json:"inline_keyboard"`
	}
	require.NoError(t, reqs[1].JSON("reply_markup", &markup))
	require.NoError(t, reqs[2].JSON("reply_markup", &markup))
	require.Equal(t, "Go", markup.InlineKeyboard[0][0].Text)

	up := srv.Requests("sendDocument")
	require.Len(t, up, 1)
	require.Equal(t, []File{{Field: "document", Name: "document.bin", Size: 10}}, up[0].Files)
	require.Len(t, srv.Requests(""), 4)
}

func TestSendMessageValidation(t *testing.T) {
	srv := setup(t)
	u := srv.NewUser("Ann")
	tests := []struct {
		name   string
		params map[string]any
		code   int
		desc   string
	}{
		{"no chat_id", map[string]any{"text": "hi"}, 400, "Bad Request: chat_id is empty"},
		{"unknown chat", map[string]any{"chat_id": 42, "text": "hi"}, 400, "Bad Request: chat not found"},
		{"unknown username", map[string]any{"chat_id": "@nobody", "text": "hi"}, 400, "Bad Request: chat not found"},
		{"no text", map[string]any{"chat_id": u.ID}, 400, "Bad Request: message text is empty"},
		{"blank text", map[string]any{"chat_id": u.ID, "text": "  "}, 400, "Bad Request: message text is empty"},
		{"text too long", map[string]any{"chat_id": u.ID, "text": strings.Repeat("a", maxTextLength+1)}, 400, "Bad Request: message is too long"},
		{"bad parse_mode", map[string]any{"chat_id": u.ID, "text": "hi", "parse_mode": "BBCode"}, 400, "Bad Request: unsupported parse_mode"},
		{"bad markup", map[string]any{"chat_id": u.ID, "text": "hi", "reply_markup": "{"}, 400, "Bad Request: can't parse reply keyboard markup JSON object"},
		{"callback data too long", map[string]any{"chat_id": u.ID, "text": "hi", "reply_markup": map[string]any{
			"inline_keyboard": [][]map[string]string{{{"text": "x", "callback_data": strings.Repeat("d", 65)}}}}}, 400, "Bad Request: BUTTON_DATA_INVALID"},
		{"button without action", map[string]any{"chat_id": u.ID, "text": "hi", "reply_markup": map[string]any{
			"inline_keyboard": [][]map[string]string{{{"text": "x"}}}}}, 400, "Bad Request: text buttons are unallowed in the inline keyboard"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			requireError(t, callJSON(t, srv, "sendMessage", tt.params), tt.code, tt.desc)
		})
	}
	t.Run("4096 UTF-16 units fit", func(t *testing.T) {
		var m message
		callJSON(t, srv, "sendMessage", map[string]any{"chat_id": u.ID, "text": strings.Repeat("é", maxTextLength)}).decode(t, &m)
		require.Empty(t, srv.Sent()[1:])
	})
}

func TestUploadByAttachReference(t *testing.T) {
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	srv := setup(t, WithClock(func() time.Time { return now }))
	u := srv.NewUser("Ann")
	var m message
	callMultipart(t, srv, "sendPhoto", map[string]string{"chat_id": strconv.FormatInt(u.ID, 10), "photo": "attach://pic"},
		map[string]string{"pic": "12345"}).decode(t, &m)
	require.Equal(t, int64(5), m.Photo[len(m.Photo)-1].FileSize)
	require.Equal(t, now.Unix(), m.Date)
	r := srv.Requests("sendPhoto")[0]
	require.Equal(t, "attach://pic", r.Params["photo"])
	require.Equal(t, []File{{Field: "pic", Name: "pic.bin", Size: 5}}, r.Files)
	require.Equal(t, now, r.At)
	require.True(t, strings.HasPrefix(r.ContentType, "multipart/form-data"))
}

// TestImplementedMethodsDocumented keeps the package doc's "# Implemented
// methods" list and the method table in step: every method served is
// listed, and every method listed is served.
func TestImplementedMethodsDocumented(t *testing.T) {
	src, err := os.ReadFile("doc.go")
	require.NoError(t, err)
	_, section, ok := strings.Cut(string(src), "# Implemented methods")
	require.True(t, ok)
	section, _, ok = strings.Cut(section, "Everything else")
	require.True(t, ok)
	// The bulleted list: "  - Group: m1, m2, ..." with continuation lines.
	var list strings.Builder
	inList := false
	for _, line := range strings.Split(section, "\n") {
		line = strings.TrimPrefix(line, "//")
		switch {
		case strings.HasPrefix(line, "   - "):
			inList = true
			_, rest, _ := strings.Cut(line, ": ")
			list.WriteString(", " + rest + " ")
		case inList && strings.HasPrefix(line, "     "):
			list.WriteString(line + " ")
		default:
			inList = false
		}
	}
	listed := map[string]bool{}
	for _, w := range strings.Split(list.String(), ",") {
		if w = strings.Trim(strings.TrimSpace(w), "."); w != "" {
			listed[strings.ToLower(w)] = true
		}
	}
	served := map[string]bool{}
	for m := range methodTable() {
		served[m] = true
	}
	require.Equal(t, served, listed)
}

// TestServedMethodsFigure keeps the served-method figure of
// docs/botapitest.md equal to the method table: every served method is a
// Bot API method, and the figure counts them.
func TestServedMethodsFigure(t *testing.T) {
	for m := range methodTable() {
		require.True(t, knownMethods[m], "%s is not a Bot API method", m)
	}
	want := fmt.Sprintf("**%d of the %d Bot API methods**", len(methodTable()), len(apiMethods))
	for _, f := range []string{"../../docs/botapitest.md", "../../README.md"} {
		doc, err := os.ReadFile(f)
		require.NoError(t, err)
		require.Contains(t, strings.Join(strings.Fields(string(doc)), " "), want, f)
	}
	require.GreaterOrEqual(t, len(methodTable()), 90)
}

// TestGeneratedMethodListCurrent checks zz_generated_apimethods.go against
// the spec it is generated from; run go generate ./botapi/botapitest when
// the spec gains methods.
func TestGeneratedMethodListCurrent(t *testing.T) {
	seen := map[string]bool{}
	for _, f := range []string{"../../internal/botapigen/spec.json", "../../internal/botapigen/spec_additions.json"} {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		var spec struct {
			Methods []struct {
				Name string `json:"name"`
			} `json:"methods"`
		}
		require.NoError(t, json.Unmarshal(b, &spec))
		for _, m := range spec.Methods {
			seen[m.Name] = true
		}
	}
	listed := map[string]bool{}
	for _, m := range apiMethods {
		listed[m] = true
	}
	require.Equal(t, seen, listed, "run go generate ./botapi/botapitest")
}

func TestUnservedMethods(t *testing.T) {
	srv := setup(t)
	requireError(t, callJSON(t, srv, "createNewStickerSet", map[string]any{}), 400, "Bad Request: method not supported by the fake")
	requireError(t, callJSON(t, srv, "SETGAMESCORE", map[string]any{}), 400, "Bad Request: method not supported by the fake")
	requireError(t, callJSON(t, srv, "sendMesage", map[string]any{}), 404, "Not Found")
}

// A body over Telegram's limit is answered 413 "Request Entity Too Large"
// whatever its content type, both when its declared length is over the
// limit (answered before anything is read) and when a streamed body
// passes it. Before the fix a multipart or form body over the limit was
// answered 400 "can't parse request body", so a bot's handling of a too
// big upload could not be tested.
func TestBodyOverLimitIs413(t *testing.T) {
	srv := setup(t)
	types := map[string]string{
		"json":      "application/json",
		"form":      "application/x-www-form-urlencoded",
		"multipart": "multipart/form-data; boundary=XX",
	}
	for name, ct := range types {
		for _, declared := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s declared=%v", name, declared), func(t *testing.T) {
				var body io.Reader = zeros{}
				if name == "multipart" { // a file part that never ends
					body = io.MultiReader(strings.NewReader("--XX\r\nContent-Disposition: form-data; name=\"document\"; filename=\"a.bin\"\r\n\r\n"), body)
				}
				req := httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/bot"+srv.Token()+"/sendDocument", body)
				req.Header.Set("Content-Type", ct)
				req.ContentLength = -1
				if declared {
					req.ContentLength = 1 << 40 // and one byte of it arrives
					req.Body = io.NopCloser(strings.NewReader("{"))
				}
				rec := httptest.NewRecorder()
				srv.Handler().ServeHTTP(rec, req)
				require.Equal(t, http.StatusRequestEntityTooLarge, rec.Code, rec.Body.String())
				require.JSONEq(t, `{"ok":false,"error_code":413,"description":"Request Entity Too Large"}`, rec.Body.String())
			})
		}
	}
	t.Run("a body cut short is not 413", func(t *testing.T) {
		req := httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/bot"+srv.Token()+"/sendMessage", iotest.ErrReader(io.ErrUnexpectedEOF))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		srv.Handler().ServeHTTP(rec, req)
		require.Equal(t, http.StatusBadRequest, rec.Code, rec.Body.String())
	})
}

// zeros reads as an endless run of '0' bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = '0'
	}
	return len(p), nil
}
