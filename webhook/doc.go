// Package webhook receives Telegram updates and signed webhooks from other
// services exactly once, losing nothing.
//
// # Telegram updates
//
// [NewHandler] serves the URL given to setWebhook (see [Register] and
// [NewSecretToken]). It checks the method, the
// X-Telegram-Bot-Api-Secret-Token header (in constant time, before reading
// the body), reads a bounded body, decodes it once, claims its update_id in
// a [Store] and runs your [UpdateHandler]. Telegram resends every delivery
// not answered 2xx, so the handler answers 2xx only once the update is
// processed (or can never be), 5xx when your handler fails or panics (the
// claim is released and Telegram's redelivery runs it again), and 200 with
// an empty body to a duplicate. See [NewHandler] for every case.
//
//	h := webhook.NewHandler(secret, webhook.UpdateHandlerFunc(
//		func(ctx context.Context, u *botapi.Update) error {
//			if u.Message == nil {
//				return nil
//			}
//			// Answer in the webhook response, no extra request:
//			return webhook.SetReply(ctx, "sendMessage", &botapi.SendMessageParams{…})
//		}))
//	http.Handle("/telegram", h)
//
// # Exactly once
//
// Deduplication is by update_id, with an atomic claim in a [Store], never a
// "highest id seen" watermark: update ids are not ordered across chats and
// restart at random after a quiet week. A key is absent, in flight (owned by
// one delivery, with a lease) or done (kept 24 h by default). A duplicate of
// a done update is answered 200; one of an update in flight waits briefly,
// then answers 503 so Telegram retries. [MemoryStore] is the in-memory
// store: fixed capacity, TTL, O(1), about 48 bytes per entry. Replicas need
// a shared store implementing [Store] atomically (Redis, SQL).
//
// # Asynchronous mode
//
// By default the handler answers only after processing. [WithAsync]
// acknowledges once the update is in a durable [Queue], and a [Worker]
// processes it with the same dedupe. [MemoryQueue] is not durable (it loses
// its contents on a crash) and needs [WithVolatileQueue].
//
// A [Worker] runs a failing update again after a backoff ([WithBackoff],
// default [DefaultBackoff]: exponential from 1 s with jitter, at most 1 min)
// and, after [WithMaxAttempts] attempts, keeps it as a [DeadLetter] for the
// [WithDeadLetter] hook or [Worker.DeadLetters] instead of dropping it.
//
// # Signed webhooks from other services
//
// [NewStandard] and [NewStandardPublicKey] verify Standard Webhooks (v1
// HMAC-SHA256 with whsec_ secrets, v1a Ed25519 with whpk_ keys); [Signer]
// signs outgoing ones. [NewStripe] verifies Stripe-style "t=…,v1=…" headers
// and [NewGitHub] GitHub's X-Hub-Signature-256. Each is a [Verifier]: call
// Verify(header, body) directly, or wrap a handler with [VerifyMiddleware],
// which checks the raw bytes before anything decodes them and restores the
// body. Failures are sentinels ([ErrMissingHeader], [ErrInvalidHeader],
// [ErrNoMatchingSignature], [ErrTimestampTooOld], [ErrTimestampTooNew],
// [ErrBadSecret]); no error or log line holds a secret, a signature or a body.
//
// # Idempotency-Key
//
// [Idempotency] is middleware for the backend's own endpoints, after
// draft-ietf-httpapi-idempotency-key-header: the first request with a key
// runs and its response is stored; a retry gets it back byte for byte; a
// retry during the first gets 409, a reused key with another request 422.
//
// # IP allow-list
//
// [WithIPAllowList] with [TelegramIPRanges] restricts deliveries to
// Telegram's published ranges. It is off by default: the ranges may change,
// and behind a proxy the peer address is the proxy's.
package webhook
