package webhook

import (
	"crypto/rand"
	"crypto/subtle"
	"net/http"
)

const (
	// HeaderSecretToken is the header in which Telegram sends the webhook's
	// secret_token.
	// Telegram docs: https://core.telegram.org/bots/api#setwebhook
	HeaderSecretToken = "X-Telegram-Bot-Api-Secret-Token"

	// MaxSecretTokenLen is the longest secret_token Telegram accepts;
	// the shortest is 1 character.
	// Telegram docs: https://core.telegram.org/bots/api#setwebhook
	MaxSecretTokenLen = 256

	// secretTokenAlphabet is the secret_token charset: A-Z, a-z, 0-9, _ and -.
	// Telegram docs: https://core.telegram.org/bots/api#setwebhook
	secretTokenAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"

	// newSecretTokenLen is the length of a token from NewSecretToken:
	// 64 characters of a 64-symbol alphabet, 384 bits.
	newSecretTokenLen = 64
)

// CheckSecretToken reports whether token is a valid Telegram webhook
// secret_token: 1 to 256 characters, each one of A-Z, a-z, 0-9, _ and -.
// It returns nil or [ErrInvalidSecretToken].
//
// Telegram docs: https://core.telegram.org/bots/api#setwebhook
func CheckSecretToken(token string) error {
	if len(token) == 0 || len(token) > MaxSecretTokenLen {
		return ErrInvalidSecretToken
	}
	for i := 0; i < len(token); i++ {
		c := token[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return ErrInvalidSecretToken
		}
	}
	return nil
}

// NewSecretToken returns a random secret_token of 64 characters from
// Telegram's allowed charset (A-Z, a-z, 0-9, _ and -), 384 bits of entropy
// from crypto/rand. Pass it to [Register] and [NewHandler].
//
// Telegram docs: https://core.telegram.org/bots/api#setwebhook
func NewSecretToken() string {
	var b [newSecretTokenLen]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	for i := range b {
		b[i] = secretTokenAlphabet[b[i]&63] // 64 symbols: no modulo bias
	}
	return string(b[:])
}

// secretTokenStatus is the outcome of checking the secret header.
type secretTokenStatus uint8

const (
	tokenOK secretTokenStatus = iota
	tokenMissing
	tokenMismatch
)

// checkSecretHeader compares the request's secret header with want in
// constant time (time depends on len(want) only, never on where the
// inputs differ or on the length of the sent value).
func checkSecretHeader(h http.Header, want string) secretTokenStatus {
	got := headerValue(h, HeaderSecretToken)
	if got == "" {
		return tokenMissing
	}
	if !tokenEqual(got, want) {
		return tokenMismatch
	}
	return tokenOK
}

// tokenEqual compares with crypto/subtle: its time depends on len(want)
// only. Lengths are compared as ints (a narrowing cast would let a token
// 2^32 bytes longer than want pass as want).
func tokenEqual(got, want string) bool {
	same := len(got) == len(want)
	if !same {
		got = want // compare want with itself so the time is the same
	}
	eq := subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
	return same && eq
}

// SecretTokenMiddleware returns middleware that answers 401, before the body
// is read and with no hint of the cause, to a request whose
// X-Telegram-Bot-Api-Secret-Token header is not token (compared in constant
// time). [NewHandler] does this check itself; use the middleware to guard
// another handler of Telegram's deliveries. Of opts only [WithObserver]
// applies (each refusal is a [Rejection] of scheme "telegram"). It fails
// with [ErrNoSecretToken] for an empty token, with [ErrInvalidSecretToken]
// for one that fails [CheckSecretToken], and for an invalid option.
//
// Telegram docs: https://core.telegram.org/bots/api#setwebhook
func SecretTokenMiddleware(token string, opts ...Option) (func(http.Handler) http.Handler, error) {
	if token == "" {
		return nil, ErrNoSecretToken
	}
	if err := CheckSecretToken(token); err != nil {
		return nil, err
	}
	obs, err := middlewareObserver(opts)
	if err != nil {
		return nil, err
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if checkSecretHeader(r.Header, token) != tokenOK {
				reject(r.Context(), obs, schemeTelegram, secretReason(r.Header), http.StatusUnauthorized)
				writeProblem(w, http.StatusUnauthorized, "Unauthorized", "")
				return
			}
			next.ServeHTTP(w, r)
		})
	}, nil
}
