package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/miniappkit/miniappkit/botapi"
	"github.com/miniappkit/miniappkit/botapi/botapitest"
	"github.com/miniappkit/miniappkit/broadcast"
	"github.com/miniappkit/miniappkit/ratelimit"
)

// config is the command line.
type config struct {
	chatsFile   string
	text        string
	dataDir     string // where the state of each broadcast is kept
	stateFile   string // the state file; empty: one per broadcast in dataDir
	concurrency int
	// The embedded default's simulation.
	users        int
	blockedEvery int
	speed        float64
}

// The embedded default's population.
const (
	defaultUsers        = 3000
	defaultBlockedEvery = 40 // one user in 40 blocked the bot
	defaultSpeed        = 10
	deletedAccounts     = 3 // listed chats that no longer exist
)

func main() {
	var cfg config
	flag.StringVar(&cfg.chatsFile, "chats", "", "file of chat ids, one per line (with TELEGRAM_BOT_TOKEN)")
	flag.StringVar(&cfg.text, "text", "Hello from miniappkit! 🎉 Our new Star Shop is open.", "the message to send")
	flag.StringVar(&cfg.dataDir, "data", defaultDataDir(), "directory of the resumable state, one file per broadcast (env BROADCAST_DATA_DIR)")
	flag.StringVar(&cfg.stateFile, "state", "", "the state file, instead of one in -data")
	flag.IntVar(&cfg.concurrency, "concurrency", broadcast.DefaultConcurrency, "sends in flight at once")
	flag.IntVar(&cfg.users, "users", defaultUsers, "embedded default: number of simulated users")
	flag.IntVar(&cfg.blockedEvery, "blocked-every", defaultBlockedEvery, "embedded default: one user in N blocked the bot (0: none)")
	flag.Float64Var(&cfg.speed, "speed", defaultSpeed, "embedded default: how much faster than Telegram's limits the fake and the scheduler run")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	err := run(ctx, cfg, os.Getenv("TELEGRAM_BOT_TOKEN"), log, os.Stdout, isTerminal(os.Stdout))
	switch {
	case errors.Is(err, context.Canceled):
		os.Exit(130) // interrupted; the cursor is saved
	case err != nil:
		fmt.Fprintln(os.Stderr, "broadcast:", err)
		os.Exit(1)
	}
}

// defaultDataDir is BROADCAST_DATA_DIR, or miniappkit-broadcast in the
// user's cache directory, or in the temporary directory without one.
func defaultDataDir() string {
	if d := os.Getenv("BROADCAST_DATA_DIR"); d != "" {
		return d
	}
	base, err := os.UserCacheDir()
	if err != nil {
		base = os.TempDir()
	}
	return filepath.Join(base, "miniappkit-broadcast")
}

