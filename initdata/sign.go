package initdata

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Sign returns init data for values signed with botToken, as Telegram would
// send it, so tests and local tools can run without Telegram: every field of
// values (its first value per key), auth_date set to authDate, and hash
// last. A hash in values is replaced and so is auth_date; a signature field
// is kept and covered by the hash. values is not modified. Values are
// percent-encoded with %20 for spaces, as Telegram clients do. Keys are
// written as they are: use plain ones (letters, digits, "_" and other
// punctuation but "&", "=", ";", "%", "+", quotes, braces and brackets), as
// Telegram does, since the validators reject any other. A value with a line
// feed does not validate either (see [ErrMalformed]).
//
// To make data that passes both [Validate] and [ValidateThirdParty], sign
// with [SignThirdParty] first, then pass the result, parsed with
// url.ParseQuery, to Sign.
func Sign(values url.Values, botToken string, authDate time.Time) string {
	p := signPairs(values, authDate, false)
	secret := secretKey(botToken)
	m := hmac.New(sha256.New, secret[:])
	m.Write(appendPlainCheckString(nil, p, false))
	return encodePairs(p) + "&" + keyHash + "=" + hex.EncodeToString(m.Sum(nil))
}

// SignThirdParty returns init data for values signed as Telegram signs the
// signature field (Bot API 8.0), for bot botID, with key instead of
// Telegram's private key; validate it with [ValidateThirdParty] and
// [WithPublicKey]. Like [Sign] it sets auth_date, keeps the first value per
// key, does not modify values, and replaces any signature; it drops hash
// (sign the result with [Sign] to add one). It panics if key is not
// ed25519.PrivateKeySize bytes, as ed25519.Sign does.
func SignThirdParty(values url.Values, botID int64, key ed25519.PrivateKey, authDate time.Time) string {
	p := signPairs(values, authDate, true)
	msg := strconv.AppendInt(nil, botID, 10)
	msg = append(msg, thirdPartySuffix...)
	msg = appendPlainCheckString(msg, p, true)
	sig := ed25519.Sign(key, msg)
	return encodePairs(p) + "&" + keySignature + "=" + sigEncoding.EncodeToString(sig)
}

// field is a key and its plain (not percent-encoded) value, as Sign and
// SignThirdParty build them.
type field struct {
	key, val string
}

// signPairs returns the sorted, plain fields to sign.
func signPairs(values url.Values, authDate time.Time, dropSignature bool) []field {
	p := make([]field, 0, len(values)+1)
	for k, vs := range values {
		if k == keyHash || k == keyAuthDate || dropSignature && k == keySignature || len(vs) == 0 {
			continue
		}
		p = append(p, field{key: k, val: vs[0]})
	}
	p = append(p, field{key: keyAuthDate, val: strconv.FormatInt(authDate.Unix(), 10)})
	slices.SortFunc(p, func(a, b field) int { return strings.Compare(a.key, b.key) })
	return p
}

func encodePairs(p []field) string {
	var b strings.Builder
	for i, kv := range p {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(escapeKey(kv.key))
		b.WriteByte('=')
		b.WriteString(escape(kv.val))
	}
	return b.String()
}

// escapeKey leaves a plain key (Telegram's are) as it is, since the
// validators reject percent-encoded keys, and escapes any other.
func escapeKey(k string) string {
	for i := 0; i < len(k); i++ {
		if byteClasses[k[i]] != clsPlain || k[i] == '&' {
			return escape(k)
		}
	}
	return k
}

// escape percent-encodes s like encodeURIComponent: QueryEscape's "+" for
// a space becomes "%20" (a literal "+" is already "%2B").
func escape(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}

// appendPlainCheckString appends the data-check-string of sorted fields.
func appendPlainCheckString(dst []byte, p []field, skipSignature bool) []byte {
	first := true
	for _, kv := range p {
		if kv.key == keyHash || skipSignature && kv.key == keySignature {
			continue
		}
		if !first {
			dst = append(dst, '\n')
		}
		first = false
		dst = append(dst, kv.key...)
		dst = append(dst, '=')
		dst = append(dst, kv.val...)
	}
	return dst
}
