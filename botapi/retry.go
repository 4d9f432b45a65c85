package botapi

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
)

// Retry defaults, used for the zero fields of a [RetryPolicy].
const (
	// DefaultMaxAttempts is the number of attempts of one call, the first
	// included.
	DefaultMaxAttempts = 4
	// DefaultMaxRetryAfter caps how long a call waits on a 429 answer's
	// retry_after before it gives up and returns the error.
	DefaultMaxRetryAfter = 60 * time.Second
	// DefaultBackoffBase and DefaultBackoffMax shape [DefaultBackoff].
	DefaultBackoffBase = 500 * time.Millisecond
	DefaultBackoffMax  = 30 * time.Second
)

// RetryPolicy says when and how long a call waits and tries again. The zero
// value is the default policy; each zero field takes its default. Set it with
// [WithRetry], which copies it; Backoff must be safe for concurrent use.
//
// What is retried:
//   - 429 Too Many Requests: after the answer's retry_after, if that is at
//     most MaxRetryAfter. Telegram did not perform the call, so every method
//     is retried. The wait is reported to the [Limiter], if any.
//   - A connection that failed before the request was sent (DNS, connect,
//     TLS handshake): after Backoff, every method.
//   - A 5xx answer, or a connection that failed after the request may have
//     been sent (reset, timeout, EOF): after Backoff, only for methods that
//     are safe to repeat ([RetrySafe], which lists the method families),
//     unless RetryUnsafe is set. A delete* whose retry is answered "message
//     to delete not found" succeeds: its earlier attempt did the deletion;
//     so does a set*, pin*, unpin* or delete* whose retry is answered
//     "...not modified" (CHAT_NOT_MODIFIED): the chat is already as asked.
//   - Never: 400, 401, 403, 404, 409, an invalid certificate, a canceled
//     context, and a call that uploads from an io.Reader that is not an
//     io.Seeker (it cannot be read twice; a Seeker is rewound).
type RetryPolicy struct {
	// MaxAttempts bounds the attempts of one call, the first included.
	// 0 means DefaultMaxAttempts; 1 disables retries.
	MaxAttempts int
	// Backoff returns the wait before retry number n (1 for the first
	// retry) after a 5xx answer or a connection error. nil means
	// [DefaultBackoff].
	Backoff func(n int) time.Duration
	// MaxRetryAfter caps the wait on a 429 answer; a longer retry_after is
	// returned to the caller at once. 0 means DefaultMaxRetryAfter; a
	// negative value never waits on 429.
	MaxRetryAfter time.Duration
	// RetryUnsafe retries methods that are unsafe to repeat ([RetrySafe])
	// after a failure that may have reached Telegram. A retried sendMessage
	// may then send the message twice.
	RetryUnsafe bool
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = DefaultMaxAttempts
	}
	if p.Backoff == nil {
		p.Backoff = DefaultBackoff
	}
	if p.MaxRetryAfter == 0 {
		p.MaxRetryAfter = DefaultMaxRetryAfter
	}
	return p
}

// DefaultBackoff is exponential backoff with jitter: retry n waits a random
// duration between half and all of min(DefaultBackoffBase·2ⁿ⁻¹,
// DefaultBackoffMax), so 250-500 ms, 0.5-1 s, 1-2 s, ... up to 15-30 s.
func DefaultBackoff(n int) time.Duration {
	if n < 1 {
		n = 1
	}
	d := DefaultBackoffMax
	if n < 20 {
		d = min(DefaultBackoffBase<<(n-1), DefaultBackoffMax)
	}
	half := d / 2
	return half + rand.N(half+1)
}

// decide says whether the call retries after err, and after how long.
// safe is [RetrySafe] for the call (see retrySafeCall).
func (p RetryPolicy) decide(safe bool, attempt int, err error) (time.Duration, bool) {
	if attempt >= p.MaxAttempts {
		return 0, false
	}
	var apiErr *Error
	if errors.As(err, &apiErr) {
		switch {
		case apiErr.Code == 429:
			if p.MaxRetryAfter < 0 || apiErr.RetryAfter > p.MaxRetryAfter {
				return 0, false
			}
			return max(apiErr.RetryAfter, time.Second), true
		case apiErr.Code >= 500 && apiErr.Code <= 599:
			if !p.RetryUnsafe && !safe {
				return 0, false
			}
			return p.Backoff(attempt), true
		}
		return 0, false
	}
	var ne *netError
	if !errors.As(err, &ne) {
		return 0, false
	}
	var certErr *tls.CertificateVerificationError
	var unknownAuth x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	if errors.As(err, &certErr) || errors.As(err, &unknownAuth) || errors.As(err, &hostErr) {
		return 0, false
	}
	if !ne.beforeSend && !p.RetryUnsafe && !safe {
		return 0, false
	}
	return p.Backoff(attempt), true
}

// unsafePrefixes are the name prefixes of methods whose repetition has a
// visible effect: a second message, a second invite link, a second transfer.
var unsafePrefixes = []string{
	"send", "copy", "forward", "create", "post", "repost", "gift",
	"transfer", "upgrade", "convert", "refund", "savePrepared",
	"addStickerToSet", "uploadStickerFile", "replaceManagedBotToken",
	"exportChatInviteLink",
}

