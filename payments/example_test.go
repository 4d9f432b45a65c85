package payments_test

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/miniappkit/miniappkit/botapi"
	"github.com/miniappkit/miniappkit/payments"
)

func ExampleFormatAmount() {
	for _, c := range []struct {
		amount   int64
		currency string
	}{{145, "USD"}, {1000, "JPY"}, {50, payments.XTR}} {
		s, _ := payments.FormatAmount(c.amount, c.currency)
		fmt.Println(c.currency, s)
	}
	// Output:
	// USD 1.45
	// JPY 1000
	// XTR 50
}

func ExampleParseAmount() {
	cents, err := payments.ParseAmount("19.99", "EUR")
	fmt.Println(cents, err)
	_, err = payments.ParseAmount("19.999", "EUR")
	fmt.Println(errors.Is(err, payments.ErrInvalidAmount))
	// Output:
	// 1999 <nil>
	// true
}

func ExampleCurrency_Format() {
	eur, _ := payments.LookupCurrency("EUR")
	usd, _ := payments.LookupCurrency("USD")
	fmt.Println(eur.Format(123450))
	fmt.Println(usd.Format(123450))
	fmt.Println(usd.CheckAmount(50) != nil) // below Telegram's minimum for USD
	// Output:
	// 1 234,50 €
	// $1,234.50
	// true
}

func ExampleCodec() {
	// One key signs; older keys may still verify (rotation).
	codec, err := payments.NewCodec(payments.Key{ID: 1, Secret: []byte("a 32-byte secret from your vault")})
	if err != nil {
		panic(err)
	}
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	payload, _ := codec.Encode(payments.Order{
		Ref: "order-1042", UserID: 42, Product: "gold-100",
		Currency: payments.XTR, Amount: 50, Expires: now.Add(15 * time.Minute),
	})
	fmt.Println(len(payload) <= payments.MaxPayloadBytes)

	o, err := codec.DecodeAt(payload, now)
	fmt.Println(o.Ref, o.Product, o.Amount, err)
	fmt.Println(o.CheckUser(43) != nil) // bound to user 42

	_, err = codec.DecodeAt(payload, now.Add(time.Hour))
	fmt.Println(errors.Is(err, payments.ErrPayloadExpired))
	_, err = codec.DecodeAt("order-1042", now)
	fmt.Println(errors.Is(err, payments.ErrPayloadMalformed))
	// Output:
	// true
	// order-1042 gold-100 50 <nil>
	// true
	// true
	// true
}

func ExampleStarsInvoice() {
	inv := payments.StarsInvoice("Gold pack", "100 gold coins for your hero", "signed-payload", 50)
	inv.PhotoURL = "https://example.com/gold.png"
	p, err := inv.SendParams(botapi.ChatID{ID: 42})
	fmt.Println(p.Currency, p.ProviderToken == "", p.Prices, err)

	inv.Title = "A title far longer than thirty-two characters"
	_, err = inv.LinkParams()
	var fe *payments.FieldError
	fmt.Println(errors.As(err, &fe), fe.Field)
	// Output:
	// XTR true [{Gold pack 50}] <nil>
	// true title
}

func ExampleProviderInvoice() {
	price, _ := payments.ParseAmount("15.00", "USD")
	inv := payments.ProviderInvoice("provider-token", "USD", "T-shirt", "Black, size M", "signed-payload",
		botapi.LabeledPrice{Label: "T-shirt", Amount: price},
		botapi.LabeledPrice{Label: "Shipping", Amount: 500},
	)
	inv.NeedShippingAddress = true
	inv.MaxTipAmount, inv.SuggestedTipAmounts = 500, []int64{100, 250}
	p, err := inv.SendParams(botapi.ChatID{ID: 42})
	total, _ := inv.Total()
	s, _ := payments.FormatAmount(total, "USD")
	fmt.Println(len(p.Prices), s, err)

	// The signed order carries the tip ceiling, so pre-checkout accepts a
	// total of at most 20.00 + 5.00.
	codec, _ := payments.NewCodec(payments.Key{ID: 1, Secret: []byte("a 32-byte secret from your vault")})
	payload, err := codec.Encode(payments.Order{Ref: "tee-7", Currency: "USD", Amount: total, MaxTip: inv.MaxTipAmount})
	fmt.Println(len(payload) <= payments.MaxPayloadBytes, err)
	// Output:
	// 2 20.00 <nil>
	// true <nil>
}

func ExampleStarsSubscription() {
	inv := payments.StarsSubscription("Club", "Monthly membership", "signed-payload", 250)
	p, err := inv.LinkParams()
	fmt.Println(p.SubscriptionPeriod, err)
	_, err = inv.SendParams(botapi.ChatID{ID: 42}) // subscriptions are links only
	fmt.Println(errors.Is(err, payments.ErrInvalidInvoice))
	// Output:
	// 2592000 <nil>
	// true
}

// A fresh copy of Telegram's currencies.json enforces today's bounds; the
// built-in table knows every ISO 4217 code but treats its 2021 bounds as
// advisory.
func ExampleLoadCurrencies() {
	fresh := `{"TRY":{"code":"TRY","title":"Turkish Lira","symbol":"TRY","native":"TL","thousands_sep":".",` +
		`"decimal_sep":",","symbol_left":false,"space_between":true,"exp":2,"min_amount":"4205","max_amount":"42050000"}}`
	table, err := payments.LoadCurrencies(strings.NewReader(fresh))
	if err != nil {
		fmt.Println(err)
		return
	}
	inv := payments.ProviderInvoice("provider-token", "TRY", "Parcel", "A parcel", "payload",
		botapi.LabeledPrice{Label: "Parcel", Amount: 900}) // 9 TRY
	fmt.Println("built-in:", inv.Validate())
	inv.Currencies = table
	fmt.Println("fresh:", errors.Is(inv.Validate(), payments.ErrInvalidInvoice))
	// Output:
	// built-in: <nil>
	// fresh: true
}

// A currency Telegram lists before this package knows it needs only its
// exponent.
func ExampleCurrencies_With() {
	table, err := payments.DefaultCurrencies().With(payments.Currency{Code: "ZZZ", Exp: 3})
	if err != nil {
		fmt.Println(err)
		return
	}
	c, _ := table.Lookup("ZZZ")
	fmt.Println(c.Format(12345))
	// Output: ZZZ 12.345
}
