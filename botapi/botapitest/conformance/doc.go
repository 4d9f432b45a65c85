// Package conformance drives botapitest's fake Telegram with two clients
// other people write bots with, telego and go-telegram/bot (pinned in
// go.mod), through the flows bots use: send with keyboards, edit, callback,
// long poll, upload and getFile download, invoice with Pay, pre-checkout
// and successful_payment, webhook with secret token and per-chat order,
// 429 with retry_after honoured, 403 after the user blocks the bot, and
// entities from HTML and MarkdownV2. It is a nested module so that those
// clients never become dependencies of the main module; it has tests only.
package conformance