// isTerminal reports whether f is a character device (a terminal).
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// run broadcasts cfg.text and reports to out. It returns ctx.Err() when
// interrupted, after saving the cursor.
func run(ctx context.Context, cfg config, token string, log *slog.Logger, out io.Writer, tty bool) error {
	var (
		chats  []int64
		client *botapi.Client
		sched  *ratelimit.Telegram
		fake   *botapitest.Server
		err    error
	)
	if token == "" {
		if cfg.chatsFile != "" {
			return errors.New("-chats needs TELEGRAM_BOT_TOKEN; the embedded default makes its own users")
		}
		if cfg.users < 1 || cfg.speed <= 0 || cfg.speed > 1000 {
			return errors.New("-users must be at least 1 and -speed in (0, 1000]")
		}
		fake, chats = demoTelegram(cfg)
		defer fake.Close()
		if sched, err = scaledScheduler(cfg.speed); err != nil {
			return err
		}
		client = botapi.New(fake.Token(), botapi.WithBaseURL(fake.URL()), botapi.WithHTTPClient(fake.HTTPClient()),
			botapi.WithLimiter(sched), botapi.WithLogger(log))
		fmt.Fprintf(out, "Embedded default: a fake Telegram enforcing Telegram's limits ×%g, %d chats (%d users, %d of them blocked the bot, %d deleted accounts).\n",
			cfg.speed, len(chats), cfg.users, blockedCount(cfg), deletedAccounts)
	} else {
		if cfg.chatsFile == "" {
			return errors.New("with TELEGRAM_BOT_TOKEN, give the chat ids with -chats FILE")
		}
		if chats, err = readChats(cfg.chatsFile); err != nil {
			return err
		}
		if sched, err = ratelimit.NewTelegram(); err != nil {
			return err
		}
		client = botapi.New(token, botapi.WithLimiter(sched), botapi.WithLogger(log))
	}

	fp := fingerprint(chats, cfg.text)
	if cfg.stateFile == "" {
		if err := os.MkdirAll(cfg.dataDir, 0o700); err != nil {
			return fmt.Errorf("data directory: %w", err)
		}
		cfg.stateFile = filepath.Join(cfg.dataDir, "broadcast-"+fp[:16]+".json")
	}
	saved, resumed, err := loadState(cfg.stateFile, fp)
	if err != nil {
		return err
	}
	rep := newReport()
	rep.restore(saved)
	save := func(c broadcast.Cursor) error {
		st := state{Fingerprint: fp, Cursor: c}
		rep.snapshot(&st)
		return saveState(cfg.stateFile, st)
	}
	b := &bar{out: out, tty: tty}
	var lastSave time.Duration
	opts := []broadcast.Option{
		broadcast.WithConcurrency(cfg.concurrency),
		broadcast.WithResult(rep.add),
		broadcast.WithProgress(func(p broadcast.Progress) {
			b.update(p, false)
			// Save the cursor about once a second, so a crash (not only
			// Ctrl-C) resumes without repeating more than a second of sends.
			if p.Elapsed-lastSave >= time.Second {
				lastSave = p.Elapsed
				if err := save(p.Cursor()); err != nil {
					log.Warn("cursor not saved", "err", err)
				}
			}
		}),
	}
	if resumed {
		opts = append(opts, broadcast.WithCursor(saved.Cursor))
		fmt.Fprintf(out, "Resuming from %s.\n", cfg.stateFile)
	}
	fmt.Fprintf(out, "Sending %q to %d chats, %d at a time. Ctrl-C stops; the same command resumes.\n", cfg.text, len(chats), cfg.concurrency)

	start := time.Now()
	sum, runErr := broadcast.Run(ctx, sched, chats, broadcast.Message(client, botapi.SendMessageParams{Text: cfg.text}), opts...)
	b.update(broadcast.Progress{
		Total: sum.Total, Done: sum.Done, Delivered: sum.Delivered, Permanent: sum.Permanent,
		Migrated: sum.Migrated, Unknown: sum.Unknown, Elapsed: time.Since(start),
	}, true)

	if runErr != nil {
		if err := save(sum.Cursor); err != nil {
			return fmt.Errorf("%w (and the cursor could not be saved: %v)", runErr, err)
		}
		if ctx.Err() != nil {
			fmt.Fprintf(out, "Interrupted at %d of %d; the cursor is in %s. Run the same command again to resume.\n", sum.Done, sum.Total, cfg.stateFile)
		}
		return runErr
	}
	if err := os.Remove(cfg.stateFile); err != nil && !errors.Is(err, os.ErrNotExist) {
		log.Warn("state file not removed", "err", err)
	}
	rep.print(out, sum, len(chats))
	tooMany := sched.Stats().Backoffs
	if fake != nil {
		tooMany = int64(fake.Stats().TooManyRequests)
	}
	fmt.Fprintf(out, "429 Too Many Requests answered by Telegram: %d\n", tooMany)
	return nil
}

// demoTelegram starts the embedded default's fake Telegram, limits on and
// sped up by cfg.speed, and returns it with the chat list: every simulated
// user, then a few deleted accounts.
func demoTelegram(cfg config) (*botapitest.Server, []int64) {
	fake := botapitest.NewServer(botapitest.WithRateLimits(cfg.speed), botapitest.WithBotUsername("broadcast_demo_bot"))
	chats := make([]int64, 0, cfg.users+deletedAccounts)
	for i := 1; i <= cfg.users; i++ {
		u := fake.NewUser("User " + strconv.Itoa(i))
		if cfg.blockedEvery > 0 && i%cfg.blockedEvery == 0 {
			fake.BlockBot(u)
		}
		chats = append(chats, u.ID)
	}
	for i := range deletedAccounts {
		chats = append(chats, 900_000_001+int64(i)) // no such chat
	}
	return fake, chats
}

// blockedCount is how many simulated users blocked the bot.
func blockedCount(cfg config) int {
	if cfg.blockedEvery <= 0 {
		return 0
	}
	return cfg.users / cfg.blockedEvery
}

// scaledScheduler returns a scheduler with Telegram's limits, each window
// divided by speed, to match a fake started with WithRateLimits(speed).
func scaledScheduler(speed float64) (*ratelimit.Telegram, error) {
	scale := func(l ratelimit.Limit) ratelimit.Limit {
		l.Window = time.Duration(float64(l.Window) / speed)
		return l
	}
	return ratelimit.NewTelegram(
		ratelimit.WithChatLimit(scale(ratelimit.ChatLimit)),
		ratelimit.WithGroupLimit(scale(ratelimit.GroupLimit)),
		ratelimit.WithGlobalLimit(scale(ratelimit.GlobalLimit)),
		ratelimit.WithPaidLimit(scale(ratelimit.PaidLimit)),
	)
}

