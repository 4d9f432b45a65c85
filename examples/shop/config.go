package main

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"
)

// config is the shop's configuration, read from the environment (see
// README.md next to this file).
type config struct {
	// Token is TELEGRAM_BOT_TOKEN. Empty means the embedded default: a fake
	// Telegram (botapi/botapitest) in process, with a demo user.
	Token string
	// PublicURL is PUBLIC_URL, the HTTPS address Telegram reaches this
	// server at (for example https://shop.example.com). With a token and a
	// public URL the shop registers its webhook at PublicURL + webhookPath;
	// with a token and no public URL it long-polls getUpdates.
	PublicURL string
	// WebhookSecret is WEBHOOK_SECRET, the secret token Telegram sends in
	// X-Telegram-Bot-Api-Secret-Token (1-256 of A-Z a-z 0-9 _ -). Empty means
	// a random one per start, which is fine: the shop registers it again
	// each time it starts.
	WebhookSecret string
	// ListenAddr is LISTEN_ADDR, the address to listen on; default
	// localhost:8080.
	ListenAddr string
	// PayloadKey is PAYLOAD_KEY, the secret that signs invoice payloads (at
	// least 32 bytes). Empty means a random key per start: invoices created
	// before a restart are then refused at pre-checkout, so set it in
	// production.
	PayloadKey string
	// PublicDemo lets the embedded default listen on an address other than
	// loopback (the -public-demo flag). Off by default: its demo routes
	// sign anyone in as the demo user.
	PublicDemo bool
	// DataDir is DATA_DIR, the directory of the SQLite file (shop.db) that
	// keeps orders, the payment ledger, handled updates, Idempotency-Key
	// answers and unsent messages; default a per-user data directory
	// (defaultDataDir). Unused with DatabaseURL.
	DataDir string
	// DatabaseURL is DATABASE_URL, a PostgreSQL URL: the state lives there
	// instead, shared by every replica.
	DatabaseURL string
	// RedisURL is REDIS_URL (redis://host:port/db): handled updates,
	// Idempotency-Key answers and Telegram's limits live there, shared by
	// every replica.
	RedisURL string
	// TelegramAPIURL is TELEGRAM_API_URL, the Bot API server's address
	// (default https://api.telegram.org): a local telegram-bot-api server,
	// or a fake in tests. On loopback, PUBLIC_URL may be plain http.
	TelegramAPIURL string
	// Metrics is METRICS=1: GET /metrics serves OpenTelemetry metrics of
	// every SDK seam in Prometheus's format.
	Metrics bool
	// SQLiteSync is SQLite's synchronous pragma (tests); "" means FULL.
	SQLiteSync string
	// ShutdownTimeout bounds the graceful shutdown (SHUTDOWN_TIMEOUT, a Go
	// duration; default 20s).
	ShutdownTimeout time.Duration
}

// Default values of the configuration.
const (
	defaultListenAddr      = "localhost:8080"
	defaultShutdownTimeout = 20 * time.Second
	minPayloadKeyLen       = 32
)

// configFromEnv reads the configuration through getenv (os.Getenv in main).
func configFromEnv(getenv func(string) string) (config, error) {
	c := config{
		Token:           strings.TrimSpace(getenv("TELEGRAM_BOT_TOKEN")),
		PublicURL:       strings.TrimRight(strings.TrimSpace(getenv("PUBLIC_URL")), "/"),
		WebhookSecret:   getenv("WEBHOOK_SECRET"),
		ListenAddr:      getenv("LISTEN_ADDR"),
		PayloadKey:      getenv("PAYLOAD_KEY"),
		DataDir:         getenv("DATA_DIR"),
		DatabaseURL:     strings.TrimSpace(getenv("DATABASE_URL")),
		RedisURL:        strings.TrimSpace(getenv("REDIS_URL")),
		Metrics:         getenv("METRICS") == "1",
		TelegramAPIURL:  strings.TrimRight(strings.TrimSpace(getenv("TELEGRAM_API_URL")), "/"),
		ShutdownTimeout: defaultShutdownTimeout,
	}
	if c.ListenAddr == "" {
		c.ListenAddr = defaultListenAddr
	}
	if s := getenv("SHUTDOWN_TIMEOUT"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			return config{}, fmt.Errorf("SHUTDOWN_TIMEOUT: want a positive Go duration such as 20s, got %q", s)
		}
		c.ShutdownTimeout = d
	}
	if c.TelegramAPIURL != "" {
		u, err := url.Parse(c.TelegramAPIURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return config{}, errors.New("TELEGRAM_API_URL: want an http:// or https:// URL")
		}
		if c.Token == "" {
			return config{}, errors.New("TELEGRAM_API_URL is set but TELEGRAM_BOT_TOKEN is not")
		}
	}
	if c.PublicURL != "" {
		u, err := url.Parse(c.PublicURL)
		if err != nil || !(u.Scheme == "https" || (u.Scheme == "http" && c.localAPI())) || u.Host == "" {
			return config{}, errors.New("PUBLIC_URL: want an https:// URL (Telegram delivers webhooks and opens Mini Apps over HTTPS only)")
		}
		if c.Token == "" {
			return config{}, errors.New("PUBLIC_URL is set but TELEGRAM_BOT_TOKEN is not: the embedded default needs neither")
		}
	}
	if c.PayloadKey != "" && len(c.PayloadKey) < minPayloadKeyLen {
		return config{}, fmt.Errorf("PAYLOAD_KEY: want at least %d bytes", minPayloadKeyLen)
	}
	if c.DataDir == "" && c.DatabaseURL == "" {
		d, err := defaultDataDir(getenv)
		if err != nil {
			return config{}, err
		}
		c.DataDir = d
	}
	return c, nil
}

// localAPI reports whether the Bot API server is on this machine (a local
// telegram-bot-api server, or a fake): it may then deliver webhooks over
// plain http, and the shop registers its webhook without Register's checks.
func (c config) localAPI() bool {
	u, err := url.Parse(c.TelegramAPIURL)
	if err != nil || c.TelegramAPIURL == "" {
		return false
	}
	ip := net.ParseIP(u.Hostname())
	return u.Hostname() == "localhost" || (ip != nil && ip.IsLoopback())
}

// demo reports whether the shop runs on its embedded default.
func (c config) demo() bool { return c.Token == "" }
