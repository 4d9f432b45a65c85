// Command crashapp is the program the crash test kills: it takes webhook
// updates through webhook.NewHandler with the Redis UpdateStore, and its
// handler's effect is the update_id pushed onto the list <prefix>effects.
// Redis shares no transaction with the completion that follows, so a kill
// between the two repeats the effect: at least once.
//
//	crashapp -url redis://... -prefix p: [-name crashapp-p]
//
// With -name, its connections carry that client name (CLIENT SETNAME), so
// the test can tell when the server has dropped them after a kill. It
// prints "LISTEN host:port" once it serves.
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
	app := webhook.UpdateHandlerFunc(func(ctx context.Context, u *botapi.Update) error {
		return client.RPush(ctx, *prefix+"effects", u.UpdateID).Err()
	})
	opts := []webhook.Option{webhook.WithStore(db.UpdateStore()), webhook.WithLease(2 * time.Second),
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
