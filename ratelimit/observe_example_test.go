package ratelimit_test

import (
	"context"
	"fmt"
	"time"

	"github.com/miniappkit/miniappkit/ratelimit"
)

// floodPrinter is an Observer that prints the 429s the scheduler is told of.
type floodPrinter struct{}

func (floodPrinter) ObserveWait(context.Context, ratelimit.WaitEvent) {}

func (floodPrinter) ObserveBackoff(_ context.Context, e ratelimit.BackoffEvent) {
	fmt.Printf("429 on a %s chat: retry after %v, whole bot paused: %v\n", e.Chat, e.RetryAfter, e.Paused)
}

func ExampleWithObserver() {
	sched, err := ratelimit.NewTelegram(ratelimit.WithObserver(floodPrinter{}))
	if err != nil {
		panic(err)
	}
	sched.BackoffAt(42, 30*time.Second, start) // what a botapi client with WithLimiter(sched) reports
	sched.BackoffAt(0, 5*time.Second, start)   // a 429 on a call not tied to a chat
	// Output:
	// 429 on a private chat: retry after 30s, whole bot paused: false
	// 429 on a none chat: retry after 5s, whole bot paused: true
}
