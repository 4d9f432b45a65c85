package botapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const testToken = "123456:AAH-secret_token-value"

// setup returns a client whose calls reach mux, mounted under /bot<token>/,
// so a call that builds its URL wrongly fails the test with a 404 from the
// outer mux.
func setup(t *testing.T, opts ...Option) (*Client, *http.ServeMux) {
	t.Helper()
	mux := http.NewServeMux()
	outer := http.NewServeMux()
	outer.Handle("/bot"+testToken+"/", http.StripPrefix("/bot"+testToken, mux))
	outer.Handle("/file/bot"+testToken+"/", http.StripPrefix("/file/bot"+testToken, mux))
	outer.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("request to unexpected path %q", r.URL.Path)
		http.NotFound(w, r)
	})
	srv := httptest.NewServer(outer)
	t.Cleanup(srv.Close)
	c := New(testToken, append([]Option{WithBaseURL(srv.URL)}, opts...)...)
	return c, mux
}

// reply writes a Bot API answer.
func reply(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, body)
}

type echoParams struct {
	ChatID ChatID `json:"chat_id"`
	Text   string `json:"text"`
	Silent bool   `json:"disable_notification"`
	Count  int    `json:"count,omitempty"`
}

func TestCallEncodesJSONAndDecodesResult(t *testing.T) {
	c, mux := setup(t)
	mux.HandleFunc("POST /sendThing", func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, "application/json", r.Header.Get("Content-Type"))
		body, _ := io.ReadAll(r.Body)
		assert.Equal(t, `{"chat_id":"@chan","text":"héllo \u003cb\u003e","disable_notification":false}`, string(body))
		assert.Equal(t, int64(len(body)), r.ContentLength)
		reply(w, 200, `{"ok":true,"result":{"message_id":7,"text":"x"}}`)
	})
	var got *struct {
		MessageID int64  `json:"message_id"`
		Text      string `json:"text"`
	}
	err := c.Call(t.Context(), "sendThing", &echoParams{ChatID: ChatID{Username: "chan"}, Text: "héllo <b>"}, &got)
	require.NoError(t, err)
	require.NotNil(t, got)
	assert.Equal(t, int64(7), got.MessageID)
}

func TestCallWithoutParams(t *testing.T) {
	c, mux := setup(t)
	mux.HandleFunc("POST /getMe", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		assert.Empty(t, body)
		assert.Empty(t, r.Header.Get("Content-Type"))
		reply(w, 200, `{"ok":true,"result":{"id":1,"is_bot":true}}`)
	})
	var me map[string]any
	require.NoError(t, c.Call(t.Context(), "getMe", nil, &me))
	assert.Equal(t, true, me["is_bot"])
	// A nil result discards it.
	require.NoError(t, c.Call(t.Context(), "getMe", nil, nil))
	// A typed nil pointer counts as no parameters.
	var p *echoParams
	require.NoError(t, c.Call(t.Context(), "getMe", p, nil))
}

func TestTestEnvironmentPath(t *testing.T) {
	var got string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.URL.Path
		reply(w, 200, `{"ok":true,"result":true}`)
	}))
	t.Cleanup(srv.Close)
	c := New(testToken, WithBaseURL(srv.URL+"/"), WithTestEnvironment())
	require.NoError(t, c.Call(t.Context(), "getMe", nil, nil))
	assert.Equal(t, "/bot"+testToken+"/test/getMe", got)
	assert.Equal(t, srv.URL+"/file/bot"+testToken+"/test/photos/a.jpg", c.FileURL("photos/a.jpg"))
}

