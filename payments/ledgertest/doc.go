// Package ledgertest checks that a payments.Ledger implementation keeps the
// contract the payment flow relies on: Record is insert-if-absent and binds
// a one-time order to its first charge (later charges recorded as
// duplicates); Claim is an exclusive lease taken on the ledger's clock;
// every change under a claim (Fulfil, RefundHookDone, Release) is fenced by
// the claim's owner; Fulfil runs its function and commits the state change
// together; Refund is serialised with a fulfilment in flight (applied after
// it, or instead of it if it has not started) and leaves the refund hook due
// only after a fulfilment; Reserve holds an order for one pre-checkout and
// ReleaseReservation gives it back, fenced by the query that holds it,
// unless that query reserved it again (a redelivery: then it ends with its
// ttl);
// Pending yields exactly the payments with work left; Since and ByOrder
// keep record order; all of it holds under concurrent use; and, driven
// through a payments.Handler, a pre-checkout whose ok answer Telegram
// refused frees its order at once, one whose ok answer's fate is unknown
// keeps it reserved, so does one answered ok and delivered again (its
// second answer refused), and a refund with no refund hook configured leaves the
// pending set. A SQL or
// Redis ledger runs it from its own tests:
//
//	func TestLedger(t *testing.T) {
//		ledgertest.Run(t, func(t *testing.T) payments.Ledger { return newTestLedger(t) })
//	}
//
// Each check gets a fresh, empty ledger. The checks never move the ledger's
// clock: a claim or reservation with a ttl of 0 has expired the moment it
// is taken, which is how expiry is tested. [Check] runs the same checks
// without a *testing.T and returns what failed.
package ledgertest
