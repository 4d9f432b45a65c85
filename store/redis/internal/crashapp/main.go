// Command crashapp is the program the crash test kills: it takes webhook
// updates through webhook.NewHandler with the Redis UpdateStore, and its
// handler's effect is an INCR of the update's counter,
// <prefix>fx:<the entry's hash tag>. With -effect tx (the default) the
// effect and the completion are one transaction (UpdateStore.CompleteTx):
// exactly once. With -effect separate the effect is written, then the
// handler returns and webhook.NewHandler completes the claim: a kill
// between the two repeats the effect (at least once; the test's control).
// -pause holds the handler between effect and completion (inside the
// transaction with -effect tx, before EXEC), so that kills land there.
//
//	crashapp -url redis://... -prefix p: [-effect tx|separate] [-async] [-pause 5ms] [-name crashapp-p]
//
// With -name, its connections carry that client name (CLIENT SETNAME), so
// the test can tell when the server has dropped them after a kill.
//
// It prints "LISTEN host:port" once it serves.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/miniappkit/miniappkit/botapi"
	miniredis "github.com/miniappkit/miniappkit/store/redis"
	"github.com/miniappkit/miniappkit/webhook"
)

func main() {
	url := flag.String("url", "", "the Redis URL")
	prefix := flag.String("prefix", "", "the key prefix")
	effect := flag.String("effect", "tx", "tx: effect and completion in one transaction; separate: effect, then completion")
	pause := flag.Duration("pause", 0, "how long the handler waits between its effect and the completion")
	async := flag.Bool("async", false, "acknowledge once queued (UpdateQueue) and process with 4 workers in the same process")
	name := flag.String("name", "", "the client name of its connections")
	flag.Parse()
	ctx := context.Background()
	opt, err := redis.ParseURL(*url)
	if err != nil {
		log.Fatal(err)
	}
	opt.ClientName = *name
	client := redis.NewClient(opt)
	db := miniredis.New(client, miniredis.WithKeyPrefix(*prefix))
	if err := db.Migrate(ctx); err != nil {
		log.Fatal(err)
	}
	store := db.UpdateStore()
	app := webhook.UpdateHandlerFunc(func(ctx context.Context, u *botapi.Update) error {
		c, _ := webhook.ClaimFromContext(ctx)
		tag, err := store.HashTag(c.Key)
		if err != nil {
			return err
		}
		counter := *prefix + "fx:" + tag
		if *effect == "separate" {
			if err := client.Incr(ctx, counter).Err(); err != nil {
				return err
			}
			time.Sleep(*pause)
			return nil
		}
		return store.CompleteTx(ctx, c.Key, webhook.DefaultDoneTTL, func(p redis.Pipeliner) error {
			p.Incr(ctx, counter)
			time.Sleep(*pause)
			return nil
		})
	})
	opts := []webhook.Option{webhook.WithStore(store), webhook.WithLease(2 * time.Second),
		webhook.WithInFlightWait(100 * time.Millisecond), webhook.WithNamespace("crash")}
	if *async {
		q := db.UpdateQueue("crash", 2*time.Second)
		w, err := webhook.NewWorker(q, app, append(opts, webhook.WithBackoff(func(int) time.Duration { return 10 * time.Millisecond }))...)
		if err != nil {
			log.Fatal(err)
		}
		go func() { log.Fatal(w.Run(ctx, 4)) }()
		opts = append(opts, webhook.WithAsync(q))
	}
	h, herr := webhook.NewHandler(os.Getenv("CRASHAPP_SECRET"), app, opts...)
	if herr != nil {
		log.Fatal(herr)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("LISTEN", ln.Addr())
	log.Fatal(http.Serve(ln, h))
}
