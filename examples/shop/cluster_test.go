package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// cluster runs shop processes (the built binary) on fixed loopback ports,
// so a process killed and started again serves the same address.
type cluster struct {
	t     testing.TB
	bin   string
	env   []string
	addrs []string
	logs  string // directory of each start's stderr

	mu     sync.Mutex
	procs  []*exec.Cmd
	starts int
}

func newCluster(t testing.TB, bin string, n int, env []string) *cluster {
	c := &cluster{t: t, bin: bin, env: env, logs: t.TempDir(), procs: make([]*exec.Cmd, n)}
	for range n {
		c.addrs = append(c.addrs, freeAddr(t))
	}
	t.Cleanup(c.killAll)
	return c
}

// freeAddr returns a loopback address nobody listens on.
func freeAddr(t testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// start starts process i and waits until it serves (its "Open <url>" line).
func (c *cluster) start(i int) error {
	c.mu.Lock()
	c.starts++
	logPath := filepath.Join(c.logs, fmt.Sprintf("shop%d-%03d.log", i, c.starts))
	c.mu.Unlock()
	logf, err := os.Create(logPath)
	if err != nil {
		return err
	}
	cmd := exec.Command(c.bin)
	cmd.Env = append(append(os.Environ(), c.env...), "LISTEN_ADDR="+c.addrs[i])
	cmd.Stderr = logf
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	listening := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "Open ") {
				close(listening)
				break
			}
		}
		_, _ = io.Copy(io.Discard, out)
	}()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait(); logf.Close() }()
	select {
	case <-listening:
	case err := <-exited:
		b, _ := os.ReadFile(logPath)
		return fmt.Errorf("shop %d exited at start: %v\n%s", i, err, b)
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		return fmt.Errorf("shop %d did not start within 30 s", i)
	}
	c.mu.Lock()
	c.procs[i] = cmd
	c.mu.Unlock()
	// Reap the process when it ends, whoever ends it.
	go func() {
		<-exited
		c.mu.Lock()
		if c.procs[i] == cmd {
			c.procs[i] = nil
		}
		c.mu.Unlock()
	}()
	return nil
}

// kill SIGKILLs process i and waits until it is gone.
func (c *cluster) kill(i int) {
	c.mu.Lock()
	cmd := c.procs[i]
	c.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	for {
		c.mu.Lock()
		gone := c.procs[i] != cmd
		c.mu.Unlock()
		if gone {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// stop ends process i with SIGTERM (a graceful shutdown) and waits.
func (c *cluster) stop(i int) {
	c.mu.Lock()
	cmd := c.procs[i]
	c.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		c.mu.Lock()
		gone := c.procs[i] != cmd
		c.mu.Unlock()
		if gone {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	c.t.Errorf("shop %d did not stop within 30 s of SIGTERM", i)
	c.kill(i)
}

func (c *cluster) killAll() {
	for i := range c.procs {
		c.kill(i)
	}
}

// grepLogs counts the log lines of every start that contain s.
func (c *cluster) grepLogs(s string) int {
	n := 0
	files, _ := filepath.Glob(filepath.Join(c.logs, "*.log"))
	for _, f := range files {
		b, _ := os.ReadFile(f)
		n += bytes.Count(b, []byte(s))
	}
	return n
}

// rrProxy is a tiny round-robin reverse proxy in front of the replicas. A
// request that could not be sent to one (connection refused: it is down)
// goes to the next; any other failure is a 502, which the client retries,
// as it would behind a real load balancer.
type rrProxy struct {
	backends []string
	next     atomic.Uint64
	client   *http.Client
}

func newRRProxy(backends []string) *rrProxy {
	return &rrProxy{backends: backends, client: &http.Client{
		Transport: &http.Transport{MaxIdleConnsPerHost: 64},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}}
}

func (p *rrProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, "proxy: read", http.StatusBadGateway)
		return
	}
	// Every replica down (a restart under way): wait for one, up to 5 s.
	for try := range 100 * len(p.backends) {
		if try > 0 && try%len(p.backends) == 0 {
			time.Sleep(50 * time.Millisecond)
		}
		b := p.backends[p.next.Add(1)%uint64(len(p.backends))]
		req, err := http.NewRequestWithContext(r.Context(), r.Method, "http://"+b+r.URL.RequestURI(), bytes.NewReader(body))
		if err != nil {
			http.Error(w, "proxy: request", http.StatusBadGateway)
			return
		}
		req.Header = r.Header.Clone()
		res, err := p.client.Do(req)
		if err != nil {
			if errors.Is(err, syscall.ECONNREFUSED) {
				continue
			}
			http.Error(w, "proxy: "+err.Error(), http.StatusBadGateway)
			return
		}
		for k, v := range res.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(res.StatusCode)
		_, _ = io.Copy(w, res.Body)
		res.Body.Close()
		return
	}
	http.Error(w, "proxy: no replica answers", http.StatusBadGateway)
}

// waitFor polls cond every 50 ms until it holds or ctx ends.
func waitFor(ctx context.Context, cond func() bool) error {
	for !cond() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return nil
}
