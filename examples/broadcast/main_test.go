package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/miniappkit/miniappkit/broadcast"
)

// testConfig is a small, fast embedded default.
func testConfig(t *testing.T) config {
	return config{
		text: "hello", stateFile: filepath.Join(t.TempDir(), "state.json"),
		concurrency: 8, users: 200, blockedEvery: 20, speed: 10,
	}
}

// watchWriter collects the output and cancels when a line contains stop.
type watchWriter struct {
	mu     sync.Mutex
	b      strings.Builder
	stop   string
	cancel context.CancelFunc
}

func (w *watchWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.cancel != nil && strings.Contains(string(p), w.stop) {
		w.cancel()
		w.cancel = nil
	}
	return w.b.Write(p)
}

func (w *watchWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

var summaryLine = regexp.MustCompile(`Delivered (\d+), migrated and delivered (\d+), not delivered (\d+), unknown (\d+)\.`)

func TestDemoBroadcastsWithinTheLimits(t *testing.T) {
	cfg := testConfig(t)
	var out watchWriter
	require.NoError(t, run(t.Context(), cfg, "", slog.New(slog.DiscardHandler), &out, false))
	got := out.String()
	m := summaryLine.FindStringSubmatch(got)
	require.NotNil(t, m, got)
	blocked := cfg.users / cfg.blockedEvery
	require.Equal(t, strconv.Itoa(cfg.users-blocked), m[1], got)
	require.Equal(t, strconv.Itoa(blocked+deletedAccounts), m[3], got)
	require.Equal(t, "0", m[4])
	require.Contains(t, got, fmt.Sprintf("Blocked the bot (403): %d users: 1020, 1040,", blocked))
	require.Contains(t, got, "Chat not found or refused (400): 3: 900000001")
	require.Contains(t, got, "429 Too Many Requests answered by Telegram: 0")
	require.Contains(t, got, "100%")
	_, err := os.Stat(cfg.stateFile)
	require.ErrorIs(t, err, os.ErrNotExist, "a completed broadcast leaves no state file")
}

// TestResumeAfterInterrupt stops a broadcast at 30 %, as Ctrl-C does, and
// runs it again: the two runs together send to every chat exactly once.
func TestResumeAfterInterrupt(t *testing.T) {
	cfg := testConfig(t)
	ctx, cancel := context.WithCancel(t.Context())
	first := &watchWriter{stop: " 30%", cancel: cancel}
	err := run(ctx, cfg, "", slog.New(slog.DiscardHandler), first, false)
	require.ErrorIs(t, err, context.Canceled)
	require.Contains(t, first.String(), "Run the same command again to resume")
	_, err = os.Stat(cfg.stateFile)
	require.NoError(t, err, "the cursor is saved")

	// What the first run finished, from its last progress line.
	lines := strings.Split(strings.TrimSpace(first.String()), "\n")
	var sent1, failed1 int
	for _, l := range lines {
		if strings.HasPrefix(l, "[") {
			_, err := fmt.Sscanf(l[strings.Index(l, "sent "):], "sent %d · failed %d", &sent1, &failed1)
			require.NoError(t, err, l)
		}
	}
	require.Positive(t, sent1+failed1)
	require.Less(t, sent1+failed1, cfg.users+deletedAccounts)

	second := &watchWriter{}
	require.NoError(t, run(t.Context(), cfg, "", slog.New(slog.DiscardHandler), second, false))
	require.Contains(t, second.String(), "Resuming from")
	m := summaryLine.FindStringSubmatch(second.String())
	require.NotNil(t, m, second.String())
	sent2, _ := strconv.Atoi(m[1])
	failed2, _ := strconv.Atoi(m[3])
	blocked := cfg.users / cfg.blockedEvery
	require.Equal(t, cfg.users-blocked, sent1+sent2, "every reachable user got the message once")
	require.Equal(t, blocked+deletedAccounts, failed1+failed2)
	require.Contains(t, second.String(), fmt.Sprintf("Blocked the bot (403): %d users: 1020, 1040,", blocked),
		"the summary names every blocked user, those of the first run too")
	// The whole broadcast's line agrees with both runs and with the lists.
	require.Contains(t, second.String(), fmt.Sprintf("Whole broadcast, 2 runs: delivered %d of %d chats, not delivered %d (blocked %d, not found %d), unknown 0.",
		cfg.users-blocked, cfg.users+deletedAccounts, blocked+deletedAccounts, blocked, deletedAccounts), second.String())
}

// TestStateInDataDir: without -state, the state lives in the data
// directory, one file per broadcast, made on first use.
func TestStateInDataDir(t *testing.T) {
	cfg := testConfig(t)
	cfg.stateFile = ""
	cfg.dataDir = filepath.Join(t.TempDir(), "data")
	ctx, cancel := context.WithCancel(t.Context())
	out := &watchWriter{stop: " 30%", cancel: cancel}
	require.ErrorIs(t, run(ctx, cfg, "", slog.New(slog.DiscardHandler), out, false), context.Canceled)
	files, err := filepath.Glob(filepath.Join(cfg.dataDir, "broadcast-*.json"))
	require.NoError(t, err)
	require.Len(t, files, 1, out.String())
	require.Contains(t, out.String(), files[0])
	require.NoError(t, run(t.Context(), cfg, "", slog.New(slog.DiscardHandler), &watchWriter{}, false))
	files, err = filepath.Glob(filepath.Join(cfg.dataDir, "broadcast-*.json"))
	require.NoError(t, err)
	require.Empty(t, files, "a finished broadcast leaves no state")
}

func TestDefaultDataDir(t *testing.T) {
	t.Setenv("BROADCAST_DATA_DIR", "/some/dir")
	require.Equal(t, "/some/dir", defaultDataDir())
	t.Setenv("BROADCAST_DATA_DIR", "")
	t.Setenv("XDG_CACHE_HOME", "/cache")
	require.Equal(t, filepath.Join("/cache", "miniappkit-broadcast"), defaultDataDir())
}

func TestStateBelongsToOneBroadcast(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.json")
	fp := fingerprint([]int64{1, 2, 3}, "hi")
	_, ok, err := loadState(path, fp)
	require.NoError(t, err)
	require.False(t, ok)

	st := state{Fingerprint: fp, Cursor: broadcast.Cursor{Next: 2, Done: [][2]int{{3, 4}}}, Blocked: []int64{2}}
	require.NoError(t, saveState(path, st))
	got, ok, err := loadState(path, fp)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, st, got)

	for _, other := range []string{fingerprint([]int64{1, 2}, "hi"), fingerprint([]int64{1, 2, 3}, "hello")} {
		_, _, err = loadState(path, other)
		require.ErrorIs(t, err, errOtherBroadcast)
	}
	require.NoError(t, os.WriteFile(path, []byte("{"), 0o600))
	_, _, err = loadState(path, fp)
	require.Error(t, err)
}

