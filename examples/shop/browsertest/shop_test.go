package browsertest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
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
	"github.com/chromedp/cdproto/page"
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
// (the embedded default) and its data in a temp dir. It returns once the
// shop has printed its URL.
func startShop(t *testing.T) *shopProcess {
	t.Helper()
	return runShop(t, buildShop(t), t.TempDir(), "127.0.0.1:0")
}

// buildShop builds the shop and returns the binary's path.
func buildShop(t *testing.T) string {
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
	return bin
}

// runShop starts the shop binary bin with its data in dataDir, listening
// on addr, and returns once it has printed its URL.
func runShop(t *testing.T, bin, dataDir, addr string) *shopProcess {
	t.Helper()
	cmd := exec.Command(bin)
	cmd.Env = append(withoutEnv(os.Environ(), "TELEGRAM_BOT_TOKEN", "PUBLIC_URL", "WEBHOOK_SECRET", "DATABASE_URL", "REDIS_URL"),
		"LISTEN_ADDR="+addr, "DATA_DIR="+dataDir)
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

	bin, dataDir := buildShop(t), t.TempDir()
	shop := runShop(t, bin, dataDir, "127.0.0.1:0")
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

	// The shop stops (SIGTERM) and starts again on the same data and
	// address, as a deploy does: the page, reloaded, still lists the order
	// as paid, and buys again.
	shop.stop(t)
	addr := strings.TrimSuffix(strings.TrimPrefix(shop.url, "http://"), "/")
	shop = runShop(t, bin, dataDir, addr)
	step("reload after the restart: the order is still there",
		chromedp.Reload(),
		chromedp.WaitVisible(chromedp.CSS(`#user[data-user-id]`)),
		chromedp.WaitVisible(chromedp.CSS(`#orders li[data-status="paid"]`)),
	)
	if n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('#orders li[data-status="paid"]').length`)); err != nil || n != 1 {
		t.Fatalf("after the restart, %d paid orders are listed (err %v), want 1", n, err)
	}
	step("buy again after the restart",
		chromedp.Click(chromedp.CSS(`.product[data-product="theme"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#main-button`)),
		chromedp.Click(chromedp.CSS(`#main-button`)),
		chromedp.WaitVisible(chromedp.CSS(`#invoice-pay`)),
		chromedp.Click(chromedp.CSS(`#invoice-pay`)),
		chromedp.Poll[chromedp.Void](`document.querySelectorAll('#orders li[data-status="paid"]').length === 2`),
	)
	path := shot(t, ctx, "shop.png")
	t.Logf("screenshot: %s", path)

	insideTelegram(t, ctx, shop)

	cancel() // close the browser before stopping the shop
	shop.stop(t)
	if !strings.Contains(shop.stderr.String(), "fulfilled") {
		t.Errorf("the shop's log shows no fulfilment:\n%s", shop.stderr.String())
	}
}

// telegramStub stands in for telegram-web-app.js inside Telegram: it gives
// the page init data and records what the page asks of Telegram (the main
// button, openInvoice), so the test can play Telegram's part. %s is the
// init data, as a JavaScript string.
const telegramStub = `(() => {
  const rec = { mainButton: { text: "", visible: false, progress: false, click: null }, invoice: null, ready: false };
  window.__tg = rec;
  window.Telegram = { WebApp: {
    initData: %s,
    ready() { rec.ready = true; },
    expand() {},
    MainButton: {
      setText(t) { rec.mainButton.text = t; },
      show() { rec.mainButton.visible = true; },
      hide() { rec.mainButton.visible = false; },
      enable() {}, disable() {},
      showProgress() { rec.mainButton.progress = true; },
      hideProgress() { rec.mainButton.progress = false; },
      onClick(f) { rec.mainButton.click = f; },
    },
    openInvoice(url, cb) { rec.invoice = { url, cb }; },
    HapticFeedback: { selectionChanged() {}, notificationOccurred() {} },
  } };
})();`