func TestErrorAnswers(t *testing.T) {
	tests := []struct {
		name     string
		status   int
		body     string
		sentinel error
		want     Error
		text     string
	}{
		{"bad request", 400, `{"ok":false,"error_code":400,"description":"Bad Request: chat not found"}`,
			ErrBadRequest, Error{Code: 400, Description: "Bad Request: chat not found"},
			"botapi: m: 400 Bad Request: chat not found"},
		{"unauthorized", 401, `{"ok":false,"error_code":401,"description":"Unauthorized"}`,
			ErrUnauthorized, Error{Code: 401, Description: "Unauthorized"}, "botapi: m: 401 Unauthorized"},
		{"blocked", 403, `{"ok":false,"error_code":403,"description":"Forbidden: bot was blocked by the user"}`,
			ErrForbidden, Error{Code: 403, Description: "Forbidden: bot was blocked by the user"},
			"botapi: m: 403 Forbidden: bot was blocked by the user"},
		{"not found", 404, `{"ok":false,"error_code":404,"description":"Not Found"}`,
			ErrNotFound, Error{Code: 404, Description: "Not Found"}, "botapi: m: 404 Not Found"},
		{"conflict", 409, `{"ok":false,"error_code":409,"description":"Conflict: terminated by other getUpdates request"}`,
			ErrConflict, Error{Code: 409, Description: "Conflict: terminated by other getUpdates request"},
			"botapi: m: 409 Conflict: terminated by other getUpdates request"},
		{"flood", 429, `{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 5","parameters":{"retry_after":5}}`,
			ErrTooManyRequests, Error{Code: 429, Description: "Too Many Requests: retry after 5", RetryAfter: 5 * time.Second},
			"botapi: m: 429 Too Many Requests: retry after 5 (retry after 5s)"},
		{"migrated", 400, `{"ok":false,"error_code":400,"description":"Bad Request: group chat was upgraded to a supergroup chat","parameters":{"migrate_to_chat_id":-1001234567890}}`,
			ErrBadRequest, Error{Code: 400, Description: "Bad Request: group chat was upgraded to a supergroup chat", MigrateToChatID: -1001234567890},
			"botapi: m: 400 Bad Request: group chat was upgraded to a supergroup chat (migrated to chat -1001234567890)"},
		{"server", 500, `{"ok":false,"error_code":500,"description":"Internal Server Error"}`,
			ErrServer, Error{Code: 500, Description: "Internal Server Error"}, "botapi: m: 500 Internal Server Error"},
		{"no description", 403, `{"ok":false,"error_code":403}`,
			ErrForbidden, Error{Code: 403, Description: "Forbidden"}, "botapi: m: 403 Forbidden"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, mux := setup(t, WithRetry(RetryPolicy{MaxAttempts: 1}))
			mux.HandleFunc("POST /m", func(w http.ResponseWriter, r *http.Request) { reply(w, tt.status, tt.body) })
			err := c.Call(t.Context(), "m", nil, nil)
			require.ErrorIs(t, err, tt.sentinel)
			var e *Error
			require.ErrorAs(t, err, &e)
			want := tt.want
			want.Method = "m"
			assert.Equal(t, want, *e)
			assert.Equal(t, tt.text, err.Error())
			for _, other := range []error{ErrBadRequest, ErrUnauthorized, ErrForbidden, ErrNotFound, ErrConflict, ErrTooManyRequests, ErrServer, ErrInvalidResponse, ErrNetwork} {
				if other != tt.sentinel {
					assert.NotErrorIs(t, err, other)
				}
			}
		})
	}
}

func TestNonJSONAnswers(t *testing.T) {
	tests := []struct {
		name     string
		status   int
		ctype    string
		body     string
		sentinel error // besides ErrInvalidResponse
		contains string
	}{
		{"proxy 502 page", 502, "text/html", "<html><head><title>502 Bad Gateway</title></head>\n<body>nginx</body></html>",
			ErrServer, "answer is not Bot API JSON (HTTP 502, text/html): <html><head><title>502 Bad Gateway"},
		{"empty 200", 200, "", "", nil, "answer is not Bot API JSON (HTTP 200)"},
		{"truncated 200", 200, "application/json", `{"ok":true,"result":{"id":`, nil, `: {"ok":true,"result":{"id":`},
		{"wrong result type", 200, "application/json", `{"ok":true,"result":"a string"}`, nil, "result does not match the expected type"},
		// Before the fix: a *Error with Code 200 and description "OK",
		// matching no sentinel at all.
		{"ok false without a code in a 200", 200, "application/json", `{"ok":false}`, nil, "getMe:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, mux := setup(t, WithRetry(RetryPolicy{MaxAttempts: 1}))
			mux.HandleFunc("POST /getMe", func(w http.ResponseWriter, r *http.Request) {
				if tt.ctype != "" {
					w.Header().Set("Content-Type", tt.ctype)
				}
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			})
			var res struct{ ID int64 }
			err := c.Call(t.Context(), "getMe", nil, &res)
			require.ErrorIs(t, err, ErrInvalidResponse)
			if tt.sentinel != nil {
				require.ErrorIs(t, err, tt.sentinel)
			}
			assert.Contains(t, err.Error(), tt.contains)
			assert.NotContains(t, err.Error(), testToken)
			if tt.status >= 200 && tt.status <= 299 {
				var e *Error
				require.ErrorAs(t, err, &e)
				assert.Zero(t, e.Code, "Code is 0 for a 2xx answer, as ErrInvalidResponse's doc says")
			}
		})
	}
}

