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

func tokenEqual(got, want string) bool {
	same := subtle.ConstantTimeEq(int32(len(got)), int32(len(want)))
	if len(got) != len(want) {
		got = want // compare want with itself so the loop's time is the same
	}
	var v byte
	for i := 0; i < len(want); i++ {
		v |= got[i] ^ want[i]
	}
	return same&subtle.ConstantTimeByteEq(v, 0) == 1
}
