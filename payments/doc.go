// Package payments takes Telegram payments (Telegram Stars and provider
// currencies) correctly by construction: invoices checked against every
// documented limit before Telegram is called, tamper-proof invoice payloads,
// a pre-checkout answer that always reaches Telegram within its 10-second
// deadline, fulfilment exactly once per charge, idempotent refunds,
// subscriptions, and reconciliation against Telegram's transaction list.
//
// # The flow
//
// Telegram's payment flow has three updates, all routed by one [Handler]
// (a webhook.UpdateHandler by shape; with the long poller, pass it each
// update):
//
//  1. The bot sends an invoice ([Invoice.SendParams]) or creates an invoice
//     link ([Invoice.LinkParams]) whose payload is a signed [Order] from
//     [Codec.Encode].
//  2. When the buyer confirms, Telegram sends pre_checkout_query.
//     [Handler.HandlePreCheckoutQuery] verifies the payload (signature,
//     expiry, buyer, currency and amount), asks the seller's [CheckFunc]
//     whether the order can still be sold and answers answerPreCheckoutQuery
//     within the deadline: a check that is too slow gets ok=false with
//     [MsgTimeout], never no answer.
//  3. Telegram charges the buyer and sends a message with successful_payment.
//     [Handler.HandleSuccessfulPayment] records it in the [Ledger] under its
//     telegram_payment_charge_id and runs the seller's [FulfilFunc] once per
//     charge, however often and however concurrently the update is delivered.
//     A fulfilment that fails leaves the payment recorded as paid and returns
//     an error, so Telegram redelivers it; [Handler.RetryPending] retries it too.
//
// Refunds go through [Handler.Refund] (refundStarPayment, idempotent); the
// refunded_payment update is recorded by [Handler.HandleRefundedPayment], and
// a [RefundFunc] runs once per refunded charge either way: until it succeeds
// the ledger holds the refund's hook as pending ([Payment.RefundHookDoneAt]
// zero), and a redelivery or [Handler.RetryPending] runs it again. Subscriptions are
// Stars invoice links made by [StarsSubscription]; their payments carry
// IsRecurring, IsFirstRecurring and SubscriptionExpiration, and
// [Handler.CancelSubscription] / [Handler.ResumeSubscription] call
// editUserStarSubscription.
//
// # Exactly once
//
// The [Ledger] interface is the single point of truth: Record is an atomic
// insert-if-absent, Claim an atomic lease on the right to fulfil (held by an
// owner: a fulfilment that outlived its lease cannot Release the claim a
// redelivery has since taken), SetState an
// atomic compare-and-set of the state (paid, fulfilled, refunded). A SQL or
// Redis ledger implements each with one statement or script.
// [MemoryLedger] is the in-memory implementation, for tests and demos: it is
// not durable.
//
// # Reconciliation
//
// [Transactions] walks getStarTransactions page by page as an iter.Seq2, and
// [Handler.Reconcile] compares Telegram's transactions with the ledger,
// reporting payments Telegram has that the ledger lacks (a lost update) and
// the reverse, and refunds recorded on one side only.
//
// # Currencies and amounts
//
// Amounts are integers in the smallest units of their currency, as in the
// Bot API. [LookupCurrency] returns Telegram's data for a currency (its exp,
// minimum and maximum), generated from Telegram's currencies.json;
// [FormatAmount] and [ParseAmount] convert between smallest units and
// decimal text ("1.45" is 145 US cents), and [Currency.Format] renders an
// amount in the currency's own style. [XTR] is Telegram Stars (whole units).
//
// # Payloads
//
// A [Codec] packs an [Order] (the seller's order reference, optionally bound
// to a buyer, a product, a price and an expiry) into a signed payload of at
// most 128 bytes. Several keys verify and one signs, so keys rotate without
// failing payments in flight.
//
// Telegram docs: https://core.telegram.org/bots/payments,
// https://core.telegram.org/bots/payments-stars,
// https://core.telegram.org/bots/api#payments
package payments
