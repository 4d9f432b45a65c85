package initdata

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"hash"
	"slices"
	"sync"
	"time"
)

// macHash is the HMAC-SHA-256 of a Validator, reused through its pool.
type macHash = hash.Hash

// Option configures [Validate], [ValidateThirdParty] and [NewValidator].
type Option func(*options)

type options struct {
	maxAge    time.Duration
	now       func() time.Time
	publicKey ed25519.PublicKey
	err       error
}

// setOptions sets o to the defaults, then applies opts. Callers on the hot
// path pass a field of pooled scratch, so o does not escape anew.
func setOptions(o *options, opts []Option) {
	*o = options{maxAge: DefaultMaxAge, now: time.Now, publicKey: productionPublicKey}
	for _, opt := range opts {
		if opt != nil {
			opt(o)
		}
	}
}

// WithMaxAge sets how old auth_date may be: init data is expired when now
// is after auth_date + d (exactly auth_date + d is still valid). The default
// is [DefaultMaxAge] (24 hours); 0 turns the expiry check off. A negative d
// is a configuration error: every call then fails with [ErrExpired].
func WithMaxAge(d time.Duration) Option {
	return func(o *options) {
		if d < 0 {
			o.err = errBadMaxAge
		}
		o.maxAge = d
	}
}

// WithClock sets the clock the expiry check reads, for tests and replays.
// The default (and a nil now) is time.Now.
func WithClock(now func() time.Time) Option {
	return func(o *options) {
		if now == nil {
			now = time.Now
		}
		o.now = now
	}
}

// WithTestEnvironment makes [ValidateThirdParty] check signatures against
// [TestPublicKey], Telegram's test environment key, instead of
// [ProductionPublicKey]. [Validate] ignores it.
func WithTestEnvironment() Option {
	return func(o *options) { o.publicKey = testPublicKey }
}

// WithPublicKey makes [ValidateThirdParty] check signatures against key
// instead of [ProductionPublicKey], for tests with keys of your own (see
// [SignThirdParty]). The key is copied. A key that is not
// ed25519.PublicKeySize bytes is a configuration error: every call then
// fails with [ErrSignatureInvalid]. [Validate] ignores it.
func WithPublicKey(key ed25519.PublicKey) Option {
	return func(o *options) {
		if len(key) != ed25519.PublicKeySize {
			o.err = errBadPublicKey
		}
		o.publicKey = slices.Clone(key)
	}
}

// Validator validates init data signed for one bot token. It derives the
// secret key once and reuses its buffers, so [Validator.Validate] allocates
// only for the result (what encoding/json needs to decode the user,
// receiver and chat objects) and [Validator.Verify] nothing. A Validator is
// safe for concurrent use by multiple goroutines; make one per bot token with
// [NewValidator] and share it. The zero Validator rejects everything with
// [ErrHashInvalid].
type Validator struct {
	opts options
	err  error
	pool sync.Pool // *scratch with mac set
}

// NewValidator returns a Validator for init data signed with botToken's
// secret key, HMAC_SHA256(key "WebAppData", msg botToken). The token itself
// is not kept. An empty token is not an error here (the signature has no
// room for one) but makes every call fail with [ErrHashInvalid]; so do the
// configuration errors of the options.
//
// Telegram docs: https://core.telegram.org/bots/webapps#validating-data-received-via-the-mini-app
func NewValidator(botToken string, opts ...Option) *Validator {
	v := &Validator{}
	setOptions(&v.opts, opts)
	v.err = v.opts.err
	if botToken == "" {
		v.err = errEmptyToken
	}
	secret := secretKey(botToken)
	v.pool.New = func() any {
		sc := newScratch()
		sc.mac = hmac.New(sha256.New, secret[:])
		return sc
	}
	return v
}

// secretKey derives the HMAC key from a bot token.
func secretKey(botToken string) [sha256.Size]byte {
	m := hmac.New(sha256.New, []byte(secretKeyConstant))
	m.Write([]byte(botToken))
	var k [sha256.Size]byte
	m.Sum(k[:0])
	return k
}

