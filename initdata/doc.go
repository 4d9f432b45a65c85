// Package initdata validates, parses and signs the init data of Telegram
// Mini Apps: the query string a Mini App page reads from
// Telegram.WebApp.initData and sends to its backend. Nothing in it can be
// trusted until it is validated.
//
// # Validating
//
// Make one [Validator] per bot token and share it; it is safe for
// concurrent use and reuses its buffers, so a call allocates only for its
// result (the user, receiver and chat objects, decoded by encoding/json):
//
//	v := initdata.NewValidator(os.Getenv("TELEGRAM_BOT_TOKEN"))
//	d, err := v.Validate(raw) // raw: the string from Telegram.WebApp.initData
//	if err != nil {
//		// errors.Is(err, initdata.ErrExpired), initdata.ErrHashInvalid, ...
//	}
//	id, ok := d.UserID() // ok is false when the init data names no user
//
// [Validator.Verify] answers yes or no without building the result, at no
// allocation. [Validate] is the one-shot form. Options: [WithMaxAge]
// (default 24 hours, 0 turns the expiry check off) and [WithClock].
//
// Services that know a bot's id but not its token check the Ed25519
// signature instead, with [ValidateThirdParty] (and [WithTestEnvironment] or
// [WithPublicKey]).
//
// # HTTP
//
// [Middleware] reads "Authorization: tma <initData>", answers 401 to
// anything that does not validate, and puts the result in the request
// context for [FromContext]. Its 401 is an RFC 9457 problem+json body
// (package [github.com/miniappkit/miniappkit/problem]) naming one public
// reason, "missing", "expired" or "invalid" ([PublicReason]), which tells
// an attacker nothing they lack. [WithErrorHandler] answers in your own
// format, [WithRequireUser] rejects init data without a user, and
// [WithLogger] logs why each request was rejected, never what it held.
//
// The problem package is the one package of this module initdata imports:
// a standard-library-only leaf, so initdata stays a leaf too.
//
// # Errors
//
// Every failure wraps one sentinel: [ErrMalformed], [ErrHashMissing],
// [ErrHashInvalid], [ErrSignatureMissing], [ErrSignatureInvalid],
// [ErrAuthDateMissing], [ErrAuthDateInvalid] or [ErrExpired]. Input is
// bounded ([MaxLength], 8 KiB) and bad input never panics. Duplicate keys are
// rejected (a first-value parser can be fooled into reading a field that was
// not signed), and so is init data that was already URL-decoded or turned
// into JSON: the error says so.
//
// # Testing without Telegram
//
// [Sign] and [SignThirdParty] produce valid init data for any values, so
// tests and local tools need no Telegram client. [Parse] reads init data
// without checking it.
//
// Telegram docs: https://core.telegram.org/bots/webapps#validating-data-received-via-the-mini-app
package initdata
