package gobreaker_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/miniappkit/miniappkit/botapi"
	"github.com/miniappkit/miniappkit/botapi/botapitest"
	"github.com/sony/gobreaker/v2"
)

// Example plugs gobreaker into the client: after 3 consecutive failures
// (network errors, 5xx, timeouts) the circuit opens for 10 s, and calls
// fail at once with botapi.ErrCircuitOpen instead of waiting on a failing
// Telegram.
func Example() {
	fake := botapitest.NewServer(botapitest.WithoutListener())
	defer fake.Close()

	cb := gobreaker.NewTwoStepCircuitBreaker[any](gobreaker.Settings{
		Name:        "telegram",
		MaxRequests: 1,                // one probe when half-open
		Timeout:     10 * time.Second, // how long the circuit stays open
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= 3 },
		// A call the client never sent (its rate-limiter wait ended with the
		// caller's context) is neither a success nor a failure.
		IsExcluded: func(err error) bool { return errors.Is(err, botapi.ErrNotAttempted) },
	})
	bot := fake.Client(botapi.WithBreaker(cb), botapi.WithRetry(botapi.RetryPolicy{MaxAttempts: 1}))

	fake.FailNext("getMe", 3, botapitest.Fault{Kind: botapitest.FaultBadGateway}) // Telegram behind a failing proxy
	for range 5 {
		_, err := bot.GetMe(context.Background())
		switch {
		case errors.Is(err, botapi.ErrCircuitOpen):
			fmt.Println("refused at once:", errors.Is(err, gobreaker.ErrOpenState), "(also ErrNetwork:", errors.Is(err, botapi.ErrNetwork), ")")
		case err != nil:
			fmt.Println("failed:", errors.Is(err, botapi.ErrServer))
		}
	}
	fmt.Println("state:", cb.State(), "- calls that reached Telegram:", len(fake.Requests("getMe")))
	// Output:
	// failed: true
	// failed: true
	// failed: true
	// refused at once: true (also ErrNetwork: true )
	// refused at once: true (also ErrNetwork: true )
	// state: open - calls that reached Telegram: 3
}
