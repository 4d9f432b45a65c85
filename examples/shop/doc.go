// Command shop is miniappkit's flagship sample: a Telegram Mini App store
// selling digital goods for Telegram Stars.
//
// Run it with no configuration and it starts on its embedded default: a fake
// Telegram ([github.com/miniappkit/miniappkit/botapi/botapitest]) in process
// and a demo user, so the page at the printed URL runs the whole flow in any
// browser, with no token and no network:
//
//	go run ./examples/shop
//
// With TELEGRAM_BOT_TOKEN (and PUBLIC_URL, an HTTPS address Telegram can
// reach) it serves a real bot. README.md in this directory lists every
// setting and the steps from zero to a real bot.
//
// # What it shows
//
//   - The page (web/, embedded): telegram-web-app.js inside Telegram (theme
//     params, the main button, openInvoice and its paid/cancelled/failed/
//     pending statuses), and a local stand-in in an ordinary browser.
//   - The API: every /api/ route behind the initdata middleware; GET /api/me,
//     GET /api/products, POST /api/orders (a Stars invoice link whose payload
//     is the signed order) and GET /api/orders (the user's paid orders).
//   - Payments: pre-checkout checks, one charge per order (reservations,
//     duplicate charges refunded) and exactly-once fulfilment by the
//     payments package; the order and its confirmation message commit in
//     the ledger's transaction, and an outbox sends the message.
//   - State: one SQLite file under DATA_DIR by default (orders, the ledger,
//     handled updates, Idempotency-Key answers, the durable update queue
//     the webhook feeds and its workers drain, the outbox), so a restart
//     keeps every order; with DATABASE_URL (PostgreSQL) and REDIS_URL,
//     replicas behind one address share it. README.md, "Deployment shapes".
//   - Operations: /healthz (degraded while the circuit breaker to Telegram
//     is open), /metrics with METRICS=1 (OpenTelemetry, Prometheus format),
//     structured logs (log/slog), a graceful shutdown on SIGINT or SIGTERM,
//     and pending work resumed at start.
//
// The tests include SIGKILL tortures of one process on SQLite and of three
// replicas on PostgreSQL and Redis (torture_test.go), and a load benchmark
// (BenchmarkLoad).
package main
