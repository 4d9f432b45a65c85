package main

import (
	"context"
	"crypto/rand"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/miniappkit/miniappkit/botapi"
	"github.com/miniappkit/miniappkit/internal/httpjson"
	"github.com/miniappkit/miniappkit/ratelimit"
	"github.com/miniappkit/miniappkit/webhook"
)

func main() {
	publicDemo := flag.Bool("public-demo", false, "let the embedded default (no TELEGRAM_BOT_TOKEN) listen on an address other than loopback; its demo routes sign anyone in as the demo user")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	cfg, err := configFromEnv(os.Getenv)
	if err != nil {
		log.Error("configuration", "err", err)
		os.Exit(2)
	}
	cfg.PublicDemo = *publicDemo
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, log, os.Stdout); err != nil {
		log.Error("shop stopped", "err", err)
		os.Exit(1)
	}
}

// allowedUpdates are the update kinds the shop asks Telegram for.
var allowedUpdates = []string{"message", "pre_checkout_query"}

// Update processing: the in-memory queue's capacity and the workers.
const (
	updateQueueSize = 1024
	updateWorkers   = 4
)

// retryPendingEvery is how often paid but unfulfilled payments are retried.
const retryPendingEvery = time.Minute

// run serves the shop until ctx ends, then shuts down gracefully: it stops
// taking requests, lets in-flight requests and updates finish (within
// cfg.ShutdownTimeout), and returns.
func run(ctx context.Context, cfg config, log *slog.Logger, stdout io.Writer) error {
	// stopRun ends the poller and the periodic retries when the shop stops,
	// whether ctx ended or the server failed.
	ctx, stopRun := context.WithCancel(ctx)
	defer stopRun()
	ln, err := net.Listen("tcp", cfg.ListenAddr)
	if err != nil {
		return fmt.Errorf("listen on %s (set LISTEN_ADDR to change it): %w", cfg.ListenAddr, err)
	}
	defer ln.Close()
	if cfg.demo() && !cfg.PublicDemo && !isLoopback(ln.Addr()) {
		return fmt.Errorf("the embedded default listens on loopback only, not %s: its /demo/session signs anyone in as the demo user (set LISTEN_ADDR=localhost:8080, or pass -public-demo to serve it anyway)", ln.Addr())
	}
	port := ln.Addr().(*net.TCPAddr).Port
	localURL := displayURL(ln.Addr())

	payloadKey := []byte(cfg.PayloadKey)
	if len(payloadKey) == 0 {
		payloadKey = make([]byte, 32)
		_, _ = rand.Read(payloadKey)
	}

	// Outbound: every send waits on Telegram's limits (per chat, per
	// group, global), and a 429 feeds the scheduler's backoff.
	sched, err := ratelimit.NewTelegram()
	if err != nil {
		return err
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
		bot = d.client(botapi.WithLogger(log), botapi.WithLimiter(sched))
	} else {
		bot = botapi.New(token, botapi.WithLogger(log), botapi.WithLimiter(sched))
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

	// Updates, from the webhook or the long poller, go through one queue
	// to a pool of workers, with one dedupe store: each update_id is handled
	// once. The queue is in memory (webhook.MemoryQueue), so updates
	// acknowledged but not yet handled are lost if the process crashes; a
	// graceful shutdown drains it. Use a durable webhook.Queue, or the
	// synchronous webhook handler, where that matters.
	store := webhook.NewMemoryStore(0)
	queue := webhook.NewMemoryQueue(updateQueueSize)
	worker := webhook.NewWorker(queue, s, webhook.WithStore(store), webhook.WithLogger(log))

	srv := &http.Server{
		Handler:           httpjson.Problems(mux),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}

	// work is the context of update handling: it outlives ctx by the
	// shutdown timeout, so the updates queued at SIGTERM are handled.
	work, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()
	// consumers handle queued updates; producers (the poller) fill the
	// queue and must stop before it closes.
	var consumers, producers sync.WaitGroup
	consumers.Go(func() {
		if err := worker.Run(work, updateWorkers); err != nil {
			log.Warn("update worker stopped", "err", err)
		}
	})
	defer queue.Close() // on early returns; closing twice is harmless

	if _, err := bot.GetMe(ctx); err != nil {
		return fmt.Errorf("getMe (is TELEGRAM_BOT_TOKEN right?): %w", err)
	}
	useWebhook := d != nil || cfg.PublicURL != ""
	if useWebhook {
		secret := cfg.WebhookSecret
		if secret == "" {
			secret = webhook.NewSecretToken()
		}
		if err := webhook.CheckSecretToken(secret); err != nil {
			return fmt.Errorf("WEBHOOK_SECRET: %w", err)
		}
		mux.Handle(webhookPath, webhook.NewHandler(secret, s,
			webhook.WithAsync(queue), webhook.WithVolatileQueue(),
			webhook.WithStore(store), webhook.WithLogger(log)))
		hookURL := strings.TrimSuffix(appURL, "/") + webhookPath
		if d != nil {
			// The in-process fake reaches the shop over loopback HTTP,
			// which Register (rightly) refuses for real Telegram, so the
			// embedded default calls setWebhook itself.
			hookURL = loopbackURL(port) + webhookPath
			err = bot.SetWebhook(ctx, &botapi.SetWebhookParams{
				URL: hookURL, SecretToken: secret, AllowedUpdates: allowedUpdates,
			})
		} else {
			err = webhook.Register(ctx, bot, hookURL, secret, &webhook.RegisterOptions{AllowedUpdates: allowedUpdates})
		}
		if err != nil {
			return fmt.Errorf("setWebhook: %w", err)
		}
		log.Info("webhook registered", "url", hookURL)
	} else {
		if err := bot.DeleteWebhook(ctx, &botapi.DeleteWebhookParams{}); err != nil {
			return fmt.Errorf("deleteWebhook: %w", err)
		}
		producers.Go(func() { s.poll(ctx, work, queue) })
		log.Info("long polling getUpdates (no PUBLIC_URL)")
	}
	consumers.Go(func() { s.retryPending(ctx, work) })

	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	// The menu button opens the shop in every private chat. Telegram opens
	// Mini Apps over HTTPS only, so it needs PUBLIC_URL.
	if cfg.PublicURL != "" {
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

	var failed error
	select {
	case <-ctx.Done():
	case err := <-serveErr:
		// Shut the rest down as gracefully as a signal would.
		failed = fmt.Errorf("serve: %w", err)
	}

	log.Info("shutting down", "timeout", cfg.ShutdownTimeout)
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	// 1. Stop the poller and stop taking requests; in-flight requests
	// (webhook deliveries included) finish and queue their updates.
	stopRun()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		log.Warn("in-flight requests cut short", "err", err)
	}
	producers.Wait()
	// 2. Close the queue: the workers handle what it holds, then return.
	queue.Close()
	done := make(chan struct{})
	go func() { consumers.Wait(); close(done) }()
	select {
	case <-done:
	case <-shutdownCtx.Done():
		cancelWork()
		<-done
		log.Warn("update queue not drained within the shutdown timeout", "left", queue.Len())
	}
	log.Info("shutdown complete")
	return failed
}

// poll long-polls getUpdates until ctx ends and queues each update for the
// workers. An update counts as received once queued; pushing uses work, so
// an update yielded as ctx ends is still queued.
func (s *shop) poll(ctx, work context.Context, queue webhook.Queue) {
	for u, err := range s.bot.Updates(ctx, &botapi.UpdatesOptions{AllowedUpdates: allowedUpdates}) {
		if err != nil {
			s.log.Warn("getUpdates", "err", err)
			continue
		}
		if err := queue.Push(work, u); err != nil {
			s.log.Error("update dropped", "update", u.UpdateID, "err", err)
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

// loopbackURL is where the in-process fake Telegram reaches the shop.
func loopbackURL(port int) string {
	return "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
}

// isLoopback reports whether a listener's address is a loopback address.
func isLoopback(a net.Addr) bool {
	tcp, ok := a.(*net.TCPAddr)
	return ok && tcp.IP.IsLoopback()
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
