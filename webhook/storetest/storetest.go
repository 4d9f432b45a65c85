package storetest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miniappkit/miniappkit/webhook"
)

// Advance moves the store's clock forward by d. A nil Advance means the
// store runs on real time, and the kit waits d (plus a margin) instead.
type Advance func(d time.Duration)

// Durations the checks use. short is what the kit lets pass (in real time
// when the store's clock cannot be moved); long is a lease or TTL that must
// not pass during a check.
const (
	short  = 500 * time.Millisecond
	margin = 300 * time.Millisecond
	long   = time.Hour
)

type check struct {
	name string
	fn   func(ctx context.Context, s webhook.Store, advance Advance) error
}

var checks = []check{
	{"States", states},
	{"DoneForgottenAfterTTL", doneForgotten},
	{"LeaseTakeover", leaseTakeover},
	{"ExpiredLeaseStillCompletes", expiredLeaseStillCompletes},
	{"ReleaseReturnsToAbsent", releaseReturnsToAbsent},
	{"DataCopied", dataCopied},
	{"AwkwardKeys", awkwardKeys},
	{"BadArguments", badArguments},
	{"ConcurrentClaims", concurrentClaims},
	{"ExtendKeepsClaim", extendKeepsClaim},
	{"ExtendAfterTakeover", extendAfterTakeover},
	{"RepeatedWrites", repeatedWrites},
}

// Run runs every check as a subtest of t, each on a store from newStore.
func Run(t *testing.T, newStore func(t *testing.T) (webhook.Store, Advance)) {
	t.Helper()
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			s, adv := newStore(t)
			if err := c.fn(t.Context(), s, adv); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// Check runs every check, each on a store from newStore, and returns the
// failures joined (nil if the store conforms).
func Check(ctx context.Context, newStore func() (webhook.Store, Advance)) error {
	var errs []error
	for _, c := range checks {
		s, adv := newStore()
		if err := c.fn(ctx, s, adv); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", c.name, err))
		}
	}
	return errors.Join(errs...)
}

// pass lets d pass on the store's clock.
func pass(advance Advance, d time.Duration) {
	if advance != nil {
		advance(d)
		return
	}
	time.Sleep(d + margin)
}

// claim claims key and checks the state (and data) it reports.
func claim(ctx context.Context, s webhook.Store, key, owner string, lease time.Duration, data []byte, want webhook.State, wantData string, what string) error {
	r, err := s.Claim(ctx, key, owner, lease, data)
	if err != nil {
		return fmt.Errorf("storetest: Claim %s: %w", what, err)
	}
	if r.State != want {
		return fmt.Errorf("storetest: Claim %s = %v, want %v", what, r.State, want)
	}
	if want == webhook.Claimed && r.Data != nil {
		return fmt.Errorf("storetest: Claim %s returned data %q, want nil", what, r.Data)
	}
	if want != webhook.Claimed && string(r.Data) != wantData {
		return fmt.Errorf("storetest: Claim %s data = %q, want %q", what, r.Data, wantData)
	}
	return nil
}

func wantNotOwner(err error, what string) error {
	if !errors.Is(err, webhook.ErrNotOwner) {
		return fmt.Errorf("storetest: %s: %v, want ErrNotOwner", what, err)
	}
	return nil
}

