package main

import (
	"fmt"
	"os"

	"github.com/miniappkit/miniappkit/botapi"
	"github.com/miniappkit/miniappkit/broadcast"
)

// The summary at the end of a broadcast lists who blocked the bot.
func Example_report() {
	r := newReport()
	r.add(broadcast.Result{ChatID: 42, Outcome: broadcast.Delivered})
	r.add(broadcast.Result{ChatID: 7, Outcome: broadcast.Permanent, Err: fmt.Errorf("send: %w", botapi.ErrForbidden)})
	r.add(broadcast.Result{ChatID: 9, Outcome: broadcast.Permanent, Err: fmt.Errorf("send: %w", botapi.ErrBadRequest)})
	r.print(os.Stdout, broadcast.Summary{Total: 3, Done: 3, Delivered: 1, Permanent: 2}, 3)
	// Output:
	// Delivered 1, migrated and delivered 0, not delivered 2, unknown 0.
	// Blocked the bot (403): 1 user: 7
	// Chat not found or refused (400): 1: 9
}
