package main

import (
	"context"
	"errors"
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
	"github.com/miniappkit/miniappkit/payments"
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

// updateWorkers is how many updates are handled at once.
const updateWorkers = 8

// retryPendingEvery is how often the ledger's pending work is retried:
// paid but unfulfilled payments (a fulfilment failed or its process died),
// duplicate charges to refund, refunds that waited for a fulfilment.
const retryPendingEvery = 5 * time.Second

// purgeEvery is how many retry rounds pass between two purges of old
// unpaid orders (one a minute).
const purgeEvery = 12

// run serves the shop until ctx ends, then shuts down gracefully: it stops
// taking requests, lets in-flight requests (webhook deliveries included)
// finish, lets the confirmation sender finish its sends in flight (within
// cfg.ShutdownTimeout), and returns. What is not done stays in the
// database and is resumed at the next start.
func run(ctx context.Context, cfg config, log *slog.Logger, stdout io.Writer) error {
	// stopRun ends the poller, the sender and the periodic retries when the
	// shop stops, whether ctx ended or the server failed.
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

	st, err := openState(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.close()
	key, err := payloadKey(ctx, st.db, cfg.PayloadKey)
	if err != nil {
		return err
	}

	// Outbound: every send waits on Telegram's limits (per chat, per
	// group, global), and a 429 feeds the scheduler's backoff. The breaker
	// stops calls at once while Telegram is unreachable; /healthz reports
	// it.
	var (
		metrics  http.Handler
		rateOpts = []ratelimit.Option{ratelimit.WithStore(st.rates)}
		botOpts  []botapi.Option
		hookOpts = []webhook.Option{webhook.WithLogger(log)}
		payOpts  []payments.Option
	)
	if cfg.Metrics {
		obs, h, err := newMetrics()
		if err != nil {
			return fmt.Errorf("metrics: %w", err)
		}
		metrics = h
		// The stores too: each call's operation, duration and error.
		st.ledger = payments.ObserveLedger(st.ledger, obs.ObserveLedger)
		st.updates = webhook.ObserveStore(st.updates, obs.ObserveWebhookStore)
		st.idempotency = webhook.ObserveStore(st.idempotency, obs.ObserveWebhookStore)
		if st.rates != nil {
			st.rates = ratelimit.ObserveStore(st.rates, obs.ObserveRateStore)
		}
		rateOpts = []ratelimit.Option{ratelimit.WithStore(st.rates), ratelimit.WithObserver(obs)}
		botOpts = append(botOpts, botapi.WithObserver(obs))
		hookOpts = append(hookOpts, webhook.WithObserver(obs))
		payOpts = append(payOpts, payments.WithObserver(obs))
	}
	sched, err := ratelimit.NewTelegram(rateOpts...)
	if err != nil {
		return err
	}
	breaker := newBreaker()
	opts := append([]botapi.Option{botapi.WithLogger(log), botapi.WithLimiter(sched), botapi.WithBreaker(breaker)}, botOpts...)
	var (
		d      *demo
		bot    *botapi.Client
		token  = cfg.Token
		appURL = localURL
	)
	switch {
	case cfg.demo():
		d = newDemo(log)
		defer d.fake.Close()
		token = d.fake.Token()
		bot = d.client(opts...)
	case cfg.TelegramAPIURL != "":
		bot = botapi.New(token, append(opts, botapi.WithBaseURL(cfg.TelegramAPIURL))...)
	default:
		bot = botapi.New(token, opts...)
	}
	if cfg.PublicURL != "" {
		appURL = cfg.PublicURL + "/"
	}

	s, err := newShop(log, bot, token, st, key, appURL, time.Now, payOpts...)
	if err != nil {
		return err
	}
	s.telegramDown = breaker.open
	if st.rates != nil {
		// Telegram's limits are in Redis: a new sender knows the last
		// one's sends, so it needs no warm-up.
		s.outbox.warmup = 0
	}
	mux := http.NewServeMux()
	s.routes(mux)
	if d != nil {
		d.routes(mux, s)
	}
	if metrics != nil {
		mux.Handle("GET /metrics", metrics)
	}

	srv := &http.Server{
		Handler:           httpjson.Problems(mux),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}

	// work is the context of update handling and sends: it outlives ctx by
	// the shutdown timeout, so what is under way at SIGTERM finishes.
	work, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()
	var background sync.WaitGroup

	if _, err := bot.GetMe(ctx); err != nil {
		return fmt.Errorf("getMe (is TELEGRAM_BOT_TOKEN right?): %w", err)
	}
	// Updates: the webhook stores each one in the durable queue (the
	// engine's table) and answers Telegram; workers pop and handle them,
	// each update_id once across replicas (the store). An update is
	// acknowledged only once it is in the queue, and a popped update whose
	// worker died comes back after the pop lease, so none is lost.
	var worker *webhook.Worker
	useWebhook := d != nil || cfg.PublicURL != ""
	if useWebhook {
		secret := cfg.WebhookSecret
		if secret == "" {
			// One secret for every replica and every restart.
			if secret, err = setting(ctx, st.db, "webhook_secret", webhook.NewSecretToken()); err != nil {
				return fmt.Errorf("webhook secret: %w", err)
			}
		}
		if err := webhook.CheckSecretToken(secret); err != nil {
			return fmt.Errorf("WEBHOOK_SECRET: %w", err)
		}
		hookOpts = append(hookOpts, webhook.WithStore(st.updates))
		if d != nil {
			hookOpts = append(hookOpts, webhook.WithNamespace(demoNamespace()))
		} else {
			hookOpts = append(hookOpts, webhook.WithSecretNamespace(secret))
		}
		hook, err := webhook.NewHandler(secret, s, append(hookOpts, webhook.WithAsync(st.queue))...)
		if err != nil {
			return fmt.Errorf("webhook: %w", err)
		}
		if worker, err = webhook.NewWorker(st.queue, s, hookOpts...); err != nil {
			return fmt.Errorf("webhook worker: %w", err)
		}
		mux.Handle(webhookPath, hook)
		hookURL := strings.TrimSuffix(appURL, "/") + webhookPath
		switch {
		case d != nil:
			// The in-process fake reaches the shop over loopback HTTP,
			// which Register (rightly) refuses for real Telegram, so the
			// embedded default calls setWebhook itself.
			hookURL = loopbackURL(port) + webhookPath
			fallthrough
		case cfg.localAPI():
			err = bot.SetWebhook(ctx, &botapi.SetWebhookParams{
				URL: hookURL, SecretToken: secret, AllowedUpdates: allowedUpdates,
			})
		default:
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
		background.Go(func() { s.poll(ctx, work) })
		log.Info("long polling getUpdates (no PUBLIC_URL)")
	}
	// The workers run until the shutdown has drained the webhook's
	// in-flight requests; their updates in progress then finish, and the
	// rest stays in the queue for the next start (or another replica).
	workers, stopWorkers := context.WithCancel(work)
	defer stopWorkers()
	var consumers sync.WaitGroup
	if worker != nil {
		consumers.Go(func() {
			if err := worker.Run(workers, updateWorkers); err != nil && !errors.Is(err, context.Canceled) {
				log.Warn("update workers stopped", "err", err)
			}
		})
	}
	// Resume: the ledger's pending work now and periodically, and the
	// messages not sent yet.
	background.Go(func() { s.retryPending(ctx, work) })
	background.Go(func() { s.outbox.run(ctx, work) })

	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	// The menu button opens the shop in every private chat. Telegram opens
	// Mini Apps over HTTPS only, so it needs PUBLIC_URL.
	if strings.HasPrefix(cfg.PublicURL, "https://") {
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
	fmt.Fprintf(stdout, "data: %s\n", st.desc)
	// The line a supervisor (the tests) waits for: the shop serves.
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
	// 1. Stop the poller, the sender's next round and the retries, and stop
	// taking requests; in-flight requests (webhook deliveries included)
	// and sends finish.
	stopRun()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		log.Warn("in-flight requests cut short", "err", err)
	}
	// 2. Stop the workers: updates in progress finish, the rest stays
	// queued.
	stopWorkers()
	done := make(chan struct{})
	go func() { background.Wait(); consumers.Wait(); close(done) }()
	select {
	case <-done:
	case <-shutdownCtx.Done():
		cancelWork()
		<-done
		log.Warn("work cut short by the shutdown timeout; it resumes at the next start")
	}
	if n, err := s.outbox.pending(work); err == nil && n > 0 {
		log.Info("messages left to send at the next start", "count", n)
	}
	log.Info("shutdown complete")
	return failed
}

// poll long-polls getUpdates until ctx ends and handles each update before
// asking for the next, so Telegram keeps what is not handled yet.
func (s *shop) poll(ctx, work context.Context) {
	for u, err := range s.bot.Updates(ctx, &botapi.UpdatesOptions{AllowedUpdates: allowedUpdates}) {
		if err != nil {
			s.log.Warn("getUpdates", "err", err)
			continue
		}
		if err := s.HandleUpdate(work, u); err != nil {
			// Payments are in the ledger and retried from there.
			s.log.Error("update failed", "update", u.UpdateID, "err", err)
		}
	}
}

// retryPending resumes the ledger's pending work at start and then
// periodically, and now and then deletes old unpaid orders.
func (s *shop) retryPending(ctx, work context.Context) {
	t := time.NewTicker(retryPendingEvery)
	defer t.Stop()
	for i := 0; ; i++ {
		if n, err := s.payments.RetryPending(work); n > 0 || err != nil {
			s.log.Info("retried pending payments", "done", n, "err", err)
		}
		if i%purgeEvery == 0 {
			if n, err := s.orders.purge(work, s.now()); n > 0 || err != nil {
				s.log.Info("old unpaid orders deleted", "count", n, "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
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
