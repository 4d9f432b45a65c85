package payments

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/miniappkit/miniappkit/botapi"
)

func TestInvoiceValid(t *testing.T) {
	stars := StarsInvoice("Gold pack", "100 gold coins", "p1", 50)
	p, err := stars.SendParams(botapi.ChatID{ID: 42})
	require.NoError(t, err)
	require.Equal(t, XTR, p.Currency)
	require.Empty(t, p.ProviderToken)
	require.Equal(t, []botapi.LabeledPrice{{Label: "Gold pack", Amount: 50}}, p.Prices)
	require.Equal(t, int64(42), p.ChatID.ID)

	l, err := stars.LinkParams()
	require.NoError(t, err)
	require.Zero(t, l.SubscriptionPeriod)

	sub := StarsSubscription("Club", "Monthly membership", "p2", 10000)
	l, err = sub.LinkParams()
	require.NoError(t, err)
	require.Equal(t, 2592000, l.SubscriptionPeriod)

	prov := ProviderInvoice("tok", "USD", "T-shirt", "Black, size M", "p3",
		botapi.LabeledPrice{Label: "T-shirt", Amount: 1500},
		botapi.LabeledPrice{Label: "Discount", Amount: -200},
		botapi.LabeledPrice{Label: "Shipping", Amount: 500})
	prov.MaxTipAmount = 500
	prov.SuggestedTipAmounts = []int64{100, 200, 300, 500}
	prov.PhotoURL, prov.PhotoWidth, prov.PhotoHeight, prov.PhotoSize = "https://example.com/t.jpg", 640, 480, 12345
	prov.ProviderData = `{"receipt":{}}`
	prov.StartParameter = "tshirt-black_M"
	prov.NeedShippingAddress = true
	sp, err := prov.SendParams(botapi.ChatID{ID: 1})
	require.NoError(t, err)
	require.Len(t, sp.Prices, 3)
	require.True(t, sp.NeedShippingAddress)
	total, ok := prov.Total()
	require.True(t, ok)
	require.Equal(t, int64(1800), total)

	// Params never alias the caller's slices.
	sp.Prices[0].Amount = 1
	sp.SuggestedTipAmounts[0] = 1
	require.Equal(t, int64(1500), prov.Prices[0].Amount)
	require.Equal(t, int64(100), prov.SuggestedTipAmounts[0])

	// Title limits count characters, not bytes.
	cyr := StarsInvoice(strings.Repeat("ж", MaxTitleLength), "d", "p", 1)
	require.NoError(t, cyr.Validate())
}

