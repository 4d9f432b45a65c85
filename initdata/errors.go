package initdata

import "errors"

// Errors returned by [Parse], [Validate], [ValidateThirdParty] and
// [Validator]. Every error these functions return wraps exactly one of them,
// so callers branch with errors.Is; the wrapping text adds a short reason and
// never contains the bot token or the init data.
var (
	// ErrMalformed reports input that is not a raw init data query string:
	// longer than [MaxLength] (8 KiB) or empty; a pair without "=", with an
	// empty or percent-encoded key, or with a second "="; an empty pair; a
	// ";"; a bad percent escape; a duplicate key (a parser that keeps the
	// first value can be made to read a field that was not signed); a value
	// that decodes to a line feed (the data-check-string joins fields with
	// line feeds, so such a value could pass for two fields); a hash that is
	// not 64 hex digits; a signature that is not 64 bytes of unpadded
	// base64url; a user, receiver or chat that is not a JSON object of the
	// documented shape; or init data that was already URL-decoded or
	// re-serialised as JSON, which the message says.
	ErrMalformed = errors.New("initdata: malformed init data")

	// ErrHashMissing reports init data without a hash field (or with an
	// empty one).
	ErrHashMissing = errors.New("initdata: hash missing")

	// ErrHashInvalid reports a well-formed hash that does not match the
	// data: the data was changed, or it was signed for another bot token.
	ErrHashInvalid = errors.New("initdata: hash invalid")

	// ErrSignatureMissing reports init data without a signature field (or
	// with an empty one) given to third-party validation.
	ErrSignatureMissing = errors.New("initdata: signature missing")

	// ErrSignatureInvalid reports an Ed25519 signature that does not verify
	// for the bot id and public key: the data was changed, it belongs to
	// another bot, or it comes from the other Telegram environment.
	ErrSignatureInvalid = errors.New("initdata: signature invalid")

	// ErrAuthDateMissing reports init data without an auth_date field.
	ErrAuthDateMissing = errors.New("initdata: auth_date missing")

	// ErrAuthDateInvalid reports an auth_date that is not a positive Unix
	// time in seconds, or that lies more than [MaxClockSkew] in the future.
	ErrAuthDateInvalid = errors.New("initdata: auth_date invalid")

	// ErrExpired reports init data whose auth_date is older than the maximum
	// age (see [WithMaxAge]).
	ErrExpired = errors.New("initdata: expired")
)

// reason wraps a sentinel with a short, static explanation. The explanation
// never quotes the input: init data is a bearer credential.
type reason struct {
	err error
	msg string
}

func (r *reason) Error() string { return r.err.Error() + ": " + r.msg }
func (r *reason) Unwrap() error { return r.err }

func malformed(msg string) error { return &reason{ErrMalformed, msg} }

// Prebuilt errors for the hot paths, so a rejection costs no allocation.
var (
	errTooLong       = malformed("longer than 8 KiB")
	errEmpty         = malformed("empty (a Mini App opened from a keyboard button, or outside Telegram, has no init data)")
	errLooksJSON     = malformed("looks like JSON: pass the raw query string from Telegram.WebApp.initData, not initDataUnsafe or a re-serialised object")
	errLooksDecoded  = malformed("contains characters a raw query string never has (quote, brace, space, backslash, control or non-ASCII byte): was it already URL-decoded? Pass Telegram.WebApp.initData unchanged")
	errSemicolon     = malformed(`contains ";", which is not a query separator`)
	errEmptyPair     = malformed(`empty pair (a leading, trailing or doubled "&")`)
	errNoEquals      = malformed(`a pair has no "="`)
	errExtraEquals   = malformed(`a value contains an unescaped "="`)
	errEmptyKey      = malformed("a pair has an empty key")
	errBadEscape     = malformed("bad percent escape")
	errLineFeed      = malformed("a value holds a line feed, which would make the data-check-string ambiguous")
	errKey           = malformed("a key holds a byte other than a letter, digit or punctuation of a plain key")
	errDuplicate     = malformed("duplicate key")
	errHashFormat    = malformed("hash is not 64 hex digits")
	errSigFormat     = malformed("signature is not 64 bytes of unpadded base64url")
	errTooManyPairs  = malformed("too many fields")
	errCanSendAfter  = malformed("can_send_after is not a non-negative integer")
	errUserJSON      = malformed("user is not a JSON object of a Telegram user")
	errReceiverJSON  = malformed("receiver is not a JSON object of a Telegram user")
	errChatJSON      = malformed("chat is not a JSON object of a Telegram chat")
	errAuthDateFmt   = &reason{ErrAuthDateInvalid, "not a positive Unix time in seconds"}
	errAuthDateAhead = &reason{ErrAuthDateInvalid, "more than a minute in the future"}
	errEmptyToken    = &reason{ErrHashInvalid, "empty bot token"}
	errZeroValidator = &reason{ErrHashInvalid, "Validator not made by NewValidator"}
	errBadMaxAge     = &reason{ErrExpired, "negative maximum age"}
	errBadPublicKey  = &reason{ErrSignatureInvalid, "public key is not 32 bytes"}
)
