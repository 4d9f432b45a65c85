package payments

import (
	"encoding/json"
	"math"
	"net/url"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/miniappkit/miniappkit/botapi"
)

// Invoice limits documented for sendInvoice and createInvoiceLink.
//
// Telegram docs: https://core.telegram.org/bots/api#sendinvoice,
// https://core.telegram.org/bots/api#createinvoicelink
const (
	MaxTitleLength          = 32    // title: 1-32 characters
	MaxDescriptionLength    = 255   // description: 1-255 characters
	MaxSuggestedTipAmounts  = 4     // suggested_tip_amounts: at most 4
	MaxStartParameterLength = 64    // start_parameter: a deep-linking parameter, up to 64 of A-Z a-z 0-9 _ - (https://core.telegram.org/bots/features#deep-linking)
	MaxSubscriptionStars    = 10000 // a subscription price must not exceed 10000 Telegram Stars
)

// SubscriptionPeriod is the only subscription period Telegram allows: 30 days
// (2592000 seconds), for Telegram Stars invoice links.
//
// Telegram docs: https://core.telegram.org/bots/api#createinvoicelink
const SubscriptionPeriod = 30 * 24 * time.Hour

// Invoice is an invoice to send (sendInvoice) or to turn into a link
// (createInvoiceLink), checked against every documented limit before
// Telegram is called. Build one with [StarsInvoice], [StarsSubscription] or
// [ProviderInvoice] and set the optional fields; [Invoice.SendParams] and
// [Invoice.LinkParams] validate it and return the Bot API parameters, and
// [Invoice.Validate] checks it alone. An invalid invoice yields a
// *[FieldError] naming the Bot API parameter at fault. Parameters that do not
// affect the payment (reply_markup, message_thread_id, protect_content,
// business_connection_id, ...) are set on the returned params struct.
//
// Telegram docs: https://core.telegram.org/bots/payments-stars,
// https://core.telegram.org/bots/payments
type Invoice struct {
	Title       string // product name, 1-32 characters
	Description string // product description, 1-255 characters
	Payload     string // 1-128 bytes, never shown to the user; see [Codec.Encode]

	// Currency is "XTR" for Telegram Stars or a code of Currencies;
	// ProviderToken is empty for Stars and required otherwise.
	Currency      string
	ProviderToken string
	// Currencies is the table Currency and the total are checked against:
	// nil means [DefaultCurrencies] (every ISO 4217 code; bounds advisory).
	// Pass a fresh [LoadCurrencies] table to enforce today's bounds, or
	// [Currencies.With] a currency Telegram added.
	Currencies *Currencies
	// Prices is the price breakdown in smallest units. Stars invoices have
	// exactly one positive price; provider invoices may have several lines
	// (discounts may be negative) whose total must lie within the currency's
	// minimum and maximum.
	Prices []botapi.LabeledPrice

	// SubscriptionPeriod makes the invoice a subscription: 0, or exactly
	// [SubscriptionPeriod], for Stars invoice links only.
	SubscriptionPeriod time.Duration

	// Tips (provider payments only): MaxTipAmount in smallest units, and up
	// to 4 positive, strictly increasing suggestions not above it.
	MaxTipAmount        int64
	SuggestedTipAmounts []int64

	ProviderData string // JSON for the payment provider (provider payments)

	// Product photo: PhotoURL (http or https); the size fields need it.
	PhotoURL    string
	PhotoSize   int64
	PhotoWidth  int
	PhotoHeight int

	// Buyer details to collect (ignored by Telegram for Stars payments).
	NeedName, NeedPhoneNumber, NeedEmail, NeedShippingAddress bool
	SendPhoneNumberToProvider, SendEmailToProvider            bool
	IsFlexible                                                bool

	// StartParameter is sendInvoice's deep-linking parameter (empty: forwarded
	// copies keep a Pay button).
	StartParameter string
}

