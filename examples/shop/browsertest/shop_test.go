package browsertest

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// repoRoot is the repository root, seen from this package's directory.
const repoRoot = "../../.."

// findChromium returns the Chromium binary to drive, or "" when there is none.
func findChromium() string {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// shopProcess is the shop example running as its own process, as a newcomer
// runs it with `go run ./examples/shop`.
type shopProcess struct {
	cmd      *exec.Cmd
	url      string
	demoUser string
	stderr   *lockedBuffer
	exited   chan struct{} // closed once the process has exited
	waitErr  error         // the process's exit status, set before exited closes
}

var (
	urlLine  = regexp.MustCompile(`(http://127\.0\.0\.1:\d+/)`)
	userLine = regexp.MustCompile(`demo user: (.+?) \(id \d+\)`)
)

// startShop builds the shop and starts it on a loopback port with no token
// (the embedded default). It returns once the shop has printed its URL.
func startShop(t *testing.T) *shopProcess {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to build the shop: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "shop")
	build := exec.Command(goBin, "build", "-o", bin, "./examples/shop")
	build.Dir = repoRoot
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./examples/shop: %v\n%s", err, out)
	}

	cmd := exec.Command(bin)
	cmd.Env = append(withoutEnv(os.Environ(), "TELEGRAM_BOT_TOKEN", "PUBLIC_URL", "WEBHOOK_SECRET"),
		"LISTEN_ADDR=127.0.0.1:0")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &shopProcess{cmd: cmd, stderr: &lockedBuffer{}, exited: make(chan struct{})}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start shop: %v", err)
	}
	// One reader: it hands the first lines to the test and keeps draining
	// stdout afterwards so the shop never blocks on a full pipe.
	lines := make(chan string, 256)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default:
			}
		}
		close(lines)
	}()
	go func() {
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = cmd.Process.Kill()
			<-p.exited
		}
	})

	deadline := time.After(2 * time.Minute)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				<-p.exited
				t.Fatalf("the shop exited before printing its URL: %v\n%s", p.waitErr, p.stderr.String())
			}
			t.Logf("shop: %s", l)
			if m := userLine.FindStringSubmatch(l); m != nil {
				p.demoUser = m[1]
			}
			if m := urlLine.FindStringSubmatch(l); m != nil {
				p.url = m[1]
				return p
			}
		case <-deadline:
			t.Fatalf("the shop printed no URL within 2 minutes\n%s", p.stderr.String())
		}
	}
}

// stop sends SIGTERM, as a process manager would, and waits for a clean exit.
func (p *shopProcess) stop(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	select {
	case <-p.exited:
		if p.waitErr != nil {
			t.Fatalf("the shop did not exit cleanly on SIGTERM: %v\n%s", p.waitErr, p.stderr.String())
		}
	case <-time.After(time.Minute):
		t.Fatal("the shop did not exit within a minute of SIGTERM")
	}
}