func TestInvoiceFieldErrors(t *testing.T) {
	stars := func(f func(*Invoice)) Invoice {
		inv := StarsInvoice("Gold pack", "100 gold coins", "p1", 50)
		f(&inv)
		return inv
	}
	prov := func(f func(*Invoice)) Invoice {
		inv := ProviderInvoice("tok", "USD", "T-shirt", "Black", "p", botapi.LabeledPrice{Label: "T-shirt", Amount: 1500})
		f(&inv)
		return inv
	}
	tests := []struct {
		name  string
		inv   Invoice
		field string
	}{
		{"empty title", stars(func(i *Invoice) { i.Title = "" }), "title"},
		{"long title", stars(func(i *Invoice) { i.Title = strings.Repeat("a", 33) }), "title"},
		{"bad utf8 title", stars(func(i *Invoice) { i.Title = "\xff" }), "title"},
		{"empty description", stars(func(i *Invoice) { i.Description = "" }), "description"},
		{"long description", stars(func(i *Invoice) { i.Description = strings.Repeat("a", 256) }), "description"},
		{"empty payload", stars(func(i *Invoice) { i.Payload = "" }), "payload"},
		{"long payload", stars(func(i *Invoice) { i.Payload = strings.Repeat("a", 129) }), "payload"},
		{"unknown currency", stars(func(i *Invoice) { i.Currency = "ZZZ" }), "currency"},
		{"no prices", stars(func(i *Invoice) { i.Prices = nil }), "prices"},
		{"empty label", stars(func(i *Invoice) { i.Prices[0].Label = "" }), "prices[0].label"},
		{"stars with token", stars(func(i *Invoice) { i.ProviderToken = "tok" }), "provider_token"},
		{"stars two prices", stars(func(i *Invoice) { i.Prices = append(i.Prices, botapi.LabeledPrice{Label: "x", Amount: 1}) }), "prices"},
		{"stars zero", stars(func(i *Invoice) { i.Prices[0].Amount = 0 }), "prices[0].amount"},
		{"stars tips", stars(func(i *Invoice) { i.MaxTipAmount = 5 }), "max_tip_amount"},
		{"provider without token", prov(func(i *Invoice) { i.ProviderToken = "" }), "provider_token"},
		{"provider below min, bounds enforced", prov(func(i *Invoice) { i.Prices[0].Amount, i.Currencies = 99, DefaultCurrencies().Enforced(true) }), "prices"},
		{"provider above max, bounds enforced", prov(func(i *Invoice) { i.Prices[0].Amount, i.Currencies = 1000001, DefaultCurrencies().Enforced(true) }), "prices"},
		{"provider total not positive", prov(func(i *Invoice) {
			i.Prices = append(i.Prices, botapi.LabeledPrice{Label: "discount", Amount: -i.Prices[0].Amount})
		}), "prices"},
		{"provider overflow", prov(func(i *Invoice) {
			i.Prices = append(i.Prices, botapi.LabeledPrice{Label: "x", Amount: 1<<63 - 1})
		}), "prices"},
		{"subscription fiat", prov(func(i *Invoice) { i.SubscriptionPeriod = SubscriptionPeriod }), "subscription_period"},
		{"subscription period", stars(func(i *Invoice) { i.SubscriptionPeriod = 7 * 24 * time.Hour }), "subscription_period"},
		{"subscription price", stars(func(i *Invoice) {
			i.SubscriptionPeriod = SubscriptionPeriod
			i.Prices[0].Amount = MaxSubscriptionStars + 1
		}), "prices[0].amount"},
		{"negative tip", prov(func(i *Invoice) { i.MaxTipAmount = -1 }), "max_tip_amount"},
		{"five tips", prov(func(i *Invoice) { i.MaxTipAmount, i.SuggestedTipAmounts = 100, []int64{1, 2, 3, 4, 5} }), "suggested_tip_amounts"},
		{"zero tip", prov(func(i *Invoice) { i.MaxTipAmount, i.SuggestedTipAmounts = 100, []int64{0} }), "suggested_tip_amounts[0]"},
		{"decreasing tips", prov(func(i *Invoice) { i.MaxTipAmount, i.SuggestedTipAmounts = 100, []int64{20, 10} }), "suggested_tip_amounts[1]"},
		{"tip above max", prov(func(i *Invoice) { i.MaxTipAmount, i.SuggestedTipAmounts = 100, []int64{50, 150} }), "suggested_tip_amounts[1]"},
		{"provider data not json", prov(func(i *Invoice) { i.ProviderData = "{" }), "provider_data"},
		{"photo size without url", stars(func(i *Invoice) { i.PhotoWidth = 10 }), "photo_url"},
		{"negative photo size", stars(func(i *Invoice) { i.PhotoURL, i.PhotoSize = "https://e.com/a.jpg", -1 }), "photo_size"},
		{"relative photo url", stars(func(i *Invoice) { i.PhotoURL = "/a.jpg" }), "photo_url"},
		{"ftp photo url", stars(func(i *Invoice) { i.PhotoURL = "ftp://e.com/a.jpg" }), "photo_url"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.inv.Validate()
			require.ErrorIs(t, err, ErrInvalidInvoice)
			var fe *FieldError
			require.ErrorAs(t, err, &fe)
			require.Equal(t, tt.field, fe.Field)
			require.Contains(t, err.Error(), tt.field)
			_, err = tt.inv.SendParams(botapi.ChatID{ID: 1})
			require.ErrorIs(t, err, ErrInvalidInvoice)
			_, err = tt.inv.LinkParams()
			require.ErrorIs(t, err, ErrInvalidInvoice)
		})
	}
}

func TestInvoiceMethodSpecificErrors(t *testing.T) {
	sub := StarsSubscription("Club", "Monthly", "p", 100)
	_, err := sub.SendParams(botapi.ChatID{ID: 1})
	var fe *FieldError
	require.ErrorAs(t, err, &fe)
	require.Equal(t, "subscription_period", fe.Field)

	inv := StarsInvoice("Gold", "Coins", "p", 5)
	inv.StartParameter = "has space"
	_, err = inv.SendParams(botapi.ChatID{ID: 1})
	require.ErrorAs(t, err, &fe)
	require.Equal(t, "start_parameter", fe.Field)
	inv.StartParameter = strings.Repeat("a", 65)
	_, err = inv.SendParams(botapi.ChatID{ID: 1})
	require.ErrorAs(t, err, &fe)
	inv.StartParameter = "ok"
	_, err = inv.LinkParams()
	require.ErrorAs(t, err, &fe)
	require.Equal(t, "start_parameter", fe.Field)
}