// Validate checks init data the way Telegram documents it and returns its
// typed content. In order: the input must be a raw query string ([ErrMalformed]:
// at most [MaxLength] bytes, no duplicate keys, see its doc), hash must be
// present ([ErrHashMissing]) and 64 hex digits ([ErrMalformed]) and equal, in
// constant time, the HMAC-SHA-256 of the data-check-string under the
// secret key ([ErrHashInvalid]); then auth_date must be present
// ([ErrAuthDateMissing]), a positive Unix time no more than [MaxClockSkew]
// ahead of the clock ([ErrAuthDateInvalid]) and not older than the maximum
// age ([ErrExpired]); last, user, receiver and chat must be JSON objects
// ([ErrMalformed]).
//
// The data-check-string is every received field but hash (the Bot API 8.0
// signature field stays in), sorted by key, as key=value with the value
// percent-decoded ("+" is a space) exactly as received, joined by "\n".
//
// Telegram docs: https://core.telegram.org/bots/webapps#validating-data-received-via-the-mini-app
func (v *Validator) Validate(initData string) (InitData, error) {
	sc, ok := v.pool.Get().(*scratch)
	if !ok {
		return InitData{}, errZeroValidator
	}
	defer v.put(sc)
	var stack [stackPairs]pair
	p, err := v.check(initData, sc, stack[:0])
	if err != nil {
		return InitData{}, err
	}
	return build(p, sc)
}

// Verify makes every check of [Validator.Validate] but the typed parse of
// user, receiver and chat, and builds no result: for gateways that need
// only yes or no. It allocates nothing.
func (v *Validator) Verify(initData string) error {
	sc, ok := v.pool.Get().(*scratch)
	if !ok {
		return errZeroValidator
	}
	defer v.put(sc)
	var stack [stackPairs]pair
	_, err := v.check(initData, sc, stack[:0])
	return err
}

func (v *Validator) put(sc *scratch) {
	sc.release()
	v.pool.Put(sc)
}

// check makes every check but the typed parse, with the pairs in dst (a
// caller's stack array, so scan allocates nothing).
func (v *Validator) check(initData string, sc *scratch, dst []pair) ([]pair, error) {
	if v.err != nil {
		return nil, v.err
	}
	// Telegram's algorithm: the data-check-string is every field but hash,
	// sorted by key, "key=value" with the value decoded, joined by "\n";
	// hash must be its HMAC-SHA-256 under the secret key.
	p, err := scan(initData, dst)
	if err != nil {
		return nil, err
	}
	if sc.buf, err = decodeValues(sc.buf[:0], p, false); err != nil {
		return nil, err
	}
	h := find(p, keyHash)
	if h < 0 || p[h].raw == "" {
		return nil, ErrHashMissing
	}
	var want [sha256.Size]byte
	if !decodeHash(&want, p[h].raw) {
		return nil, errHashFormat
	}
	sc.mac.Reset()
	sc.mac.Write(sc.buf)
	if !hmac.Equal(sc.mac.Sum(sc.sum[:0]), want[:]) {
		return nil, ErrHashInvalid
	}
	if err := checkAuthDate(p, &v.opts); err != nil {
		return nil, err
	}
	return p, nil
}

// decodeHash decodes a hash of exactly 64 hex digits.
func decodeHash(dst *[sha256.Size]byte, h string) bool {
	if len(h) != 2*sha256.Size {
		return false
	}
	h = h[:2*len(dst)]
	var bad uint8 // high nibble set by a non-hex digit
	for i := range dst {
		a, b := unhexTable[h[2*i]], unhexTable[h[2*i+1]]
		bad |= a | b
		dst[i] = a<<4 | b
	}
	return bad&0xf0 == 0
}

// checkAuthDate applies the auth_date rules of o to the pairs.
func checkAuthDate(p []pair, o *options) error {
	a := find(p, keyAuthDate)
	if a < 0 {
		return ErrAuthDateMissing
	}
	t, ok := parseUnsigned(p[a].raw)
	if !ok || t == 0 {
		return errAuthDateFmt
	}
	now := o.now()
	// auth_date is whole seconds, so "more than MaxClockSkew after now"
	// compares in seconds exactly.
	if t > now.Unix()+int64(MaxClockSkew/time.Second) {
		return errAuthDateAhead
	}
	if o.maxAge > 0 {
		// Whole seconds decide unless now is within a second of the limit.
		age, limit := now.Unix()-t, int64(o.maxAge/time.Second)
		if age > limit || age >= limit-1 && now.Sub(time.Unix(t, 0)) > o.maxAge {
			return ErrExpired
		}
	}
	return nil
}

// Validate validates init data signed for botToken and returns its typed
// content: [NewValidator] followed by [Validator.Validate]. It derives the
// secret key on every call; make a Validator once when validating many.
//
// Telegram docs: https://core.telegram.org/bots/webapps#validating-data-received-via-the-mini-app
func Validate(initData, botToken string, opts ...Option) (InitData, error) {
	return NewValidator(botToken, opts...).Validate(initData)
}