func TestShopInChromium(t *testing.T) {
	chromium := findChromium()
	if chromium == "" {
		if os.Getenv("CI") == "" {
			t.Skip("Chromium is not installed (apt-get install chromium); CI installs it and runs this test")
		}
		t.Fatal("CI is set but Chromium is not installed: .ci/run must install it (apt-get install -y chromium)")
	}

	shop := startShop(t)
	if shop.demoUser == "" {
		t.Fatal(`the shop did not print its "demo user: <name> (id N)" line`)
	}

	// Exactly the flags of the issue, and a fresh profile.
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(t.Context(),
		chromedp.ExecPath(chromium),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(allocCtx)
	defer cancel()
	ctx, cancelTimeout := context.WithTimeout(ctx, 2*time.Minute)
	defer cancelTimeout()

	// Tests never touch the internet: block telegram-web-app.js (the page
	// then runs its local stand-in, as in any browser outside Telegram).
	blockExternal := chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		if _, err := cdp.Call(ctx, tg, network.Enable, network.EnableParams{}); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, tg, network.SetBlockedURLs, network.SetBlockedURLsParams{
			URLPatterns: []*network.BlockPattern{{URLPattern: "https://telegram.org/*", Block: true}},
		})
		return err
	})

	step := func(name string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			shot(t, ctx, "shop-failed.png")
			t.Fatalf("%s: %v\nshop stderr:\n%s", name, err, shop.stderr.String())
		}
	}

	step("open the page",
		blockExternal,
		chromedp.EmulateViewport(420, 900),
		chromedp.Navigate(shop.url),
		chromedp.WaitVisible(chromedp.CSS(`#user[data-user-id]`)),
	)
	name, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#user`)))
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(name) != shop.demoUser {
		t.Fatalf("the page shows user %q, want the demo user %q", name, shop.demoUser)
	}

	// Cancelling the payment sheet buys nothing.
	step("open and cancel an invoice",
		chromedp.Click(chromedp.CSS(`.product[data-product="boost"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#main-button`)),
		chromedp.Click(chromedp.CSS(`#main-button`)),
		chromedp.WaitVisible(chromedp.CSS(`#invoice-cancel`)),
		chromedp.Click(chromedp.CSS(`#invoice-cancel`)),
		chromedp.WaitNotVisible(chromedp.CSS(`#invoice`)),
	)
	status, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#status`)))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(status, "cancelled") {
		t.Fatalf("after cancelling, the status reads %q", status)
	}
	if n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#orders li").length`)); err != nil || n != 0 {
		t.Fatalf("after cancelling, %d orders are listed (err %v), want none", n, err)
	}

	title, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`.product[data-product] .title`)))
	if err != nil {
		t.Fatal(err)
	}
	step("buy the first product",
		chromedp.Click(chromedp.CSS(`.product[data-product]`)),
		chromedp.WaitVisible(chromedp.CSS(`#main-button`)),
		chromedp.Click(chromedp.CSS(`#main-button`)),
		chromedp.WaitVisible(chromedp.CSS(`#invoice-pay`)),
		chromedp.Click(chromedp.CSS(`#invoice-pay`)),
	)
	step("see the order paid",
		chromedp.WaitVisible(chromedp.CSS(`#orders li[data-status="paid"]`)),
	)
	order, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#orders li[data-status="paid"]`)))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(order, strings.TrimSpace(title)) || !strings.Contains(order, "paid") {
		t.Fatalf("the paid order reads %q, want the product %q marked paid", order, title)
	}
	status, err = chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#status`)))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(status, "is yours") {
		t.Fatalf("status line reads %q, want the purchase confirmed", status)
	}
	path := shot(t, ctx, "shop.png")
	t.Logf("screenshot: %s", path)

	cancel() // close the browser before stopping the shop
	shop.stop(t)
	if !strings.Contains(shop.stderr.String(), "fulfilled") {
		t.Errorf("the shop's log shows no fulfilment:\n%s", shop.stderr.String())
	}
}

// shot writes a PNG of the whole page to the artifacts folder (or to
// SHOP_SCREENSHOT for the main screenshot) and returns its path.
func shot(t *testing.T, ctx context.Context, name string) string {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Logf("screenshot %s: %v", name, err)
		return ""
	}
	path := filepath.Join(repoRoot, "artifacts", name)
	if p := os.Getenv("SHOP_SCREENSHOT"); p != "" && name == "shop.png" {
		path = p
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs(path)
	return abs
}

// withoutEnv returns env without the named variables.
func withoutEnv(env []string, names ...string) []string {
	out := env[:0:0]
next:
	for _, kv := range env {
		for _, n := range names {
			if strings.HasPrefix(kv, n+"=") {
				continue next
			}
		}
		out = append(out, kv)
	}
	return out
}

// lockedBuffer collects the shop's stderr (its slog output) for assertions
// and failure messages.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
