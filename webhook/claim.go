package webhook

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"
)

// Claim names a claim held in a [Store]: its key and its owner. The owner
// is unique to one delivery and works as a fencing token: a side effect in
// the same database as the store can be made conditional on the claim still
// being held by this owner (for example an UPDATE … WHERE EXISTS (the claim
// row with this key, owner and state)), so that a run that lost its claim
// (its lease passed and another delivery took the update over) changes
// nothing.
type Claim struct {
	Key   string
	Owner string
}

type claimKey struct{}

// ClaimFromContext returns the claim under which the handler given ctx
// runs: the update's claim for an [UpdateHandler] run by [NewHandler] or a
// [Worker], the Idempotency-Key's for a handler behind [Idempotency].
func ClaimFromContext(ctx context.Context) (Claim, bool) {
	c, ok := ctx.Value(claimKey{}).(Claim)
	return c, ok
}

// ErrLeaseLost is the cause (see [context.Cause]) of a handler's context
// cancelled because its claim's lease passed without a renewal succeeding.
// A renewal that finds the claim taken over cancels it with [ErrNotOwner].
var ErrLeaseLost = errors.New("webhook: claim lease lost")

// errRunTimeout is the cause of a context cancelled at its run time limit.
var errRunTimeout = errors.New("webhook: handler ran past its time limit")

// heldClaim is a claim and what renewing it takes.
type heldClaim struct {
	Claim
	store   Store
	lease   time.Duration
	timeout time.Duration // bounds each Extend
	log     *slog.Logger
}

// hold returns a context carrying the claim that ends when the claim can no
// longer be counted on: a renewal fails with ErrNotOwner (cause
// ErrNotOwner), or a lease passes with no renewal succeeding (cause
// ErrLeaseLost); and, if maxRun > 0, after maxRun. Until stop is called the
// claim is renewed every third of the lease, even past maxRun or once the
// context has ended (the caller still runs, and must keep the key), but
// never after a renewal found it taken over.
func (hc heldClaim) hold(parent context.Context, maxRun time.Duration) (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancelCause(context.WithValue(parent, claimKey{}, hc.Claim))
	lapse := time.AfterFunc(hc.lease, func() { cancel(ErrLeaseLost) })
	var limit *time.Timer
	if maxRun > 0 {
		limit = time.AfterFunc(maxRun, func() { cancel(errRunTimeout) })
	}
	// The renewal runs on a timer's goroutine, only for handlers that run
	// past a third of the lease: a short handler starts no goroutine.
	var mu sync.Mutex
	stopped := false
	var renew *time.Timer
	mu.Lock() // the callback reads renew under mu
	defer mu.Unlock()
	renew = time.AfterFunc(hc.lease/3, func() {
		start := time.Now()
		ectx, ecancel := context.WithTimeout(context.WithoutCancel(parent), min(hc.timeout, hc.lease/3))
		err := hc.store.Extend(ectx, hc.Key, hc.Owner, hc.lease)
		ecancel()
		mu.Lock()
		defer mu.Unlock()
		if stopped {
			return
		}
		switch {
		case err == nil:
			// The store counts the new lease from a moment after start.
			lapse.Reset(hc.lease - time.Since(start))
		case errors.Is(err, ErrNotOwner):
			cancel(ErrNotOwner)
			return
		default:
			hc.log.Warn("webhook: lease renewal failed", "err", err)
		}
		renew.Reset(hc.lease / 3)
	})
	return ctx, func() {
		mu.Lock()
		stopped = true
		renew.Stop()
		mu.Unlock()
		lapse.Stop()
		if limit != nil {
			limit.Stop()
		}
		cancel(context.Canceled)
	}
}

// Bounds of the pauses between retries of a Complete or Release.
const (
	storeRetryMin = 5 * time.Millisecond
	storeRetryMax = 500 * time.Millisecond
)

// retryStore runs op until it succeeds, fails with ErrNotOwner (nothing to
// retry: the claim is gone), or ctx (bounded by the store timeout) ends,
// pausing with a doubling backoff in between. A Complete that fails once
// would leave a processed update in flight until its lease lapses, and a
// redelivery would then run it again: retrying closes that window for a
// store's transient errors.
func retryStore(ctx context.Context, op func(context.Context) error) error {
	pause := storeRetryMin
	for {
		err := op(ctx)
		if err == nil || errors.Is(err, ErrNotOwner) {
			return err
		}
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		pause = min(2*pause, storeRetryMax)
	}
}