func states(ctx context.Context, s webhook.Store, _ Advance) error {
	if err := claim(ctx, s, "k", "a", long, []byte("fp"), webhook.Claimed, "", "of an absent key"); err != nil {
		return err
	}
	if err := claim(ctx, s, "k", "b", long, nil, webhook.InFlight, "fp", "of a key in flight"); err != nil {
		return err
	}
	if err := wantNotOwner(s.Release(ctx, "k", "b"), "Release by another owner"); err != nil {
		return err
	}
	if err := wantNotOwner(s.Complete(ctx, "k", "b", long, nil), "Complete by another owner"); err != nil {
		return err
	}
	if err := s.Complete(ctx, "k", "a", long, []byte("resp")); err != nil {
		return fmt.Errorf("storetest: Complete by the owner: %w", err)
	}
	if err := claim(ctx, s, "k", "b", long, nil, webhook.Done, "resp", "of a done key"); err != nil {
		return err
	}
	if err := wantNotOwner(s.Release(ctx, "k", "a"), "Release of a done key"); err != nil {
		return err
	}
	if err := wantNotOwner(s.Release(ctx, "nope", "a"), "Release of an absent key"); err != nil {
		return err
	}
	if err := wantNotOwner(s.Complete(ctx, "nope", "a", long, nil), "Complete of an absent key"); err != nil {
		return err
	}
	// A done key completed without data reports none.
	if err := claim(ctx, s, "k2", "a", long, []byte("fp"), webhook.Claimed, "", "of a second key"); err != nil {
		return err
	}
	if err := s.Complete(ctx, "k2", "a", long, nil); err != nil {
		return fmt.Errorf("storetest: Complete without data: %w", err)
	}
	return claim(ctx, s, "k2", "b", long, nil, webhook.Done, "", "of a key done without data")
}

func doneForgotten(ctx context.Context, s webhook.Store, advance Advance) error {
	if err := claim(ctx, s, "k", "a", long, nil, webhook.Claimed, "", "of an absent key"); err != nil {
		return err
	}
	if err := s.Complete(ctx, "k", "a", short, nil); err != nil {
		return fmt.Errorf("storetest: Complete: %w", err)
	}
	pass(advance, short)
	return claim(ctx, s, "k", "c", long, nil, webhook.Claimed, "", "once the done TTL has passed")
}

func leaseTakeover(ctx context.Context, s webhook.Store, advance Advance) error {
	if err := claim(ctx, s, "k", "stale", short, nil, webhook.Claimed, "", "of an absent key"); err != nil {
		return err
	}
	pass(advance, short)
	if err := claim(ctx, s, "k", "fresh", long, nil, webhook.Claimed, "", "once the lease has passed"); err != nil {
		return err
	}
	if err := wantNotOwner(s.Release(ctx, "k", "stale"), "Release by the stale owner"); err != nil {
		return err
	}
	if err := wantNotOwner(s.Complete(ctx, "k", "stale", long, nil), "Complete by the stale owner"); err != nil {
		return err
	}
	if err := claim(ctx, s, "k", "third", long, nil, webhook.InFlight, "", "after the stale owner's calls"); err != nil {
		return err
	}
	if err := s.Complete(ctx, "k", "fresh", long, nil); err != nil {
		return fmt.Errorf("storetest: Complete by the fresh owner: %w", err)
	}
	return nil
}

func expiredLeaseStillCompletes(ctx context.Context, s webhook.Store, advance Advance) error {
	if err := claim(ctx, s, "k", "a", short, nil, webhook.Claimed, "", "of an absent key"); err != nil {
		return err
	}
	pass(advance, short)
	if err := s.Complete(ctx, "k", "a", long, nil); err != nil {
		return fmt.Errorf("storetest: Complete after the lease passed, nobody took over: %w", err)
	}
	return claim(ctx, s, "k", "b", long, nil, webhook.Done, "", "after a late Complete")
}

func releaseReturnsToAbsent(ctx context.Context, s webhook.Store, _ Advance) error {
	for i := range 3 {
		what := fmt.Sprintf("round %d", i)
		if err := claim(ctx, s, "k", "o"+strconv.Itoa(i), long, []byte("x"), webhook.Claimed, "", what); err != nil {
			return err
		}
		if err := s.Release(ctx, "k", "o"+strconv.Itoa(i)); err != nil {
			return fmt.Errorf("storetest: Release by the owner, %s: %w", what, err)
		}
		if err := wantNotOwner(s.Release(ctx, "k", "o"+strconv.Itoa(i)), "second Release"); err != nil {
			return err
		}
	}
	return nil
}

