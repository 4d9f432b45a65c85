package redis_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"strconv"

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

// ExampleUpdateStore_CompleteTx applies an update's effect (here a counter
// per user) and completes its claim in one transaction: exactly once, even
// if the process dies at any point. The key prefix holds a hash tag, so
// the counters of all updates can live beside their entries in a Redis
// Cluster. It needs a server, so it is compiled but not run.
func ExampleUpdateStore_CompleteTx() {
	ctx := context.Background()
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379", ContextTimeoutEnabled: true})
	defer client.Close()
	db := miniredis.New(client, miniredis.WithKeyPrefix("mybot{1}:"))
	if err := db.Migrate(ctx); err != nil {
		log.Fatal(err)
	}
	store := db.UpdateStore()
	app := webhook.UpdateHandlerFunc(func(ctx context.Context, u *botapi.Update) error {
		if u.Message == nil || u.Message.From == nil {
			return nil
		}
		claim, _ := webhook.ClaimFromContext(ctx) // the key NewHandler claimed
		tag, err := store.HashTag(claim.Key)      // "{1}": the prefix's tag
		if err != nil {
			return err
		}
		counter := "mybot:" + tag + ":messages:" + strconv.FormatInt(u.Message.From.ID, 10)
		return store.CompleteTx(ctx, claim.Key, webhook.DefaultDoneTTL, func(p redis.Pipeliner) error {
			p.Incr(ctx, counter) // only queued: applied at EXEC, with the completion
			return nil
		}) // webhook.ErrNotOwner: done or released meanwhile, nothing applied
	})
	h, err := webhook.NewHandler(os.Getenv("WEBHOOK_SECRET"), app, webhook.WithStore(store))
	if err != nil {
		log.Fatal(err)
	}
	_ = h // http.Handle("/telegram", h)
}

// ExampleUpdateStore_HashTag shows the hash tag an effect's keys carry:
// the prefix's when it holds one, else the entry's own key.
func ExampleUpdateStore_HashTag() {
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"}) // not dialled here
	defer client.Close()
	for _, prefix := range []string{"mybot{1}:", "mybot:"} {
		tag, err := miniredis.New(client, miniredis.WithKeyPrefix(prefix)).UpdateStore().HashTag("tg:bot1:update:7")
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(tag)
	}
	// Output:
	// {1}
	// {mybot:wh:tg:bot1:update:7}
}