// onceOnlyPrefixes are the name prefixes of methods that a second attempt
// cannot repeat harmlessly once the first has landed: it fails (an edit
// answers 400 "message is not modified", an answered query "query is too
// old", an approved join request "HIDE_REQUESTER_MISSING"), and the
// caller would see a failure for a call that succeeded. Their results (the
// edited Message, the stopped Poll) cannot be made up from such an answer.
var onceOnlyPrefixes = []string{
	"edit", "answer", "stopPoll", "setGameScore",
	"approveChatJoinRequest", "declineChatJoinRequest",
	"approveSuggestedPost", "declineSuggestedPost",
}

// onceOnlyMethods are methods, named in full, that fail when repeated
// after they succeeded: close (429 for ten minutes after a close), logOut
// (401 once logged out of the cloud server) and leaveChat (403 once out
// of the chat). closeForumTopic and the like are not among them.
var onceOnlyMethods = []string{"close", "logOut", "leaveChat"}

// RetrySafe reports whether the client may repeat method after a failure
// that may have reached Telegram (a 5xx answer, a connection broken after
// the request was sent). Per method family:
//
//   - false for methods that create or move something, where a repeat
//     would do it twice: send* (except sendChatAction and the send*Draft
//     methods, which replace rather than add), copy*, forward*, create*,
//     post*, repost*, gift*, transfer*, upgrade*, convert*, refund*,
//     savePrepared*, addStickerToSet, uploadStickerFile,
//     replaceManagedBotToken and exportChatInviteLink;
//   - false for methods that succeed once and fail when repeated, so that a
//     retry after a first attempt that did land would turn its success into
//     a failure: edit* ("message is not modified"), answer* (a query is
//     answered once), stopPoll, setGameScore, approve/declineChatJoinRequest,
//     approve/declineSuggestedPost, close, logOut and leaveChat. The caller
//     gets the ambiguous error (matching [ErrServer] or [ErrNetwork]) and
//     may read the state back;
//   - true for delete*: a retry whose first attempt did land is answered
//     400 "message to delete not found", which the client then takes as the
//     success it is (a first attempt answered so is still an error);
//   - true for the methods that answer True (set*, pin*, unpin*,
//     close/reopenForumTopic, ...): a retry whose first attempt did land
//     may be answered 400 "...not modified" (CHAT_NOT_MODIFIED,
//     TOPIC_NOT_MODIFIED, "chat description is not modified"), which the
//     client likewise takes as success after an attempt that may have
//     landed;
//   - true for every other method (get*, set*, ban*, pin*, ...), including
//     methods newer than this list, whose names follow the same verbs.
//
// One call is less safe than its method: unpinChatMessage without
// message_id (which unpins the most recent pinned message, so a repeat
// unpins another one) is not retried after such a failure.
//
// All methods are retried after a 429 or a failure to connect, which prove
// Telegram did nothing.
func RetrySafe(method string) bool {
	if method == "sendChatAction" || (strings.HasPrefix(method, "send") && strings.HasSuffix(method, "Draft")) {
		return true
	}
	for _, p := range unsafePrefixes {
		if strings.HasPrefix(method, p) {
			return false
		}
	}
	for _, p := range onceOnlyPrefixes {
		if strings.HasPrefix(method, p) {
			return false
		}
	}
	return !slices.Contains(onceOnlyMethods, method)
}

// retrySafeCall is [RetrySafe] for one call, whose parameters may make a
// safe method unsafe: unpinChatMessage without message_id unpins the most
// recent pinned message, so a repeat after it landed unpins another one.
func retrySafeCall(method string, params any) bool {
	if method == "unpinChatMessage" {
		switch p := params.(type) {
		case *UnpinChatMessageParams:
			return p != nil && p.MessageID != 0
		case UnpinChatMessageParams:
			return p.MessageID != 0
		}
		return false // a map or a struct of the caller's: not looked into
	}
	return RetrySafe(method)
}

// alreadyDone reports whether err, the answer to a repeat of method after
// an attempt that may have landed, says the first attempt did what was
// asked: a delete* answered 400 "message to delete not found", or a method
// answering True (set*, pin*, unpin*, delete*, ...) answered 400 "...not
// modified" (Telegram's "CHAT_NOT_MODIFIED" from pinChatMessage,
// deleteChatPhoto, setChatPermissions..., "chat description is not
// modified"): the chat is already as the call asked.
func alreadyDone(method string, err error, result any) bool {
	var e *Error
	if !errors.As(err, &e) || e.Code != 400 || e.err != nil {
		return false
	}
	if strings.HasPrefix(method, "delete") && strings.Contains(e.Description, "message to delete not found") {
		return true
	}
	if _, isTrue := result.(*bool); !isTrue && result != nil {
		return false // a Message or another result cannot be made up
	}
	d := strings.ToLower(e.Description)
	return RetrySafe(method) && (strings.Contains(d, "not_modified") || strings.Contains(d, "not modified"))
}

// mayHaveLanded reports whether a failed attempt may have reached Telegram
// and been performed: a 5xx answer, or a connection that broke after the
// request was sent.
func mayHaveLanded(err error) bool {
	var apiErr *Error
	if errors.As(err, &apiErr) {
		return apiErr.Code >= 500 && apiErr.Code <= 599
	}
	var ne *netError
	return errors.As(err, &ne) && !ne.beforeSend
}

// sleepCtx waits d or until ctx ends. It fails at once when ctx's deadline
// comes before the wait would end.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < d {
		return context.DeadlineExceeded
	}
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
