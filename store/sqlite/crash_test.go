package sqlite

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

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

// TestCrashExactlyOnce kills the program (internal/crashapp) with SIGKILL
// at random points while it takes updates with Telegram-like redelivery,
// restarting it on the same file: every update's effect, written in the
// transaction that completes its claim, is there exactly once.
// MINIAPPKIT_LONG=1 runs 5 000 updates and 100 kills.
func TestCrashExactlyOnce(t *testing.T) {
	lost, dups, kills := crashRun(t, "tx")
	if lost > 0 || dups > 0 {
		t.Fatalf("effect in the completing transaction: %d lost, %d duplicates; want exactly once", lost, dups)
	}
	t.Logf("sqlite, effect in the completing transaction: %d kills, 0 lost, 0 duplicates", kills)
}

// TestCrashSeparateEffect is the control: the same program with the
// effect committed on its own before the claim completes is at least
// once: 0 lost, and duplicates only from kills that landed between the
// two (at most one per kill per in-flight update).
func TestCrashSeparateEffect(t *testing.T) {
	lost, dups, kills := crashRun(t, "separate")
	if lost > 0 || dups > kills*8 {
		t.Fatalf("effect apart from the completion: %d lost, %d duplicates (%d kills, 8 senders)", lost, dups, kills)
	}
	t.Logf("sqlite, effect apart from the completion: %d kills, 0 lost, %d duplicates", kills, dups)
}

// crashRun runs the crash harness on internal/crashapp with the given
// effect mode and returns the lost units, duplicate effects and kills.
// TestCrashExactlyOnceAsync is TestCrashExactlyOnce in async mode: each
// update is acknowledged once in the durable UpdateQueue and handled by
// workers in the killed process; after the last kill the program runs once
// more, unkilled, until the queue is drained. Every effect exactly once.
func TestCrashExactlyOnceAsync(t *testing.T) {
	lost, dups, kills := crashRun(t, "tx", "-async")
	if lost > 0 || dups > 0 {
		t.Fatalf("async, effect in the completing transaction: %d lost, %d duplicates; want exactly once", lost, dups)
	}
	t.Logf("sqlite async (UpdateQueue): %d kills, 0 lost, 0 duplicates", kills)
}

func crashRun(t *testing.T, effect string, extra ...string) (lost, dups, kills int) {
	if raceEnabled {
		t.Skip("crash test: runs in the plain pass (the child is not built with -race)")
	}
	units, nkills := 1000, 20
	if crashtest.Long() {
		units, nkills = 5000, 100
	}
	path := filepath.Join(t.TempDir(), "crash.db")
	bin := crashtest.Build(t, "./internal/crashapp")
	args := append([]string{"-db", path, "-effect", effect}, extra...)
	crashtest.Run(t, crashtest.Config{
		Binary: bin, Args: args, Env: []string{"CRASHAPP_SECRET=" + crashSecret},
		Units: units, Kills: nkills, Senders: 8, Request: updateRequest,
	}, func(rep crashtest.Report) error {
		if len(extra) > 0 { // async: what was acknowledged may still be queued
			if err := drain(t, bin, args, path, units); err != nil {
				return err
			}
		}
		db, err := Open(path)
		if err != nil {
			return err
		}
		defer db.Close()
		rows, err := db.SQL().QueryContext(t.Context(), `SELECT update_id, count(*) FROM effects GROUP BY update_id`)
		if err != nil {
			return err
		}
		defer rows.Close()
		counts := map[int]int{}
		for rows.Next() {
			var u, n int
			if err := rows.Scan(&u, &n); err != nil {
				return err
			}
			counts[u] = n
		}
		if err := rows.Err(); err != nil {
			return err
		}
		l, d, unknown := crashtest.Counts(units, counts)
		if len(unknown) > 0 || !enoughKills(rep.Kills, nkills, len(extra) > 0) {
			return fmt.Errorf("%d kills (want %d), unknown units %v", rep.Kills, nkills, unknown)
		}
		lost, dups, kills = len(l), d, rep.Kills
		return nil
	})
	return lost, dups, kills
}

// drain runs the program once more, unkilled, until units effects are
// written (the queue drained) or a minute passes.
func drain(t *testing.T, bin string, args []string, path string, units int) error {
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), "CRASHAPP_SECRET="+crashSecret)
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	db, err := Open(path)
	if err != nil {
		return err
	}
	defer db.Close()
	for {
		var n int
		if err := db.r.QueryRowContext(ctx, `SELECT count(DISTINCT update_id) FROM effects`).Scan(&n); err != nil {
			return fmt.Errorf("drain: %w", err)
		}
		if n >= units {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("drain: %d of %d updates handled after a minute", n, units)
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