func TestErrorBodyIsBounded(t *testing.T) {
	c, mux := setup(t, WithRetry(RetryPolicy{MaxAttempts: 1}))
	mux.HandleFunc("POST /getMe", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(502)
		io.WriteString(w, strings.Repeat("x", 10<<20))
	})
	err := c.Call(t.Context(), "getMe", nil, nil)
	require.ErrorIs(t, err, ErrServer)
	assert.Less(t, len(err.Error()), 300)
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name  string
		token string
		opts  []Option
	}{
		{"empty token", "", nil},
		{"token with slash", "12:ab/cd", nil},
		{"bad scheme", testToken, []Option{WithBaseURL("ftp://example.org")}},
		{"no host", testToken, []Option{WithBaseURL("http://")}},
		{"unparsable", testToken, []Option{WithBaseURL("http://[::1")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := New(tt.token, tt.opts...)
			err := c.Call(t.Context(), "getMe", nil, nil)
			require.ErrorIs(t, err, ErrConfig)
			if tt.token != "" {
				assert.NotContains(t, err.Error(), tt.token)
			}
		})
	}
}

func TestWithHTTPClientCopies(t *testing.T) {
	hc := &http.Client{Timeout: time.Minute}
	c := New(testToken, WithHTTPClient(hc))
	require.NotSame(t, hc, c.hc)
	assert.Equal(t, time.Minute, c.hc.Timeout)
}

