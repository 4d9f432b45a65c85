// Command crashapp is the program the crash test kills: it takes webhook
// updates through webhook.NewHandler with the SQLite UpdateStore, and its
// handler's effect is a row of the table effects, written in the
// transaction that completes the update's claim (UpdateStore.CompleteTx).
//
//	crashapp -db path [-effect tx|separate]
//
// With -effect separate the effect is its own statement, committed before
// the handler returns and webhook.NewHandler completes the claim: at least
// once, a kill between the two repeats it (the harness's own control).
//
// With -async the handler acknowledges once the update is in the durable
// UpdateQueue, and four workers in the same process handle it.
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

	"github.com/miniappkit/miniappkit/botapi"
	"github.com/miniappkit/miniappkit/store/sqlite"
	"github.com/miniappkit/miniappkit/webhook"
)

func main() {
	path := flag.String("db", "", "the SQLite file")
	effect := flag.String("effect", "tx", "tx: effect and completion in one transaction; separate: effect, then completion")
	async := flag.Bool("async", false, "acknowledge once queued (UpdateQueue) and process with 4 workers in the same process")
	flag.Parse()
	ctx := context.Background()
	db, err := sqlite.Open(*path)
	if err != nil {
		log.Fatal(err)
	}
	if err := db.Migrate(ctx); err != nil {
		log.Fatal(err)
	}
	if _, err := db.SQL().ExecContext(ctx, `CREATE TABLE IF NOT EXISTS effects (update_id INTEGER NOT NULL)`); err != nil {
		log.Fatal(err)
	}
	store := db.UpdateStore()
	app := webhook.UpdateHandlerFunc(func(ctx context.Context, u *botapi.Update) error {
		if *effect == "separate" {
			_, err := db.SQL().ExecContext(ctx, `INSERT INTO effects (update_id) VALUES (?)`, u.UpdateID)
			return err
		}
		tx, err := db.SQL().BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		if _, err := tx.ExecContext(ctx, `INSERT INTO effects (update_id) VALUES (?)`, u.UpdateID); err != nil {
			return err
		}
		if err := store.CompleteTx(ctx, tx, claimKey(ctx), webhook.DefaultDoneTTL); err != nil {
			return err
		}
		return tx.Commit()
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

// claimKey is the key webhook.NewHandler claimed for the update being handled.
func claimKey(ctx context.Context) string {
	c, _ := webhook.ClaimFromContext(ctx)
	return c.Key
}