func dataCopied(ctx context.Context, s webhook.Store, _ Advance) error {
	data := []byte("abc")
	if err := claim(ctx, s, "k", "a", long, data, webhook.Claimed, "", "with data"); err != nil {
		return err
	}
	data[0] = 'X'
	if err := claim(ctx, s, "k", "b", long, nil, webhook.InFlight, "abc", "after the caller changed its data"); err != nil {
		return err
	}
	bin := []byte{0, 1, 2, 0xff, 0}
	if err := s.Complete(ctx, "k", "a", long, bin); err != nil {
		return fmt.Errorf("storetest: Complete with binary data: %w", err)
	}
	bin[0] = 9
	return claim(ctx, s, "k", "b", long, nil, webhook.Done, "\x00\x01\x02\xff\x00", "of binary data")
}

func awkwardKeys(ctx context.Context, s webhook.Store, _ Advance) error {
	keys := []string{"tg:update:1", "{slot}tag", "ключ", "a b\tc", strings.Repeat("k", 1024), "tg:update:10"}
	for _, k := range keys {
		if err := claim(ctx, s, k, "a", long, nil, webhook.Claimed, "", fmt.Sprintf("of key %.20q", k)); err != nil {
			return err
		}
	}
	for _, k := range keys {
		if err := claim(ctx, s, k, "b", long, nil, webhook.InFlight, "", fmt.Sprintf("again of key %.20q", k)); err != nil {
			return err
		}
		if err := s.Complete(ctx, k, "a", long, nil); err != nil {
			return fmt.Errorf("storetest: Complete of key %.20q: %w", k, err)
		}
	}
	return nil
}

