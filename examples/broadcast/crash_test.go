package main

import (
	"bytes"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/miniappkit/miniappkit/botapi/botapitest"
	"github.com/miniappkit/miniappkit/broadcast"
	"github.com/miniappkit/miniappkit/internal/crashtest"
	"github.com/miniappkit/miniappkit/store/sqlite"
)

// TestBroadcastSIGKILL builds this program and kills it with SIGKILL at
// random moments of a broadcast, restarting it each time with the same
// command, against a fake Telegram in the test (30 ms ± 10 ms round trips,
// every limit ten times faster, the program's scheduler with -speed 10):
// no chat gets the message twice, every entry of the log ends delivered
// or Unknown (in flight at a kill), and the Unknown count is at most
// kills × the concurrency. Each restart waits for the killed run's lease
// (-lease 300ms) before it sends. 1 000 chats and 10 kills; 10 000 and 50
// with MINIAPPKIT_LONG=1 (without the race detector).
func TestBroadcastSIGKILL(t *testing.T) {
	chats, kills := 1_000, 10
	if crashtest.Long() && !raceEnabled {
		chats, kills = 10_000, 50
	}
	const (
		scale = 10
		id    = "news"
	)
	bin := crashtest.Build(t, ".")
	srv := botapitest.NewServer(botapitest.WithRateLimits(scale),
		botapitest.WithLatency(botapitest.Latency{Base: 30 * time.Millisecond, Jitter: 10 * time.Millisecond}))
	defer srv.Close()
	dir := t.TempDir()
	var list bytes.Buffer
	ids := make([]int64, chats)
	for i := range ids {
		ids[i] = srv.NewUser("u").ID
		list.WriteString(strconv.FormatInt(ids[i], 10) + "\n")
	}
	chatsFile := filepath.Join(dir, "chats.txt")
	if err := os.WriteFile(chatsFile, list.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	seed := uint64(time.Now().UnixNano())
	if s, err := strconv.ParseUint(os.Getenv("CRASHTEST_SEED"), 10, 64); err == nil {
		seed = s
	}
	rng := rand.New(rand.NewPCG(seed, seed))
	args := []string{"-data", data, "-id", id, "-chats", chatsFile, "-text", "news",
		"-api", srv.URL(), "-speed", strconv.Itoa(scale), "-lease", "300ms"}
	start := time.Now()
	landed := 0
	for k := 0; ; k++ {
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), "TELEGRAM_BOT_TOKEN="+srv.Token())
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		before := srv.Stats().Sent
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		if k < kills {
			// Kill at a random moment once this run is sending (it first
			// waits for the killed run's lease to expire).
			deadline := time.After(2 * time.Minute)
			for srv.Stats().Sent == before {
				select {
				case err := <-done:
					t.Fatalf("run %d ended before its kill (seed %d): %v\n%s%s", k, seed, err, out.String(), errOut.String())
				case <-deadline:
					_ = cmd.Process.Kill()
					t.Fatalf("run %d sent nothing within 2 minutes (seed %d)", k, seed)
				case <-time.After(2 * time.Millisecond):
				}
			}
			select {
			case err := <-done:
				t.Fatalf("run %d ended before its kill (seed %d): %v\n%s%s", k, seed, err, out.String(), errOut.String())
			case <-time.After(time.Duration(rng.IntN(300)) * time.Millisecond):
			}
			_ = cmd.Process.Kill() // SIGKILL
			<-done
			landed++
			continue
		}
		if err := <-done; err != nil {
			t.Fatalf("final run (seed %d): %v\n%s%s", seed, err, out.String(), errOut.String())
		}
		if !summaryLine.Match(out.Bytes()) {
			t.Fatalf("final run printed %q", out.String())
		}
		break
	}
	elapsed := time.Since(start)

	db, err := sqlite.Open(filepath.Join(data, dbName))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	entries, err := db.BroadcastLog().Open(t.Context(), id, broadcast.Fingerprint(ids), "check", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != chats {
		t.Fatalf("the log holds %d entries, want %d (seed %d)", len(entries), chats, seed)
	}
	perChat := map[int64]int{}
	for _, m := range srv.Sent() {
		perChat[m.ChatID]++
	}
	unknown, duplicates := 0, 0
	for _, e := range entries {
		c := ids[e.Index]
		if perChat[c] > 1 {
			duplicates += perChat[c] - 1
			t.Errorf("chat %d got the message %d times (seed %d)", c, perChat[c], seed)
		}
		switch e.Outcome {
		case broadcast.Delivered:
			if perChat[c] != 1 {
				t.Errorf("entry %d logged delivered, sent %d times (seed %d)", e.Index, perChat[c], seed)
			}
		case broadcast.Unknown:
			unknown++
		default:
			t.Errorf("entry %d: outcome %v (seed %d)", e.Index, e.Outcome, seed)
		}
	}
	t.Logf("SIGKILL %d times during a broadcast to %d chats (examples/broadcast, SQLite log, 30 ms ± 10 ms round trips, limits ×%d): %d duplicates, %d Unknown (at most %d), %d × 429, %v, seed %d",
		landed, chats, scale, duplicates, unknown, landed*broadcast.DefaultConcurrency, srv.Stats().TooManyRequests, elapsed.Round(time.Millisecond), seed)
	if unknown > landed*broadcast.DefaultConcurrency {
		t.Fatalf("%d Unknown, more than %d kills × %d in flight (seed %d)", unknown, landed, broadcast.DefaultConcurrency, seed)
	}
	if unknown == 0 {
		t.Fatalf("no kill landed with a send in flight (seed %d)", seed)
	}
}
