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
	dataDir     string // where the outcome log (one SQLite file) is kept
	id          string // the broadcast id; empty: derived from the chats and the text
	api         string // the Bot API base URL; empty: Telegram's
	lease       time.Duration
	concurrency int
	// The embedded default's simulation (speed also scales the scheduler
	// for a test server given with -api).
	users        int
	blockedEvery int
	speed        float64
	speedSet     bool // -speed was given
}

// The embedded default's population.
const (
	defaultUsers        = 3000
	defaultBlockedEvery = 40 // one user in 40 blocked the bot
	defaultSpeed        = 10
	deletedAccounts     = 3 // listed chats that no longer exist
)

// dbName is the outcome log's file in the data directory.
const dbName = "broadcast.db"

func main() {
	var cfg config
	flag.StringVar(&cfg.chatsFile, "chats", "", "file of chat ids, one per line (with TELEGRAM_BOT_TOKEN)")
	flag.StringVar(&cfg.text, "text", "Hello from miniappkit! 🎉 Our new Star Shop is open.", "the message to send")
	flag.StringVar(&cfg.dataDir, "data", defaultDataDir(), "directory of the outcome log, "+dbName+" (env BROADCAST_DATA_DIR)")
	flag.StringVar(&cfg.id, "id", "", "the broadcast's id in the log (default: derived from the chats and the text)")
	flag.StringVar(&cfg.api, "api", os.Getenv("TELEGRAM_API_URL"), "Bot API base URL, e.g. a local Bot API server (env TELEGRAM_API_URL; default Telegram's)")
	flag.DurationVar(&cfg.lease, "lease", broadcast.DefaultLease, "how long a killed run keeps the broadcast from other runs")
	flag.IntVar(&cfg.concurrency, "concurrency", broadcast.DefaultConcurrency, "sends in flight at once")
	flag.IntVar(&cfg.users, "users", defaultUsers, "embedded default: number of simulated users")
	flag.IntVar(&cfg.blockedEvery, "blocked-every", defaultBlockedEvery, "embedded default: one user in N blocked the bot (0: none)")
	flag.Float64Var(&cfg.speed, "speed", defaultSpeed, "embedded default (or a test server given with -api): how much faster than Telegram's limits the fake and the scheduler run")
	flag.Parse()
	flag.Visit(func(f *flag.Flag) { cfg.speedSet = cfg.speedSet || f.Name == "speed" })

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	err := run(ctx, cfg, os.Getenv("TELEGRAM_BOT_TOKEN"), log, os.Stdout, isTerminal(os.Stdout))
	switch {
	case errors.Is(err, context.Canceled):
		os.Exit(130) // interrupted; the log has every send
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
// interrupted; the log holds every send, so the same command resumes.
func run(ctx context.Context, cfg config, token string, log *slog.Logger, out io.Writer, tty bool) error {
	var (
		chats  []int64
		client *botapi.Client
		sched  *ratelimit.Telegram
		fake   *botapitest.Server
		err    error
	)
	if cfg.lease < 10*time.Millisecond {
		return errors.New("-lease must be at least 10ms")
	}
	if token == "" {
		if cfg.chatsFile != "" || cfg.api != "" {
			return errors.New("-chats and -api need TELEGRAM_BOT_TOKEN; the embedded default makes its own users")
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
		switch {
		case !cfg.speedSet:
			sched, err = ratelimit.NewTelegram()
		case cfg.api == "":
			return errors.New("-speed with TELEGRAM_BOT_TOKEN is for a test server given with -api; Telegram's limits are its own")
		case cfg.speed <= 0 || cfg.speed > 1000:
			return errors.New("-speed must be in (0, 1000]")
		default:
			sched, err = scaledScheduler(cfg.speed)
		}
		if err != nil {
			return err
		}
		opts := []botapi.Option{botapi.WithLimiter(sched), botapi.WithLogger(log)}
		if cfg.api != "" {
			opts = append(opts, botapi.WithBaseURL(cfg.api))
		}
		client = botapi.New(token, opts...)
	}

	id := cfg.id
	if id == "" {
		id = "b-" + fingerprint(chats, cfg.text)[:16]
	}
	if err := os.MkdirAll(cfg.dataDir, 0o700); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	dbPath := filepath.Join(cfg.dataDir, dbName)
	st, err := openStore(ctx, dbPath)
	if err != nil {
		return err
	}
	defer st.close()
	rep := newReport()
	if err := st.restore(ctx, id, rep); err != nil {
		return err
	}
	rep.save = func(chat int64, reason string) {
		if err := st.recordFailure(context.WithoutCancel(ctx), id, chat, reason); err != nil {
			log.Warn("failure not recorded", "chat", chat, "err", err)
		}
	}
	b := &bar{out: out, tty: tty}
	var counted sync.Once
	opts := []broadcast.Option{
		broadcast.WithConcurrency(cfg.concurrency),
		broadcast.WithLog(st.log, id),
		broadcast.WithLease(cfg.lease),
		broadcast.WithResult(func(r broadcast.Result) {
			counted.Do(func() { // a run that sends (or reports) something counts
				if err := st.countRun(context.WithoutCancel(ctx), id, rep); err != nil {
					log.Warn("run not counted", "err", err)
				}
			})
			rep.add(r)
		}),
		broadcast.WithProgress(func(p broadcast.Progress) { b.update(p, false) }),
	}
	fmt.Fprintf(out, "Broadcast %s: sending %q to %d chats, %d at a time; every send is logged in %s. Ctrl-C stops; the same command resumes.\n",
		id, cfg.text, len(chats), cfg.concurrency, dbPath)

	start := time.Now()
	send := broadcast.Message(client, botapi.SendMessageParams{Text: cfg.text})
	var sum broadcast.Summary
	var runErr error
	for waiting := false; ; {
		sum, runErr = broadcast.Run(ctx, sched, chats, send, opts...)
		if !errors.Is(runErr, broadcast.ErrRunning) {
			break
		}
		// Another process runs this broadcast, or one was killed less
		// than its lease ago: wait for the id to be free.
		if !waiting {
			waiting = true
			fmt.Fprintf(out, "Another run holds broadcast %s (running, or killed less than %v ago); waiting for it.\n", id, cfg.lease)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(max(min(cfg.lease/4, time.Second), 10*time.Millisecond)):
		}
		start = time.Now()
	}
	if errors.Is(runErr, broadcast.ErrCursorMismatch) {
		return fmt.Errorf("broadcast %s was started over another chat list; give another -id: %w", id, runErr)
	}
	b.update(broadcast.Progress{
		Total: sum.Total, Done: sum.Done, Delivered: sum.Delivered, Permanent: sum.Permanent,
		Migrated: sum.Migrated, Unknown: sum.Unknown, Elapsed: time.Since(start),
	}, true)
	if runErr != nil {
		if ctx.Err() != nil {
			fmt.Fprintf(out, "Interrupted at %d of %d; every send is in %s. Run the same command again to resume.\n", sum.Done, sum.Total, dbPath)
		}
		return runErr
	}
	if sum.Delivered+sum.Permanent+sum.Migrated+sum.Unknown == 0 && sum.Total > 0 {
		fmt.Fprintf(out, "Nothing left to send: broadcast %s is complete (give another -id to send it again).\n", id)
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
// the whole broadcast: each is saved in the data directory's file as it
// is reported, so a resumed run's summary still names the users who
// blocked the bot before the interrupt. Lists are sets of chat ids. It is
// safe for concurrent use.
type report struct {
	mu       sync.Mutex
	runs     int            // that sent something, this one included once it has
	migrated map[int64]bool // groups that became supergroups, delivered there
	blocked  map[int64]bool // 403: blocked the bot, or deactivated
	notFound map[int64]bool // 400: chat not found and other bad requests
	unknown  map[int64]bool // may or may not have been delivered; never resent
	// save, if set, records a chat that did not simply get the message
	// (reason: one of the reason constants), as it is reported.
	save func(chat int64, reason string)
}

func newReport() *report {
	return &report{migrated: map[int64]bool{}, blocked: map[int64]bool{}, notFound: map[int64]bool{}, unknown: map[int64]bool{}}
}

// The reasons a chat did not simply get the message, as saved.
const (
	reasonMigrated = "migrated"
	reasonBlocked  = "blocked"
	reasonNotFound = "not_found"
	reasonUnknown  = "unknown"
)

// add records one result (and saves it, unless delivered).
func (r *report) add(res broadcast.Result) {
	reason := ""
	switch res.Outcome {
	case broadcast.Migrated:
		reason = reasonMigrated
	case broadcast.Permanent:
		reason = reasonNotFound
		if errors.Is(res.Err, botapi.ErrForbidden) {
			reason = reasonBlocked
		}
	case broadcast.Unknown:
		reason = reasonUnknown
	}
	if reason == "" {
		return
	}
	r.restore(res.ChatID, reason)
	if r.save != nil {
		r.save(res.ChatID, reason)
	}
}

// restore records that chat did not simply get the message, for reason.
func (r *report) restore(chat int64, reason string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch reason {
	case reasonMigrated:
		r.migrated[chat] = true
	case reasonBlocked:
		r.blocked[chat] = true
	case reasonNotFound:
		r.notFound[chat] = true
	case reasonUnknown:
		r.unknown[chat] = true
	}
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
		failed := len(r.blocked) + len(r.notFound)
		fmt.Fprintf(out, "Whole broadcast, %d runs: delivered %d of %d chats, not delivered %d (blocked %d, not found %d), unknown %d.\n",
			r.runs, chats-failed-len(r.unknown), chats, failed, len(r.blocked), len(r.notFound), len(r.unknown))
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
