// Package payments takes Telegram payments (Telegram Stars and provider
// currencies) correctly by construction: invoices checked against every
// documented limit before Telegram is called, tamper-proof invoice payloads,
// a pre-checkout answer that always reaches Telegram within its 10-second
// deadline, fulfilment exactly once per charge, idempotent refunds,
// subscriptions and reconciliation against Telegram's transaction list.
//
// # Currencies and amounts
//
// Amounts are integers in the smallest units of their currency, as in the
// Bot API. [LookupCurrency] returns Telegram's data for a currency (its exp,
// minimum and maximum), generated from Telegram's currencies.json;
// [FormatAmount] and [ParseAmount] convert between smallest units and
// decimal text ("1.45" is 145 US cents), and [Currency.Format] renders an
// amount in the currency's own style.
//
// # Payloads
//
// A [Codec] packs an [Order] (the seller's order reference, optionally bound
// to a buyer, a product, a price and an expiry) into a signed payload of at
// most 128 bytes. Several keys verify and one signs, so keys rotate without
// failing payments in flight.
//
// Telegram docs: https://core.telegram.org/bots/payments,
// https://core.telegram.org/bots/payments-stars
package payments
