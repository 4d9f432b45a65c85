package browsertest

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// usableWithin is how soon a page must be usable when telegram.org does
// not answer: the bound.
const usableWithin = 3 * time.Second

// blackhole listens on loopback and accepts connections it never answers:
// what a browser meets when telegram.org is slow or filtered. It returns
// the address; the connections close with the test.
func blackhole(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c) // held open, never read or written
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
}

// browserToBlackhole starts headless Chromium resolving telegram.org to
// the blackhole.
func browserToBlackhole(t *testing.T, hole string) context.Context {
	t.Helper()
	chromium := findChromium()
	if chromium == "" {
		if os.Getenv("CI") == "" {
			t.Skip("Chromium is not installed (apt-get install chromium); CI installs it and runs this test")
		}
		t.Fatal("CI is set but Chromium is not installed")
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(t.Context(),
		chromedp.ExecPath(chromium),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("host-resolver-rules", "MAP telegram.org "+hole),
		chromedp.UserDataDir(t.TempDir()),
	)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(cancel)
	ctx, cancelTimeout := context.WithTimeout(ctx, time.Minute)
	t.Cleanup(cancelTimeout)
	// Start the browser before the clock does.
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatal(err)
	}
	return ctx
}

// openAndWait navigates to url without waiting for the load event (which
// a hanging script holds back) and returns how long until ready, a
// JavaScript expression, was true; it fails the test after usableWithin.
func openAndWait(t *testing.T, ctx context.Context, url, ready string) time.Duration {
	t.Helper()
	start := time.Now()
	nav := chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, page.Navigate, page.NavigateParams{URL: url})
		return err
	})
	if err := chromedp.Do(ctx, nav); err != nil {
		t.Fatal(err)
	}
	expr := fmt.Sprintf("location.href === %q && Boolean(%s)", url, ready)
	for {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr))
		if err == nil && ok {
			return time.Since(start)
		}
		if time.Since(start) > usableWithin {
			t.Fatalf("%s: not usable %v after opening it with telegram.org blackholed (%s; last error %v)", url, usableWithin, ready, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestShopUsableWhenTelegramHangs opens the shop with telegram.org
// blackholed: the page must show its stand-in, signed in, with products
// to pick, within 3 s.
func TestShopUsableWhenTelegramHangs(t *testing.T) {
	ctx := browserToBlackhole(t, blackhole(t))
	shop := startShop(t)
	took := openAndWait(t, ctx, shop.url,
		`document.querySelector("#user[data-user-id]") && !document.getElementById("standin").hidden && document.querySelector(".product[data-product]")`)
	t.Logf("the shop was usable after %v", took.Round(time.Millisecond))
}

// TestHelloUsableWhenTelegramHangs does the same for the hello example:
// the greeting shows the demo user within 3 s.
func TestHelloUsableWhenTelegramHangs(t *testing.T) {
	ctx := browserToBlackhole(t, blackhole(t))
	url := startHello(t)
	took := openAndWait(t, ctx, url, `document.getElementById("greeting").textContent === "Hello, Demo!"`)
	t.Logf("hello was usable after %v", took.Round(time.Millisecond))
}

// startHello builds and starts the hello example on a loopback port with
// no token, and returns its URL.
func startHello(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "hello")
	build := exec.Command("go", "build", "-o", bin, "./examples/hello")
	build.Dir = repoRoot
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./examples/hello: %v\n%s", err, out)
	}
	cmd := exec.Command(bin)
	cmd.Env = append(withoutEnv(os.Environ(), "TELEGRAM_BOT_TOKEN"), "LISTEN_ADDR=127.0.0.1:0")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if u, ok := strings.CutPrefix(sc.Text(), "hello: open "); ok {
			go func() {
				for sc.Scan() { // keep draining
				}
			}()
			return u
		}
	}
	t.Fatal("hello printed no URL")
	return ""
}
