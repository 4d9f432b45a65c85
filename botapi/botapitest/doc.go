// Package botapitest is a fake Telegram Bot API server for tests and local
// runs: an in-process server that answers the way Telegram answers, keeps
// the state a Mini App backend touches (users, chats, messages, callback
// queries, invoices and Stars payments, webhooks and updates), enforces
// Telegram's flood limits on request, injects faults, and records every call.
//
// It is to the Bot API what net/http/httptest is to HTTP: start one with
// [NewServer], point the client at [Server.URL] with [Server.Token] (or use
// [Server.HTTPClient] / [Server.Transport]), act as users with
// [Server.SendUserMessage], [Server.PressButton], [Server.OpenMiniApp],
// [Server.Pay] and [Server.BlockBot], and assert on [Server.Requests] and
// [Server.Sent].
package botapitest
