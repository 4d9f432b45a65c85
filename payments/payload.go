package payments

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"strings"
	"time"
)

// Payload limits. Telegram accepts an invoice payload of 1-128 bytes.
//
// Telegram docs: https://core.telegram.org/bots/api#sendinvoice
const (
	MaxPayloadBytes = 128 // longest invoice payload Telegram accepts
	MinPayloadBytes = 1   // shortest invoice payload Telegram accepts
)

// Codec layout: base64url (no padding) of
//
//	version(1) keyID(1) flags(1) [user varint] [expiry uvarint] [currency(3) amount uvarint [maxTip uvarint]]
//	len(ref) uvarint, ref, [len(product) uvarint, product], mac(16)
//
// 128 base64 characters carry 96 bytes, so the fields share 96-3-16 = 77 bytes.
const (
	codecVersion  = 1
	macSize       = 16 // truncated HMAC-SHA256: 128 bits
	maxRawPayload = MaxPayloadBytes / 4 * 3
	minSecretSize = 16

	flagUser    = 1 << 0
	flagExpiry  = 1 << 1
	flagPrice   = 1 << 2
	flagProduct = 1 << 3
	flagTip     = 1 << 4 // only with flagPrice
	knownFlags  = flagUser | flagExpiry | flagPrice | flagProduct | flagTip
)

// macDomain separates this codec's MACs from any other use of the same key.
var macDomain = []byte("miniappkit/payments/payload/v1\x00")

var b64 = base64.RawURLEncoding.Strict()

// Order is what a payload carries: the seller's order reference and the
// bindings the seller chooses. Only Ref is required.
type Order struct {
	// Ref is the seller's order reference (an id in the seller's database), at least 1 byte.
	Ref string
	// UserID binds the order to one buyer; 0 means any buyer may pay.
	UserID int64
	// Product is an optional product or plan identifier.
	Product string
	// Currency and Amount bind the price: pre-checkout rejects a query with
	// another currency or total. Set both or neither; Amount in smallest units.
	Currency string
	Amount   int64
	// MaxTip is the most, in smallest units, by which a provider payment's
	// total may exceed Amount: set it to the invoice's max_tip_amount
	// (plus, for a flexible invoice, the dearest shipping option, whose price
	// Telegram also adds to the total). Zero: the total must equal Amount.
	// Needs a price and a currency other than Telegram Stars (no tips).
	//
	// Telegram docs: https://core.telegram.org/bots/api#sendinvoice
	MaxTip int64
	// Expires is when the order stops being payable, kept to the second;
	// the zero time means never.
	Expires time.Time
}

// Key is an HMAC key for payloads. ID travels in every payload so the codec
// knows which key signed it; Secret must hold at least 16 bytes (32 random
// bytes recommended).
type Key struct {
	ID     byte
	Secret []byte
}

// Codec packs an [Order] into a tamper-proof invoice payload of at most
// [MaxPayloadBytes] and reads it back. One key signs; several keys verify, so
// keys rotate without failing payments in flight: add the new key as a
// verify key everywhere, then make it the signing key, then drop the old one
// once the longest order expiry has passed.
//
// A payload is opaque base64url text; its content is signed, not encrypted
// (Telegram shows it to nobody, but do not put secrets in it).
// A Codec is safe for concurrent use.
type Codec struct {
	signing Key
	keys    map[byte][]byte
}

// NewCodec returns a codec signing with signing and accepting payloads
// signed by signing or by any of verify. Key IDs must be distinct and every
// secret at least 16 bytes; the codec keeps its own copies of the secrets.
func NewCodec(signing Key, verify ...Key) (*Codec, error) {
	c := &Codec{keys: make(map[byte][]byte, 1+len(verify))}
	for i, k := range append([]Key{signing}, verify...) {
		if len(k.Secret) < minSecretSize {
			return nil, fmt.Errorf("payments: key %d (id %d): secret shorter than %d bytes", i, k.ID, minSecretSize)
		}
		if _, dup := c.keys[k.ID]; dup {
			return nil, fmt.Errorf("payments: key id %d given twice", k.ID)
		}
		c.keys[k.ID] = append([]byte(nil), k.Secret...)
	}
	c.signing = Key{ID: signing.ID, Secret: c.keys[signing.ID]}
	return c, nil
}

