package postgres_test

import (
	"context"
	"log"
	"os"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/miniappkit/miniappkit/botapi"
	"github.com/miniappkit/miniappkit/store/postgres"
	"github.com/miniappkit/miniappkit/webhook"
)

// Example needs a server, so it is compiled but not run.
func Example() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	db := postgres.New(pool, postgres.WithSchema("mybot"))
	if err := db.Migrate(ctx); err != nil {
		log.Fatal(err)
	}
	app := webhook.UpdateHandlerFunc(func(ctx context.Context, u *botapi.Update) error { return nil })
	h, err := webhook.NewHandler(os.Getenv("WEBHOOK_SECRET"), app, webhook.WithStore(db.UpdateStore()))
	if err != nil {
		log.Fatal(err) // WEBHOOK_SECRET unset or malformed
	}
	_ = h // http.Handle("/telegram", h)
}

// ExampleUpdateStore_CompleteTx writes an update's effect in the
// transaction that completes its claim: exactly once, even if the process
// dies at any point. It needs a server, so it is compiled but not run.
func ExampleUpdateStore_CompleteTx() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	db := postgres.New(pool)
	store := db.UpdateStore()
	app := webhook.UpdateHandlerFunc(func(ctx context.Context, u *botapi.Update) error {
		tx, err := pool.Begin(ctx)
		if err != nil {
			return err
		}
		defer tx.Rollback(ctx)
		if _, err := tx.Exec(ctx, `INSERT INTO greetings (update_id) VALUES ($1)`, u.UpdateID); err != nil {
			return err
		}
		claim, _ := webhook.ClaimFromContext(ctx) // the key webhook.NewHandler claimed
		key := claim.Key
		if err := store.CompleteTx(ctx, tx, key, webhook.DefaultDoneTTL); err != nil {
			return err
		}
		return tx.Commit(ctx)
	})
	_, _ = webhook.NewHandler(os.Getenv("WEBHOOK_SECRET"), app, webhook.WithStore(store))
}
