package redis

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/miniappkit/miniappkit/internal/crashtest"
)

// crashSecret is the webhook secret token the crash test's program checks.
const crashSecret = "crash-test-secret"

// updateRequest is a Telegram webhook delivery of update unit.
func updateRequest(base string, unit int) (*http.Request, error) {
	body := fmt.Sprintf(`{"update_id":%d,"message":{"message_id":%d,"date":1700000000,"chat":{"id":1,"type":"private"},"text":"hi"}}`, unit, unit)
	req, err := http.NewRequest(http.MethodPost, base+"/", strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Telegram-Bot-Api-Secret-Token", crashSecret)
	return req, nil
}

// TestCrashAtLeastOnce kills the program (internal/crashapp) with SIGKILL
// at random points while it takes updates with Telegram-like redelivery.
// Redis shares no transaction with the effect, so the guarantee is: 0
// lost, and duplicate effects only from kills that landed between an
// effect and its completion. After each kill, while the program is down,
// the test counts the updates whose effect is written but whose claim is
// still in flight (the kill landed in that window); at the end the
// duplicates must equal that count exactly.
// MINIAPPKIT_LONG=1 runs 5 000 updates and 100 kills.
func TestCrashAtLeastOnce(t *testing.T) { crashAtLeastOnce(t) }

// TestCrashAtLeastOnceAsync is TestCrashAtLeastOnce in async mode: updates
// are acknowledged once in the Redis UpdateQueue and handled by workers in
// the killed process; after the last kill the program runs once more,
// unkilled, until the queue is drained. 0 lost, and duplicate effects no
// more than the kills that landed between an effect and its completion.
func TestCrashAtLeastOnceAsync(t *testing.T) { crashAtLeastOnce(t, "-async") }

func crashAtLeastOnce(t *testing.T, extra ...string) {
	if raceEnabled {
		t.Skip("crash test: runs in the plain pass (the child is not built with -race)")
	}
	c := testClient(t)
	prefix := testPrefix(t, c)
	units, nkills, senders := 1000, 20, 8
	if crashtest.Long() {
		units, nkills = 5000, 100
	}
	bin := crashtest.Build(t, "./internal/crashapp")
	// inWindow counts effects caught between effect and completion: an
	// update found after a kill with its claim in flight and more effects
	// than when it was last found so.
	inWindow, caught := 0, map[string]int{}
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
		ids, err := c.LRange(t.Context(), prefix+"effects", 0, -1).Result()
		if err != nil {
			return err
		}
		effects := map[string]int{}
		for _, id := range ids {
			effects[id]++
		}
		for id, n := range effects {
			st, err := c.HGet(t.Context(), prefix+"wh:tg:crash:update:"+id, "s").Result()
			if err != nil && !errors.Is(err, goredis.Nil) {
				return err
			}
			if st == "1" && n > caught[id] {
				inWindow++
				caught[id] = n
			}
		}
		return nil
	}
	args := append([]string{"-url", os.Getenv("MINIAPPKIT_REDIS_URL"), "-prefix", prefix, "-name", name}, extra...)
	crashtest.Run(t, crashtest.Config{
		Binary: bin, Args: args,
		Env:   []string{"CRASHAPP_SECRET=" + crashSecret},
		Units: units, Kills: nkills, Senders: senders, Request: updateRequest, AfterKill: afterKill,
	}, func(rep crashtest.Report) error {
		// The harness ends with one more kill, not counted in rep.Kills; in
		// async mode it lands while workers still run (an update is
		// answered once queued), so its window is looked at like the others.
		if err := afterKill(rep.Kills + 1); err != nil {
			return err
		}
		if len(extra) > 0 { // async: what was acknowledged may still be queued
			if err := drain(t, c, bin, args, prefix, units); err != nil {
				return err
			}
		}
		ids, err := c.LRange(t.Context(), prefix+"effects", 0, -1).Result()
		if err != nil {
			return err
		}
		counts := map[int]int{}
		for _, s := range ids {
			u, err := strconv.Atoi(s)
			if err != nil {
				return err
			}
			counts[u]++
		}
		lost, dups, unknown := crashtest.Counts(units, counts)
		t.Logf("redis: %d updates, %d kills: %d lost, %d duplicate effects, %d updates caught by a kill between effect and completion",
			units, rep.Kills, len(lost), dups, inWindow)
		if len(lost) > 0 || len(unknown) > 0 || !enoughKills(rep.Kills, nkills, len(extra) > 0) || dups > inWindow || (len(extra) == 0 && dups != inWindow) {
			return fmt.Errorf("%d kills (want %d): lost %v, %d duplicate effects (want %d, the kills' window hits), unknown %v",
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

// drain runs the program once more, unkilled, until every update has an
// effect (the queue drained) or a minute passes.
func drain(t *testing.T, c goredis.UniversalClient, bin string, args []string, prefix string, units int) error {
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), "CRASHAPP_SECRET="+crashSecret)
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	for {
		ids, err := c.LRange(ctx, prefix+"effects", 0, -1).Result()
		if err != nil {
			return fmt.Errorf("drain: %w", err)
		}
		seen := map[string]bool{}
		for _, id := range ids {
			seen[id] = true
		}
		if len(seen) >= units {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("drain: %d of %d updates handled after a minute", len(seen), units)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// enoughKills: every scheduled kill landed; in async mode (answers come as
// soon as an update is queued, so the run may end before the last kill
// points) at least nine in ten.
func enoughKills(kills, want int, async bool) bool {
	if async {
		return kills >= want-want/10
	}
	return kills == want
}
