// Package ledgertest checks that a payments.Ledger implementation keeps the
// contract the payment flow relies on: Record is insert-if-absent, Claim is
// an exclusive lease that only its owner releases, SetState is a compare-and-set,
// ClaimRefundHook is the same lease for a refunded payment whose refund hook
// is pending and RefundHookDone marks it done once, All keeps record order,
// and all of it holds under concurrent use. A SQL or Redis ledger runs it
// from its own tests:
//
//	func TestLedger(t *testing.T) {
//		ledgertest.Run(t, func(t *testing.T) payments.Ledger { return newTestLedger(t) })
//	}
//
// Each check gets a fresh, empty ledger. [Check] runs the same checks
// without a *testing.T and returns what failed.
package ledgertest
