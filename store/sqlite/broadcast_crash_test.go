package sqlite

import (
	"bytes"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miniappkit/miniappkit/botapi/botapitest"
	"github.com/miniappkit/miniappkit/broadcast"
	"github.com/miniappkit/miniappkit/internal/crashtest"
)

// TestBroadcastCrash kills a broadcasting process (internal/broadcastapp,
// its log in this SQLite file) with SIGKILL at random moments and restarts
// it, against a fake Telegram in this process with 30 ms round trips and
// every limit ten times faster: no chat gets the message twice, every
// entry ends delivered or Unknown (in flight at a kill), and the Unknown
// count is at most kills × the concurrency. 1 000 chats and 10 kills;
// 10 000 and 50 with MINIAPPKIT_LONG=1 (without the race detector).
func TestBroadcastCrash(t *testing.T) {
	chats, kills := 1_000, 10
	if os.Getenv("MINIAPPKIT_LONG") == "1" && !raceEnabled {
		chats, kills = 10_000, 50
	}
	const scale = 10
	bin := crashtest.Build(t, "./internal/broadcastapp")
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
	dbFile := filepath.Join(dir, "log.db")
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, seed))
	args := []string{"-db", dbFile, "-chats", chatsFile, "-api", srv.URL(), "-token", srv.Token(), "-scale", strconv.Itoa(scale)}
	landed := 0
	for k := 0; ; k++ {
		cmd := exec.Command(bin, args...)
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		if k < kills {
			// Kill at a random moment of the next stretch of sending.
			select {
			case err := <-done:
				t.Fatalf("run %d ended before its kill (seed %d): %v\n%s%s", k, seed, err, out.String(), errOut.String())
			case <-time.After(time.Duration(50+rng.IntN(300)) * time.Millisecond):
			}
			_ = cmd.Process.Kill() // SIGKILL
			<-done
			landed++
			continue
		}
		if err := <-done; err != nil {
			t.Fatalf("final run (seed %d): %v\n%s", seed, err, errOut.String())
		}
		if !strings.HasPrefix(out.String(), "DONE ") {
			t.Fatalf("final run printed %q", out.String())
		}
		break
	}

	db, err := Open(dbFile)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	entries, err := db.BroadcastLog().Open(t.Context(), "news", broadcast.Fingerprint(ids), "check", time.Minute)
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
	unknown := 0
	for _, e := range entries {
		c := ids[e.Index]
		if perChat[c] > 1 {
			t.Fatalf("chat %d got the message %d times (seed %d)", c, perChat[c], seed)
		}
		switch e.Outcome {
		case broadcast.Delivered:
			if perChat[c] != 1 {
				t.Fatalf("entry %d logged delivered, sent %d times (seed %d)", e.Index, perChat[c], seed)
			}
		case broadcast.Unknown:
			unknown++
		default:
			t.Fatalf("entry %d: outcome %v (seed %d)", e.Index, e.Outcome, seed)
		}
	}
	t.Logf("SIGKILL %d times during a broadcast to %d chats (SQLite log, 30 ms round trips, limits ×%d): 0 duplicates, %d Unknown (at most %d), seed %d",
		landed, chats, scale, unknown, landed*broadcast.DefaultConcurrency, seed)
	if unknown > landed*broadcast.DefaultConcurrency {
		t.Fatalf("%d Unknown, more than %d kills × %d in flight", unknown, landed, broadcast.DefaultConcurrency)
	}
	if unknown == 0 {
		t.Fatalf("no kill landed with a send in flight (seed %d)", seed)
	}
}
