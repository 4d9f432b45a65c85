package main

import (
	"errors"
	"fmt"
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
	if c.PublicURL != "" {
		u, err := url.Parse(c.PublicURL)
		if err != nil || u.Scheme != "https" || u.Host == "" {
			return config{}, errors.New("PUBLIC_URL: want an https:// URL (Telegram delivers webhooks and opens Mini Apps over HTTPS only)")
		}
		if c.Token == "" {
			return config{}, errors.New("PUBLIC_URL is set but TELEGRAM_BOT_TOKEN is not: the embedded default needs neither")
		}
	}
	if c.PayloadKey != "" && len(c.PayloadKey) < minPayloadKeyLen {
		return config{}, fmt.Errorf("PAYLOAD_KEY: want at least %d bytes", minPayloadKeyLen)
	}
	return c, nil
}

// demo reports whether the shop runs on its embedded default.
func (c config) demo() bool { return c.Token == "" }
