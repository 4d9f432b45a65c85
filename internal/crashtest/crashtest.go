// Package crashtest kills a program with SIGKILL while it works and checks
// that no work was lost or done twice. A test builds the program ([Build]),
// and [Run] starts it, feeds it units of work over HTTP with
// Telegram-like redelivery (a unit not answered 2xx is sent again, and an
// answered one is now and then sent again, as when an answer is lost),
// kills it at seeded random moments, restarts it on the same state, and at
// the end calls the caller's check of its invariants, made at a side that
// survives the kills (the database the program wrote, or the harness's
// own records).
//
// The program prints "LISTEN <host:port>" on stdout once it serves
// requests. The seed is printed when a run fails; set CRASHTEST_SEED to
// replay a schedule (the kills land at the same points of the work, though
// not at the same instructions).
//
// It uses only the standard library; package main programs under test live
// with the engine they test.
package crashtest

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Build compiles the package main at pkg (a path as `go build` takes it,
// relative to the test's working directory) into a temp dir and returns
// the binary's path.
func Build(t testing.TB, pkg string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "app")
	out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput()
	if err != nil {
		t.Fatalf("crashtest: go build %s: %v\n%s", pkg, err, out)
	}
	return bin
}

// Config describes a run.
type Config struct {
	// Binary is the program to run (see [Build]), with Args and, added to
	// the test's environment, Env.
	Binary string
	Args   []string
	Env    []string

	// Units is the number of units of work, numbered 1..Units; Kills how
	// many times the program is killed while working; Senders how many
	// deliveries are in flight at once (Telegram's max_connections).
	Units, Kills, Senders int

	// Request builds the request delivering unit to the program at base
	// ("http://host:port").
	Request func(base string, unit int) (*http.Request, error)

	// Redeliver is the chance that an answered unit is sent once more
	// (default 0.02).
	Redeliver float64

	// Seed fixes the schedule; 0 takes CRASHTEST_SEED or a random seed.
	Seed uint64

	// Timeout bounds the whole run (default 10 minutes). [Run] shortens
	// it to end before the test binary's deadline (go test -timeout), so
	// a run that hangs fails with its seed and leaves no program behind.
	Timeout time.Duration

	// AfterKill, if set, runs after each kill, while the program is down
	// and nothing else changes its state: it may inspect where the kill
	// landed (for example, count updates whose effect is written but
	// whose claim is still in flight).
	AfterKill func(kill int) error
}

// Report is what a run did.
type Report struct {
	Seed        uint64
	Kills       int   // SIGKILLs sent while work was under way
	Deliveries  int64 // requests sent
	Failed      int64 // of which not answered 2xx (refused, reset, 5xx): sent again
	Redelivered int64 // answered units sent again on purpose
	Elapsed     time.Duration
}

func (r Report) String() string {
	return fmt.Sprintf("seed %d: %d kills, %d deliveries (%d failed and resent, %d answered units resent), %v",
		r.Seed, r.Kills, r.Deliveries, r.Failed, r.Redelivered, r.Elapsed.Round(time.Millisecond))
}

// Run runs the program under cfg until every unit is answered 2xx, killing
// it cfg.Kills times along the way, then kills it a last time and calls
// check, failing the test with the seed if check (or the run) fails.
func Run(t testing.TB, cfg Config, check func(Report) error) Report {
	t.Helper()
	if d, ok := t.(interface{ Deadline() (time.Time, bool) }); ok {
		if deadline, ok := d.Deadline(); ok {
			// Leave the test binary time to report: a twentieth of what
			// is left, at least 2 s.
			left := time.Until(deadline)
			left -= max(left/20, 2*time.Second)
			if cfg.Timeout == 0 {
				cfg.Timeout = 10 * time.Minute
			}
			cfg.Timeout = max(min(cfg.Timeout, left), time.Second)
		}
	}
	rep, err := run(cfg)
	if err == nil {
		err = check(rep)
	}
	if err != nil {
		t.Fatalf("crashtest: %v\n%v (replay with CRASHTEST_SEED=%d)", err, rep, rep.Seed)
	}
	t.Logf("crashtest: %v", rep)
	return rep
}

