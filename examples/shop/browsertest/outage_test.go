package browsertest

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// TestShopUsableDuringOutage: the embedded fake Telegram goes down
// (POST /demo/outage). Creating an invoice fails, the circuit breaker opens
// and /healthz answers degraded, and the page still signs in, lists the
// products and the order bought before, and says why a purchase fails.
// Telegram back, /healthz is ok again and a purchase goes through.
func TestShopUsableDuringOutage(t *testing.T) {
	chromium := findChromium()
	if chromium == "" {
		if os.Getenv("CI") == "" {
			t.Skip("Chromium is not installed (apt-get install chromium); CI installs it and runs this test")
		}
		t.Fatal("CI is set but Chromium is not installed")
	}
	shop := startShop(t)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(t.Context(),
		chromedp.ExecPath(chromium),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("no-first-run", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(allocCtx)
	defer cancel()
	ctx, cancelTimeout := context.WithTimeout(ctx, 2*time.Minute)
	defer cancelTimeout()
	step := func(name string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			shot(t, ctx, "shop-outage-failed.png")
			t.Fatalf("%s: %v\nshop stderr:\n%s", name, err, shop.stderr.String())
		}
	}
	// buy clicks product and the main button, then does the rest.
	buy := func(product string, rest ...chromedp.Action[chromedp.Void]) []chromedp.Action[chromedp.Void] {
		return append([]chromedp.Action[chromedp.Void]{
			chromedp.Click(chromedp.CSS(`.product[data-product="` + product + `"]`)),
			chromedp.WaitVisible(chromedp.CSS(`#main-button`)),
			chromedp.Click(chromedp.CSS(`#main-button`)),
		}, rest...)
	}
	blockExternal := chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		if _, err := cdp.Call(ctx, tg, network.Enable, network.EnableParams{}); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, tg, network.SetBlockedURLs, network.SetBlockedURLsParams{
			URLPatterns: []*network.BlockPattern{{URLPattern: "https://telegram.org/*", Block: true}},
		})
		return err
	})

	step("open the page", blockExternal, chromedp.Navigate(shop.url), chromedp.WaitVisible(chromedp.CSS(`#user[data-user-id]`)))
	step("buy while Telegram is up", buy("stickers",
		chromedp.WaitVisible(chromedp.CSS(`#invoice-pay`)),
		chromedp.Click(chromedp.CSS(`#invoice-pay`)),
		chromedp.WaitVisible(chromedp.CSS(`#orders li[data-status="paid"]`)),
	)...)

	initData := demoInitData(t, shop.url)
	outage(t, shop.url, initData, true)
	// Each failed purchase is Telegram failing: the breaker opens after 5.
	for i := 0; health(t, shop.url) != "degraded"; i++ {
		if i == 20 {
			t.Fatalf("/healthz is not degraded after %d failed purchases\n%s", i, shop.stderr.String())
		}
		step("buy while Telegram is down", buy("theme",
			chromedp.Poll[chromedp.Void](`document.getElementById("status").classList.contains("error")`),
		)...)
	}
	step("the page is usable during the outage",
		chromedp.Reload(),
		chromedp.WaitVisible(chromedp.CSS(`#user[data-user-id]`)),
		chromedp.WaitVisible(chromedp.CSS(`.product[data-product="boost"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#orders li[data-status="paid"]`)),
	)
	step("a purchase during the outage says why it fails", buy("boost",
		chromedp.Poll[chromedp.Void](`document.getElementById("status").classList.contains("error")`),
	)...)
	status, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#status`)))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("during the outage the page says: %q", status)
	if !strings.Contains(status, "Could not create the invoice") {
		t.Fatalf("status during the outage reads %q", status)
	}
	shot(t, ctx, "shop-outage.png")

	outage(t, shop.url, initData, false)
	for start := time.Now(); health(t, shop.url) != "ok"; time.Sleep(100 * time.Millisecond) {
		if time.Since(start) > 30*time.Second {
			t.Fatalf("/healthz still degraded 30 s after the outage ended")
		}
	}
	step("buy after the outage", buy("wallpapers",
		chromedp.WaitVisible(chromedp.CSS(`#invoice-pay`)),
		chromedp.Click(chromedp.CSS(`#invoice-pay`)),
		chromedp.Poll[chromedp.Void](`document.querySelectorAll('#orders li[data-status="paid"]').length === 2`),
	)...)
	cancel()
	shop.stop(t)
}

// outage turns the embedded fake Telegram off (down) or on again.
func outage(t *testing.T, base, initData string, down bool) {
	t.Helper()
	body := `{"down":false}`
	if down {
		body = `{"down":true}`
	}
	req, _ := http.NewRequestWithContext(t.Context(), "POST", base+"demo/outage", strings.NewReader(body))
	req.Header.Set("Authorization", "tma "+initData)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("POST /demo/outage %s: %v %v", body, err, res)
	}
	res.Body.Close()
}

// health returns /healthz's status.
func health(t *testing.T, base string) string {
	t.Helper()
	res, err := http.Get(base + "healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var h struct {
		Status string `json:"status"`
	}
	if err := json.NewDecoder(res.Body).Decode(&h); err != nil {
		t.Fatal(err)
	}
	return h.Status
}