func TestReadChats(t *testing.T) {
	dir := t.TempDir()
	write := func(s string) string {
		p := filepath.Join(dir, strconv.Itoa(len(s))+".txt")
		require.NoError(t, os.WriteFile(p, []byte(s), 0o600))
		return p
	}
	got, err := readChats(write("# subscribers\n42\n\n-1001234567890\n 7 \n"))
	require.NoError(t, err)
	require.Equal(t, []int64{42, -1001234567890, 7}, got)

	_, err = readChats(write("42\n@channel\n"))
	require.ErrorContains(t, err, ":2: not a chat id")
	_, err = readChats(write("# nothing\n"))
	require.ErrorContains(t, err, "no chat ids")
	_, err = readChats(filepath.Join(dir, "missing"))
	require.True(t, errors.Is(err, os.ErrNotExist))
}

func TestRunChecksItsArguments(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	cfg := testConfig(t)
	cfg.chatsFile = "ids.txt"
	require.ErrorContains(t, run(t.Context(), cfg, "", log, &watchWriter{}, false), "needs TELEGRAM_BOT_TOKEN")
	cfg = testConfig(t)
	require.ErrorContains(t, run(t.Context(), cfg, "1:x", log, &watchWriter{}, false), "-chats FILE")
	cfg.speed = 0
	require.ErrorContains(t, run(t.Context(), cfg, "", log, &watchWriter{}, false), "-speed")
}

func TestBar(t *testing.T) {
	var out strings.Builder
	b := &bar{out: &out, tty: true, width: 10}
	p := broadcast.Progress{Total: 100, Done: 50, Delivered: 45, Permanent: 5, Elapsed: 5 * time.Second}
	b.update(p, false)
	require.Equal(t, "\r[#####.....] 50/100  50% · 10.0 msg/s · sent 45 · failed 5 · ETA 5s", out.String())

	// Within the redraw interval nothing is drawn, unless final.
	out.Reset()
	p.Done, p.Delivered, p.Elapsed = 51, 46, 5*time.Second+time.Millisecond
	b.update(p, false)
	require.Empty(t, out.String())
	b.update(p, true)
	require.True(t, strings.HasSuffix(out.String(), "\n"))

	// Not a terminal: one line per tenth, the last one once.
	out.Reset()
	nb := &bar{out: &out}
	for done := 0; done <= 100; done++ {
		nb.update(broadcast.Progress{Total: 100, Done: done, Delivered: done, Elapsed: time.Second}, false)
	}
	nb.update(broadcast.Progress{Total: 100, Done: 100, Delivered: 100, Elapsed: time.Second}, true)
	require.Equal(t, 10, strings.Count(out.String(), "\n"))
	require.Contains(t, out.String(), "ETA 0s")
}