// StarsInvoice returns an invoice for stars Telegram Stars: currency XTR, no
// provider token, one price labelled with the title.
//
// Telegram docs: https://core.telegram.org/bots/payments-stars
func StarsInvoice(title, description, payload string, stars int64) Invoice {
	return Invoice{
		Title: title, Description: description, Payload: payload,
		Currency: XTR,
		Prices:   []botapi.LabeledPrice{{Label: title, Amount: stars}},
	}
}

// StarsSubscription returns a Telegram Stars subscription invoice charging
// starsPerPeriod (at most 10000) every 30 days. Subscriptions exist only as
// invoice links: use [Invoice.LinkParams]. With one-time orders (the
// [Handler]'s default) the payload's order reference is subscribed to once:
// its renewals are paid, but subscribing again through the same link after
// the subscription ended is declined ([MsgOrderTaken]), so give each
// subscription its own order reference (a new link), or use
// [WithRepeatablePurchases].
//
// Telegram docs: https://core.telegram.org/bots/api#createinvoicelink
func StarsSubscription(title, description, payload string, starsPerPeriod int64) Invoice {
	inv := StarsInvoice(title, description, payload, starsPerPeriod)
	inv.SubscriptionPeriod = SubscriptionPeriod
	return inv
}

// ProviderInvoice returns an invoice paid through a payment provider (physical
// goods): currency is an ISO 4217 code Telegram lists, prices are in its
// smallest units (see [ParseAmount]).
//
// Telegram docs: https://core.telegram.org/bots/payments
func ProviderInvoice(providerToken, currency, title, description, payload string, prices ...botapi.LabeledPrice) Invoice {
	return Invoice{
		Title: title, Description: description, Payload: payload,
		Currency: currency, ProviderToken: providerToken,
		Prices: append([]botapi.LabeledPrice(nil), prices...),
	}
}

// Total returns the sum of the prices, or false if it overflows int64.
func (inv Invoice) Total() (int64, bool) {
	var total int64
	for _, p := range inv.Prices {
		if (p.Amount > 0 && total > math.MaxInt64-p.Amount) || (p.Amount < 0 && total < math.MinInt64-p.Amount) {
			return 0, false
		}
		total += p.Amount
	}
	return total, true
}

// Validate checks inv against every documented limit that applies to both
// sendInvoice and createInvoiceLink. The error is a *[FieldError].
func (inv Invoice) Validate() error {
	if err := checkText("title", inv.Title, MaxTitleLength); err != nil {
		return err
	}
	if err := checkText("description", inv.Description, MaxDescriptionLength); err != nil {
		return err
	}
	if n := len(inv.Payload); n < MinPayloadBytes || n > MaxPayloadBytes {
		return fieldErr("payload", "must be %d-%d bytes, got %d", MinPayloadBytes, MaxPayloadBytes, n)
	}
	table := inv.Currencies
	if table == nil {
		table = defaultCurrencies
	}
	cur, ok := table.Lookup(inv.Currency)
	if !ok {
		return fieldErr("currency", "%q is not a currency of the table (supply its exponent with Currencies.With)", truncate(inv.Currency, 8))
	}
	if len(inv.Prices) == 0 {
		return fieldErr("prices", "must hold at least one price")
	}
	for i, p := range inv.Prices {
		if p.Label == "" {
			return fieldErr(fieldIndex("prices", i, "label"), "must not be empty")
		}
	}
	total, ok := inv.Total()
	if !ok {
		return fieldErr("prices", "total overflows")
	}
	stars := cur.Code == XTR
	if stars {
		if inv.ProviderToken != "" {
			return fieldErr("provider_token", "must be empty for payments in Telegram Stars")
		}
		if len(inv.Prices) != 1 {
			return fieldErr("prices", "must contain exactly one item for payments in Telegram Stars, got %d", len(inv.Prices))
		}
		if inv.Prices[0].Amount <= 0 {
			return fieldErr(fieldIndex("prices", 0, "amount"), "must be a positive number of Stars, got %d", inv.Prices[0].Amount)
		}
		if inv.MaxTipAmount != 0 || len(inv.SuggestedTipAmounts) != 0 {
			return fieldErr("max_tip_amount", "tips are not supported for payments in Telegram Stars")
		}
	} else {
		if inv.ProviderToken == "" {
			return fieldErr("provider_token", "is required for %s payments (empty only for XTR)", cur.Code)
		}
		if total <= 0 {
			return fieldErr("prices", "total %d is not positive", total)
		}
		if table.enforced {
			if err := cur.CheckAmount(total); err != nil {
				return fieldErr("prices", "total %d: %v", total, err)
			}
		}
	}
	if inv.SubscriptionPeriod != 0 {
		if !stars {
			return fieldErr("subscription_period", "requires currency XTR")
		}
		if inv.SubscriptionPeriod != SubscriptionPeriod {
			return fieldErr("subscription_period", "must be %d seconds (30 days), got %v", int64(SubscriptionPeriod/time.Second), inv.SubscriptionPeriod)
		}
		if total > MaxSubscriptionStars {
			return fieldErr(fieldIndex("prices", 0, "amount"), "subscription price must not exceed %d Stars, got %d", MaxSubscriptionStars, total)
		}
	}
	if err := inv.checkTips(); err != nil {
		return err
	}
	if inv.ProviderData != "" && !json.Valid([]byte(inv.ProviderData)) {
		return fieldErr("provider_data", "must be JSON")
	}
	return inv.checkPhoto()
}

