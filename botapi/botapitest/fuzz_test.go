package botapitest

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// maxFuzzBody caps fuzz inputs; the server's own bound is far larger.
const maxFuzzBody = 64 << 10

var fuzzContentTypes = []string{
	"application/json",
	"application/x-www-form-urlencoded",
	"multipart/form-data; boundary=XYZ",
	"text/plain",
}

// FuzzParseParams feeds request bodies to the parameter parser. Beyond not
// panicking, what it accepts must survive a round trip: the parameters,
// sent again as a form, parse to the same parameters.
//
// Run it with: go test -run '^$' -fuzz FuzzParseParams -fuzztime 10s ./botapi/botapitest
func FuzzParseParams(f *testing.F) {
	f.Add([]byte(`{"chat_id":1001,"text":"hi","reply_markup":{"inline_keyboard":[]}}`), uint8(0))
	f.Add([]byte(`{"chat_id":"@club","text":null,"ok":true}`), uint8(0))
	f.Add([]byte(`chat_id=1001&text=hi%20there&reply_markup=%7B%7D`), uint8(1))
	f.Add([]byte("--XYZ\r\nContent-Disposition: form-data; name=\"chat_id\"\r\n\r\n1001\r\n--XYZ\r\nContent-Disposition: form-data; name=\"document\"; filename=\"a.txt\"\r\n\r\nhello\r\n--XYZ--\r\n"), uint8(2))
	f.Add([]byte("anything"), uint8(3))
	f.Fuzz(func(t *testing.T, body []byte, kind uint8) {
		if len(body) > maxFuzzBody {
			return
		}
		ct := fuzzContentTypes[int(kind)%len(fuzzContentTypes)]
		req := httptest.NewRequest(http.MethodPost, "/bot1:x/getMe", bytes.NewReader(body))
		req.Header.Set("Content-Type", ct)
		p, files, err := parseParams(req)
		if err != nil {
			require.Nil(t, p)
			require.Equal(t, 400, err.code)
			return
		}
		for _, f := range files {
			require.GreaterOrEqual(t, f.Size, int64(0))
			require.LessOrEqual(t, f.Size, int64(len(body)))
		}
		vals := url.Values{}
		for k, v := range p {
			vals.Set(k, v)
		}
		again := httptest.NewRequest(http.MethodPost, "/bot1:x/getMe", strings.NewReader(vals.Encode()))
		again.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		p2, _, err2 := parseParams(again)
		require.Nil(t, err2)
		require.Equal(t, p, p2)
	})
}

// FuzzServeHTTP sends arbitrary methods and bodies to a server with some
// state. Every answer must be Telegram's envelope with the HTTP status equal
// to error_code, and never a 5xx (no fault is set).
//
// Run it with: go test -run '^$' -fuzz FuzzServeHTTP -fuzztime 10s ./botapi/botapitest
func FuzzServeHTTP(f *testing.F) {
	f.Add("sendMessage", []byte(`{"chat_id":1001,"text":"hi"}`), uint8(0))
	f.Add("editMessageText", []byte(`{"chat_id":1001,"message_id":1,"text":"x"}`), uint8(0))
	f.Add("createInvoiceLink", []byte(`title=a&description=b&payload=c&currency=XTR&prices=[{"label":"x","amount":1}]`), uint8(1))
	f.Add("getUpdates", []byte(`{"offset":-1,"timeout":5}`), uint8(0))
	f.Add("setWebhook", []byte(`{"url":"https://x.example/h","max_connections":1000}`), uint8(0))
	f.Add("answerPreCheckoutQuery", []byte(`{"pre_checkout_query_id":"1","ok":false}`), uint8(0))
	f.Add("unknownMethod", []byte(`{}`), uint8(3))
	srv := NewServer(WithoutListener(), WithWebhookTransport(HandlerTransport(http.NotFoundHandler())))
	f.Cleanup(srv.Close)
	ann := srv.AddUser(User{ID: 1001, FirstName: "Ann"})
	srv.SendUserMessage(ann, "hi")
	h := srv.Handler()
	f.Fuzz(func(t *testing.T, method string, body []byte, kind uint8) {
		if len(body) > maxFuzzBody || strings.ContainsAny(method, "/?#% \t\r\n") {
			return
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel() // long polls end at once
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, "/bot"+srv.Token()+"/"+method, bytes.NewReader(body))
		if err != nil {
			return
		}
		req.Header.Set("Content-Type", fuzzContentTypes[int(kind)%len(fuzzContentTypes)])
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		var env struct {
			OK          *bool           `json:"ok"`
			Result      json.RawMessage `json:"result"`
			ErrorCode   int             `json:"error_code"`
			Description string          `json:"description"`
		}
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &env), "body %q", rec.Body.String())
		require.NotNil(t, env.OK)
		if *env.OK {
			require.Equal(t, 200, rec.Code)
			require.NotEmpty(t, env.Result)
			return
		}
		require.Equal(t, rec.Code, env.ErrorCode)
		require.Less(t, rec.Code, 500)
		require.NotEmpty(t, env.Description)
	})
}
