package payments_test

import (
	"context"
	"fmt"
	"time"

	"github.com/miniappkit/miniappkit/botapi"
	"github.com/miniappkit/miniappkit/botapi/botapitest"
	"github.com/miniappkit/miniappkit/payments"
)

// pollInto feeds every update of client to h until ctx ends, as
// webhook.NewHandler(secret, h) would in a webhook deployment.
func pollInto(ctx context.Context, client *botapi.Client, h *payments.Handler) {
	for u, err := range client.Updates(ctx, nil) {
		if err == nil {
			_ = h.HandleUpdate(ctx, u) // an error would make Telegram redeliver
		}
	}
}

// A Telegram Stars shop: sign an order into the invoice payload, create an
// invoice link, let the pre-checkout check sell it, deliver it exactly once.
// It runs on botapitest, the fake Telegram; in production the client is
// botapi.New(token) and updates arrive through webhook.NewHandler(secret, h).
func Example_starsShop() {
	srv := botapitest.NewServer(botapitest.WithoutListener())
	defer srv.Close()
	client := botapi.New(srv.Token(), botapi.WithBaseURL(srv.URL()), botapi.WithHTTPClient(srv.HTTPClient()))

	codec, err := payments.NewCodec(payments.Key{ID: 1, Secret: []byte("a 32-byte secret from your vault")})
	if err != nil {
		panic(err)
	}
	stock := map[string]int{"gold-100": 3}
	delivered := make(chan struct{})
	h, err := payments.NewHandler(client, codec, payments.NewMemoryLedger(),
		func(_ context.Context, _ payments.Tx, p payments.Payment, o payments.Order) error {
			stock[o.Product]--
			fmt.Printf("delivered %s (order %s) for %d %s\n", o.Product, o.Ref, p.Amount, p.Currency)
			close(delivered)
			return nil
		},
		payments.WithCheck(func(_ context.Context, o payments.Order, _ *botapi.PreCheckoutQuery) error {
			if stock[o.Product] == 0 {
				return payments.Decline("Sorry, sold out.")
			}
			return nil
		}),
	)
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go pollInto(ctx, client, h)

	// The Mini App asks the backend for an invoice for this user.
	ann := srv.NewUser("Ann")
	payload, _ := codec.Encode(payments.Order{
		Ref: "order-1042", UserID: ann.ID, Product: "gold-100",
		Currency: payments.XTR, Amount: 50, Expires: time.Now().Add(15 * time.Minute),
	})
	params, err := payments.StarsInvoice("Gold pack", "100 gold coins", payload, 50).LinkParams()
	if err != nil {
		panic(err)
	}
	link, err := client.CreateInvoiceLink(ctx, params)
	if err != nil {
		panic(err)
	}

	// Ann pays in the Mini App (Telegram.WebApp.openInvoice(link)).
	inv, _ := srv.InvoiceByLink(link)
	if _, err := srv.Pay(ctx, ann, inv); err != nil {
		panic(err)
	}
	<-delivered
	fmt.Println("stock left:", stock["gold-100"])
	// Output:
	// delivered gold-100 (order order-1042) for 50 XTR
	// stock left: 2
}

// A monthly Telegram Stars subscription: the invoice link renews every 30
// days; each payment arrives as a successful_payment with is_recurring set
// and the end of the period paid for.
func Example_subscription() {
	srv := botapitest.NewServer(botapitest.WithoutListener())
	defer srv.Close()
	client := botapi.New(srv.Token(), botapi.WithBaseURL(srv.URL()), botapi.WithHTTPClient(srv.HTTPClient()))
	codec, _ := payments.NewCodec(payments.Key{ID: 1, Secret: []byte("a 32-byte secret from your vault")})

	granted := make(chan payments.Payment, 1)
	h, _ := payments.NewHandler(client, codec, payments.NewMemoryLedger(),
		func(_ context.Context, _ payments.Tx, p payments.Payment, o payments.Order) error {
			granted <- p // extend the member's access to p.SubscriptionExpiration
			return nil
		})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go pollInto(ctx, client, h)

	ann := srv.NewUser("Ann")
	payload, _ := codec.Encode(payments.Order{Ref: "member-7", UserID: ann.ID, Product: "club"})
	params, _ := payments.StarsSubscription("Club", "Monthly membership", payload, 250).LinkParams()
	link, _ := client.CreateInvoiceLink(ctx, params)
	inv, _ := srv.InvoiceByLink(link)
	paid, err := srv.Pay(ctx, ann, inv)
	if err != nil {
		panic(err)
	}
	p := <-granted // to stop renewals: h.CancelSubscription(ctx, ann.ID, p.ChargeID)
	fmt.Println("recurring:", p.IsRecurring, "first:", p.IsFirstRecurring)
	fmt.Println("period:", p.SubscriptionExpiration.Sub(paid.At).Round(time.Hour))
	// Output:
	// recurring: true first: true
	// period: 720h0m0s
}

// Refunding a Telegram Stars payment: Refund calls refundStarPayment and
// records the refund; calling it again changes nothing, and the refund hook
// runs once (also when Telegram's refunded_payment update arrives).
func Example_refund() {
	srv := botapitest.NewServer(botapitest.WithoutListener())
	defer srv.Close()
	client := botapi.New(srv.Token(), botapi.WithBaseURL(srv.URL()), botapi.WithHTTPClient(srv.HTTPClient()))
	codec, _ := payments.NewCodec(payments.Key{ID: 1, Secret: []byte("a 32-byte secret from your vault")})
	ledger := payments.NewMemoryLedger()

	paidCh := make(chan payments.Payment, 1)
	revoked := make(chan payments.Payment, 1)
	h, _ := payments.NewHandler(client, codec, ledger,
		func(_ context.Context, _ payments.Tx, p payments.Payment, _ payments.Order) error {
			paidCh <- p
			return nil
		},
		payments.WithRefundHook(func(_ context.Context, _ payments.Tx, p payments.Payment) error {
			revoked <- p // revoke what was delivered; runs once per charge
			return nil
		}))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go pollInto(ctx, client, h)

	ann := srv.NewUser("Ann")
	payload, _ := codec.Encode(payments.Order{Ref: "order-9", UserID: ann.ID})
	params, _ := payments.StarsInvoice("Gold pack", "100 gold coins", payload, 50).LinkParams()
	link, _ := client.CreateInvoiceLink(ctx, params)
	inv, _ := srv.InvoiceByLink(link)
	if _, err := srv.Pay(ctx, ann, inv); err != nil {
		panic(err)
	}
	p := <-paidCh
	fmt.Println("balance after payment:", srv.StarBalance())

	fmt.Println(h.Refund(ctx, ann.ID, p.ChargeID))
	fmt.Println(h.Refund(ctx, ann.ID, p.ChargeID)) // idempotent
	r := <-revoked
	fmt.Println("revoked", r.Amount, r.Currency)
	stored, _ := ledger.Get(ctx, p.ChargeID)
	fmt.Println("state:", stored.State, "balance:", srv.StarBalance())
	// Output:
	// balance after payment: 50
	// <nil>
	// <nil>
	// revoked 50 XTR
	// state: refunded balance: 0
}