// TestTokenNeverLeaks drives every error path and checks the token is in no
// error text, wrapped error, log line or formatted client.
func TestTokenNeverLeaks(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))

	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()

	hijack := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000")
		w.WriteHeader(200)
		io.WriteString(w, `{"ok":true,"res`)
		w.(http.Flusher).Flush()
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.Close()
		}
	}
	slow := make(chan struct{})
	t.Cleanup(func() { close(slow) })

	cases := []struct {
		name string
		call func(t *testing.T) error
	}{
		{"connection refused", func(t *testing.T) error {
			c := New(testToken, WithBaseURL(closedURL), WithLogger(logger), WithRetry(RetryPolicy{MaxAttempts: 1}))
			return c.Call(t.Context(), "getMe", nil, nil)
		}},
		{"body cut", func(t *testing.T) error {
			c, mux := setup(t, WithLogger(logger), WithRetry(RetryPolicy{MaxAttempts: 1}))
			mux.HandleFunc("POST /getMe", hijack)
			return c.Call(t.Context(), "getMe", nil, nil)
		}},
		{"deadline", func(t *testing.T) error {
			c, mux := setup(t, WithLogger(logger))
			mux.HandleFunc("POST /getMe", func(w http.ResponseWriter, r *http.Request) {
				select {
				case <-slow:
				case <-r.Context().Done():
				}
			})
			ctx, cancel := context.WithCancel(t.Context())
			cancel()
			return c.Call(ctx, "getMe", nil, nil)
		}},
		{"http client timeout", func(t *testing.T) error {
			c, mux := setup(t, WithLogger(logger), WithRetry(RetryPolicy{MaxAttempts: 1}),
				WithHTTPClient(&http.Client{Transport: rtFunc(func(r *http.Request) (*http.Response, error) {
					return nil, fmt.Errorf("dial tcp: lookup %s: %w", r.URL.Path, context.DeadlineExceeded)
				})}))
			_ = mux
			return c.Call(t.Context(), "getMe", nil, nil)
		}},
		{"redirect loop", func(t *testing.T) error {
			c, mux := setup(t, WithLogger(logger), WithRetry(RetryPolicy{MaxAttempts: 1}))
			mux.HandleFunc("POST /getMe", func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, "/bot"+testToken+"/getMe", http.StatusTemporaryRedirect)
			})
			return c.Call(t.Context(), "getMe", nil, nil)
		}},
		{"non-JSON", func(t *testing.T) error {
			c, mux := setup(t, WithLogger(logger), WithRetry(RetryPolicy{MaxAttempts: 1}))
			mux.HandleFunc("POST /getMe", func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(502)
				// A proxy echoing the path (RequestURI: setup strips the
				// /bot<token> prefix from r.URL.Path), placed so that the
				// 120-character snippet cuts the token in the middle.
				io.WriteString(w, strings.Repeat("x", 85)+" bad gateway for "+r.RequestURI)
			})
			return c.Call(t.Context(), "getMe", nil, nil)
		}},
		{"description echoing the path", func(t *testing.T) error {
			c, mux := setup(t, WithLogger(logger), WithRetry(RetryPolicy{MaxAttempts: 1}))
			mux.HandleFunc("POST /getMe", func(w http.ResponseWriter, r *http.Request) {
				reply(w, 404, `{"ok":false,"error_code":404,"description":"no such path: `+r.RequestURI+`"}`)
			})
			return c.Call(t.Context(), "getMe", nil, nil)
		}},
		{"download page echoing the path", func(t *testing.T) error {
			c, mux := setup(t, WithLogger(logger))
			mux.HandleFunc("POST /getFile", func(w http.ResponseWriter, r *http.Request) {
				reply(w, 200, `{"ok":true,"result":{"file_id":"f","file_path":"docs/x.pdf"}}`)
			})
			mux.HandleFunc("GET /docs/x.pdf", func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(404)
				io.WriteString(w, "The requested URL "+r.RequestURI+" was not found on this server.")
			})
			_, err := c.DownloadFile(t.Context(), "f", io.Discard)
			return err
		}},
		{"download not found", func(t *testing.T) error {
			c, mux := setup(t, WithLogger(logger))
			mux.HandleFunc("POST /getFile", func(w http.ResponseWriter, r *http.Request) {
				reply(w, 200, `{"ok":true,"result":{"file_id":"f","file_path":"docs/x.pdf"}}`)
			})
			_, err := c.DownloadFile(t.Context(), "f", io.Discard)
			return err
		}},
		{"download refused", func(t *testing.T) error {
			c, mux := setup(t, WithLogger(logger))
			mux.HandleFunc("POST /getFile", func(w http.ResponseWriter, r *http.Request) {
				reply(w, 200, `{"ok":true,"result":{"file_id":"f","file_path":"docs/x.pdf"}}`)
			})
			c.key().base = closedURL
			_, err := c.DownloadFile(t.Context(), "f", io.Discard)
			return err
		}},
		{"download cut", func(t *testing.T) error {
			c, mux := setup(t, WithLogger(logger))
			mux.HandleFunc("POST /getFile", func(w http.ResponseWriter, r *http.Request) {
				reply(w, 200, `{"ok":true,"result":{"file_id":"f","file_path":"docs/x.pdf"}}`)
			})
			mux.HandleFunc("GET /docs/x.pdf", hijack)
			_, err := c.DownloadFile(t.Context(), "f", io.Discard)
			return err
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call(t)
			require.Error(t, err)
			for e := err; e != nil; e = errors.Unwrap(e) {
				assert.NotContains(t, e.Error(), testToken)
				// Nor a prefix cut short by truncation.
				assert.NotContains(t, e.Error(), testToken[:10])
				assert.NotContains(t, fmt.Sprintf("%+v %#v", e, e), testToken)
			}
			var ue *url.Error
			if errors.As(err, &ue) {
				assert.NotContains(t, ue.URL, testToken)
			}
		})
	}
	assert.NotContains(t, logs.String(), testToken)
	assert.Contains(t, logs.String(), "method=getMe")

	c := New(testToken)
	for _, s := range []string{c.String(), fmt.Sprintf("%v %+v %#v %s", c, c, c, c)} {
		assert.NotContains(t, s, testToken)
	}
}

