package sqlite_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/miniappkit/miniappkit/payments"
	"github.com/miniappkit/miniappkit/store/sqlite"
	"github.com/miniappkit/miniappkit/webhook"
)

func Example() {
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()

	db, err := sqlite.Open(filepath.Join(dir, "bot.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		log.Fatal(err)
	}

	// The stores plug into the SDK's handlers:
	//   webhook.NewHandler(secret, app, webhook.WithStore(db.UpdateStore()))
	var store webhook.Store = db.UpdateStore()
	r, err := store.Claim(ctx, "tg:update:1", "owner-1", time.Minute, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(r.State)

	var ledger payments.Ledger = db.Ledger()
	_, first, err := ledger.Record(ctx, payments.Payment{ChargeID: "charge-1", Currency: payments.XTR, Amount: 50}, false)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(first)
	// Output:
	// claimed
	// true
}

// ExampleUpdateStore_CompleteTx writes an update's effect in the
// transaction that completes its claim: exactly once, even if the process
// dies at any point.
func ExampleUpdateStore_CompleteTx() {
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()
	db, err := sqlite.Open(filepath.Join(dir, "bot.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		log.Fatal(err)
	}
	if _, err := db.SQL().ExecContext(ctx, `CREATE TABLE greetings (update_id INTEGER)`); err != nil {
		log.Fatal(err)
	}
	store := db.UpdateStore()

	// What webhook.NewHandler does for update 7 before calling the handler:
	if _, err := store.Claim(ctx, "tg:update:7", "owner-1", time.Minute, nil); err != nil {
		log.Fatal(err)
	}
	// The handler:
	tx, err := db.SQL().BeginTx(ctx, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `INSERT INTO greetings VALUES (7)`); err != nil {
		log.Fatal(err)
	}
	if err := store.CompleteTx(ctx, tx, "tg:update:7", webhook.DefaultDoneTTL); err != nil {
		log.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		log.Fatal(err)
	}
	r, err := store.Claim(ctx, "tg:update:7", "owner-2", time.Minute, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(r.State)
	// Output: done
}
