package initdata

import (
	"crypto/ed25519"
	"encoding/base64"
	"strconv"
)

// sigEncoding is the encoding of the signature field: unpadded base64url,
// strict, so that one signature has one spelling.
var sigEncoding = base64.RawURLEncoding.Strict()

// sigLen is the length of an encoded Ed25519 signature.
var sigLen = sigEncoding.EncodedLen(ed25519.SignatureSize)

// ValidateThirdParty checks the Ed25519 signature that Telegram adds to init
// data (Bot API 8.0), for services that know the bot's id but not its
// token, and returns the typed content. It verifies against
// [ProductionPublicKey], or [TestPublicKey] with [WithTestEnvironment], or
// any key with [WithPublicKey].
//
// In order: the input must be a raw query string ([ErrMalformed], see its
// doc), signature must be present ([ErrSignatureMissing]), 64 bytes of
// unpadded base64url ([ErrMalformed]) and verify ([ErrSignatureInvalid]) over
// the data-check-string "<botID>:WebAppData\n" followed by every field but
// hash and signature, sorted by key, as key=value joined by "\n"; then the
// auth_date rules of [Validator.Validate] apply, and the typed parse.
//
// Telegram docs: https://core.telegram.org/bots/webapps#validating-data-for-third-party-use
func ValidateThirdParty(initData string, botID int64, opts ...Option) (InitData, error) {
	sc := scratchPool.Get().(*scratch)
	defer func() { sc.release(); scratchPool.Put(sc) }()
	o := &sc.opts
	setOptions(o, opts)
	if o.err != nil {
		return InitData{}, o.err
	}
	var stack [stackPairs]pair
	p, err := scan(initData, stack[:0])
	if err != nil {
		return InitData{}, err
	}
	sc.buf = strconv.AppendInt(sc.buf[:0], botID, 10)
	sc.buf = append(sc.buf, thirdPartySuffix...)
	if sc.buf, err = decodeValues(sc.buf, p, true); err != nil {
		return InitData{}, err
	}
	si := find(p, keySignature)
	if si < 0 || p[si].raw == "" {
		return InitData{}, ErrSignatureMissing
	}
	var sig [ed25519.SignatureSize]byte
	s := p[si].raw
	if len(s) != sigLen {
		return InitData{}, errSigFormat
	}
	sc.tmp = append(sc.tmp[:0], s...)
	if n, err := sigEncoding.Decode(sig[:], sc.tmp); err != nil || n != len(sig) {
		return InitData{}, errSigFormat
	}
	if !ed25519.Verify(o.publicKey, sc.buf, sig[:]) {
		return InitData{}, ErrSignatureInvalid
	}
	if err := checkAuthDate(p, o); err != nil {
		return InitData{}, err
	}
	return build(p, sc)
}