// Encode returns the signed payload for o, at most [MaxPayloadBytes] long.
// It fails with [ErrPayloadTooLong] when Ref and Product leave no room
// (together they get about 60-75 bytes, depending on the other fields), and
// with [ErrPayloadMalformed] for an empty Ref or a half-set price.
func (c *Codec) Encode(o Order) (string, error) {
	if o.Ref == "" {
		return "", fmt.Errorf("%w: empty order reference", ErrPayloadMalformed)
	}
	if (o.Currency == "") != (o.Amount == 0) || (o.Currency != "" && !isCurrencyCode(o.Currency)) {
		return "", fmt.Errorf("%w: price needs a three-letter upper-case currency code and a non-zero amount", ErrPayloadMalformed)
	}
	if o.Amount < 0 {
		return "", fmt.Errorf("%w: negative amount", ErrPayloadMalformed)
	}
	if o.MaxTip < 0 || (o.MaxTip != 0 && (o.Currency == "" || o.Currency == XTR)) {
		return "", fmt.Errorf("%w: max tip needs a price in a currency other than %s and must not be negative", ErrPayloadMalformed, XTR)
	}
	if !o.Expires.IsZero() && o.Expires.Unix() <= 0 {
		return "", fmt.Errorf("%w: expiry before 1970", ErrPayloadMalformed)
	}
	buf := make([]byte, 0, maxRawPayload+binary.MaxVarintLen64)
	var flags byte
	if o.UserID != 0 {
		flags |= flagUser
	}
	if !o.Expires.IsZero() {
		flags |= flagExpiry
	}
	if o.Currency != "" {
		flags |= flagPrice
	}
	if o.Product != "" {
		flags |= flagProduct
	}
	if o.MaxTip != 0 {
		flags |= flagTip
	}
	buf = append(buf, codecVersion, c.signing.ID, flags)
	if flags&flagUser != 0 {
		buf = binary.AppendVarint(buf, o.UserID)
	}
	if flags&flagExpiry != 0 {
		buf = binary.AppendUvarint(buf, uint64(o.Expires.Unix()))
	}
	if flags&flagPrice != 0 {
		buf = append(buf, o.Currency...)
		buf = binary.AppendUvarint(buf, uint64(o.Amount))
		if flags&flagTip != 0 {
			buf = binary.AppendUvarint(buf, uint64(o.MaxTip))
		}
	}
	buf = binary.AppendUvarint(buf, uint64(len(o.Ref)))
	buf = append(buf, o.Ref...)
	if flags&flagProduct != 0 {
		buf = binary.AppendUvarint(buf, uint64(len(o.Product)))
		buf = append(buf, o.Product...)
	}
	if len(buf)+macSize > maxRawPayload {
		return "", fmt.Errorf("%w: order needs %d bytes, at most %d fit in %d payload bytes",
			ErrPayloadTooLong, len(buf)+macSize, maxRawPayload, MaxPayloadBytes)
	}
	buf = append(buf, mac(c.signing.Secret, buf)...)
	return b64.EncodeToString(buf), nil
}

func mac(secret, msg []byte) []byte {
	h := hmac.New(sha256.New, secret)
	h.Write(macDomain)
	h.Write(msg)
	return h.Sum(nil)[:macSize]
}

// Decode is DecodeAt(payload, time.Now()).
func (c *Codec) Decode(payload string) (Order, error) {
	return c.DecodeAt(payload, time.Now())
}

// DecodeAt verifies payload and returns its order as of now. It fails with
// [ErrPayloadMalformed] for text this codec did not produce,
// [ErrPayloadSignature] for a payload not signed by any of the codec's keys
// (forged or altered), and [ErrPayloadExpired] once now reaches the order's
// expiry. Only payloads byte-for-byte equal to an [Codec.Encode] result are
// accepted. Binding to a buyer is checked by [Order.CheckUser].
func (c *Codec) DecodeAt(payload string, now time.Time) (Order, error) {
	return c.decode(payload, now, true)
}

