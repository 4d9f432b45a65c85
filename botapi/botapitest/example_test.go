package botapitest_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/miniappkit/miniappkit/botapi"
	"github.com/miniappkit/miniappkit/botapi/botapitest"
	"github.com/miniappkit/miniappkit/initdata"
)

// handlePending is the bot under test: it takes the pending updates and
// greets whoever sent /start.
func handlePending(ctx context.Context, bot *botapi.Client) error {
	ups, err := bot.GetUpdates(ctx, &botapi.GetUpdatesParams{})
	if err != nil {
		return err
	}
	for _, u := range ups {
		if u.Message != nil && u.Message.Text == "/start" {
			_, err := bot.SendMessage(ctx, &botapi.SendMessageParams{
				ChatID: botapi.ChatID{ID: u.Message.Chat.ID},
				Text:   "Welcome, " + u.Message.From.FirstName + "!",
			})
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// A user tests their own bot: a fake user writes /start, the bot handles
// its updates, the test reads what the bot sent.
func Example() {
	srv := botapitest.NewServer()
	defer srv.Close()
	ann := srv.NewUser("Ann")
	srv.SendUserMessage(ann, "/start")

	if err := handlePending(context.Background(), srv.Client()); err != nil {
		fmt.Println(err)
	}

	for _, m := range srv.Sent() {
		fmt.Println(m.ChatID == ann.ID, m.Text)
	}
	// Output: true Welcome, Ann!
}

// Pay runs a Stars payment: the bot answers the pre-checkout query and
// receives successful_payment.
func ExampleServer_Pay() {
	srv := botapitest.NewServer()
	defer srv.Close()
	bot := srv.Client()
	ctx := context.Background()
	ann := srv.NewUser("Ann")

	link, _ := bot.CreateInvoiceLink(ctx, &botapi.CreateInvoiceLinkParams{
		Title: "Coffee", Description: "A cup", Payload: "order-1", Currency: "XTR",
		Prices: []botapi.LabeledPrice{{Label: "Cup", Amount: 50}},
	})
	invoice, _ := srv.InvoiceByLink(link)

	done := make(chan struct{})
	go func() { // the bot: approve the checkout
		defer close(done)
		ups, _ := bot.GetUpdates(ctx, &botapi.GetUpdatesParams{Timeout: 10})
		for _, u := range ups {
			if q := u.PreCheckoutQuery; q != nil {
				_ = bot.AnswerPreCheckoutQuery(ctx, &botapi.AnswerPreCheckoutQueryParams{PreCheckoutQueryID: q.ID, OK: true})
			}
		}
	}()
	payment, err := srv.Pay(ctx, ann, invoice)
	<-done
	if err != nil {
		fmt.Println(err)
		return
	}

	ups, _ := bot.GetUpdates(ctx, &botapi.GetUpdatesParams{Offset: -1})
	sp := ups[0].Message.SuccessfulPayment
	fmt.Println(sp.TotalAmount, sp.Currency, sp.InvoicePayload, sp.TelegramPaymentChargeID == payment.TelegramPaymentChargeID)
	fmt.Println("balance:", srv.StarBalance())
	// Output:
	// 50 XTR order-1 true
	// balance: 50
}

// RenewSubscription charges a Stars subscription for its next period,
// unless the bot canceled it with editUserStarSubscription.
func ExampleServer_RenewSubscription() {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	srv := botapitest.NewServer(botapitest.WithClock(func() time.Time { return now }))
	defer srv.Close()
	bot := srv.Client()
	ctx := context.Background()
	ann := srv.NewUser("Ann")

	link, _ := bot.CreateInvoiceLink(ctx, &botapi.CreateInvoiceLinkParams{
		Title: "Club", Description: "Monthly membership", Payload: "club-1", Currency: "XTR",
		Prices: []botapi.LabeledPrice{{Label: "Month", Amount: 250}}, SubscriptionPeriod: 2592000,
	})
	invoice, _ := srv.InvoiceByLink(link)
	done := make(chan struct{})
	go func() { // the bot: approve the checkout
		defer close(done)
		ups, _ := bot.GetUpdates(ctx, &botapi.GetUpdatesParams{Timeout: 10})
		for _, u := range ups {
			if q := u.PreCheckoutQuery; q != nil {
				_ = bot.AnswerPreCheckoutQuery(ctx, &botapi.AnswerPreCheckoutQueryParams{PreCheckoutQueryID: q.ID, OK: true})
			}
		}
	}()
	first, err := srv.Pay(ctx, ann, invoice)
	<-done
	if err != nil {
		fmt.Println(err)
		return
	}

	renewal, _ := srv.RenewSubscription(first.TelegramPaymentChargeID)
	fmt.Println("renewed until", renewal.SubscriptionExpiration.Format(time.DateOnly), "balance", srv.StarBalance())

	_ = bot.EditUserStarSubscription(ctx, &botapi.EditUserStarSubscriptionParams{
		UserID: ann.ID, TelegramPaymentChargeID: first.TelegramPaymentChargeID, IsCanceled: true,
	})
	_, err = srv.RenewSubscription(first.TelegramPaymentChargeID)
	sub, _ := srv.Subscription(first.TelegramPaymentChargeID)
	fmt.Println(err, sub.CanceledByBot, sub.Expired, "balance", srv.StarBalance())
	// Output:
	// renewed until 2026-03-02 balance 500
	// botapitest: subscription canceled, not renewed true true balance 500
}

// FailNext scripts failures; the client's typed errors match them as they
// match Telegram's.
func ExampleServer_FailNext() {
	srv := botapitest.NewServer()
	defer srv.Close()
	bot := srv.Client(botapi.WithRetry(botapi.RetryPolicy{MaxAttempts: 1}))
	ann := srv.NewUser("Ann")

	srv.FailNext("sendMessage", 1, botapitest.FaultBlocked())
	_, err := bot.SendMessage(context.Background(), &botapi.SendMessageParams{ChatID: botapi.ChatID{ID: ann.ID}, Text: "hi"})
	fmt.Println(errors.Is(err, botapi.ErrForbidden))

	_, err = bot.SendMessage(context.Background(), &botapi.SendMessageParams{ChatID: botapi.ChatID{ID: ann.ID}, Text: "hi"})
	fmt.Println(err, len(srv.Sent()))
	// Output:
	// true
	// <nil> 1
}

// WithRateLimits enforces Telegram's flood limits; with a clock of your
// own, retry_after is computed on it.
func ExampleWithRateLimits() {
	// The fake reads its clock from its own goroutines too: a VirtualClock
	// is safe to move while it runs.
	clock := botapitest.NewVirtualClock(time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC))
	srv := botapitest.NewServer(botapitest.WithRateLimits(1), botapitest.WithClock(clock.Now))
	defer srv.Close()
	bot := srv.Client(botapi.WithRetry(botapi.RetryPolicy{MaxAttempts: 1}))
	ann := srv.NewUser("Ann")
	send := func() error {
		_, err := bot.SendMessage(context.Background(), &botapi.SendMessageParams{ChatID: botapi.ChatID{ID: ann.ID}, Text: "hi"})
		return err
	}

	// A short burst to one chat goes through, then one a second.
	fmt.Println(send(), send(), send())
	err := send()
	var apiErr *botapi.Error
	if errors.As(err, &apiErr) {
		fmt.Println(apiErr.Code, apiErr.Description, apiErr.RetryAfter)
	}
	clock.Advance(time.Second)
	fmt.Println(send(), srv.Stats().TooManyRequests)
	// Output:
	// <nil> <nil> <nil>
	// 429 Too Many Requests: retry after 1 1s
	// <nil> 1
}

// OpenMiniApp returns init data signed for the bot, as a Mini App page
// would send it to the backend.
func ExampleServer_OpenMiniApp() {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	srv := botapitest.NewServer(botapitest.WithClock(func() time.Time { return now }))
	defer srv.Close()
	ann := srv.AddUser(botapitest.User{ID: 4242, FirstName: "Ann"})

	raw := srv.OpenMiniApp(ann)
	data, err := initdata.Validate(raw, srv.Token(), initdata.WithClock(func() time.Time { return now }))
	fmt.Println(err, data.User.ID, data.User.FirstName)
	// Output: <nil> 4242 Ann
}

// A webhook receives updates with the secret token; HandlerTransport
// delivers them to a handler in memory.
func Example_webhook() {
	got := make(chan string, 1)
	hook := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var u botapi.Update
		_ = json.NewDecoder(r.Body).Decode(&u)
		got <- r.Header.Get("X-Telegram-Bot-Api-Secret-Token") + " " + u.Message.Text
	})
	srv := botapitest.NewServer(botapitest.WithWebhookTransport(botapitest.HandlerTransport(hook)))
	defer srv.Close()
	bot := srv.Client()
	_ = bot.SetWebhook(context.Background(), &botapi.SetWebhookParams{URL: "https://bot.example/hook", SecretToken: "s3cret"})

	srv.SendUserMessage(srv.NewUser("Ann"), "hello")
	fmt.Println(<-got)
	// Output: s3cret hello
}