func TestNetworkErrorsAreTyped(t *testing.T) {
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()
	c := New(testToken, WithBaseURL(closedURL), WithRetry(RetryPolicy{MaxAttempts: 1}))
	err := c.Call(t.Context(), "getMe", nil, nil)
	require.ErrorIs(t, err, ErrNetwork)
	var ue *url.Error
	require.ErrorAs(t, err, &ue)
	assert.Equal(t, closedURL+"/bot<redacted>/getMe", ue.URL)
	assert.Contains(t, err.Error(), "botapi: getMe: network error: Post")
}

func TestContextCanceled(t *testing.T) {
	c, mux := setup(t)
	mux.HandleFunc("POST /getMe", func(w http.ResponseWriter, r *http.Request) {
		reply(w, 200, `{"ok":true,"result":true}`)
	})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := c.Call(ctx, "getMe", nil, nil)
	require.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, "botapi: getMe: context canceled", err.Error())
}

func TestChatIDJSON(t *testing.T) {
	tests := []struct {
		in   ChatID
		json string
	}{
		{ChatID{ID: -1001234567890}, `-1001234567890`},
		{ChatID{ID: 42}, `42`},
		{ChatID{Username: "@channel"}, `"@channel"`},
		{ChatID{Username: "channel"}, `"@channel"`},
	}
	for _, tt := range tests {
		t.Run(tt.json, func(t *testing.T) {
			b, err := json.Marshal(tt.in)
			require.NoError(t, err)
			assert.Equal(t, tt.json, string(b))
			var back ChatID
			require.NoError(t, json.Unmarshal(b, &back))
			assert.Equal(t, tt.in.Key(), back.Key())
		})
	}
	var id ChatID
	require.NoError(t, json.Unmarshal([]byte(`"-100123"`), &id))
	assert.Equal(t, ChatID{ID: -100123}, id)
	require.Error(t, json.Unmarshal([]byte(`""`), &id))
	require.Error(t, json.Unmarshal([]byte(`true`), &id))
	assert.Equal(t, "@chan", ChatID{Username: "chan"}.String())
	assert.Equal(t, "-5", ChatID{ID: -5}.String())
}

func TestChatIDKey(t *testing.T) {
	a := ChatID{Username: "@MyChannel"}.Key()
	assert.Equal(t, a, ChatID{Username: "mychannel"}.Key(), "stable across spellings")
	assert.Less(t, a, int64(-1<<62))
	assert.NotEqual(t, a, ChatID{Username: "otherchannel"}.Key())
	assert.Equal(t, int64(-100123), ChatID{ID: -100123}.Key())
	assert.Equal(t, int64(0), ChatID{}.Key())
}

func TestInputFileJSON(t *testing.T) {
	b, err := json.Marshal(FileID("AgAC123"))
	require.NoError(t, err)
	assert.Equal(t, `"AgAC123"`, string(b))
	b, err = json.Marshal(FileFromURL("https://example.org/a.png"))
	require.NoError(t, err)
	assert.Equal(t, `"https://example.org/a.png"`, string(b))
	_, err = json.Marshal(Upload("a.png", strings.NewReader("x")))
	require.ErrorIs(t, err, errUploadOutsideCall)
	assert.True(t, InputFile{}.IsZero())
	assert.False(t, FileID("x").IsZero())

	for in, want := range map[string]InputFile{
		`"AgAC"`:                  {FileID: "AgAC"},
		`"https://example.org/a"`: {URL: "https://example.org/a"},
		`"attach://file0"`:        {Name: "file0"},
	} {
		var f InputFile
		require.NoError(t, json.Unmarshal([]byte(in), &f))
		assert.Equal(t, want, f)
	}
}

// rtFunc is an in-memory RoundTripper for tests that run in a synctest
// bubble, where a real socket would stop the fake clock.
type rtFunc func(*http.Request) (*http.Response, error)

