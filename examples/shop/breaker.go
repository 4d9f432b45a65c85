package main

import (
	"errors"
	"time"

	"github.com/sony/gobreaker/v2"

	"github.com/miniappkit/miniappkit/botapi"
)

// The client's circuit breaker: after breakerTrip consecutive failed
// attempts (network errors, 5xx, timeouts; never 4xx or 429) the shop
// stops calling Telegram for breakerCooldown, then lets a few probes
// through. While it is open, sends fail at once (the outbox keeps its
// messages for later), /healthz answers degraded, and everything that
// does not need Telegram (the page, the catalogue, orders, payments
// already made) keeps working.
const (
	breakerTrip     = 5
	breakerCooldown = 5 * time.Second
)

// telegramBreaker is gobreaker's two-step breaker, which is a
// botapi.Breaker as it is.
type telegramBreaker struct {
	*gobreaker.TwoStepCircuitBreaker[any]
}

func newBreaker() telegramBreaker {
	return telegramBreaker{gobreaker.NewTwoStepCircuitBreaker[any](gobreaker.Settings{
		Name:        "telegram",
		MaxRequests: 2,
		Timeout:     breakerCooldown,
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= breakerTrip },
		// A call never sent (its limiter wait ended) counts neither way.
		IsExcluded: func(err error) bool { return errors.Is(err, botapi.ErrNotAttempted) },
	})}
}

// open reports whether the breaker refuses calls: Telegram is taken to be
// unreachable.
func (b telegramBreaker) open() bool { return b.State() == gobreaker.StateOpen }
