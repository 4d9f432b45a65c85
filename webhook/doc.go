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
//	h, err := webhook.NewHandler(secret, webhook.UpdateHandlerFunc(
//		func(ctx context.Context, u *botapi.Update) error {
//			if u.Message == nil {
//				return nil
//			}
//			// Answer in the webhook response, no extra request:
//			return webhook.SetReply(ctx, "sendMessage", &botapi.SendMessageParams{…})
//		}))
//	if err != nil {
//		return err // an empty or malformed secret, or a bad option
//	}
//	http.Handle("/telegram", h)
//
// # Failing closed
//
// Misconfiguration is an error at construction, never a 500 (or an open
// door) at every request: [NewHandler] refuses an empty secret token
// ([ErrNoSecretToken], so an unset environment variable cannot open the
// endpoint), [WithIPAllowList] with no prefixes, and every invalid option;
// so do [NewWorker], [Idempotency] and [SecretTokenMiddleware]. The rule
// across the package: whatever may come from configuration (secrets,
// lists, stores, numbers) is reported as an error by the constructor;
// only arguments that code alone can get wrong panic, documented as
// http.Handle's are ([VerifyMiddleware] with a nil verifier or an invalid
// option, a negative [NewMemoryStore] or [NewMemoryQueue] capacity).
//
// # Hostile input
//
// Nothing is read before the request is authenticated as far as headers
// allow: the secret token, or a verifier's headers (present, well formed,
// within their size bounds, on time), are checked before the body. Bodies
// are read into buffers that grow with the data, never allocated from a
// declared Content-Length, and the bodies in flight share a budget
// ([WithMaxInFlightBytes], [WithVerifyMaxInFlightBytes], 32 MiB): 200
// slow connections declaring 25 MB bodies hold about 3 MiB; for a
// Standard Webhooks public key the body is read with room for the signed
// prefix in front of it and verified in place, so no copy escapes the
// budget. A Standard Webhooks signature header holds at most 8 entries and
// 1 KiB; entries that cannot be a signature (another version, another
// length, not base64, a repeat, a non-canonical Ed25519 S) are dropped
// without cryptography, and at most 2 Ed25519 candidates may remain (a
// sender rotating keys signs twice): a junk header costs microseconds, or
// at most two Ed25519 checks.
//
// # Exactly once
//
// Deduplication is by update_id, with an atomic claim in a [Store], never a
// "highest id seen" watermark: update ids are not ordered across chats and
// restart at random after a quiet week. Keys are namespaced per bot
// ("tg:<namespace>:update:<id>", the namespace derived from the secret
// token unless [WithNamespace] sets it), so bots can share a store. The
// derived namespace is PBKDF2-HMAC-SHA-256 of the token (100 000
// iterations, 128 bits): whoever reads a shared store's keys pays 100 000
// HMACs per guess of a weak token. Upgrade note: releases before this one
// derived it with one SHA-256 (16 hex digits, reversible by dictionary for
// a weak token), so the keys change across the upgrade and a delivery
// begun before it and redelivered after it runs once more; deployments
// that must not see that set [WithNamespace] (used as given, always). A key
// is absent, in flight (owned by one delivery, with a lease renewed by
// [Store.Extend] while the handler runs) or done (kept 24 h by default). A
// duplicate of a done update is answered 200; one of an update in flight
// waits briefly, then answers 503 so Telegram retries. [ClaimFromContext]
// gives the handler its claim: the owner is a fencing token, so an effect
// in the store's database can be made conditional on still holding it.
// [MemoryStore] is the in-memory store: fixed capacity, TTL, O(1), about 48
// bytes per entry. Replicas need a shared store implementing [Store]
// atomically: store/sqlite, store/postgres and store/redis (nested
// modules) do, and webhook/storetest checks any other.
//
// # Asynchronous mode
//
// By default the handler answers only after processing. [WithAsync]
// acknowledges once the update's raw bytes are in a durable [Queue] (never
// re-encoded), and a [Worker] processes it with the same dedupe.
// [MemoryQueue] is not durable (it loses its contents on a crash) and
// needs [WithVolatileQueue].
//
// A [Worker] runs a failing update again after a backoff ([WithBackoff],
// default [DefaultBackoff]: exponential from 1 s with jitter, at most 1
// min) that it waits out in the queue ([Job.Nack] takes the delay), and
// after [WithMaxAttempts] failed runs buries it in the queue's dead state:
// as durable as the queue, listed by [Queue.DeadLetters], run again by
// [Queue.Redrive], and told to the [WithDeadLetter] hook. An update that
// cannot be claimed because the store is down is postponed without
// consuming an attempt, and a failed Pop is retried with a backoff.
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
// runs and its final response is stored (temporary ones, 401, 403, 429,
// 5xx, are not: see [DefaultFinal]); a retry gets it back byte for byte,
// Retry-After included, marked "Idempotent-Replayed: true"; a retry during
// the first gets 409 with Retry-After, a reused key with another request
// 422. The operation never runs twice for one key: the key stays claimed
// while the handler runs, past its context's end at the lease. Responses
// being buffered for storing share a budget
// ([IdempotencyOptions.MaxInFlightResponseBytes], 32 MiB), so many
// concurrent large responses cannot pin more: a request that finds it full
// is answered 503 before it runs, and a response that outgrows it is sent
// but not kept (retries get a 500 problem, never a second run).
//
// # IP allow-list
//
// [WithIPAllowList] with [TelegramIPRanges] restricts deliveries to
// Telegram's published ranges. It is off unless given (an empty list is an
// error): the ranges may change, and behind a proxy the peer address is the
// proxy's.
package webhook
