// Command paycrashapp is the program the payments crash test kills: it
// takes successful_payment webhook deliveries into payments.Handler on the
// PostgreSQL Ledger, whose fulfilment sends the buyer a message and writes
// a row of the table <schema>.effects in the ledger's transaction, and it
// runs RetryPending every 100 ms.
//
//	paycrashapp -url postgres://... -schema name -api http://127.0.0.1:port
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

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/miniappkit/miniappkit/botapi"
	"github.com/miniappkit/miniappkit/internal/paycrash"
	"github.com/miniappkit/miniappkit/payments"
	"github.com/miniappkit/miniappkit/store/postgres"
)

func main() {
	url := flag.String("url", "", "the PostgreSQL URL")
	schema := flag.String("schema", postgres.DefaultSchema, "the schema")
	api := flag.String("api", "", "the Bot API base URL")
	flag.Parse()
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, *url)
	if err != nil {
		log.Fatal(err)
	}
	db := postgres.New(pool, postgres.WithSchema(*schema))
	if err := db.Migrate(ctx); err != nil {
		log.Fatal(err)
	}
	table := pgx.Identifier{*schema, "effects"}.Sanitize()
	if _, err := pool.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+table+` (order_ref text NOT NULL, charge_id text NOT NULL)`); err != nil {
		log.Fatal(err)
	}
	client := botapi.New(paycrash.Token, botapi.WithBaseURL(*api))
	h, err := paycrash.NewHandler(client, db.Ledger(), func(ctx context.Context, tx payments.Tx, order, charge string) error {
		_, err := tx.(pgx.Tx).Exec(ctx, `INSERT INTO `+table+` (order_ref, charge_id) VALUES ($1, $2)`, order, charge)
		return err
	})
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
