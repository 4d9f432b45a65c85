package broadcast_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/miniappkit/miniappkit/botapi"
	"github.com/miniappkit/miniappkit/botapi/botapitest"
	"github.com/miniappkit/miniappkit/broadcast"
	"github.com/miniappkit/miniappkit/ratelimit"
)

func Example() {
	// A fake Telegram with three users, one of whom blocked the bot.
	srv := botapitest.NewServer(botapitest.WithoutListener(), botapitest.WithRateLimits(1))
	defer srv.Close()
	alice, bob, carol := srv.NewUser("Alice"), srv.NewUser("Bob"), srv.NewUser("Carol")
	srv.BlockBot(bob)

	sched, err := ratelimit.NewTelegram()
	if err != nil {
		panic(err)
	}
	client := botapi.New(srv.Token(), botapi.WithBaseURL(srv.URL()),
		botapi.WithHTTPClient(srv.HTTPClient()), botapi.WithLimiter(sched))

	sum, err := broadcast.Run(context.Background(), sched, []int64{alice.ID, bob.ID, carol.ID},
		broadcast.Message(client, botapi.SendMessageParams{Text: "Sale today!"}),
		broadcast.WithResult(func(r broadcast.Result) {
			if r.Outcome == broadcast.Permanent {
				fmt.Println("blocked:", r.ChatID == bob.ID)
			}
		}))
	if err != nil {
		panic(err)
	}
	fmt.Printf("delivered %d, permanent %d, unknown %d, 429s %d\n",
		sum.Delivered, sum.Permanent, sum.Unknown, srv.Stats().TooManyRequests)
	// Output:
	// blocked: true
	// delivered 2, permanent 1, unknown 0, 429s 0
}

func ExampleWithLog() {
	srv := botapitest.NewServer(botapitest.WithoutListener(), botapitest.WithRateLimits(1))
	defer srv.Close()
	chats := []int64{srv.NewUser("Alice").ID, srv.NewUser("Bob").ID}
	sched, _ := ratelimit.NewTelegram()
	client := botapi.New(srv.Token(), botapi.WithBaseURL(srv.URL()),
		botapi.WithHTTPClient(srv.HTTPClient()), botapi.WithLimiter(sched))

	// In production the log is durable (the store modules' SQLite,
	// Postgres or Redis log); a restarted process resumes from it.
	log := &broadcast.MemoryLog{}
	for range 2 { // the second run finds everything done
		sum, err := broadcast.Run(context.Background(), sched, chats,
			broadcast.Message(client, botapi.SendMessageParams{Text: "Sale today!"}),
			broadcast.WithLog(log, "sale-2026-05"))
		if err != nil {
			panic(err)
		}
		fmt.Printf("delivered %d, done %d of %d\n", sum.Delivered, sum.Done, sum.Total)
	}
	fmt.Println("messages:", len(srv.Sent()))
	// Output:
	// delivered 2, done 2 of 2
	// delivered 0, done 2 of 2
	// messages: 2
}

// A broadcast id is run by one run at a time: while another run holds its
// lease (an old replica still sending during a deploy), Run fails with
// ErrRunning and sends nothing; once that run returns (or, killed, once
// its lease expires), the next run resumes the broadcast.
func ExampleErrRunning() {
	srv := botapitest.NewServer(botapitest.WithoutListener(), botapitest.WithRateLimits(1))
	defer srv.Close()
	chats := []int64{srv.NewUser("Alice").ID, srv.NewUser("Bob").ID}
	sched, _ := ratelimit.NewTelegram()
	client := botapi.New(srv.Token(), botapi.WithBaseURL(srv.URL()),
		botapi.WithHTTPClient(srv.HTTPClient()), botapi.WithLimiter(sched))
	send := broadcast.Message(client, botapi.SendMessageParams{Text: "Sale today!"})

	log := &broadcast.MemoryLog{}
	// Another process holds the broadcast (as Run does while it runs).
	_, _ = log.Open(context.Background(), "sale", broadcast.Fingerprint(chats), "other-run", time.Minute)
	_, err := broadcast.Run(context.Background(), sched, chats, send, broadcast.WithLog(log, "sale"))
	fmt.Println(errors.Is(err, broadcast.ErrRunning), len(srv.Sent()))

	// It ends and releases the broadcast: the next run sends.
	_ = log.Release(context.Background(), "sale", "other-run")
	sum, err := broadcast.Run(context.Background(), sched, chats, send, broadcast.WithLog(log, "sale"))
	fmt.Println(sum.Delivered, err)
	// Output:
	// true 0
	// 2 <nil>
}
