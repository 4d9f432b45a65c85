// Package miniappkit is a Go SDK for the backends of Telegram Mini Apps.
// This root package holds no code: it is the map of the packages below
// it. Each imports only the standard library and golang.org/x/time, and
// each is usable alone.
//
// # Packages
//
//   - [github.com/miniappkit/miniappkit/initdata]: validate, parse and sign
//     the init data a Mini App page sends; HTTP middleware for
//     "Authorization: tma <initData>".
//   - [github.com/miniappkit/miniappkit/botapi]: the whole Bot API as a
//     typed, generated client with typed errors, safe retries, uploads
//     and long polling.
//   - [github.com/miniappkit/miniappkit/botapi/botapitest]: a fake
//     Telegram in process, for tests and for running without a token.
//   - [github.com/miniappkit/miniappkit/ratelimit]: Telegram's flood limits
//     as a scheduler for sends, and keyed limiters for your own endpoints.
//   - [github.com/miniappkit/miniappkit/broadcast]: one message to many
//     chats within those limits, resumable, one outcome per chat.
//   - [github.com/miniappkit/miniappkit/payments]: Telegram Stars and
//     provider payments, fulfilled exactly once.
//   - [github.com/miniappkit/miniappkit/webhook]: Telegram webhooks exactly
//     once, signed webhooks of other services, Idempotency-Key middleware.
//   - [github.com/miniappkit/miniappkit/problem]: RFC 9457
//     application/problem+json error bodies, the one error format of
//     every middleware above, for your handlers too.
//
// Stores on real engines live in nested modules, so this module never
// depends on a database driver: store/sqlite, store/postgres and
// store/redis.
//
// # Settings
//
// The examples and the documentation use one name per setting:
// TELEGRAM_BOT_TOKEN (the bot's token from @BotFather), PUBLIC_URL (the
// HTTPS address Telegram reaches), WEBHOOK_SECRET (the webhook's secret
// token) and LISTEN_ADDR (the address to listen on).
//
// Start with the README: https://github.com/miniappkit/miniappkit#readme
package miniappkit