func (f rtFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func jsonResponse(status int, body string) *http.Response {
	return &http.Response{
		StatusCode: status,
		Header:     http.Header{"Content-Type": {"application/json"}},
		Body:       io.NopCloser(strings.NewReader(body)),
	}
}

// recordingLimiter records Wait and Backoff calls.
type recordingLimiter struct {
	mu      sync.Mutex
	waits   []int64
	backoff []string
	err     error
}

func (l *recordingLimiter) Wait(ctx context.Context, chatID int64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.waits = append(l.waits, chatID)
	return l.err
}

func (l *recordingLimiter) Backoff(chatID int64, d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.backoff = append(l.backoff, fmt.Sprintf("%d:%s", chatID, d))
}

// TestConcurrentCallsKeepBodiesApart checks that pooled request bodies are
// never shared between calls, including when the server answers before
// reading the body (the transport then closes it after Do returns).
func TestConcurrentCallsKeepBodiesApart(t *testing.T) {
	c, mux := setup(t)
	mux.HandleFunc("POST /echo", func(w http.ResponseWriter, r *http.Request) {
		var p echoParams
		if err := json.NewDecoder(r.Body).Decode(&p); err != nil {
			reply(w, 400, `{"ok":false,"error_code":400,"description":"Bad Request: bad JSON"}`)
			return
		}
		b, _ := json.Marshal(p.Text)
		reply(w, 200, `{"ok":true,"result":`+string(b)+`}`)
	})
	mux.HandleFunc("POST /early", func(w http.ResponseWriter, r *http.Request) {
		reply(w, 200, `{"ok":true,"result":"early"}`) // body left unread
	})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 40 {
				text := fmt.Sprintf("g%d-i%d-%s", g, i, strings.Repeat("x", (g*40+i)%300))
				var got string
				if i%5 == 0 {
					big := &echoParams{Text: strings.Repeat("y", 256<<10)}
					if err := c.Call(t.Context(), "early", big, &got); err != nil || got != "early" {
						t.Errorf("early: %q %v", got, err)
					}
					continue
				}
				if err := c.Call(t.Context(), "echo", &echoParams{ChatID: ChatID{ID: int64(g)}, Text: text}, &got); err != nil {
					t.Errorf("echo: %v", err)
					continue
				}
				if got != text {
					t.Errorf("sent %q, server saw %q", text, got)
				}
			}
		})
	}
	wg.Wait()
}

func TestDecodeAnswer(t *testing.T) {
	n, err := DecodeAnswer[int]("getChatMemberCount", []byte(`{"ok":true,"result":17}`))
	require.NoError(t, err)
	assert.Equal(t, 17, n)

	_, err = DecodeAnswer[int]("getChatMemberCount", []byte(`{"ok":false,"error_code":400,"description":"Bad Request: chat not found"}`))
	require.ErrorIs(t, err, ErrBadRequest)
	assert.Equal(t, "botapi: getChatMemberCount: 400 Bad Request: chat not found", err.Error())

	_, err = DecodeAnswer[int]("getChatMemberCount", []byte(`<html>502</html>`))
	require.ErrorIs(t, err, ErrInvalidResponse)
	_, err = DecodeAnswer[int]("getChatMemberCount", []byte(`{"ok":true,"result":"x"}`))
	require.ErrorIs(t, err, ErrInvalidResponse)
}

func TestDefaultSendsDirectly(t *testing.T) {
	c := New(testToken)
	assert.Same(t, c.hc.Transport, c.rt, "sent through the transport directly")
	assert.Nil(t, New(testToken, WithHTTPClient(&http.Client{})).rt, "a caller's client is used as is")
	assert.Nil(t, New(testToken, WithBaseURL("https://u:p@example.invalid")).rt,
		"user info in the base URL goes through http.Client, which sends it")
}

// countedServer is an httptest server (TLS if useTLS) that counts the
// connections it accepts.
func countedServer(t *testing.T, h http.Handler, useTLS bool) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	conns := new(atomic.Int32)
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	if useTLS {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	return srv, conns
}

