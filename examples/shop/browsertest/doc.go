// Package browsertest drives the shop example (examples/shop) through a real,
// headless Chromium with chromedp, on the shop's embedded default: no token,
// no network.
//
// It is a nested module so that chromedp never enters the main module's
// dependencies. Run it from this directory:
//
//	go test ./...
//
// The test builds the shop with the go command, starts it on a loopback port,
// opens its page, checks the demo user's name, cancels one payment sheet,
// buys a product, waits for the order to show as paid, and writes a
// screenshot to artifacts/shop.png at the repository root (a git-ignored
// folder), or to SHOP_SCREENSHOT when set. It then opens the page again as
// Telegram would, with a stub of telegram-web-app.js: the page must use
// Telegram's init data, main button, openInvoice (statuses "failed" and
// "paid") and theme params instead of its stand-in (artifacts/
// shop-telegram.png). Last it stops the shop with SIGTERM and checks that it
// shut down cleanly and fulfilled the orders.
//
// Chromium is found as $CHROMIUM, or "chromium" / "chromium-browser" on PATH.
// When it is absent the test skips, except in CI (CI set), where it fails.
package browsertest
