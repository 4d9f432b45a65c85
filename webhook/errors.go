package webhook

import "errors"

// Sentinel errors returned by the verifiers ([Standard], [Stripe], [GitHub]),
// [CheckSecretToken] and the stores. Compare with [errors.Is]: errors may be
// wrapped. No error ever carries a secret, a signature or a body.
var (
	// ErrMissingHeader means a header the scheme needs is absent or empty.
	ErrMissingHeader = errors.New("webhook: missing header")
	// ErrInvalidHeader means a header is present but malformed (for example
	// a timestamp that is not an integer, or a signature without its prefix).
	ErrInvalidHeader = errors.New("webhook: invalid header")
	// ErrNoMatchingSignature means no signature in the request matches the
	// body under the configured secret or key.
	ErrNoMatchingSignature = errors.New("webhook: no matching signature")
	// ErrTimestampTooOld means the signed timestamp is older than the tolerance.
	ErrTimestampTooOld = errors.New("webhook: timestamp too old")
	// ErrTimestampTooNew means the signed timestamp is further in the future
	// than the tolerance.
	ErrTimestampTooNew = errors.New("webhook: timestamp too new")
	// ErrBadSecret means a secret or key given to a constructor is empty,
	// too short or malformed.
	ErrBadSecret = errors.New("webhook: bad secret")
	// ErrInvalidSecretToken means a Telegram secret token is not 1-256
	// characters of A-Z, a-z, 0-9, _ and -.
	ErrInvalidSecretToken = errors.New("webhook: invalid secret token")
	// ErrNotOwner means a Complete or Release named a claim that the caller
	// no longer owns: its lease expired and another owner claimed the key,
	// or the entry is gone.
	ErrNotOwner = errors.New("webhook: claim not owned")
	// ErrStoreFull means a [MemoryStore] is at capacity and its oldest entry
	// is still in flight, so nothing can be evicted.
	ErrStoreFull = errors.New("webhook: store full")
	// ErrNoReply means [SetReply] was called with a context that does not
	// come from a synchronous [NewHandler] delivery.
	ErrNoReply = errors.New("webhook: no reply possible in this context")
	// ErrQueueClosed is returned by [MemoryQueue.Push] and
	// [MemoryQueue.Pop] once the queue is closed (Pop: and drained).
	ErrQueueClosed = errors.New("webhook: queue closed")
)