func run(cfg Config) (Report, error) {
	if cfg.Senders <= 0 {
		cfg.Senders = 8
	}
	if cfg.Redeliver == 0 {
		cfg.Redeliver = 0.02
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 10 * time.Minute
	}
	rep := Report{Seed: cfg.Seed}
	if rep.Seed == 0 {
		if s, err := strconv.ParseUint(os.Getenv("CRASHTEST_SEED"), 10, 64); err == nil {
			rep.Seed = s
		} else {
			rep.Seed = rand.Uint64()
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), cfg.Timeout)
	defer cancel()
	start := time.Now()

	p := &proc{cfg: cfg}
	if err := p.start(ctx); err != nil {
		return rep, err
	}
	defer p.kill()

	// Kill points: after how many answered units each kill comes, and how
	// long after that (up to 3 ms, so kills land mid-request). The points
	// leave 2*Senders units after them, so work is still under way.
	rng := rand.New(rand.NewPCG(rep.Seed, rep.Seed^0x9e3779b97f4a7c15))
	type killAt struct {
		answered int64
		delay    time.Duration
	}
	kills := make([]killAt, cfg.Kills)
	for i := range kills {
		kills[i] = killAt{int64(rng.IntN(max(cfg.Units-2*cfg.Senders, 1))), time.Duration(rng.IntN(3000)) * time.Microsecond}
	}
	slices.SortFunc(kills, func(a, b killAt) int { return cmp.Compare(a.answered, b.answered) })

	var answered, deliveries, failed, redelivered, killed atomic.Int64
	// The feeder hands out units, but never more than 2*Senders past the
	// next kill point before that kill has happened, and never the last
	// unit while a kill is to come, so every kill lands while work is
	// under way rather than after the end.
	units := make(chan int)
	go func() {
		defer close(units)
		for u := 1; u <= cfg.Units; u++ {
			for {
				k := int(killed.Load())
				if k >= len(kills) || int64(u) <= min(kills[k].answered+int64(2*cfg.Senders), int64(cfg.Units-1)) {
					break
				}
				select {
				case <-ctx.Done():
					return
				case <-time.After(200 * time.Microsecond):
				}
			}
			select {
			case units <- u:
			case <-ctx.Done():
				return
			}
		}
	}()
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: cfg.Senders}}
	defer client.CloseIdleConnections()

	// deliver sends unit until it is answered 2xx.
	deliver := func(unit int) error {
		pause := time.Millisecond
		for {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("unit %d never answered 2xx: %w", unit, err)
			}
			req, err := cfg.Request(p.base(), unit)
			if err != nil {
				return err
			}
			deliveries.Add(1)
			resp, err := client.Do(req.WithContext(ctx))
			if err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode/100 == 2 {
					return nil
				}
			}
			failed.Add(1)
			time.Sleep(pause)
			pause = min(2*pause, 100*time.Millisecond)
		}
	}

	var wg sync.WaitGroup
	errs := make(chan error, cfg.Senders+1)
	for s := range cfg.Senders {
		srng := rand.New(rand.NewPCG(rep.Seed, uint64(s)+1))
		wg.Go(func() {
			for u := range units {
				if err := deliver(u); err != nil {
					errs <- err
					cancel()
					return
				}
				answered.Add(1)
				if srng.Float64() < cfg.Redeliver {
					redelivered.Add(1)
					if err := deliver(u); err != nil {
						errs <- err
						cancel()
						return
					}
				}
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()

	// The killer: wait for each kill point, kill, restart.
	for _, k := range kills {
		for answered.Load() < k.answered {
			select {
			case <-done:
				goto finish
			case <-time.After(200 * time.Microsecond):
			}
		}
		time.Sleep(k.delay)
		select {
		case <-done:
			goto finish
		default:
		}
		p.kill()
		rep.Kills++
		if cfg.AfterKill != nil {
			if err := cfg.AfterKill(rep.Kills); err != nil {
				cancel()
				<-done
				return rep, fmt.Errorf("after kill %d: %w", rep.Kills, err)
			}
		}
		if err := p.start(ctx); err != nil {
			cancel()
			<-done
			return rep, err
		}
		killed.Add(1)
	}
finish:
	<-done
	p.kill()
	rep.Deliveries, rep.Failed, rep.Redelivered = deliveries.Load(), failed.Load(), redelivered.Load()
	rep.Elapsed = time.Since(start)
	close(errs)
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	if err := errors.Join(all...); err != nil {
		return rep, fmt.Errorf("%w\nprogram output (last run):\n%s", err, p.output())
	}
	return rep, nil
}

// proc is the program's current run.
type proc struct {
	cfg  Config
	mu   sync.Mutex
	cmd  *exec.Cmd
	addr string
	out  *syncBuffer
	wait chan struct{}
}

func (p *proc) base() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return "http://" + p.addr
}

func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.out == nil {
		return ""
	}
	return p.out.String()
}

// start starts the program and waits for its LISTEN line.
func (p *proc) start(ctx context.Context) error {
	cmd := exec.Command(p.cfg.Binary, p.cfg.Args...)
	cmd.Env = append(os.Environ(), p.cfg.Env...)
	out := &syncBuffer{}
	cmd.Stderr = out
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", p.cfg.Binary, err)
	}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			out.Write([]byte(line + "\n"))
			if a, ok := strings.CutPrefix(line, "LISTEN "); ok {
				select {
				case addr <- a:
				default:
				}
			}
		}
	}()
	wait := make(chan struct{})
	go func() { _ = cmd.Wait(); close(wait) }()
	select {
	case a := <-addr:
		p.mu.Lock()
		p.cmd, p.addr, p.out, p.wait = cmd, a, out, wait
		p.mu.Unlock()
		return nil
	case <-wait:
		return fmt.Errorf("program exited before listening:\n%s", out.String())
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		return fmt.Errorf("program did not listen within 60 s:\n%s", out.String())
	case <-ctx.Done():
		_ = cmd.Process.Kill()
		return ctx.Err()
	}
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *proc) kill() {
	p.mu.Lock()
	cmd, wait := p.cmd, p.wait
	p.cmd = nil
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Kill()
	<-wait
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.b.Len() > 1<<20 { // keep the tail
		s.b.Next(s.b.Len() - 1<<19)
	}
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Counts checks that every unit 1..units appears exactly once in counts
// (unit → times its effect was found) and returns the units lost and the
// duplicate effects (sum of count-1 over units seen more than once).
func Counts(units int, counts map[int]int) (lost []int, duplicates int, unknown []int) {
	for u := 1; u <= units; u++ {
		switch n := counts[u]; {
		case n == 0:
			lost = append(lost, u)
		case n > 1:
			duplicates += n - 1
		}
	}
	for u := range counts {
		if u < 1 || u > units {
			unknown = append(unknown, u)
		}
	}
	return lost, duplicates, unknown
}

// Long reports whether the long soak was asked for (MINIAPPKIT_LONG=1).
func Long() bool { return os.Getenv("MINIAPPKIT_LONG") == "1" }