func TestDefaultClientReusesOneConnection(t *testing.T) {
	srv, conns := countedServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, "application/json", r.Header.Get("Content-Type"))
		b, err := io.ReadAll(r.Body)
		assert.NoError(t, err)
		assert.JSONEq(t, `{"chat_id":42,"text":"hi"}`, string(b))
		reply(w, 200, `{"ok":true,"result":{"message_id":7,"date":1,"chat":{"id":42,"type":"private"}}}`)
	}), false)
	c := New(testToken, WithBaseURL(srv.URL))
	require.NotNil(t, c.rt)
	for range 3 {
		m, err := c.SendMessage(t.Context(), &SendMessageParams{ChatID: ChatID{ID: 42}, Text: "hi"})
		require.NoError(t, err)
		assert.Equal(t, int64(7), m.MessageID)
	}
	assert.Equal(t, int32(1), conns.Load())
}

// No fmt verb prints the token, of a *Client or of a Client value. Before
// the fix %d, %t, %x and others printed the struct's fields, token
// included.
func TestFormatNeverPrintsToken(t *testing.T) {
	// Its own http.Client: fmt would print the shared default transport's
	// internals, which its connections' goroutines write to.
	c := New(testToken, WithBaseURL("https://api.example"), WithHTTPClient(&http.Client{}))
	c.methodURL("getMe")                           // fills the client's URL cache
	value := reflect.ValueOf(c).Elem().Interface() // a copy, as %v of *c would see
	verbs := []string{"%v", "%+v", "%#v", "%s", "%q", "%d", "%t", "%x", "%X", "%o", "%b", "%e", "%g", "%c", "%U", "%10.3v", "%-8s", "%08d"}
	for _, verb := range verbs {
		for name, arg := range map[string]any{"pointer": c, "value": value} {
			got := fmt.Sprintf(verb, arg)
			assert.NotContains(t, got, testToken, "%s of a %s", verb, name)
			assert.NotContains(t, got, "secret_token", "%s of a %s", verb, name)
		}
	}
	assert.Equal(t, "botapi.Client{https://api.example/bot<redacted>}", fmt.Sprintf("%d", c))
}

// A base URL may carry a password (a Bot API server behind basic auth).
// Before the fix every fmt verb of the client printed it, although the
// client's doc promises a printable form; net/http's errors already hide
// it.
func TestFormatNeverPrintsBaseURLPassword(t *testing.T) {
	c := New(testToken, WithBaseURL("https://bot:hunter2@api.example"), WithHTTPClient(&http.Client{}))
	value := reflect.ValueOf(c).Elem().Interface() // a copy, printed field by field
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%d"} {
		for name, arg := range map[string]any{"pointer": c, "value": value} {
			got := fmt.Sprintf(verb, arg)
			assert.NotContains(t, got, "hunter2", "%s of a %s", verb, name)
			assert.NotContains(t, got, testToken, "%s of a %s", verb, name)
		}
	}
	assert.Equal(t, "botapi.Client{https://bot:xxxxx@api.example/bot<redacted>}", c.String())
}

// A success answer without a result ({"ok":true}, or "result":null: a
// broken proxy or server) is not a success: the caller would get a nil
// *Message with a nil error and crash on it. Before the fix SendMessage
// returned (nil, nil).
func TestSuccessWithoutResult(t *testing.T) {
	for _, body := range []string{`{"ok":true}`, `{"ok":true,"result":null}`} {
		t.Run(body, func(t *testing.T) {
			c, mux := setup(t, WithRetry(RetryPolicy{MaxAttempts: 1}))
			mux.HandleFunc("POST /sendMessage", func(w http.ResponseWriter, r *http.Request) { reply(w, 200, body) })
			m, err := c.SendMessage(t.Context(), &SendMessageParams{ChatID: ChatID{ID: 1}, Text: "x"})
			require.ErrorIs(t, err, ErrInvalidResponse)
			assert.Nil(t, m)
			_, err = DecodeAnswer[*User]("getMe", []byte(body))
			require.ErrorIs(t, err, ErrInvalidResponse)
		})
	}
	t.Run("an inline edit's true is still a success", func(t *testing.T) {
		c, mux := setup(t, WithRetry(RetryPolicy{MaxAttempts: 1}))
		mux.HandleFunc("POST /editMessageText", func(w http.ResponseWriter, r *http.Request) { reply(w, 200, `{"ok":true,"result":true}`) })
		m, err := c.EditMessageText(t.Context(), &EditMessageTextParams{InlineMessageID: "i", Text: "x"})
		require.NoError(t, err)
		assert.Nil(t, m)
	})
}
