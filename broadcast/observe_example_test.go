package broadcast_test

import (
	"context"
	"fmt"
	"sync"

	"github.com/miniappkit/miniappkit/botapi"
	"github.com/miniappkit/miniappkit/botapi/botapitest"
	"github.com/miniappkit/miniappkit/broadcast"
	"github.com/miniappkit/miniappkit/ratelimit"
)

// sendCounter is an Observer counting sends by outcome.
type sendCounter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *sendCounter) ObserveSend(_ context.Context, e broadcast.SendEvent) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e.Outcome != 0 {
		c.n[e.Outcome.String()]++
	} else {
		c.n["postponed "+e.Postponed]++
	}
}

func ExampleWithObserver() {
	srv := botapitest.NewServer(botapitest.WithoutListener(), botapitest.WithRateLimits(1))
	defer srv.Close()
	alice, bob := srv.NewUser("Alice"), srv.NewUser("Bob")
	srv.BlockBot(bob)
	sched, _ := ratelimit.NewTelegram()
	client := botapi.New(srv.Token(), botapi.WithBaseURL(srv.URL()),
		botapi.WithHTTPClient(srv.HTTPClient()), botapi.WithLimiter(sched))

	counts := &sendCounter{n: map[string]int{}}
	_, err := broadcast.Run(context.Background(), sched, []int64{alice.ID, bob.ID},
		broadcast.Message(client, botapi.SendMessageParams{Text: "Sale today!"}),
		broadcast.WithObserver(counts))
	if err != nil {
		panic(err)
	}
	fmt.Println(counts.n)
	// Output:
	// map[delivered:1 permanent:1]
}
