package redis_test

import (
	"context"
	"log"
	"os"

	"github.com/redis/go-redis/v9"

	"github.com/miniappkit/miniappkit/botapi"
	miniredis "github.com/miniappkit/miniappkit/store/redis"
	"github.com/miniappkit/miniappkit/webhook"
)

// Example needs a server, so it is compiled but not run.
func Example() {
	ctx := context.Background()
	// ContextTimeoutEnabled: calls end at their ctx's deadline.
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379", ContextTimeoutEnabled: true})
	defer client.Close()
	db := miniredis.New(client, miniredis.WithKeyPrefix("mybot:"))
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
