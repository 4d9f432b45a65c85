// Command hello is the smallest Mini App backend: one HTML page and
// GET /api/me, which answers with the Telegram user the page's init data
// names, behind initdata.Middleware.
//
// With TELEGRAM_BOT_TOKEN set it validates real data from Telegram (open
// the printed URL, through a tunnel with HTTPS, as your bot's Mini App).
// Without it, it runs on an embedded default: it makes a throwaway token,
// signs demo init data with initdata.Sign, and the page uses that when it is
// not inside Telegram, so it works in any browser:
//
//	go run ./examples/hello
//
// LISTEN_ADDR sets the address (default localhost:8080). The embedded
// default listens on loopback only (its page signs anyone in as the demo
// user) unless the -public-demo flag says otherwise. Ctrl-C stops it
// gracefully.
package main

import (
	"context"
	"crypto/rand"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"html/template"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/miniappkit/miniappkit/initdata"
	"github.com/miniappkit/miniappkit/internal/httpjson"
)

//go:embed index.html
var pageHTML string

var page = template.Must(template.New("index.html").Parse(pageHTML))

// demoUser is the user of the demo init data.
const demoUser = `{"id":100000001,"first_name":"Demo","last_name":"User","username":"demo_user","language_code":"en","allows_write_to_pm":true}`

const defaultAddr = "localhost:8080"

func main() {
	publicDemo := flag.Bool("public-demo", false, "let the embedded default (no TELEGRAM_BOT_TOKEN) listen on an address other than loopback; its page signs anyone in as the demo user")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Getenv, *publicDemo, os.Stdout); err != nil {
		log.Fatal(err)
	}
}

// run serves until ctx ends, then shuts down gracefully. Without a token
// it refuses an address other than loopback unless publicDemo.
func run(ctx context.Context, getenv func(string) string, publicDemo bool, stdout io.Writer) error {
	addr := getenv("LISTEN_ADDR")
	if addr == "" {
		addr = defaultAddr
	}
	token := getenv("TELEGRAM_BOT_TOKEN")
	demo := token == ""
	if demo {
		token = throwawayToken()
	}
	h := newHandler(token, demo, time.Now)

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	if tcp, ok := ln.Addr().(*net.TCPAddr); demo && !publicDemo && (!ok || !tcp.IP.IsLoopback()) {
		ln.Close()
		return fmt.Errorf("the embedded default listens on loopback only, not %s: its page signs anyone in as the demo user (set LISTEN_ADDR=localhost:8080, or pass -public-demo)", ln.Addr())
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	mode := "validating real Telegram init data (TELEGRAM_BOT_TOKEN is set)"
	if demo {
		mode = "demo mode: no TELEGRAM_BOT_TOKEN, so the page uses demo init data signed with a throwaway token"
	}
	fmt.Fprintf(stdout, "hello: %s\nhello: open %s\n", mode, pageURL(addr, ln.Addr()))

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	fmt.Fprintln(stdout, "hello: stopped")
	return nil
}

// pageURL is the URL to open: the host as configured (localhost when it is
// empty or unspecified), the port as bound (so ":0" shows the real one).
func pageURL(configured string, bound net.Addr) string {
	host, _, err := net.SplitHostPort(configured)
	if err != nil {
		host = ""
	}
	_, port, err := net.SplitHostPort(bound.String())
	if err != nil {
		return "http://" + bound.String() + "/"
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port) + "/"
}

// throwawayToken makes a random bot token that exists nowhere but here.
func throwawayToken() string {
	return "100000000:" + rand.Text()
}

// newHandler serves the page and GET /api/me. In demo mode the page carries
// init data signed just now with token; now is the clock of both. Every
// error answer, 404 and 405 included, is RFC 9457 problem+json.
func newHandler(token string, demo bool, now func() time.Time) http.Handler {
	v := initdata.NewValidator(token, initdata.WithClock(now))
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		var data struct{ DemoInitData string }
		if demo {
			data.DemoInitData = initdata.Sign(url.Values{
				"query_id": {"AAHdemo"},
				"user":     {demoUser},
			}, token, now())
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		if err := page.Execute(w, data); err != nil {
			log.Printf("hello: page: %v", err)
		}
	})
	// WithRequireUser: init data without a user gets 401, so me can rely
	// on d.User.
	mux.Handle("GET /api/me", initdata.Middleware(v, initdata.WithRequireUser())(http.HandlerFunc(me)))
	return httpjson.Problems(mux)
}

// me answers with the validated user.
func me(w http.ResponseWriter, r *http.Request) {
	d, _ := initdata.FromContext(r.Context())
	httpjson.Write(w, http.StatusOK, d.User)
}