// insideTelegram opens the page as Telegram would, with a stub of
// telegram-web-app.js: the page uses Telegram's init data, main button and
// openInvoice instead of its stand-in, and honours the theme params. The
// test plays Telegram: it pays through the fake and reports the invoice
// statuses "failed" and "paid".
func insideTelegram(t *testing.T, parent context.Context, shop *shopProcess) {
	t.Helper()
	ctx, cancel := chromedp.NewContext(parent) // a new tab
	defer cancel()

	initData := demoInitData(t, shop.url)
	quoted, _ := json.Marshal(initData)
	setup := chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		if _, err := cdp.Call(ctx, tg, network.Enable, network.EnableParams{}); err != nil {
			return err
		}
		if _, err := cdp.Call(ctx, tg, network.SetBlockedURLs, network.SetBlockedURLsParams{
			URLPatterns: []*network.BlockPattern{{URLPattern: "https://telegram.org/*", Block: true}},
		}); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
			Source: fmt.Sprintf(telegramStub, quoted),
		})
		return err
	})
	do := func(name string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			shot(t, ctx, "shop-telegram-failed.png")
			t.Fatalf("inside Telegram: %s: %v\nshop stderr:\n%s", name, err, shop.stderr.String())
		}
	}
	eval := func(expr string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr))
		if err != nil {
			t.Fatalf("inside Telegram: %s: %v", expr, err)
		}
		return v
	}

	do("open the page", setup, chromedp.EmulateViewport(420, 900), chromedp.Navigate(shop.url),
		chromedp.WaitVisible(chromedp.CSS(`#user[data-user-id]`)))
	if got := eval(`document.getElementById("user").textContent`); got != shop.demoUser {
		t.Fatalf("inside Telegram the page shows user %q, want %q", got, shop.demoUser)
	}
	if got := eval(`String(window.__tg.ready) + " " + String(document.getElementById("standin").hidden) + " " + String(document.getElementById("main-button").hidden)`); got != "true true true" {
		t.Fatalf("inside Telegram: ready, stand-in hidden, own button hidden = %q, want all true", got)
	}

	// Theme params: Telegram sets --tg-theme-* variables; the page follows.
	if got := eval(`document.documentElement.style.setProperty("--tg-theme-secondary-bg-color", "#112233"), getComputedStyle(document.body).backgroundColor`); got != "rgb(17, 34, 51)" {
		t.Fatalf("the page ignores the theme params: body background %q", got)
	}

	buy := func(product string) string {
		t.Helper()
		do("pick "+product, chromedp.Click(chromedp.CSS(`.product[data-product="`+product+`"]`)))
		if got := eval(`window.__tg.mainButton.visible ? window.__tg.mainButton.text : ""`); !strings.HasPrefix(got, "Buy ") {
			t.Fatalf("the main button reads %q after picking %s", got, product)
		}
		eval(`window.__tg.invoice = null, window.__tg.mainButton.click(), ""`)
		link, err := chromedp.Run(ctx, chromedp.Poll[string](`window.__tg.invoice && window.__tg.invoice.url`,
			chromedp.WithPollingTimeout(30*time.Second)))
		if err != nil {
			t.Fatalf("no openInvoice after the main button: %v", err)
		}
		return link
	}

	// A failed payment: nothing is bought.
	buy("boost")
	eval(`window.__tg.invoice.cb("failed"), ""`)
	do("see the failure", chromedp.WaitVisible(chromedp.CSS(`#status.error`)))

	// A paid one: Telegram (the fake) takes the payment, then tells the page.
	link := buy("theme")
	if status := demoPay(t, shop.url, initData, link); status != "paid " {
		t.Fatalf("the fake Telegram did not take the payment: %s", status)
	}
	eval(`window.__tg.invoice.cb("paid"), ""`)
	// The stand-in's order is listed already: wait for this one.
	if _, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](`document.getElementById("status").textContent.includes("is yours")`,
		chromedp.WithPollingTimeout(30*time.Second))); err != nil {
		t.Fatalf("inside Telegram: the paid order did not show: %v", err)
	}
	if got := eval(`document.getElementById("orders").textContent`); !strings.Contains(got, "Midnight theme") {
		t.Fatalf("inside Telegram the orders read %q, want Midnight theme paid", got)
	}
	if got := eval(`document.getElementById("status").textContent`); !strings.Contains(got, "is yours") {
		t.Fatalf("inside Telegram the status reads %q", got)
	}
	shot(t, ctx, "shop-telegram.png")
}

// demoInitData asks the shop's embedded default for the demo user's init data.
func demoInitData(t *testing.T, base string) string {
	t.Helper()
	res, err := http.Get(base + "demo/session")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var s struct {
		InitData string `json:"init_data"`
	}
	if err := json.NewDecoder(res.Body).Decode(&s); err != nil || s.InitData == "" {
		t.Fatalf("GET /demo/session: %v", err)
	}
	return s.InitData
}

// demoPay makes the fake Telegram pay an invoice link as the demo user, as
// Telegram's own payment sheet would, and returns the invoice status.
func demoPay(t *testing.T, base, initData, link string) string {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"invoice_link": link})
	req, err := http.NewRequest(http.MethodPost, base+"demo/pay", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "tma "+initData)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var r struct {
		Status  string `json:"status"`
		Message string `json:"message"`
	}
	if err := json.NewDecoder(res.Body).Decode(&r); err != nil {
		t.Fatalf("POST /demo/pay: %d: %v", res.StatusCode, err)
	}
	return r.Status + " " + r.Message
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