// decode verifies payload; checkExpiry false skips the expiry check (for a
// payment already made).
func (c *Codec) decode(payload string, now time.Time, checkExpiry bool) (Order, error) {
	if len(payload) < MinPayloadBytes || len(payload) > MaxPayloadBytes {
		return Order{}, fmt.Errorf("%w: length %d", ErrPayloadMalformed, len(payload))
	}
	// encoding/base64 skips '\r' and '\n' even in strict mode: refuse them,
	// so that only Encode's exact text decodes.
	if strings.ContainsAny(payload, "\r\n") {
		return Order{}, fmt.Errorf("%w: not base64url", ErrPayloadMalformed)
	}
	raw, err := b64.DecodeString(payload)
	if err != nil {
		return Order{}, fmt.Errorf("%w: not base64url", ErrPayloadMalformed)
	}
	if len(raw) < 3+1+macSize {
		return Order{}, fmt.Errorf("%w: too short", ErrPayloadMalformed)
	}
	if raw[0] != codecVersion {
		return Order{}, fmt.Errorf("%w: version %d", ErrPayloadMalformed, raw[0])
	}
	secret, ok := c.keys[raw[1]]
	if !ok {
		return Order{}, fmt.Errorf("%w: unknown key id %d", ErrPayloadSignature, raw[1])
	}
	body, sum := raw[:len(raw)-macSize], raw[len(raw)-macSize:]
	if !hmac.Equal(sum, mac(secret, body)) {
		return Order{}, ErrPayloadSignature
	}
	// From here the bytes are ours: parse strictly anyway.
	o, err := parseBody(body)
	if err != nil {
		return Order{}, err
	}
	if checkExpiry && !o.Expires.IsZero() && !now.Before(o.Expires) {
		return Order{}, fmt.Errorf("%w: at %s", ErrPayloadExpired, o.Expires.UTC().Format(time.RFC3339))
	}
	return o, nil
}

// parseUnverified reads payload's order without checking its MAC. Only
// [Handler] uses it, and only to look the order up in the ledger, where a
// payment with byte-for-byte the same payload was recorded after it verified.
func parseUnverified(payload string) (Order, error) {
	if len(payload) < MinPayloadBytes || len(payload) > MaxPayloadBytes || strings.ContainsAny(payload, "\r\n") {
		return Order{}, fmt.Errorf("%w: length or characters", ErrPayloadMalformed)
	}
	raw, err := b64.DecodeString(payload)
	if err != nil || len(raw) < 3+1+macSize || raw[0] != codecVersion {
		return Order{}, fmt.Errorf("%w: not a payload", ErrPayloadMalformed)
	}
	return parseBody(raw[:len(raw)-macSize])
}

func parseBody(b []byte) (Order, error) {
	bad := func(what string) (Order, error) {
		return Order{}, fmt.Errorf("%w: %s", ErrPayloadMalformed, what)
	}
	flags := b[2]
	if flags&^knownFlags != 0 || (flags&flagTip != 0 && flags&flagPrice == 0) {
		return bad("unknown flags")
	}
	b = b[3:]
	var o Order
	if flags&flagUser != 0 {
		v, n := binary.Varint(b)
		if n <= 0 || v == 0 {
			return bad("user id")
		}
		o.UserID, b = v, b[n:]
	}
	if flags&flagExpiry != 0 {
		v, n := binary.Uvarint(b)
		if n <= 0 || v == 0 || v > 1<<62 {
			return bad("expiry")
		}
		o.Expires, b = time.Unix(int64(v), 0).UTC(), b[n:]
	}
	if flags&flagPrice != 0 {
		if len(b) < 3 {
			return bad("currency")
		}
		o.Currency, b = string(b[:3]), b[3:]
		if !isCurrencyCode(o.Currency) {
			return bad("currency")
		}
		v, n := binary.Uvarint(b)
		if n <= 0 || v == 0 || v > 1<<63-1 {
			return bad("amount")
		}
		o.Amount, b = int64(v), b[n:]
		if flags&flagTip != 0 {
			v, n := binary.Uvarint(b)
			if n <= 0 || v == 0 || v > 1<<63-1 || o.Currency == XTR {
				return bad("max tip")
			}
			o.MaxTip, b = int64(v), b[n:]
		}
	}
	s, b, ok := readString(b)
	if !ok || s == "" {
		return bad("order reference")
	}
	o.Ref = s
	if flags&flagProduct != 0 {
		s, b, ok = readString(b)
		if !ok || s == "" {
			return bad("product")
		}
		o.Product = s
	}
	if len(b) != 0 {
		return bad("trailing bytes")
	}
	return o, nil
}

func readString(b []byte) (string, []byte, bool) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)-k) {
		return "", b, false
	}
	return string(b[k : k+int(n)]), b[k+int(n):], true
}

// CheckUser reports whether userID may pay for o: always when o is not bound
// to a buyer, otherwise only its own buyer. The error wraps [ErrWrongUser].
func (o Order) CheckUser(userID int64) error {
	if o.UserID != 0 && o.UserID != userID {
		return fmt.Errorf("%w: order %q", ErrWrongUser, o.Ref)
	}
	return nil
}
