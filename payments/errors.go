package payments

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error this package returns for one of these
// failures wraps the sentinel, so callers branch with [errors.Is].
var (
	// ErrUnknownCurrency: a currency code Telegram does not list.
	ErrUnknownCurrency = errors.New("payments: unknown currency")
	// ErrInvalidAmount: a string ParseAmount cannot read as an amount.
	ErrInvalidAmount = errors.New("payments: invalid amount")
	// ErrAmountOutOfRange: an amount outside what Telegram accepts for its currency.
	ErrAmountOutOfRange = errors.New("payments: amount out of range")

	// ErrInvalidInvoice: an invoice breaks a documented limit; the error is a
	// *FieldError naming the field.
	ErrInvalidInvoice = errors.New("payments: invalid invoice")

	// ErrPayloadTooLong: an order does not fit in Telegram's 128-byte payload.
	ErrPayloadTooLong = errors.New("payments: payload too long")
	// ErrPayloadMalformed: a payload that is not one this codec produced.
	ErrPayloadMalformed = errors.New("payments: payload malformed")
	// ErrPayloadSignature: a payload whose MAC does not verify under any key (forged or altered).
	ErrPayloadSignature = errors.New("payments: payload signature invalid")
	// ErrPayloadExpired: a payload past its expiry.
	ErrPayloadExpired = errors.New("payments: payload expired")
	// ErrWrongUser: a payload or payment bound to another user.
	ErrWrongUser = errors.New("payments: payment belongs to another user")
	// ErrPriceMismatch: a pre-checkout query whose currency or amount differs from the signed order.
	ErrPriceMismatch = errors.New("payments: price mismatch")

	// ErrNotFound: a charge the ledger does not hold.
	ErrNotFound = errors.New("payments: payment not found")
	// ErrNotStars: an operation only Telegram Stars payments support (refunds, subscriptions).
	ErrNotStars = errors.New("payments: not a Telegram Stars payment")
	// ErrRefundInsideFulfil: [Handler.Refund] called from inside a
	// [FulfilFunc] or a refund hook (with its context), where the ledger's
	// transaction is open: on SQLite and Postgres the refund would wait for
	// that transaction forever. Refund once the fulfilment has returned.
	ErrRefundInsideFulfil = errors.New("payments: refund from inside a fulfilment or refund hook")
	// ErrClaimLost: a change under a claim whose owner no longer holds it
	// (its lease expired, or the work is done or refunded): nothing changed.
	ErrClaimLost = errors.New("payments: claim lost")
)

// FieldError reports the invoice field that breaks a documented limit.
// It wraps [ErrInvalidInvoice].
type FieldError struct {
	Field  string // Bot API parameter name, e.g. "title" or "prices[0].amount"
	Reason string // what is wrong, e.g. "must be 1-32 characters, got 40"
}

// Error returns "payments: invalid invoice: <field>: <reason>".
func (e *FieldError) Error() string {
	return fmt.Sprintf("%s: %s: %s", ErrInvalidInvoice, e.Field, e.Reason)
}

// Unwrap returns ErrInvalidInvoice.
func (e *FieldError) Unwrap() error { return ErrInvalidInvoice }

func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Reason: fmt.Sprintf(format, args...)}
}