// readChats reads chat ids, one per line; blank lines and lines starting
// with # are skipped.
func readChats(path string) ([]int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var chats []int64
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		id, err := strconv.ParseInt(line, 10, 64)
		if err != nil || id == 0 {
			return nil, fmt.Errorf("%s:%d: not a chat id: %q", path, n, line)
		}
		chats = append(chats, id)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(chats) == 0 {
		return nil, fmt.Errorf("%s: no chat ids", path)
	}
	return chats, nil
}

// report collects the chats that did not get the message, by reason, over
// the whole broadcast: it is saved with the cursor, so a resumed run's
// summary still names the users who blocked the bot before the interrupt.
// Lists are sets of chat ids (a chat resent after a crash is not counted
// twice). It is safe for concurrent use.
type report struct {
	mu                  sync.Mutex
	runs                int            // this one included
	delivered, migrated int            // over the whole broadcast
	blocked             map[int64]bool // 403: blocked the bot, or deactivated
	notFound            map[int64]bool // 400: chat not found and other bad requests
	unknown             map[int64]bool // may or may not have been delivered; never resent
}

func newReport() *report {
	return &report{blocked: map[int64]bool{}, notFound: map[int64]bool{}, unknown: map[int64]bool{}}
}

// add records one result.
func (r *report) add(res broadcast.Result) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch res.Outcome {
	case broadcast.Delivered:
		r.delivered++
	case broadcast.Migrated:
		r.migrated++
	case broadcast.Permanent:
		if errors.Is(res.Err, botapi.ErrForbidden) {
			r.blocked[res.ChatID] = true
		} else {
			r.notFound[res.ChatID] = true
		}
	case broadcast.Unknown:
		r.unknown[res.ChatID] = true
	}
}

// restore adds what a saved state recorded (the zero state: none).
func (r *report) restore(s state) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.runs = s.Runs + 1
	r.delivered, r.migrated = s.Delivered, s.Migrated
	for _, id := range s.Blocked {
		r.blocked[id] = true
	}
	for _, id := range s.NotFound {
		r.notFound[id] = true
	}
	for _, id := range s.Unknown {
		r.unknown[id] = true
	}
}

// snapshot fills the lists of s.
func (r *report) snapshot(s *state) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s.Blocked, s.NotFound, s.Unknown = ids(r.blocked), ids(r.notFound), ids(r.unknown)
	s.Runs, s.Delivered, s.Migrated = r.runs, r.delivered, r.migrated
}

// ids returns the set's members, sorted.
func ids(set map[int64]bool) []int64 {
	out := make([]int64, 0, len(set))
	for id := range set {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

// print writes the summary: this run's counts, the whole broadcast's (the
// same after a single run), then the chats that did not get the message
// over the whole broadcast, blocked users first.
func (r *report) print(out io.Writer, sum broadcast.Summary, chats int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	thisRun := ""
	if r.runs > 1 {
		thisRun = " (this run)"
	}
	fmt.Fprintf(out, "Delivered %d, migrated and delivered %d, not delivered %d, unknown %d.%s\n",
		sum.Delivered, sum.Migrated, sum.Permanent, sum.Unknown, thisRun)
	if r.runs > 1 {
		fmt.Fprintf(out, "Whole broadcast, %d runs: delivered %d of %d chats, not delivered %d (blocked %d, not found %d), unknown %d.\n",
			r.runs, r.delivered+r.migrated, chats, len(r.blocked)+len(r.notFound), len(r.blocked), len(r.notFound), len(r.unknown))
	}
	users := "users"
	if len(r.blocked) == 1 {
		users = "user"
	}
	fmt.Fprintf(out, "Blocked the bot (403): %d %s%s\n", len(r.blocked), users, sample(ids(r.blocked)))
	if len(r.notFound) > 0 {
		fmt.Fprintf(out, "Chat not found or refused (400): %d%s\n", len(r.notFound), sample(ids(r.notFound)))
	}
	if len(r.unknown) > 0 {
		fmt.Fprintf(out, "Unknown, not resent (may have been delivered): %d%s\n", len(r.unknown), sample(ids(r.unknown)))
	}
}

// sample formats up to ten ids, sorted.
func sample(ids []int64) string {
	if len(ids) == 0 {
		return ""
	}
	s := slices.Clone(ids)
	slices.Sort(s)
	more := ""
	if len(s) > 10 {
		s, more = s[:10], fmt.Sprintf(", … (%d more)", len(ids)-10)
	}
	parts := make([]string, len(s))
	for i, id := range s {
		parts[i] = strconv.FormatInt(id, 10)
	}
	return ": " + strings.Join(parts, ", ") + more
}
