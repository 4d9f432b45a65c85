package redis

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/miniappkit/miniappkit/internal/crashtest"
)

// crashPause is how long the crash test's program waits between an
// update's effect and its completion, so that many kills land there.
const crashPause = "5ms"

// TestCrashExactlyOnce kills the program (internal/crashapp) with SIGKILL
// at random points while it takes updates with Telegram-like redelivery.
// Its handler writes its effect and completes the claim in one
// transaction (UpdateStore.CompleteTx): every update's effect is written
// exactly once, 0 lost, and no kill is ever found between an effect and
// its completion. MINIAPPKIT_LONG=1 runs 5 000 updates and 100 kills.
func TestCrashExactlyOnce(t *testing.T) { crash(t, "tx") }

// TestCrashExactlyOnceAsync is TestCrashExactlyOnce in async mode:
// updates are acknowledged once in the Redis UpdateQueue and handled by
// workers in the killed process; after the last kill the program runs once
// more, unkilled, until the queue is drained. Exactly once, 0 lost.
func TestCrashExactlyOnceAsync(t *testing.T) { crash(t, "tx", "-async") }

// TestCrashEffectOutside is the control of TestCrashExactlyOnce: the
// handler writes its effect, then webhook.NewHandler completes the claim,
// two steps. 0 lost, and the duplicate effects are exactly the kills that
// landed between an effect and its completion (counted after each kill,
// while the program is down: an update whose counter grew while its claim
// is still in flight), and there are some: the test sees what the
// transaction prevents. It runs 1 000 updates and 20 kills, long or not.
func TestCrashEffectOutside(t *testing.T) { crash(t, "separate") }

// TestCrashEffectOutsideAsync is TestCrashEffectOutside in async mode:
// duplicates no more than the kills caught in the window (the last one
// may land while the drain runs unobserved), and some.
func TestCrashEffectOutsideAsync(t *testing.T) { crash(t, "separate", "-async") }

func crash(t *testing.T, effect string, extra ...string) {
	if raceEnabled {
		t.Skip("crash test: runs in the plain pass (the child is not built with -race)")
	}
	c := testClient(t)
	prefix := testPrefix(t, c)
	async := len(extra) > 0
	units, nkills, senders := 1000, 20, 8
	if crashtest.Long() && effect == "tx" { // the controls prove their point at this size
		units, nkills = 5000, 100
	}
	bin := crashtest.Build(t, "./internal/crashapp")
	store := New(c, WithKeyPrefix(prefix)).UpdateStore()
	// counts returns each update's effect count and whether its claim is
	// in flight.
	counts := func(ctx context.Context) (map[int]int, map[int]bool, error) {
		pipe := c.Pipeline()
		fx := make([]*goredis.StringCmd, units+1)
		st := make([]*goredis.StringCmd, units+1)
		for u := 1; u <= units; u++ { // units are update ids 1..units
			key := "tg:crash:update:" + strconv.Itoa(u)
			tag, err := store.HashTag(key)
			if err != nil {
				return nil, nil, err
			}
			fx[u] = pipe.Get(ctx, prefix+"fx:"+tag)
			st[u] = pipe.Get(ctx, store.key(key))
		}
		if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, goredis.Nil) {
			return nil, nil, err
		}
		n, inFlight := map[int]int{}, map[int]bool{}
		for u := 1; u <= units; u++ {
			if v, err := fx[u].Int(); err == nil {
				n[u] = v
			} else if !errors.Is(err, goredis.Nil) {
				return nil, nil, err
			}
			v, _ := st[u].Result()
			inFlight[u] = strings.HasPrefix(v, "1")
		}
		return n, inFlight, nil
	}
	// inWindow counts effects caught between effect and completion: an
	// update found after a kill with its claim in flight and more effects
	// than when it was last found so.
	inWindow, caught := 0, map[int]int{}
	name := "crashapp-" + strings.Trim(strings.TrimPrefix(prefix, "test:"), ":")
	afterKill := func(int) error {
		// A command the program wrote just before dying still reaches the
		// server: look once the server has dropped the program's
		// connections, after running what it had read from them. (A
		// 50 ms pause, as before, is not always enough on a loaded
		// machine: a command landing after the look makes a duplicate
		// the count misses.)
		if err := waitDisconnected(t.Context(), c, name); err != nil {
			return err
		}
		n, inFlight, err := counts(t.Context())
		if err != nil {
			return err
		}
		for u, k := range n {
			if inFlight[u] && k > caught[u] {
				inWindow++
				caught[u] = k
			}
		}
		return nil
	}
	args := append([]string{"-url", os.Getenv("MINIAPPKIT_REDIS_URL"), "-prefix", prefix,
		"-effect", effect, "-pause", crashPause, "-name", name}, extra...)
	cfg := crashtest.Config{
		Binary: bin, Args: args, Env: crashtest.UpdateEnv(),
		Units: units, Kills: nkills, Senders: senders, Request: crashtest.UpdateRequest, AfterKill: afterKill,
	}
	crashtest.Run(t, cfg, func(rep crashtest.Report) error {
		// The harness ends with one more kill, not counted in rep.Kills; in
		// async mode it lands while workers still run (an update is
		// answered once queued), so its window is looked at like the others.
		if err := afterKill(rep.Kills + 1); err != nil {
			return err
		}
		if async { // what was acknowledged may still be queued
			if err := crashtest.Drain(t.Context(), cfg, func(ctx context.Context) (int, error) {
				n, _, err := counts(ctx)
				return len(n), err
			}); err != nil {
				return err
			}
		}
		n, _, err := counts(t.Context())
		if err != nil {
			return err
		}
		lost, dups, unknown := crashtest.Counts(units, n)
		t.Logf("redis, effect %s: %d updates, %d kills: %d lost, %d duplicate effects, %d updates caught by a kill between effect and completion",
			effect, units, rep.Kills, len(lost), dups, inWindow)
		ok := len(lost) == 0 && len(unknown) == 0 && crashtest.EnoughKills(rep.Kills, nkills, async)
		if effect == "tx" {
			ok = ok && dups == 0 && inWindow == 0
		} else {
			ok = ok && dups > 0 && dups <= inWindow && (async || dups == inWindow)
		}
		if !ok {
			return fmt.Errorf("%d kills (want %d): lost %v, %d duplicate effects, %d caught between effect and completion, unknown %v",
				rep.Kills, nkills, lost, dups, inWindow, unknown)
		}
		return nil
	})
}

// waitDisconnected waits until the server lists no client named name: it
// has read the end of each such connection, so every command sent on it
// has run (or never will).
func waitDisconnected(ctx context.Context, c goredis.UniversalClient, name string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		list, err := c.ClientList(ctx).Result()
		if err != nil {
			return fmt.Errorf("client list: %w", err)
		}
		if !strings.Contains(list, " name="+name+" ") {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the killed program's connections (%s) still open after 30 s", name)
		case <-time.After(5 * time.Millisecond):
		}
	}
}