func (inv Invoice) checkTips() error {
	if inv.MaxTipAmount < 0 {
		return fieldErr("max_tip_amount", "must not be negative, got %d", inv.MaxTipAmount)
	}
	if len(inv.SuggestedTipAmounts) > MaxSuggestedTipAmounts {
		return fieldErr("suggested_tip_amounts", "at most %d amounts, got %d", MaxSuggestedTipAmounts, len(inv.SuggestedTipAmounts))
	}
	var prev int64
	for i, tip := range inv.SuggestedTipAmounts {
		field := fieldIndex("suggested_tip_amounts", i, "")
		switch {
		case tip <= 0:
			return fieldErr(field, "must be positive, got %d", tip)
		case i > 0 && tip <= prev:
			return fieldErr(field, "must be strictly increasing (%d after %d)", tip, prev)
		case tip > inv.MaxTipAmount:
			return fieldErr(field, "must not exceed max_tip_amount %d, got %d", inv.MaxTipAmount, tip)
		}
		prev = tip
	}
	return nil
}

func (inv Invoice) checkPhoto() error {
	if inv.PhotoSize < 0 || inv.PhotoWidth < 0 || inv.PhotoHeight < 0 {
		return fieldErr("photo_size", "photo size, width and height must not be negative")
	}
	if inv.PhotoURL == "" {
		if inv.PhotoSize != 0 || inv.PhotoWidth != 0 || inv.PhotoHeight != 0 {
			return fieldErr("photo_url", "is required when photo_size, photo_width or photo_height is set")
		}
		return nil
	}
	u, err := url.Parse(inv.PhotoURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fieldErr("photo_url", "must be an absolute http or https URL")
	}
	return nil
}

