package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/miniappkit/miniappkit/webhook"
)

// CompleteTx checks a SQL store's CompleteTx, which completes a key's
// claim in the caller's transaction: the caller's effect and the
// completion commit together, or neither does. s is fresh and empty; run
// begins a transaction, writes one effect in it, calls the store's
// CompleteTx for key and returns its error if it fails (rolling back),
// and otherwise commits the transaction (commit true) or rolls it back
// (false), returning that error; effects returns how many effects are
// committed.
//
// The checks: a completion rolled back leaves the key in flight and no
// effect; a committed one makes the key done with one effect, after which
// the owner's own Complete succeeds (as webhook.NewHandler's does) and
// another owner's fails with webhook.ErrNotOwner; CompleteTx of a done or
// absent key fails with webhook.ErrNotOwner and commits no effect.
func CompleteTx(t *testing.T, s webhook.Store, run func(ctx context.Context, key string, commit bool) error, effects func(context.Context) (int, error)) {
	t.Helper()
	ctx := t.Context()
	wantEffects := func(want int, what string) {
		t.Helper()
		if n, err := effects(ctx); err != nil || n != want {
			t.Fatalf("storetest: effects %s = %d, %v; want %d", what, n, err, want)
		}
	}
	wantNotOwner := func(err error, what string) {
		t.Helper()
		if !errors.Is(err, webhook.ErrNotOwner) {
			t.Fatalf("storetest: %s: %v, want webhook.ErrNotOwner", what, err)
		}
	}
	check := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}

	check(claim(ctx, s, "k", "a", time.Minute, nil, webhook.Claimed, "", "of an absent key"))
	if err := run(ctx, "k", false); err != nil {
		t.Fatalf("storetest: CompleteTx rolled back: %v", err)
	}
	wantEffects(0, "after a rollback")
	check(claim(ctx, s, "k", "b", time.Minute, nil, webhook.InFlight, "", "after a rollback"))

	if err := run(ctx, "k", true); err != nil {
		t.Fatalf("storetest: CompleteTx committed: %v", err)
	}
	wantEffects(1, "after a commit")
	check(claim(ctx, s, "k", "b", time.Minute, nil, webhook.Done, "", "after a commit"))
	if err := s.Complete(ctx, "k", "a", time.Hour, nil); err != nil {
		t.Fatalf("storetest: the owner's Complete after CompleteTx: %v", err)
	}
	wantNotOwner(s.Complete(ctx, "k", "b", time.Hour, nil), "another owner's Complete after CompleteTx")

	wantNotOwner(run(ctx, "k", true), "CompleteTx of a done key")
	wantNotOwner(run(ctx, "absent", true), "CompleteTx of an absent key")
	wantEffects(1, "after CompleteTx of a done and an absent key")
}
