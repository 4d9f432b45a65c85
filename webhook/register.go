package webhook

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"

	"github.com/miniappkit/miniappkit/botapi"
)

// Bounds of setWebhook's max_connections.
// Telegram docs: https://core.telegram.org/bots/api#setwebhook
const (
	MinMaxConnections = 1
	MaxMaxConnections = 100
)

// webhookPorts are the only ports Telegram delivers webhooks to ("Ports
// currently supported for webhooks: 443, 80, 88, 8443").
// Telegram docs: https://core.telegram.org/bots/api#setwebhook
var webhookPorts = [...]string{"443", "80", "88", "8443"}

// RegisterOptions are the optional setWebhook parameters of [Register]. The
// zero value keeps Telegram's defaults.
type RegisterOptions struct {
	// AllowedUpdates lists the update types to receive (for example
	// "message", "callback_query"); nil keeps the previous setting, and an
	// empty, non-nil list asks for every kind but chat_member,
	// message_reaction and message_reaction_count (Telegram's default).
	AllowedUpdates []string
	// MaxConnections is the most simultaneous connections Telegram opens
	// to the webhook, 1-100; 0 means Telegram's default (40).
	MaxConnections int
	// DropPendingUpdates drops the updates waiting for delivery.
	DropPendingUpdates bool
	// IPAddress is a fixed IP address for Telegram to send to instead of
	// the one DNS resolves; "" means DNS.
	IPAddress string
}

// Register calls setWebhook so that Telegram delivers the bot's updates to
// url with the X-Telegram-Bot-Api-Secret-Token header set to secretToken;
// serve url with [NewHandler] and the same token. opts may be nil.
//
// Before calling Telegram it rejects, with an error wrapping
// [ErrInvalidSecretToken], a secretToken that fails [CheckSecretToken] (an
// empty one included: Register always sets a secret, use
// [NewSecretToken]), and with a plain error a url that is not an absolute
// https URL on one of the ports Telegram delivers to (443, 80, 88, 8443), or
// a MaxConnections outside 1-100. Errors never contain the
// token.
//
// Telegram docs: https://core.telegram.org/bots/api#setwebhook
func Register(ctx context.Context, client *botapi.Client, url, secretToken string, opts *RegisterOptions) error {
	if client == nil {
		return errors.New("webhook: Register with a nil client")
	}
	if err := CheckSecretToken(secretToken); err != nil {
		return fmt.Errorf("webhook: Register: %w", err)
	}
	if err := checkWebhookURL(url); err != nil {
		return err
	}
	p := &botapi.SetWebhookParams{URL: url, SecretToken: secretToken}
	if opts != nil {
		if opts.MaxConnections != 0 && (opts.MaxConnections < MinMaxConnections || opts.MaxConnections > MaxMaxConnections) {
			return fmt.Errorf("webhook: Register: max_connections must be %d-%d, got %d", MinMaxConnections, MaxMaxConnections, opts.MaxConnections)
		}
		p.AllowedUpdates = slices.Clone(opts.AllowedUpdates) // keeps [] (every kind) apart from nil
		p.MaxConnections = opts.MaxConnections
		p.DropPendingUpdates = opts.DropPendingUpdates
		p.IPAddress = opts.IPAddress
	}
	if err := client.SetWebhook(ctx, p); err != nil {
		return fmt.Errorf("webhook: Register: %w", err)
	}
	return nil
}

func checkWebhookURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return errors.New("webhook: Register: url must be an absolute https URL")
	}
	if p := u.Port(); p != "" && !slices.Contains(webhookPorts[:], p) {
		return errors.New("webhook: Register: url port must be 443, 80, 88 or 8443")
	}
	return nil
}
