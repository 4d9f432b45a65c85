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
//     telegram_payment_charge_id and acknowledges the update as soon as the
//     payment is stored; it then runs the seller's [FulfilFunc] once per
//     charge, however often and however concurrently the update is
//     delivered. A fulfilment that fails leaves the payment recorded as paid;
//     [Handler.RetryPending] (run it periodically) retries it from the
//     ledger, not Telegram's redelivery.
//
// Physical goods: an invoice with is_flexible sends shipping_query, answered
// by [Handler.HandleShippingQuery] with the options of the seller's
// [ShippingFunc] ([WithShipping]); the buyer's order_info and chosen
// shipping_option_id reach the [Payment] and so the FulfilFunc.
//
// Refunds go through [Handler.Refund] (refundStarPayment, idempotent); the
// refunded_payment update is recorded by [Handler.HandleRefundedPayment]. A
// [RefundFunc] runs once per refunded charge that had been fulfilled, always
// after the fulfilment committed. Subscriptions are Stars invoice links made
// by [StarsSubscription]; their payments carry IsRecurring, IsFirstRecurring
// and SubscriptionExpiration, and [Handler.CancelSubscription] /
// [Handler.ResumeSubscription] call editUserStarSubscription.
//
// # Exactly once
//
// The [Ledger] is the single point of truth, and its contract is what a
// database can keep exactly once:
//
//   - Record is an atomic insert-if-absent. Once it has stored a payment the
//     update is acknowledged: every retry comes from the ledger
//     ([Ledger.Pending], an indexed query of the payments with work left),
//     so a lost webhook answer or a crashed process never loses a payment.
//   - Claim is a lease on the right to fulfil, taken for an owner (one
//     attempt) on the ledger's own clock (SQL now(), Redis TIME), never a
//     process clock. Every change made under a claim is fenced by its owner:
//     a worker that outlived its lease completes nothing.
//   - [Ledger.Fulfil] runs the FulfilFunc and moves the payment to fulfilled
//     together. On SQLite and Postgres this is one transaction: the
//     fulfilment's own writes (through the [Tx] it is given) commit with the
//     state change or not at all, and the row stays locked while it runs, so
//     a redelivery, a RetryPending, a refund or an expired lease all wait for
//     it. A fulfilment whose effect is a row in the same database is
//     therefore exactly once even under SIGKILL. Where the ledger has no
//     transaction to share ([MemoryLedger], store/redis) or the effect is
//     outside the database (a message), a crash between the effect and the
//     commit repeats it: the FulfilFunc must then be idempotent on
//     [Payment.ChargeID], which is why the handler passes it the whole
//     Payment.
//   - [Ledger.Refund] is serialised with fulfilment per charge: a refund of
//     a paid, unclaimed payment applies at once and the payment is never
//     fulfilled; one that arrives while a fulfilment holds the claim waits
//     for it (a row lock) or is recorded as requested and applied when the
//     claim ends, after the fulfilment or instead of it. The refund hook is
//     due only for a payment that was fulfilled, and runs under its own
//     fenced claim ([Ledger.RefundHookDone]) once.
//   - A refund is complete once Telegram has refunded and the ledger has
//     recorded it, and, for a payment that had been fulfilled, the refund
//     hook has committed. With no hook configured ([WithRefundHook] unset)
//     there is nothing to revoke, so the handler completes the refund in
//     the same fenced step with no hook (stamping
//     [Payment.RefundHookDoneAt]): the payment is refunded and leaves the
//     pending set, rather than stay due for a hook that does not exist. A
//     hook configured later does not revisit refunds completed before it;
//     a refund whose completion was interrupted (a crash, a failed ledger
//     write) is completed by [Handler.RetryPending], with the hook if one
//     is configured by then.
//
// [MemoryLedger] is the in-memory implementation, for tests and demos: it is
// not durable. Package payments/ledgertest checks any implementation; the
// nested modules store/sqlite, store/postgres and store/redis implement it
// on real engines.
//
// # Once per order
//
// A Telegram invoice, and an invoice link above all, can be paid more than
// once. By default orders are one-time: at pre-checkout the handler reserves
// the order (the [Order.Ref] of the signed payload) for the query
// ([Ledger.Reserve], [WithReservationTTL]) and declines a second
// pre-checkout for an order that is reserved or paid with [MsgOrderTaken].
// A reservation is released at once only when the outcome of its query is
// known ([Ledger.ReleaseReservation], fenced by the query id, so a later
// query's reservation of the order is never dropped): its ok answer had
// no effect (Telegram refused it, such as "query is too old" after its
// 10-second deadline or a 429, or the request never left: a DNS, connect
// or TLS handshake failure). The buyer who retries is then not declined
// as if someone else were paying. (A query the handler declines holds no
// reservation: the order is reserved last, and a Reserve that fails is
// tried once more, then declined with [MsgUnavailable] and nothing
// released, since the query may be a redelivery, below, whose first
// delivery holds the order.) An ok answer
// whose failure hides its fate (a timeout, a 5xx, a connection dropped
// after the request was written: Telegram may have got the ok and be
// charging) keeps the reservation until its TTL and is logged at Warn. That
// is the safe side: a buyer whose ok answer was lost waits at most one
// reservation TTL before a retry is accepted, whereas a released
// reservation would let a second buyer or attempt be approved and charged,
// and a duplicate provider charge cannot be refunded through the Bot API
// (only reported, below). The handler acknowledges such an update rather
// than have it redelivered: the repeated answer would be refused whether
// the first reached Telegram or not.
//
// A query can be delivered again nonetheless after its ok answer reached
// Telegram (a crash between the answer and the acknowledgement: the
// webhook's claim on the update_id lapses, and a long poller that had not
// confirmed its offset gets the update again). Its second
// answer is refused as "query is too old", which tells nothing of the
// first, so it must not release the reservation the first answer made
// good: a second buyer's pre-checkout would be approved and charged. The
// ledger therefore remembers a holder that reserves an order it holds
// already: [Ledger.Reserve] pins that reservation, and
// [Ledger.ReleaseReservation] by its holder then changes nothing; it ends
// with its TTL. The fence is in the ledger rather than the handler so
// that it holds whichever of two deliveries of one query answers first.
// (Before this, a re-answer's refusal released the reservation; the
// Ledger interface's method set is unchanged, its contract is not: a
// Ledger implemented elsewhere must add the pin, which
// payments/ledgertest checks, and store/sqlite and store/postgres add a
// column for it with a migration.) The cost is that a query whose first
// delivery crashed before answering waits one reservation TTL when its
// redelivery's ok answer is too late.
//
// Two pre-checkouts can still both be answered before either charge (a
// reservation that expired while a payment was delayed), so the ledger binds
// the order to its first charge in the same atomic step as Record; a later
// charge of the order is recorded with [Payment.DuplicateOf] set, never
// fulfilled, refunded (refundStarPayment) and logged at Warn ("duplicate
// charge refunded"); a provider charge, which the Bot API cannot refund, is
// logged at Error once a day ([ProviderDuplicateReminder]) until it is
// refunded at the provider and the refund recorded with [Ledger.Refund].
// Subscription renewals pay their order again by design and are not
// duplicates; a new subscription after one ended is a new order (a new
// order reference), not a renewal. [WithRepeatablePurchases] turns all of this off for order
// references meant to be paid many times.
//
// # Renewals after key rotation
//
// A subscription renews every 30 days with the payload of its first invoice,
// signed by whatever key signed it then, for as long as the subscription
// lives. Rather than keep retired keys for verification indefinitely, the
// ledger vouches: the first payment was recorded with its OrderRef after the
// payload verified, so a later payment carrying byte-for-byte the same
// payload, under a key the codec no longer has, is given that order (looked
// up with [Ledger.ByOrder], an indexed query). A payload that differs in any
// byte gets nothing from the ledger.
//
// # Reconciliation
//
// [Transactions] walks getStarTransactions page by page as an iter.Seq2, and
// [Handler.Reconcile] compares Telegram's transactions since a time with the
// ledger's payments since then ([Ledger.Since], an indexed range), reporting payments Telegram has that the ledger lacks (a lost update) and
// the reverse, and refunds recorded on one side only.
//
// # Currencies and amounts
//
// Amounts are integers in the smallest units of their currency, as in the
// Bot API. A currency's exponent is ISO 4217's, a static table; its minimum
// and maximum (about US$1 and US$10 000) move daily with exchange rates, so
// the built-in bounds, from a 2021 snapshot of Telegram's currencies.json,
// are advisory ([DefaultCurrencies]); [LoadCurrencies] reads a fresh copy
// and enforces its bounds, and [Currencies.With] adds a currency Telegram
// lists before ISO 4217 does. [LookupCurrency] looks a code up;
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
