package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/miniappkit/miniappkit/initdata"
)

var testNow = time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)

func clock() time.Time { return testNow }

// demoData extracts the demo init data the page carries.
func demoData(t *testing.T, h http.Handler) string {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	require.Equal(t, http.StatusOK, rec.Code)
	require.Contains(t, rec.Header().Get("Content-Type"), "text/html")
	m := regexp.MustCompile(`const demoInitData = "([^"]*)";`).FindStringSubmatch(rec.Body.String())
	require.NotNil(t, m, rec.Body.String())
	// html/template escapes for JavaScript: undo the escapes it uses here.
	return strings.NewReplacer(`\u0026`, "&", `\u002b`, "+", `\/`, "/", `\u003d`, "=").Replace(m[1])
}

func get(h http.Handler, auth string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, "/api/me", nil)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestDemoMode(t *testing.T) {
	h := newHandler("100000000:throwaway", true, clock)
	raw := demoData(t, h)

	rec := get(h, "tma "+raw)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	var u initdata.User
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &u))
	require.Equal(t, initdata.User{ID: 100000001, FirstName: "Demo", LastName: "User", Username: "demo_user", LanguageCode: "en", AllowsWriteToPM: true}, u)

	require.Equal(t, http.StatusUnauthorized, get(h, "").Code)
	require.Equal(t, http.StatusUnauthorized, get(h, "tma "+raw+"&x=1").Code)
	// Data signed with another token is refused.
	other := newHandler("100000000:other", true, clock)
	require.Equal(t, http.StatusUnauthorized, get(other, "tma "+raw).Code)
}

func TestRealTokenMode(t *testing.T) {
	const token = "123456:real"
	h := newHandler(token, false, clock)
	require.Empty(t, demoData(t, h), "no demo data with a real token")

	signed := initdata.Sign(url.Values{"user": {`{"id":7,"first_name":"Ada"}`}}, token, testNow)
	rec := get(h, "tma "+signed)
	require.Equal(t, http.StatusOK, rec.Code)
	require.JSONEq(t, `{"id":7,"first_name":"Ada"}`, rec.Body.String())

	noUser := initdata.Sign(url.Values{"chat_type": {"sender"}}, token, testNow)
	rec = get(h, "tma "+noUser)
	require.Equal(t, http.StatusUnauthorized, rec.Code)
	require.Contains(t, rec.Body.String(), `"reason":"invalid"`)
}

func TestRunServesAndShutsDown(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	pr, pw := io.Pipe()
	env := map[string]string{"LISTEN_ADDR": "127.0.0.1:0"}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, func(k string) string { return env[k] }, false, pw)
		pw.Close()
	}()
	lines := bufio.NewScanner(pr)
	var pageURL string
	for lines.Scan() {
		if u, ok := strings.CutPrefix(lines.Text(), "hello: open "); ok {
			pageURL = u
			break
		}
	}
	require.True(t, strings.HasPrefix(pageURL, "http://127.0.0.1:"), pageURL)
	resp, err := http.Get(pageURL + "api/me")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)

	cancel()
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	require.NoError(t, <-done)
}

func TestPageURL(t *testing.T) {
	bound := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8080}
	for configured, want := range map[string]string{
		"localhost:8080": "http://localhost:8080/",
		":8080":          "http://localhost:8080/",
		"0.0.0.0:8080":   "http://localhost:8080/",
		"127.0.0.1:0":    "http://127.0.0.1:8080/",
		"[::1]:8080":     "http://[::1]:8080/",
	} {
		require.Equal(t, want, pageURL(configured, bound), configured)
	}
}

// TestEveryErrorIsAProblem walks the routes, and some that do not exist,
// with every method and bad init data: each error is problem+json.
func TestEveryErrorIsAProblem(t *testing.T) {
	h := newHandler("100000000:throwaway", true, clock)
	raw := demoData(t, h)
	errorsSeen := 0
	for _, path := range []string{"/", "/api/me", "/api/me/", "/nope", "/api/"} {
		for _, method := range []string{"GET", "HEAD", "POST", "PUT", "DELETE"} {
			for _, auth := range []string{"", "tma ", "tma x=1", "Bearer " + raw, "tma " + raw + "&x=1"} {
				req := httptest.NewRequest(method, path, strings.NewReader("{}"))
				if auth != "" {
					req.Header.Set("Authorization", auth)
				}
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code < 400 {
					continue
				}
				errorsSeen++
				require.Equal(t, "application/problem+json", rec.Header().Get("Content-Type"), "%s %s %q: %d", method, path, auth, rec.Code)
				if method != "HEAD" {
					require.Contains(t, rec.Body.String(), `"status":`)
				}
			}
		}
	}
	require.Greater(t, errorsSeen, 50)
}

func TestDemoOnLoopbackOnly(t *testing.T) {
	env := map[string]string{"LISTEN_ADDR": "0.0.0.0:0"}
	err := run(t.Context(), func(k string) string { return env[k] }, false, io.Discard)
	require.ErrorContains(t, err, "loopback only")
	ctx, cancel := context.WithCancel(t.Context())
	cancel() // serve, then stop at once
	require.NoError(t, run(ctx, func(k string) string { return env[k] }, true, io.Discard))
}
