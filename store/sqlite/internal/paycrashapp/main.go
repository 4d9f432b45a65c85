// Command paycrashapp is the program the payments crash test kills: it
// takes successful_payment webhook deliveries into payments.Handler on the
// SQLite Ledger, whose fulfilment sends the buyer a message and writes a
// row of the table effects in the ledger's transaction, and it runs
// RetryPending every 100 ms.
//
//	paycrashapp -db path -api http://127.0.0.1:port
//
// It prints "LISTEN host:port" once it serves.
package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"

	"github.com/miniappkit/miniappkit/botapi"
	"github.com/miniappkit/miniappkit/internal/paycrash"
	"github.com/miniappkit/miniappkit/payments"
	"github.com/miniappkit/miniappkit/store/sqlite"
)

func main() {
	path := flag.String("db", "", "the SQLite file")
	api := flag.String("api", "", "the Bot API base URL")
	flag.Parse()
	ctx := context.Background()
	db, err := sqlite.Open(*path)
	if err != nil {
		log.Fatal(err)
	}
	if err := db.Migrate(ctx); err != nil {
		log.Fatal(err)
	}
	if _, err := db.SQL().ExecContext(ctx, Schema); err != nil {
		log.Fatal(err)
	}
	client := botapi.New(paycrash.Token, botapi.WithBaseURL(*api))
	h, err := paycrash.NewHandler(client, db.Ledger(), Effect)
	if err != nil {
		log.Fatal(err)
	}
	go paycrash.RetryLoop(ctx, h)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("LISTEN", ln.Addr())
	log.Fatal(http.Serve(ln, paycrash.Serve(h)))
}

// Schema is the effects table.
const Schema = `CREATE TABLE IF NOT EXISTS effects (order_ref TEXT NOT NULL, charge_id TEXT NOT NULL)`

// Effect writes the fulfilment's row in the ledger's transaction.
func Effect(ctx context.Context, tx payments.Tx, order, charge string) error {
	_, err := tx.(*sql.Tx).ExecContext(ctx, `INSERT INTO effects (order_ref, charge_id) VALUES (?, ?)`, order, charge)
	return err
}
