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
	"github.com/miniappkit/miniappkit/store/sqlite"
)

// testConfig is a small, fast embedded default.
func testConfig(t *testing.T) config {
	return config{
		text: "hello", dataDir: t.TempDir(), lease: broadcast.DefaultLease,
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
	require.NotContains(t, got, "Nothing left to send")

	// The same command again: the log says the broadcast is complete.
	var again watchWriter
	require.NoError(t, run(t.Context(), cfg, "", slog.New(slog.DiscardHandler), &again, false))
	require.Contains(t, again.String(), "Nothing left to send")
	require.Contains(t, again.String(), "Delivered 0, migrated and delivered 0, not delivered 0, unknown 0.")
	require.Contains(t, again.String(), fmt.Sprintf("Blocked the bot (403): %d users: 1020, 1040,", blocked), "the report is kept with the log")
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
	m := summaryLine.FindStringSubmatch(second.String())
	require.NotNil(t, m, second.String())
	sent2, _ := strconv.Atoi(m[1])
	failed2, _ := strconv.Atoi(m[3])
	blocked := cfg.users / cfg.blockedEvery
	require.Equal(t, cfg.users-blocked, sent1+sent2, "every reachable user got the message once; first run:\n%s\nsecond run:\n%s", first, second)
	require.Equal(t, blocked+deletedAccounts, failed1+failed2)
	require.Contains(t, second.String(), fmt.Sprintf("Blocked the bot (403): %d users: 1020, 1040,", blocked),
		"the summary names every blocked user, those of the first run too")
	// The whole broadcast's line agrees with both runs and with the lists.
	require.Contains(t, second.String(), fmt.Sprintf("Whole broadcast, 2 runs: delivered %d of %d chats, not delivered %d (blocked %d, not found %d), unknown 0.",
		cfg.users-blocked, cfg.users+deletedAccounts, blocked+deletedAccounts, blocked, deletedAccounts), second.String())
}

// TestLogInDataDir: the log is one SQLite file in the data directory,
// made on first use, named in the output.
func TestLogInDataDir(t *testing.T) {
	cfg := testConfig(t)
	cfg.dataDir = filepath.Join(t.TempDir(), "data")
	out := &watchWriter{}
	require.NoError(t, run(t.Context(), cfg, "", slog.New(slog.DiscardHandler), out, false))
	files, err := filepath.Glob(filepath.Join(cfg.dataDir, "*"))
	require.NoError(t, err)
	require.Contains(t, files, filepath.Join(cfg.dataDir, dbName))
	require.Contains(t, out.String(), filepath.Join(cfg.dataDir, dbName))
}

// TestOtherListOneID: a broadcast id belongs to one chat list.
func TestOtherListOneID(t *testing.T) {
	cfg := testConfig(t)
	cfg.id = "news"
	require.NoError(t, run(t.Context(), cfg, "", slog.New(slog.DiscardHandler), &watchWriter{}, false))
	cfg.users = 100
	err := run(t.Context(), cfg, "", slog.New(slog.DiscardHandler), &watchWriter{}, false)
	require.ErrorIs(t, err, broadcast.ErrCursorMismatch)
	require.ErrorContains(t, err, "give another -id")
}

// TestWaitsForAnotherRun: while another run holds the broadcast, the
// example waits and sends nothing; once it is free, it runs.
func TestWaitsForAnotherRun(t *testing.T) {
	cfg := testConfig(t)
	cfg.id = "news"
	fake, chats := demoTelegram(cfg)
	fake.Close()
	db, err := sqlite.Open(filepath.Join(cfg.dataDir, dbName))
	require.NoError(t, err)
	defer db.Close()
	require.NoError(t, db.Migrate(t.Context()))
	l := db.BroadcastLog()
	list := broadcast.Fingerprint(chats)
	_, err = l.Open(t.Context(), cfg.id, list, "other", time.Minute)
	require.NoError(t, err)

	ctx, cancel := context.WithCancel(t.Context())
	out := &watchWriter{stop: "waiting for it", cancel: cancel}
	require.ErrorIs(t, run(ctx, cfg, "", slog.New(slog.DiscardHandler), out, false), context.Canceled)
	entries, err := l.Open(t.Context(), cfg.id, list, "other", time.Minute) // the holder may open again
	require.NoError(t, err)
	require.Empty(t, entries, "nothing was sent while another run held the broadcast")

	// A lease that runs out (its run killed) frees the broadcast.
	_, err = l.Open(t.Context(), cfg.id, list, "other", 300*time.Millisecond)
	require.NoError(t, err)
	out = &watchWriter{}
	require.NoError(t, run(t.Context(), cfg, "", slog.New(slog.DiscardHandler), out, false))
	require.Contains(t, out.String(), "waiting for it")
	m := summaryLine.FindStringSubmatch(out.String())
	require.NotNil(t, m, out.String())
	require.Equal(t, strconv.Itoa(cfg.users-cfg.users/cfg.blockedEvery), m[1])
}

func TestDefaultDataDir(t *testing.T) {
	t.Setenv("BROADCAST_DATA_DIR", "/some/dir")
	require.Equal(t, "/some/dir", defaultDataDir())
	t.Setenv("BROADCAST_DATA_DIR", "")
	t.Setenv("XDG_CACHE_HOME", "/cache")
	require.Equal(t, filepath.Join("/cache", "miniappkit-broadcast"), defaultDataDir())
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
	require.ErrorContains(t, run(t.Context(), cfg, "", log, &watchWriter{}, false), "need TELEGRAM_BOT_TOKEN")
	cfg = testConfig(t)
	cfg.api = "http://127.0.0.1:1"
	require.ErrorContains(t, run(t.Context(), cfg, "", log, &watchWriter{}, false), "need TELEGRAM_BOT_TOKEN")
	cfg = testConfig(t)
	require.ErrorContains(t, run(t.Context(), cfg, "1:x", log, &watchWriter{}, false), "-chats FILE")
	cfg.speed = 0
	require.ErrorContains(t, run(t.Context(), cfg, "", log, &watchWriter{}, false), "-speed")
	cfg = testConfig(t)
	cfg.lease = 0
	require.ErrorContains(t, run(t.Context(), cfg, "", log, &watchWriter{}, false), "-lease")
	cfg = testConfig(t)
	cfg.chatsFile = filepath.Join(t.TempDir(), "ids.txt")
	require.NoError(t, os.WriteFile(cfg.chatsFile, []byte("42\n"), 0o600))
	cfg.speedSet = true
	require.ErrorContains(t, run(t.Context(), cfg, "1:x", log, &watchWriter{}, false), "-speed with TELEGRAM_BOT_TOKEN")
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

// TestTwoRunsAtOnce: two runs of one broadcast on one data directory at
// once (a deploy starting the new process before the old one ends): one
// sends everything, the other (which waits while the first holds the
// broadcast) finds nothing left; together they deliver to every
// reachable chat once.
func TestTwoRunsAtOnce(t *testing.T) {
	cfg := testConfig(t)
	outs := []*watchWriter{{}, {}}
	var wg sync.WaitGroup
	for _, out := range outs {
		wg.Go(func() {
			if err := run(t.Context(), cfg, "", slog.New(slog.DiscardHandler), out, false); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	reachable := cfg.users - cfg.users/cfg.blockedEvery
	var got []int
	for _, out := range outs {
		m := summaryLine.FindStringSubmatch(out.String())
		require.NotNil(t, m, out.String())
		n, _ := strconv.Atoi(m[1])
		got = append(got, n)
		if n == 0 {
			require.Contains(t, out.String(), "Nothing left to send")
		}
	}
	require.ElementsMatch(t, []int{reachable, 0}, got, "one run sends to every reachable chat, once:\n%s\n%s", outs[0], outs[1])
}
