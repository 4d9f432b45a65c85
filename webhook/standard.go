package webhook

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"hash"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Standard Webhooks header names and secret prefixes, from the spec
// (https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md).
// Headers are kept in canonical form so lookups do not allocate.
const (
	headerWebhookID        = "Webhook-Id"
	headerWebhookTimestamp = "Webhook-Timestamp"
	headerWebhookSignature = "Webhook-Signature"
	// Svix, the spec's origin, sends the same scheme under svix-* names.
	headerSvixID        = "Svix-Id"
	headerSvixTimestamp = "Svix-Timestamp"
	headerSvixSignature = "Svix-Signature"

	prefixSymmetricSecret = "whsec_"
	prefixPublicKey       = "whpk_"
	prefixSecretKey       = "whsk_"

	sigVersionHMAC    = "v1"
	sigVersionEd25519 = "v1a"

	// minSecretBytes is the shortest HMAC key NewStandard accepts. The spec
	// asks generators for 24 to 64 bytes; we reject below 16 (128 bits).
	minSecretBytes = 16
	// maxSecretBytes is the spec's upper bound for a symmetric secret.
	maxSecretBytes = 64
)

// Standard verifies webhooks signed per the Standard Webhooks specification:
// symmetric "v1" (HMAC-SHA256, a whsec_ secret, from [NewStandard]) or
// asymmetric "v1a" (Ed25519, a whpk_ public key, from [NewStandardPublicKey]).
//
// The signed content is "<webhook-id>.<webhook-timestamp>.<raw body>". The
// webhook-signature header may list several space-separated signatures (the
// sender's secret rotation); one match suffices, and entries of another
// version are skipped. The timestamp must lie within the tolerance of the
// clock in both directions. Headers named svix-id, svix-timestamp and
// svix-signature are accepted when the webhook-* ones are absent. The
// webhook-id is the delivery's idempotency key: see [StandardWebhookID].
//
// A Standard is safe for concurrent use.
//
// Spec: https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md
type Standard struct {
	key  []byte            // HMAC key (v1), or nil
	pub  ed25519.PublicKey // Ed25519 key (v1a), or nil
	o    verifyOptions
	pool sync.Pool // *macState
}

// macState is a pooled HMAC and scratch buffer, so Verify does not allocate.
type macState struct {
	mac hash.Hash
	buf []byte
	sig [96]byte // a decoded signature: at most 128 base64 characters
}

// NewStandard returns a verifier for symmetric (v1, HMAC-SHA256) Standard
// Webhooks signatures. secret is the base64 secret, with or without its
// "whsec_" prefix, padded or not. It fails with [ErrBadSecret] when the
// secret is empty, not base64, or decodes to fewer than 16 bytes.
func NewStandard(secret string, opts ...VerifyOption) (*Standard, error) {
	key, err := decodeSymmetricSecret(secret)
	if err != nil {
		return nil, err
	}
	o, err := applyVerifyOptions(opts)
	if err != nil {
		return nil, err
	}
	s := &Standard{key: key, o: o}
	s.pool.New = func() any { return &macState{mac: hmac.New(sha256.New, key), buf: make([]byte, 0, 256)} }
	return s, nil
}

// NewStandardPublicKey returns a verifier for asymmetric (v1a, Ed25519)
// Standard Webhooks signatures. key is the base64 Ed25519 public key, with or
// without its "whpk_" prefix. It fails with [ErrBadSecret] unless the key
// decodes to exactly 32 bytes.
func NewStandardPublicKey(key string, opts ...VerifyOption) (*Standard, error) {
	raw, err := decodeBase64(strings.TrimPrefix(key, prefixPublicKey))
	if err != nil || len(raw) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("%w: a whpk_ key must be base64 of a 32-byte Ed25519 public key", ErrBadSecret)
	}
	o, err := applyVerifyOptions(opts)
	if err != nil {
		return nil, err
	}
	s := &Standard{pub: ed25519.PublicKey(raw), o: o}
	s.pool.New = func() any { return &macState{buf: make([]byte, 0, 256)} }
	return s, nil
}

func (s *Standard) maxBodyBytes() int64 { return s.o.maxBody }

