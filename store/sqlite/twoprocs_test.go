package sqlite

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miniappkit/miniappkit/webhook"
)

// TestTwoProcessesOneFile: two processes open a fresh file at once,
// migrate it and claim the same 1 000 keys, each in its own order: every
// key is claimed by exactly one of them, and neither sees SQLITE_BUSY
// (the busy timeout and BEGIN IMMEDIATE make writers take turns).
func TestTwoProcessesOneFile(t *testing.T) {
	const keys = 1000
	if path := os.Getenv("SQLITE_TWOPROCS_FILE"); path != "" {
		twoProcsChild(path, keys)
		return
	}
	if testing.Short() {
		t.Skip("runs two processes")
	}
	path := filepath.Join(t.TempDir(), "shared.db")
	// Both start claiming at once (after opening and migrating), so
	// their writes interleave.
	start := strconv.FormatInt(time.Now().Add(time.Second).UnixNano(), 10)
	outs := make([][]byte, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Go(func() {
			cmd := exec.Command(os.Args[0], "-test.run=^TestTwoProcessesOneFile$")
			cmd.Env = append(os.Environ(), "SQLITE_TWOPROCS_FILE="+path, "SQLITE_TWOPROCS_ORDER="+strconv.Itoa(i), "SQLITE_TWOPROCS_START="+start)
			outs[i], errs[i] = cmd.CombinedOutput()
		})
	}
	wg.Wait()
	total := 0
	for i := range 2 {
		if errs[i] != nil {
			t.Fatalf("process %d: %v\n%s", i, errs[i], outs[i])
		}
		line := ""
		for _, l := range strings.Split(string(outs[i]), "\n") {
			if s, ok := strings.CutPrefix(l, "CLAIMED "); ok {
				line = s
			}
		}
		n, err := strconv.Atoi(line)
		if err != nil {
			t.Fatalf("process %d printed no count:\n%s", i, outs[i])
		}
		t.Logf("process %d claimed %d keys", i, n)
		total += n
	}
	if total != keys {
		t.Fatalf("%d claims of %d keys", total, keys)
	}
}

// twoProcsChild is one of the processes: it claims every key, in order
// or in reverse, and prints how many it got.
func twoProcsChild(path string, keys int) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	fail := func(err error) { fmt.Println("ERROR", err); os.Exit(1) }
	db, err := Open(path)
	if err != nil {
		fail(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		fail(err)
	}
	if at, err := strconv.ParseInt(os.Getenv("SQLITE_TWOPROCS_START"), 10, 64); err == nil {
		time.Sleep(time.Until(time.Unix(0, at)))
	}
	s := db.UpdateStore()
	owner := "p" + os.Getenv("SQLITE_TWOPROCS_ORDER")
	claimed := 0
	for i := range keys {
		k := i
		if owner == "p1" {
			k = keys - 1 - i
		}
		r, err := s.Claim(ctx, strconv.Itoa(k), owner, time.Hour, nil)
		if err != nil {
			fail(err)
		}
		if r.State == webhook.Claimed {
			claimed++
		}
	}
	fmt.Println("CLAIMED", claimed)
}
