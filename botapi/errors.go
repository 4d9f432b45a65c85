package botapi

import (
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Sentinel errors. A *[Error] matches the sentinel for its code with
// [errors.Is], so callers branch without reading codes or descriptions:
//
//	if errors.Is(err, botapi.ErrForbidden) { // the user blocked the bot
//		markInactive(userID)
//	}
var (
	// ErrBadRequest matches a 400 answer: bad parameters, message not found,
	// chat not found, message is not modified...
	ErrBadRequest = errors.New("botapi: bad request")
	// ErrUnauthorized matches a 401 answer: the token is wrong or revoked.
	ErrUnauthorized = errors.New("botapi: unauthorized")
	// ErrForbidden matches a 403 answer: the bot was blocked by the user,
	// the user is deactivated, the bot was kicked from the chat...
	ErrForbidden = errors.New("botapi: forbidden")
	// ErrNotFound matches a 404 answer: usually an unknown method or a
	// malformed token.
	ErrNotFound = errors.New("botapi: not found")
	// ErrConflict matches a 409 answer: getUpdates while a webhook is set, or
	// two getUpdates pollers at once.
	ErrConflict = errors.New("botapi: conflict")
	// ErrTooManyRequests matches a 429 answer; [Error.RetryAfter] says how
	// long to wait.
	ErrTooManyRequests = errors.New("botapi: too many requests")
	// ErrServer matches a 5xx answer, from Telegram or a proxy in front of it.
	ErrServer = errors.New("botapi: server error")

	// ErrInvalidResponse matches an answer that is not Bot API JSON (a
	// proxy's HTML error page, a truncated or oversized body, a result of an
	// unexpected shape). It comes wrapped in an *[Error] whose Code is the
	// HTTP status (0 if it was 2xx).
	ErrInvalidResponse = errors.New("botapi: invalid response")
	// ErrNetwork matches a failure to get an answer at all: DNS, connect,
	// TLS, a connection reset or a timeout. The error also wraps the
	// underlying *url.Error (with the token redacted) and its cause.
	ErrNetwork = errors.New("botapi: network error")
	// ErrConfig matches a call made on a Client built with an invalid option
	// or token.
	ErrConfig = errors.New("botapi: invalid configuration")
)

// Error is an error answer from the Bot API ("ok": false), or an answer that
// is not Bot API JSON (then it wraps [ErrInvalidResponse]).
//
// errors.Is(err, ErrForbidden) and the other sentinels match on Code, like
// syscall.Errno: 400 [ErrBadRequest], 401 [ErrUnauthorized], 403
// [ErrForbidden], 404 [ErrNotFound], 409 [ErrConflict], 429
// [ErrTooManyRequests], 5xx [ErrServer].
//
// Telegram docs: https://core.telegram.org/bots/api#making-requests
type Error struct {
	// Method is the Bot API method called, e.g. "sendMessage".
	Method string
	// Code is Telegram's error_code (which equals the HTTP status), or the
	// HTTP status of an answer that is not Bot API JSON: 0 when that
	// status was 2xx (then the error matches [ErrInvalidResponse]).
	Code int
	// Description is Telegram's human-readable description, e.g.
	// "Forbidden: bot was blocked by the user". It may change without
	// notice: branch on Code and the sentinels, not on it.
	Description string
	// RetryAfter is parameters.retry_after of a 429 answer: how long to wait
	// before repeating the call.
	RetryAfter time.Duration
	// MigrateToChatID is parameters.migrate_to_chat_id: the group became a
	// supergroup with this id; repeat the call with it.
	MigrateToChatID int64

	err error // ErrInvalidResponse for a non-JSON answer
}

// Error returns "botapi: <method>: <code> <description>".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("botapi: ")
	b.WriteString(e.Method)
	b.WriteString(": ")
	if e.err != nil && e.err != ErrInvalidResponse {
		b.WriteString(e.err.Error())
		b.WriteString(": ")
	}
	if e.Code != 0 {
		b.WriteString(strconv.Itoa(e.Code))
		b.WriteString(" ")
	}
	b.WriteString(e.Description)
	if e.RetryAfter > 0 {
		b.WriteString(" (retry after ")
		b.WriteString(e.RetryAfter.String())
		b.WriteString(")")
	}
	if e.MigrateToChatID != 0 {
		b.WriteString(" (migrated to chat ")
		b.WriteString(strconv.FormatInt(e.MigrateToChatID, 10))
		b.WriteString(")")
	}
	return b.String()
}

// Is reports whether target is the sentinel for e's Code (or
// [ErrInvalidResponse] for a non-JSON answer).
func (e *Error) Is(target error) bool {
	switch target {
	case ErrBadRequest:
		return e.Code == http.StatusBadRequest
	case ErrUnauthorized:
		return e.Code == http.StatusUnauthorized
	case ErrForbidden:
		return e.Code == http.StatusForbidden
	case ErrNotFound:
		return e.Code == http.StatusNotFound
	case ErrConflict:
		return e.Code == http.StatusConflict
	case ErrTooManyRequests:
		return e.Code == http.StatusTooManyRequests
	case ErrServer:
		return e.Code >= 500 && e.Code <= 599
	}
	return false
}

// Unwrap returns [ErrInvalidResponse] for a non-JSON answer, nil otherwise.
func (e *Error) Unwrap() error { return e.err }