// StandardWebhookID returns the delivery's id (the webhook-id header, or
// svix-id when that is absent): the idempotency key the spec tells
// receivers to dedupe on, for example with a [Store].
func StandardWebhookID(h http.Header) string {
	id, _, _ := standardHeaders(h)
	return id
}

func standardHeaders(h http.Header) (id, ts, sig string) {
	id, ts, sig = headerValue(h, headerWebhookID), headerValue(h, headerWebhookTimestamp), headerValue(h, headerWebhookSignature)
	if id == "" && ts == "" && sig == "" {
		id, ts, sig = headerValue(h, headerSvixID), headerValue(h, headerSvixTimestamp), headerValue(h, headerSvixSignature)
	}
	return id, ts, sig
}

// headerValue is h.Get for a canonical key, without re-canonicalising it.
func headerValue(h http.Header, canonicalKey string) string {
	if v := h[canonicalKey]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// Verify checks h and the raw body. It returns nil, or an error wrapping
// [ErrMissingHeader], [ErrInvalidHeader], [ErrTimestampTooOld],
// [ErrTimestampTooNew] or [ErrNoMatchingSignature].
func (s *Standard) Verify(h http.Header, body []byte) error {
	return s.verifyAt(h, body, s.o.now())
}

func (s *Standard) verifyAt(h http.Header, body []byte, now time.Time) error {
	id, tsRaw, sigs := standardHeaders(h)
	if id == "" || tsRaw == "" || sigs == "" {
		return ErrMissingHeader
	}
	ts, ok := parseUnixSeconds(tsRaw)
	if !ok {
		return fmt.Errorf("%w: webhook-timestamp is not a Unix time", ErrInvalidHeader)
	}
	if err := checkTimestamp(ts, now, s.o.tolerance, true); err != nil {
		return err
	}
	st := s.pool.Get().(*macState)
	defer s.pool.Put(st)
	// The signed content: id.timestamp.body.
	st.buf = append(st.buf[:0], id...)
	st.buf = append(st.buf, '.')
	st.buf = append(st.buf, tsRaw...)
	st.buf = append(st.buf, '.')
	want := "v1,"
	if s.pub != nil {
		want = "v1a,"
		prefix := len(st.buf)
		st.buf = append(st.buf, body...)
		msg := st.buf[:prefix+len(body)]
		ok := s.eachSignature(sigs, want, st, func(sig []byte) bool {
			return len(sig) == ed25519.SignatureSize && ed25519.Verify(s.pub, msg, sig)
		})
		if cap(st.buf) > 64<<10 { // do not pool huge buffers
			st.buf = make([]byte, 0, 256)
		}
		if ok {
			return nil
		}
		return ErrNoMatchingSignature
	}
	st.mac.Reset()
	st.mac.Write(st.buf)
	st.mac.Write(body)
	mark := len(st.buf)
	st.buf = st.mac.Sum(st.buf)
	expected := st.buf[mark : mark+sha256.Size]
	ok = s.eachSignature(sigs, want, st, func(sig []byte) bool {
		return hmac.Equal(sig, expected)
	})
	if ok {
		return nil
	}
	return ErrNoMatchingSignature
}

// eachSignature decodes every "<version>,<base64>" entry of the
// space-separated list whose version prefix is want, and reports whether
// match accepts one. Entries of other versions, without a comma, or not
// base64 are skipped. Decoding uses st.buf's spare capacity.
func (s *Standard) eachSignature(list, want string, st *macState, match func(sig []byte) bool) bool {
	found := false
	for list != "" {
		var entry string
		entry, list, _ = strings.Cut(list, " ")
		if len(entry) <= len(want) || entry[:len(want)] != want {
			continue
		}
		enc := entry[len(want):]
		if len(enc) > 128 {
			continue
		}
		mark := len(st.buf)
		st.buf = append(st.buf, enc...)
		n, err := base64.StdEncoding.Decode(st.sig[:], st.buf[mark:])
		st.buf = st.buf[:mark]
		if err == nil && match(st.sig[:n]) {
			found = true // keep the loop's timing independent of which entry matched
		}
	}
	return found
}

func decodeSymmetricSecret(secret string) ([]byte, error) {
	raw := strings.TrimPrefix(secret, prefixSymmetricSecret)
	if raw == "" {
		return nil, fmt.Errorf("%w: empty secret", ErrBadSecret)
	}
	key, err := decodeBase64(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: a whsec_ secret must be base64", ErrBadSecret)
	}
	if len(key) < minSecretBytes {
		return nil, fmt.Errorf("%w: secret shorter than %d bytes", ErrBadSecret, minSecretBytes)
	}
	if len(key) > maxSecretBytes {
		return nil, fmt.Errorf("%w: secret longer than %d bytes", ErrBadSecret, maxSecretBytes)
	}
	return key, nil
}

// decodeBase64 accepts standard base64, padded or not.
func decodeBase64(s string) ([]byte, error) {
	if strings.HasSuffix(s, "=") {
		return base64.StdEncoding.DecodeString(s)
	}
	return base64.RawStdEncoding.DecodeString(s)
}

// Signer signs outgoing webhooks per the Standard Webhooks specification,
// with one or more keys: whsec_ secrets sign "v1" (HMAC-SHA256), whsk_
// Ed25519 private keys sign "v1a". Several keys give several signatures in
// one header, which lets receivers rotate keys without downtime. A Signer is
// safe for concurrent use.
type Signer struct {
	hmacKeys [][]byte
	edKeys   []ed25519.PrivateKey
}

// NewSigner returns a Signer for the given keys, each a "whsec_" secret (or
// bare base64 of one) or a "whsk_" key (base64 of a 64-byte Ed25519 private
// key or its 32-byte seed). It fails with [ErrBadSecret] if there is no key
// or a key is malformed.
func NewSigner(keys ...string) (*Signer, error) {
	if len(keys) == 0 {
		return nil, fmt.Errorf("%w: no key", ErrBadSecret)
	}
	s := &Signer{}
	for _, k := range keys {
		if raw, ok := strings.CutPrefix(k, prefixSecretKey); ok {
			b, err := decodeBase64(raw)
			switch {
			case err == nil && len(b) == ed25519.PrivateKeySize:
				s.edKeys = append(s.edKeys, ed25519.PrivateKey(b))
			case err == nil && len(b) == ed25519.SeedSize:
				s.edKeys = append(s.edKeys, ed25519.NewKeyFromSeed(b))
			default:
				return nil, fmt.Errorf("%w: a whsk_ key must be base64 of a 64-byte Ed25519 private key or 32-byte seed", ErrBadSecret)
			}
			continue
		}
		key, err := decodeSymmetricSecret(k)
		if err != nil {
			return nil, err
		}
		s.hmacKeys = append(s.hmacKeys, key)
	}
	return s, nil
}

// Sign returns the webhook-signature header value for a message: one
// "<version>,<base64>" entry per key, space-separated.
func (s *Signer) Sign(id string, timestamp time.Time, body []byte) string {
	ts := strconv.FormatInt(timestamp.Unix(), 10)
	msg := make([]byte, 0, len(id)+len(ts)+2+len(body))
	msg = append(append(append(append(append(msg, id...), '.'), ts...), '.'), body...)
	var b strings.Builder
	for _, k := range s.hmacKeys {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		m := hmac.New(sha256.New, k)
		m.Write(msg)
		b.WriteString(sigVersionHMAC + ",")
		b.WriteString(base64.StdEncoding.EncodeToString(m.Sum(nil)))
	}
	for _, k := range s.edKeys {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(sigVersionEd25519 + ",")
		b.WriteString(base64.StdEncoding.EncodeToString(ed25519.Sign(k, msg)))
	}
	return b.String()
}

// SetHeaders sets the webhook-id, webhook-timestamp and webhook-signature
// headers of an outgoing request carrying body.
func (s *Signer) SetHeaders(h http.Header, id string, timestamp time.Time, body []byte) {
	h.Set(headerWebhookID, id)
	h.Set(headerWebhookTimestamp, strconv.FormatInt(timestamp.Unix(), 10))
	h.Set(headerWebhookSignature, s.Sign(id, timestamp, body))
}
