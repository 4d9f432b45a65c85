package postgres

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/miniappkit/miniappkit/internal/crashtest"
)

// TestCrashExactlyOnce kills the program (internal/crashapp) with SIGKILL
// at random points while it takes updates with Telegram-like redelivery,
// restarting it on the same schema: every update's effect, written in the
// transaction that completes its claim, is there exactly once.
// MINIAPPKIT_LONG=1 runs 5 000 updates and 100 kills.
func TestCrashExactlyOnce(t *testing.T) {
	lost, dups, kills := crashRun(t, "tx")
	if lost > 0 || dups > 0 {
		t.Fatalf("effect in the completing transaction: %d lost, %d duplicates; want exactly once", lost, dups)
	}
	t.Logf("postgres, effect in the completing transaction: %d kills, 0 lost, 0 duplicates", kills)
}

// TestCrashSeparateEffect is the control: the effect committed on its own
// before the claim completes is at least once: 0 lost, and duplicates only
// from kills that landed between the two.
func TestCrashSeparateEffect(t *testing.T) {
	lost, dups, kills := crashRun(t, "separate")
	if lost > 0 || dups > kills*8 {
		t.Fatalf("effect apart from the completion: %d lost, %d duplicates (%d kills, 8 senders)", lost, dups, kills)
	}
	t.Logf("postgres, effect apart from the completion: %d kills, 0 lost, %d duplicates", kills, dups)
}

// TestCrashExactlyOnceAsync is TestCrashExactlyOnce in async mode: each
// update is acknowledged once in the durable UpdateQueue and handled by
// workers in the killed process; after the last kill the program runs once
// more, unkilled, until the queue is drained. Every effect exactly once.
func TestCrashExactlyOnceAsync(t *testing.T) {
	lost, dups, kills := crashRun(t, "tx", "-async")
	if lost > 0 || dups > 0 {
		t.Fatalf("async, effect in the completing transaction: %d lost, %d duplicates; want exactly once", lost, dups)
	}
	t.Logf("postgres async (UpdateQueue): %d kills, 0 lost, 0 duplicates", kills)
}

func crashRun(t *testing.T, effect string, extra ...string) (lost, dups, kills int) {
	if raceEnabled {
		t.Skip("crash test: runs in the plain pass (the child is not built with -race)")
	}
	p := testPool(t)
	schema := testSchema(t, p)
	units, nkills := 1000, 20
	if crashtest.Long() {
		units, nkills = 5000, 100
	}
	bin := crashtest.Build(t, "./internal/crashapp")
	args := append([]string{"-url", os.Getenv("MINIAPPKIT_POSTGRES_URL"), "-schema", schema, "-effect", effect}, extra...)
	effects := pgx.Identifier{schema, "effects"}.Sanitize()
	cfg := crashtest.Config{
		Binary: bin, Args: args, Env: crashtest.UpdateEnv(),
		Units: units, Kills: nkills, Senders: 8, Request: crashtest.UpdateRequest,
	}
	crashtest.Run(t, cfg, func(rep crashtest.Report) error {
		if len(extra) > 0 { // async: what was acknowledged may still be queued
			if err := crashtest.Drain(t.Context(), cfg, func(ctx context.Context) (n int, err error) {
				err = p.QueryRow(ctx, `SELECT count(DISTINCT update_id) FROM `+effects).Scan(&n)
				return n, err
			}); err != nil {
				return err
			}
		}
		rows, err := p.Query(t.Context(), `SELECT update_id, count(*) FROM `+effects+` GROUP BY update_id`)
		if err != nil {
			return err
		}
		defer rows.Close()
		counts := map[int]int{}
		for rows.Next() {
			var u, n int64
			if err := rows.Scan(&u, &n); err != nil {
				return err
			}
			counts[int(u)] = int(n)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		l, d, unknown := crashtest.Counts(units, counts)
		if len(unknown) > 0 || !crashtest.EnoughKills(rep.Kills, nkills, len(extra) > 0) {
			return fmt.Errorf("%d kills (want %d), unknown units %v", rep.Kills, nkills, unknown)
		}
		lost, dups, kills = len(l), d, rep.Kills
		return nil
	})
	return lost, dups, kills
}
