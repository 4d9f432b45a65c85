package botapi

import (
	"context"
	"time"
)

// Limiter paces calls that post to a chat (send*, copy*, forward*, ...).
// ratelimit.Telegram satisfies it by shape. Implementations must be safe for
// concurrent use.
//
// chatID is the target chat's numeric id; a chat named by @username maps to a
// stable negative key (usernames name channels and supergroups, which share
// the group limit). chatID 0 means "not tied to a chat".
// The lane (interactive or bulk) travels in ctx, set by the caller with the
// ratelimit package; the client passes ctx through unchanged.
type Limiter interface {
	// Wait blocks until a message to chatID may be sent, or ctx ends.
	Wait(ctx context.Context, chatID int64) error
	// Backoff reports a 429 for chatID with Telegram's retry_after;
	// chatID 0 reports a 429 on a call not tied to a chat.
	Backoff(chatID int64, retryAfter time.Duration)
}