// SendParams validates inv and returns the sendInvoice parameters for chatID.
// Subscriptions cannot be sent, only linked: use [Invoice.LinkParams].
//
// Telegram docs: https://core.telegram.org/bots/api#sendinvoice
func (inv Invoice) SendParams(chatID botapi.ChatID) (*botapi.SendInvoiceParams, error) {
	if err := inv.Validate(); err != nil {
		return nil, err
	}
	if inv.SubscriptionPeriod != 0 {
		return nil, fieldErr("subscription_period", "subscriptions are invoice links only (createInvoiceLink)")
	}
	if err := checkStartParameter(inv.StartParameter); err != nil {
		return nil, err
	}
	return &botapi.SendInvoiceParams{
		ChatID:                    chatID,
		Title:                     inv.Title,
		Description:               inv.Description,
		Payload:                   inv.Payload,
		ProviderToken:             inv.ProviderToken,
		Currency:                  inv.Currency,
		Prices:                    append([]botapi.LabeledPrice(nil), inv.Prices...),
		MaxTipAmount:              inv.MaxTipAmount,
		SuggestedTipAmounts:       append([]int64(nil), inv.SuggestedTipAmounts...),
		StartParameter:            inv.StartParameter,
		ProviderData:              inv.ProviderData,
		PhotoURL:                  inv.PhotoURL,
		PhotoSize:                 inv.PhotoSize,
		PhotoWidth:                inv.PhotoWidth,
		PhotoHeight:               inv.PhotoHeight,
		NeedName:                  inv.NeedName,
		NeedPhoneNumber:           inv.NeedPhoneNumber,
		NeedEmail:                 inv.NeedEmail,
		NeedShippingAddress:       inv.NeedShippingAddress,
		SendPhoneNumberToProvider: inv.SendPhoneNumberToProvider,
		SendEmailToProvider:       inv.SendEmailToProvider,
		IsFlexible:                inv.IsFlexible,
	}, nil
}

// LinkParams validates inv and returns the createInvoiceLink parameters.
// StartParameter has no meaning for links and must be empty.
//
// Telegram docs: https://core.telegram.org/bots/api#createinvoicelink
func (inv Invoice) LinkParams() (*botapi.CreateInvoiceLinkParams, error) {
	if err := inv.Validate(); err != nil {
		return nil, err
	}
	if inv.StartParameter != "" {
		return nil, fieldErr("start_parameter", "is a sendInvoice parameter; createInvoiceLink has none")
	}
	return &botapi.CreateInvoiceLinkParams{
		Title:                     inv.Title,
		Description:               inv.Description,
		Payload:                   inv.Payload,
		ProviderToken:             inv.ProviderToken,
		Currency:                  inv.Currency,
		Prices:                    append([]botapi.LabeledPrice(nil), inv.Prices...),
		SubscriptionPeriod:        int(inv.SubscriptionPeriod / time.Second),
		MaxTipAmount:              inv.MaxTipAmount,
		SuggestedTipAmounts:       append([]int64(nil), inv.SuggestedTipAmounts...),
		ProviderData:              inv.ProviderData,
		PhotoURL:                  inv.PhotoURL,
		PhotoSize:                 inv.PhotoSize,
		PhotoWidth:                inv.PhotoWidth,
		PhotoHeight:               inv.PhotoHeight,
		NeedName:                  inv.NeedName,
		NeedPhoneNumber:           inv.NeedPhoneNumber,
		NeedEmail:                 inv.NeedEmail,
		NeedShippingAddress:       inv.NeedShippingAddress,
		SendPhoneNumberToProvider: inv.SendPhoneNumberToProvider,
		SendEmailToProvider:       inv.SendEmailToProvider,
		IsFlexible:                inv.IsFlexible,
	}, nil
}

func checkText(field, s string, max int) error {
	if !utf8.ValidString(s) {
		return fieldErr(field, "must be valid UTF-8")
	}
	if n := utf8.RuneCountInString(s); n < 1 || n > max {
		return fieldErr(field, "must be 1-%d characters, got %d", max, n)
	}
	return nil
}

func checkStartParameter(s string) error {
	if s == "" {
		return nil
	}
	if len(s) > MaxStartParameterLength {
		return fieldErr("start_parameter", "must be at most %d characters, got %d", MaxStartParameterLength, len(s))
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return fieldErr("start_parameter", "may hold only A-Z, a-z, 0-9, _ and -")
		}
	}
	return nil
}

// fieldIndex renders "prices[2].label" or "suggested_tip_amounts[1]".
func fieldIndex(field string, i int, sub string) string {
	s := field + "[" + strconv.Itoa(i) + "]"
	if sub != "" {
		s += "." + sub
	}
	return s
}
