package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/miniappkit/miniappkit/botapi"
)

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	cfg, err := configFromEnv(os.Getenv)
	if err != nil {
		log.Error("configuration", "err", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, log, os.Stdout); err != nil {
		log.Error("shop stopped", "err", err)
		os.Exit(1)
	}
}

// allowedUpdates are the update kinds the shop asks Telegram for.
var allowedUpdates = []string{"message", "pre_checkout_query"}

// retryPendingEvery is how often paid but unfulfilled payments are retried.
const retryPendingEvery = time.Minute

// run serves the shop until ctx ends, then shuts down gracefully: it stops
// taking requests, lets in-flight requests and updates finish (within
// cfg.ShutdownTimeout), and returns.
func run(ctx context.Context, cfg config, log *slog.Logger, stdout io.Writer) error {
	ln, err := net.Listen("tcp", cfg.ListenAddr)
	if err != nil {
		return fmt.Errorf("listen on %s (set LISTEN_ADDR to change it): %w", cfg.ListenAddr, err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	localURL := displayURL(ln.Addr())

	payloadKey := []byte(cfg.PayloadKey)
	if len(payloadKey) == 0 {
		payloadKey = make([]byte, 32)
		_, _ = rand.Read(payloadKey)
	}

	var (
		d      *demo
		bot    *botapi.Client
		token  = cfg.Token
		appURL = localURL
	)
	if cfg.demo() {
		d = newDemo(log)
		defer d.fake.Close()
		token = d.fake.Token()
		bot = d.client(botapi.WithLogger(log))
	} else {
		bot = botapi.New(token, botapi.WithLogger(log))
		if cfg.PublicURL != "" {
			appURL = cfg.PublicURL + "/"
		}
	}

	s, err := newShop(log, bot, token, payloadKey, appURL, time.Now)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	s.routes(mux)
	if d != nil {
		d.routes(mux, s)
	}
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	// work is the context of update handling: it outlives ctx by the
	// shutdown timeout, so an update being handled at SIGTERM completes.
	work, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()
	var wg sync.WaitGroup

	// Updates: long polling (the webhook comes with the webhook package).
	if _, err := bot.GetMe(ctx); err != nil {
		return fmt.Errorf("getMe (is TELEGRAM_BOT_TOKEN right?): %w", err)
	}
	if err := bot.DeleteWebhook(ctx, &botapi.DeleteWebhookParams{}); err != nil {
		return fmt.Errorf("deleteWebhook: %w", err)
	}
	wg.Go(func() { s.poll(ctx, work) })
	wg.Go(func() { s.retryPending(ctx, work) })

	if cfg.PublicURL != "" || d != nil {
		if err := bot.SetWebAppMenuButton(ctx, 0, "Shop", appURL); err != nil {
			log.Warn("menu button not set", "err", err)
		}
	}

	if d != nil {
		fmt.Fprintf(stdout, "Star Shop is running on its embedded default: a fake Telegram in process, no token, no network.\n")
		fmt.Fprintf(stdout, "demo user: %s (id %d)\n", d.userName(), d.user.ID)
	} else {
		fmt.Fprintf(stdout, "Star Shop is running for your bot; open it from Telegram.\n")
	}
	fmt.Fprintf(stdout, "Open %s in your browser.\n", localURL)
	log.Info("listening", "addr", ln.Addr().String(), "port", port, "demo", d != nil)

	select {
	case <-ctx.Done():
	case err := <-serveErr:
		return fmt.Errorf("serve: %w", err)
	}

	log.Info("shutting down", "timeout", cfg.ShutdownTimeout)
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		log.Warn("in-flight requests cut short", "err", err)
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-shutdownCtx.Done():
		cancelWork()
		<-done
		log.Warn("update handling cut short by the shutdown timeout")
	}
	log.Info("shutdown complete")
	return nil
}

// poll long-polls getUpdates until ctx ends. Each update is handled with
// work, which outlives ctx during a graceful shutdown.
func (s *shop) poll(ctx, work context.Context) {
	for u, err := range s.bot.Updates(ctx, &botapi.UpdatesOptions{AllowedUpdates: allowedUpdates}) {
		if err != nil {
			s.log.Warn("getUpdates", "err", err)
			continue
		}
		if err := s.HandleUpdate(work, u); err != nil {
			// The payment stays recorded as paid; retryPending fulfils it.
			s.log.Error("update not handled", "update", u.UpdateID, "err", err)
		}
	}
}

// retryPending periodically fulfils payments whose fulfilment failed.
func (s *shop) retryPending(ctx, work context.Context) {
	t := time.NewTicker(retryPendingEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if n, err := s.payments.RetryPending(work); n > 0 || err != nil {
				s.log.Info("retried pending fulfilments", "fulfilled", n, "err", err)
			}
		}
	}
}

// displayURL is the address to open in a browser on this machine.
func displayURL(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok {
		return "http://" + a.String() + "/"
	}
	host := tcp.IP.String()
	if tcp.IP.IsUnspecified() {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, strconv.Itoa(tcp.Port)) + "/"
}