// netError is a failure to get an answer. Its text and chain hold the
// redacted *url.Error, never the token.
type netError struct {
	method     string
	err        error
	status     int  // HTTP status when the body failed mid-read
	beforeSend bool // the request certainly did not reach the server
}

func (e *netError) Error() string {
	return "botapi: " + e.method + ": network error: " + e.err.Error()
}

func (e *netError) Is(target error) bool { return target == ErrNetwork }

func (e *netError) Unwrap() error { return e.err }

// retryError is the last error of a call that was attempted more than once.
type retryError struct {
	attempts int
	err      error
}

func (e *retryError) Error() string {
	return e.err.Error() + " (giving up after " + strconv.Itoa(e.attempts) + " attempts)"
}

func (e *retryError) Unwrap() error { return e.err }

// landedError is the error of a call an earlier attempt of which may have
// been performed (a 5xx, a connection broken after the request was
// written) before the client tried again: whatever the last attempt got
// (a 4xx, a 429, a breaker's refusal), the call may have been applied.
// Its text and chain are err's.
type landedError struct{ err error }

func (e *landedError) Error() string { return e.err.Error() }

func (e *landedError) Unwrap() error { return e.err }

// limiterError is the error of an attempt the client's [Limiter] did not
// let go (its Wait failed: the context ended, the store failed, the send's
// one admission was used): that attempt made no request. Its text and
// chain are err's.
type limiterError struct{ err error }

func (e *limiterError) Error() string { return e.err.Error() }

func (e *limiterError) Unwrap() error { return e.err }

// afterLanded wraps err in a *landedError when landed.
func afterLanded(landed bool, err error) error {
	if landed {
		return &landedError{err: err}
	}
	return err
}

// redact rewrites err so that neither its text nor any error in its chain
// holds the token: *url.Error carries the request URL, whose path is
// /bot<token>/<method>.
func (c *Client) redact(err error) error {
	if err == nil {
		return nil
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		inner := ue.Err
		if inner != nil && c.key().token != "" && strings.Contains(inner.Error(), c.key().token) {
			// Seen with url.Parse errors, which quote the whole URL.
			inner = redactedError{msg: strings.ReplaceAll(inner.Error(), c.key().token, redacted), err: unwrapSafe(inner, c.key().token)}
		}
		return &url.Error{Op: ue.Op, URL: c.redactString(ue.URL), Err: inner}
	}
	if c.key().token != "" && strings.Contains(err.Error(), c.key().token) {
		return redactedError{msg: strings.ReplaceAll(err.Error(), c.key().token, redacted), err: unwrapSafe(err, c.key().token)}
	}
	return err
}

// redactString replaces the token in s.
func (c *Client) redactString(s string) string {
	if c.key().token == "" {
		return s
	}
	s = strings.ReplaceAll(s, c.key().token, redacted)
	// The URL may hold the token escaped.
	if esc := url.PathEscape(c.key().token); esc != c.key().token {
		s = strings.ReplaceAll(s, esc, "<redacted>")
	}
	return s
}

// unwrapSafe returns the first error in err's chain whose text does not
// hold the token, so errors.Is still finds causes such as
// context.DeadlineExceeded.
func unwrapSafe(err error, token string) error {
	for e := errors.Unwrap(err); e != nil; e = errors.Unwrap(e) {
		if !strings.Contains(e.Error(), token) {
			return e
		}
	}
	return nil
}

// redactedError is an error whose text had the token replaced.
type redactedError struct {
	msg string
	err error
}

func (e redactedError) Error() string { return e.msg }
func (e redactedError) Unwrap() error { return e.err }

// notSent reports whether a transport error proves the request never reached
// the server (DNS, connect or TLS handshake failures), so that any method may
// be retried after it.
func notSent(err error) bool {
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return true
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Op == "dial" {
		return true
	}
	var recErr tls.RecordHeaderError
	if errors.As(err, &recErr) {
		return true
	}
	var certErr *tls.CertificateVerificationError
	return errors.As(err, &certErr)
}

// NotApplied reports whether err, the error of a call, proves that
// Telegram did not apply the call: Telegram refused it (a 4xx answer, 429
// included), a [Breaker] refused it ([ErrCircuitOpen]), the client was
// built with an invalid option ([ErrConfig]), its [Limiter] did not let
// the request go (Limiter.Wait failed), or the request never left (a DNS
// or connect failure, a server certificate that does not verify, a peer
// that does not speak TLS). Any other failure
// (a timeout, a 5xx, a connection broken after the request was written, an
// answer that is not Bot API JSON, an error of another kind) leaves the
// call's fate unknown, and NotApplied reports false, as it does for nil.
//
// It judges every attempt of the call: when the client repeated it after an
// attempt of unknown fate (a method [RetrySafe] reports true for, such as
// set* or delete*, or any method with RetryPolicy.RetryUnsafe), that
// attempt may have applied it whatever a later one got, and NotApplied
// reports false.
func NotApplied(err error) bool {
	var le *landedError
	if err == nil || errors.As(err, &le) {
		return false
	}
	var apiErr *Error
	if errors.As(err, &apiErr) {
		return apiErr.Code >= 400 && apiErr.Code <= 499
	}
	var lim *limiterError
	if errors.As(err, &lim) || errors.Is(err, ErrCircuitOpen) || errors.Is(err, ErrConfig) {
		return true
	}
	var ne *netError
	return errors.As(err, &ne) && ne.beforeSend
}
