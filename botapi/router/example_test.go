package router_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/miniappkit/miniappkit/botapi"
	"github.com/miniappkit/miniappkit/botapi/router"
)

func ExampleRouter() {
	r := router.New(router.WithBotUsername("shop_bot"))
	r.HandleCommand("start", func(ctx context.Context, u *botapi.Update) error {
		fmt.Printf("welcome %s (start parameter %q)\n", u.EffectiveUser().FirstName, router.CommandPayload(u))
		return nil
	})
	r.HandleFunc(router.CallbackPrefix("pay:"), func(ctx context.Context, u *botapi.Update) error {
		fmt.Println("pay order", strings.TrimPrefix(u.CallbackQuery.Data, "pay:"), "in chat", u.EffectiveChat().ID)
		return nil
	})
	r.HandleFunc(router.PreCheckoutQuery(), func(ctx context.Context, u *botapi.Update) error {
		fmt.Println("approve", u.PreCheckoutQuery.InvoicePayload)
		return nil
	})
	r.Fallback(router.HandlerFunc(func(ctx context.Context, u *botapi.Update) error {
		fmt.Println("ignored update", u.UpdateID)
		return nil
	}))

	// Updates as Telegram sends them: to a webhook (r is a
	// webhook.UpdateHandler by shape) or from Client.Updates.
	for _, js := range []string{
		`{"update_id":1,"message":{"message_id":1,"date":1,"from":{"id":7,"is_bot":false,"first_name":"Ada"},"chat":{"id":7,"type":"private"},"text":"/start ref42"}}`,
		`{"update_id":2,"message":{"message_id":2,"date":1,"from":{"id":7,"is_bot":false,"first_name":"Ada"},"chat":{"id":-5,"type":"group"},"text":"/start@other_bot"}}`,
		`{"update_id":3,"callback_query":{"id":"q","from":{"id":7,"is_bot":false,"first_name":"Ada"},"chat_instance":"c","data":"pay:1001","message":{"message_id":3,"date":1,"chat":{"id":7,"type":"private"}}}}`,
		`{"update_id":4,"pre_checkout_query":{"id":"p","from":{"id":7,"is_bot":false,"first_name":"Ada"},"currency":"XTR","total_amount":50,"invoice_payload":"order-1001"}}`,
	} {
		u, err := botapi.DecodeAnswer[*botapi.Update]("getUpdates", []byte(`{"ok":true,"result":`+js+`}`))
		if err != nil {
			panic(err)
		}
		if err := r.HandleUpdate(context.Background(), u); err != nil {
			panic(err)
		}
	}
	// Output:
	// welcome Ada (start parameter "ref42")
	// ignored update 2
	// pay order 1001 in chat 7
	// approve order-1001
}

func ExampleMiddleware() {
	logged := func(next router.Handler) router.Handler {
		return router.HandlerFunc(func(ctx context.Context, u *botapi.Update) error {
			err := next.HandleUpdate(ctx, u)
			fmt.Println("update", u.UpdateID, "handled, error:", err)
			return err
		})
	}
	r := router.New()
	r.Use(logged)
	r.HandleFunc(router.All(router.ChatType("private"), router.Text("ping")), func(ctx context.Context, u *botapi.Update) error {
		fmt.Println("pong")
		return nil
	})
	u, _ := botapi.DecodeAnswer[*botapi.Update]("getUpdates", []byte(`{"ok":true,"result":{"update_id":9,"message":{"message_id":1,"date":1,"chat":{"id":7,"type":"private"},"text":"ping"}}}`))
	_ = r.HandleUpdate(context.Background(), u)
	// Output:
	// pong
	// update 9 handled, error: <nil>
}

func ExampleParseCommand() {
	name, bot, payload, ok := router.ParseCommand("/start@shop_bot order-1001")
	fmt.Println(name, bot, payload, ok)
	// Output: start shop_bot order-1001 true
}
