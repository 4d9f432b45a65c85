package crashtest

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// TestRunAppender runs the harness on a program without deduplication:
// every unit is answered, so its line is there (0 lost), every kill
// happened, and the redeliveries show up as extra lines.
func TestRunAppender(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills a program")
	}
	out := filepath.Join(t.TempDir(), "out")
	const units, kills = 300, 5
	Run(t, Config{
		Binary: Build(t, "./testdata/appender"), Args: []string{"-out", out},
		Units: units, Kills: kills, Senders: 4, Redeliver: 0.1, Seed: 42,
		Request: func(base string, unit int) (*http.Request, error) {
			return http.NewRequest(http.MethodPost, base+"/?unit="+strconv.Itoa(unit), nil)
		},
	}, func(rep Report) error {
		b, err := os.ReadFile(out)
		if err != nil {
			return err
		}
		counts := map[int]int{}
		for _, line := range strings.Fields(string(b)) {
			u, err := strconv.Atoi(line)
			if err != nil {
				return err
			}
			counts[u]++
		}
		lost, dups, unknown := Counts(units, counts)
		if len(lost) > 0 || len(unknown) > 0 || rep.Kills != kills {
			return fmt.Errorf("lost %v, unknown %v, %d kills", lost, unknown, rep.Kills)
		}
		if int64(dups) < rep.Redelivered {
			return fmt.Errorf("%d duplicates, fewer than the %d units resent on purpose", dups, rep.Redelivered)
		}
		return nil
	})
}

// TestRunCatchesLoss runs the harness on a mutant of the appender that
// answers before it writes: the kills must land while it works, so the
// check finds units lost; and every program it started must be gone and
// reaped at the end (no process left behind).
func TestRunCatchesLoss(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills a program")
	}
	dir := t.TempDir()
	out, pids := filepath.Join(dir, "out"), filepath.Join(dir, "pids")
	const units, kills = 300, 10
	rep, err := run(Config{
		Binary: Build(t, "./testdata/appender"), Args: []string{"-lossy", "-out", out, "-pids", pids},
		Units: units, Kills: kills, Senders: 4, Seed: 7,
		Request: func(base string, unit int) (*http.Request, error) {
			return http.NewRequest(http.MethodPost, base+"/?unit="+strconv.Itoa(unit), nil)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Kills != kills {
		t.Errorf("%d kills, want %d", rep.Kills, kills)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[int]int{}
	for _, line := range strings.Fields(string(b)) {
		u, err := strconv.Atoi(line)
		if err != nil {
			t.Fatal(err)
		}
		counts[u]++
	}
	lost, _, _ := Counts(units, counts)
	if len(lost) == 0 {
		t.Errorf("the mutant lost nothing across %d kills: the kills did not land during its work", rep.Kills)
	}
	t.Logf("mutant: %d of %d units lost; %v", len(lost), units, rep)

	b, err = os.ReadFile(pids)
	if err != nil {
		t.Fatal(err)
	}
	started := strings.Fields(string(b))
	if len(started) != kills+1 {
		t.Errorf("%d programs started, want %d", len(started), kills+1)
	}
	for _, s := range started {
		pid, err := strconv.Atoi(s)
		if err != nil {
			t.Fatal(err)
		}
		// A zombie (killed, not reaped) still answers signal 0.
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("program %d still exists after the run (signal 0: %v)", pid, err)
		}
	}
}

// TestRunMakesEveryKill: every kill asked for lands before the work
// ends, even when kill points fall among the last units (before the fix,
// a kill point within the last few units was skipped once the work was
// done, so a seed-dependent run made fewer kills and the store crash
// tests, which require them all, failed now and then).
func TestRunMakesEveryKill(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills a program")
	}
	bin := Build(t, "./testdata/appender")
	for seed := uint64(1); seed <= 3; seed++ {
		const units, kills = 20, 10
		rep, err := run(Config{
			Binary: bin, Args: []string{"-out", filepath.Join(t.TempDir(), "out")},
			Units: units, Kills: kills, Senders: 4, Seed: seed,
			Request: func(base string, unit int) (*http.Request, error) {
				return http.NewRequest(http.MethodPost, base+"/?unit="+strconv.Itoa(unit), nil)
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Kills != kills {
			t.Errorf("seed %d: %d kills, want %d", seed, rep.Kills, kills)
		}
	}
}

// TestRunEndsBeforeTestDeadline runs a test binary whose program never
// answers under `go test -timeout 5s`: the run must end before the test
// binary's deadline, failing with the seed to replay, and leave no
// program running (before the fix the run waited its 10-minute default,
// the test binary panicked at its timeout without the seed, and the
// program it had started was left running, holding its port).
func TestRunEndsBeforeTestDeadline(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills a program")
	}
	pids := os.Getenv("CRASHTEST_STALL_PIDS")
	if pids == "" && !Long() {
		t.Skip("waits for a test binary's timeout (MINIAPPKIT_LONG=1 runs it)")
	}
	if pids != "" {
		Run(t, Config{
			Binary: os.Getenv("CRASHTEST_STALL_BIN"), Args: []string{"-stall", "-out", pids + ".out", "-pids", pids},
			Units: 10, Kills: 1, Senders: 2,
			Request: func(base string, unit int) (*http.Request, error) {
				return http.NewRequest(http.MethodPost, base+"/?unit="+strconv.Itoa(unit), nil)
			},
		}, func(Report) error { return nil })
		return
	}
	pids = filepath.Join(t.TempDir(), "pids")
	cmd := exec.Command(os.Args[0], "-test.run=^TestRunEndsBeforeTestDeadline$", "-test.timeout=5s")
	cmd.Env = append(os.Environ(), "CRASHTEST_STALL_PIDS="+pids, "CRASHTEST_STALL_BIN="+Build(t, "./testdata/appender"))
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("the run of a program that never answers passed:\n%s", out)
	}
	if strings.Contains(string(out), "test timed out") || !strings.Contains(string(out), "CRASHTEST_SEED=") {
		t.Errorf("the run did not fail with its seed before the test's deadline:\n%s", out)
	}
	b, err := os.ReadFile(pids)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range strings.Fields(string(b)) {
		pid, err := strconv.Atoi(s)
		if err != nil {
			t.Fatal(err)
		}
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("program %d still exists after the test binary ended (signal 0: %v)", pid, err)
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

func TestCounts(t *testing.T) {
	lost, dups, unknown := Counts(4, map[int]int{1: 1, 2: 3, 4: 1, 9: 1})
	if fmt.Sprint(lost) != "[3]" || dups != 2 || fmt.Sprint(unknown) != "[9]" {
		t.Fatalf("Counts = %v, %d, %v", lost, dups, unknown)
	}
}