func badArguments(ctx context.Context, s webhook.Store, _ Advance) error {
	if _, err := s.Claim(ctx, "k", "o", 0, nil); err == nil {
		return errors.New("storetest: Claim with a zero lease succeeded")
	}
	if err := claim(ctx, s, "k", "o", long, nil, webhook.Claimed, "", "after a rejected Claim"); err != nil {
		return err
	}
	if err := s.Complete(ctx, "k", "o", 0, nil); err == nil {
		return errors.New("storetest: Complete with a zero TTL succeeded")
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.Claim(cctx, "k2", "o", long, nil); !errors.Is(err, context.Canceled) {
		return fmt.Errorf("storetest: Claim with a cancelled context: %v, want context.Canceled", err)
	}
	if err := s.Complete(cctx, "k", "o", long, nil); !errors.Is(err, context.Canceled) {
		return fmt.Errorf("storetest: Complete with a cancelled context: %v, want context.Canceled", err)
	}
	if err := s.Release(cctx, "k", "o"); !errors.Is(err, context.Canceled) {
		return fmt.Errorf("storetest: Release with a cancelled context: %v, want context.Canceled", err)
	}
	return claim(ctx, s, "k2", "o", long, nil, webhook.Claimed, "", "of the key the cancelled Claim named")
}

func concurrentClaims(ctx context.Context, s webhook.Store, _ Advance) error {
	const goroutines, keys = 16, 50
	var wins [keys]atomic.Int32
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	start := make(chan struct{})
	for g := range goroutines {
		wg.Go(func() {
			<-start
			for k := range keys {
				r, err := s.Claim(ctx, "k"+strconv.Itoa(k), "o"+strconv.Itoa(g), long, nil)
				if err != nil {
					errs <- err
					return
				}
				if r.State == webhook.Claimed {
					wins[k].Add(1)
				}
			}
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return fmt.Errorf("storetest: concurrent Claim: %w", err)
	}
	for k := range keys {
		if n := wins[k].Load(); n != 1 {
			return fmt.Errorf("storetest: %d concurrent Claims of key k%d: %d won, want 1", goroutines, k, n)
		}
	}
	return nil
}

// extendKeepsClaim: an owner's Extend renews its lease, so the key is still
// in flight after the first lease would have passed; nobody else extends,
// and a done or absent key cannot be extended.
func extendKeepsClaim(ctx context.Context, s webhook.Store, advance Advance) error {
	if err := claim(ctx, s, "k", "a", short, []byte("fp"), webhook.Claimed, "", "of an absent key"); err != nil {
		return err
	}
	if err := s.Extend(ctx, "k", "a", long); err != nil {
		return fmt.Errorf("storetest: Extend by the owner: %w", err)
	}
	if err := wantNotOwner(s.Extend(ctx, "k", "b", long), "Extend by another owner"); err != nil {
		return err
	}
	pass(advance, short)
	if err := claim(ctx, s, "k", "b", long, nil, webhook.InFlight, "fp", "after the first lease passed, extended"); err != nil {
		return err
	}
	if s.Extend(ctx, "k", "a", 0) == nil {
		return errors.New("storetest: Extend with a zero lease succeeded")
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := s.Extend(cctx, "k", "a", long); !errors.Is(err, context.Canceled) {
		return fmt.Errorf("storetest: Extend with a cancelled context: %v, want context.Canceled", err)
	}
	if err := s.Complete(ctx, "k", "a", long, nil); err != nil {
		return fmt.Errorf("storetest: Complete after Extend: %w", err)
	}
	if err := wantNotOwner(s.Extend(ctx, "k", "a", long), "Extend of a done key"); err != nil {
		return err
	}
	return wantNotOwner(s.Extend(ctx, "nope", "a", long), "Extend of an absent key")
}

// extendAfterTakeover: once another owner took an expired claim over, the
// old owner's Extend fails and changes nothing.
func extendAfterTakeover(ctx context.Context, s webhook.Store, advance Advance) error {
	if err := claim(ctx, s, "k", "stale", short, nil, webhook.Claimed, "", "of an absent key"); err != nil {
		return err
	}
	pass(advance, short)
	if err := claim(ctx, s, "k", "fresh", short, nil, webhook.Claimed, "", "once the lease has passed"); err != nil {
		return err
	}
	if err := wantNotOwner(s.Extend(ctx, "k", "stale", long), "Extend by the stale owner"); err != nil {
		return err
	}
	if err := s.Extend(ctx, "k", "fresh", long); err != nil {
		return fmt.Errorf("storetest: Extend by the fresh owner: %w", err)
	}
	pass(advance, short)
	return claim(ctx, s, "k", "third", long, nil, webhook.InFlight, "", "after the fresh owner extended")
}

// repeatedWrites: each write repeated by its caller after it took effect,
// as a caller does when the write's reply was lost (a driver reporting a
// cancelled context after its statement committed, a connection reset
// after COMMIT): a repeated Complete succeeds and keeps the key done, a
// Release after a Complete changes nothing, a repeated Release and a
// Complete after a Release answer ErrNotOwner and leave the key free, a
// repeated Extend succeeds.
func repeatedWrites(ctx context.Context, s webhook.Store, _ Advance) error {
	if err := claim(ctx, s, "k", "a", long, nil, webhook.Claimed, "", "of an absent key"); err != nil {
		return err
	}
	for i := range 2 {
		if err := s.Extend(ctx, "k", "a", long); err != nil {
			return fmt.Errorf("storetest: Extend #%d by the owner: %w", i+1, err)
		}
	}
	for i := range 2 {
		if err := s.Complete(ctx, "k", "a", long, []byte("resp")); err != nil {
			return fmt.Errorf("storetest: Complete #%d by the owner: %w", i+1, err)
		}
	}
	if err := wantNotOwner(s.Release(ctx, "k", "a"), "Release after Complete"); err != nil {
		return err
	}
	if err := claim(ctx, s, "k", "b", long, nil, webhook.Done, "resp", "after a repeated Complete and a Release"); err != nil {
		return err
	}
	if err := claim(ctx, s, "k2", "a", long, []byte("fp"), webhook.Claimed, "", "of a second key"); err != nil {
		return err
	}
	if err := s.Release(ctx, "k2", "a"); err != nil {
		return fmt.Errorf("storetest: Release by the owner: %w", err)
	}
	if err := wantNotOwner(s.Release(ctx, "k2", "a"), "repeated Release"); err != nil {
		return err
	}
	if err := wantNotOwner(s.Complete(ctx, "k2", "a", long, nil), "Complete after Release"); err != nil {
		return err
	}
	return claim(ctx, s, "k2", "b", long, nil, webhook.Claimed, "", "after a repeated Release")
}
