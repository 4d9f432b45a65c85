// Package storetest checks that a webhook.Store implementation keeps the
// contract the webhook handlers rely on: Claim is an atomic
// insert-if-absent with a lease, only the owner completes or releases its
// claim, a passed lease lets a new owner take the key over (after which the
// stale owner changes nothing), an owner's Extend renews its lease (and
// nobody else's does), a done key is remembered for its TTL, data
// is copied, bad arguments fail, and of many concurrent Claims of one key
// exactly one wins. A SQL or Redis store runs it from its own tests:
//
//	func TestStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) (webhook.Store, storetest.Advance) {
//			return newTestStore(t), nil // nil: the store runs on real time
//		})
//	}
//
// Each check gets a fresh, empty store. A store on an engine's clock (SQL
// now(), Redis TIME) cannot be moved, so with a nil [Advance] the kit waits
// out its leases and TTLs in real time: short ones, under three seconds in
// all. A store with an injectable clock passes an Advance that moves it
// and the kit never sleeps.
package storetest
