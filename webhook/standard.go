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
	// Longer keys are accepted, as the reference libraries accept them.
	minSecretBytes = 16

	// maxSignatureEntries bounds the signatures one webhook-signature
	// header may list. Senders list one per key they sign with, and key
	// rotation keeps two or three alive at once; more is an attack (each
	// Ed25519 entry costs tens of microseconds to check).
	maxSignatureEntries = 8
	// maxSignatureHeaderBytes bounds the webhook-signature header:
	// maxSignatureEntries Ed25519 entries ("v1a," + 88 base64 characters)
	// with their separators fit with room to spare.
	maxSignatureHeaderBytes = 1024
	// maxWebhookIDBytes bounds the webhook-id header (the spec's ids are
	// short, e.g. "msg_" and 27 characters).
	maxWebhookIDBytes = 256
	// signedPrefixRoom is the longest "<webhook-id>.<webhook-timestamp>."
	// prefix of a signed message: VerifyMiddleware reserves it in front of
	// a body it reads for a public key, so the message is verified where
	// the body was read, without a copy.
	signedPrefixRoom = maxWebhookIDBytes + 1 + 18 + 1

	// maxEd25519Checks bounds the Ed25519 verifications of one request
	// (each costs about 50-130 us on one core, plus a SHA-512 of the
	// body). The header carries no key id, so a receiver cannot tell which
	// entry its key made: a sender lists one v1a signature per signing
	// key, and a key rotation keeps two alive at once (the old and the
	// new; svix and Standard Webhooks senders rotate one key at a time).
	// One verifier holds one public key, so two checks find its signature
	// in any order. A header with more well-formed v1a candidates (after
	// dropping repeats and impossible signatures) fails with
	// ErrInvalidHeader before any is checked.
	maxEd25519Checks = 2
)

// Standard verifies webhooks signed per the Standard Webhooks specification:
// symmetric "v1" (HMAC-SHA256, a whsec_ secret, from [NewStandard]) or
// asymmetric "v1a" (Ed25519, a whpk_ public key, from [NewStandardPublicKey]).
//
// The signed content is "<webhook-id>.<webhook-timestamp>.<raw body>". The
// webhook-signature header may list several space-separated signatures (the
// sender's secret rotation); one match suffices, and entries of another
// version are skipped. It may hold at most 8 entries and 1 KiB, and the
// webhook-id at most 256 bytes: longer headers fail with [ErrInvalidHeader]
// before any signature is checked, so a flood of junk entries costs next to
// nothing. Every entry is decoded before any is checked, cheapest checks
// first: an entry of another version (for a public key, every "v1" HMAC
// entry), of another encoded length, not base64, repeated, or (for a
// public key) whose S half is not a canonical scalar, so that no valid
// signature looks like it, is skipped without cryptography. For a public
// key at most 2 entries may remain (a sender rotating its key signs with
// two; one Ed25519 check each): more fail with [ErrInvalidHeader] before
// any is checked, so an unauthenticated request costs at most two Ed25519
// verifications. The timestamp must lie within the tolerance of the clock
// in both directions. When the webhook-id header is absent, the headers
// svix-id, svix-timestamp and svix-signature are used instead (Svix sends
// those); when it is present, svix-* headers are ignored. The webhook-id is
// the delivery's idempotency key: see [StandardWebhookID].
//
// A Standard is safe for concurrent use.
//
// Spec: https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md
type Standard struct {
	key      []byte            // HMAC key (v1), or nil
	pub      ed25519.PublicKey // Ed25519 key (v1a), or nil
	edVerify func(ed25519.PublicKey, []byte, []byte) bool
	o        verifyOptions
	budget   *bodyBudget
	pool     sync.Pool // *macState
}

// macState is a pooled HMAC and scratch buffer, so Verify does not allocate.
type macState struct {
	mac hash.Hash
	buf []byte
	sig [96]byte // a decoded signature: at most 128 base64 characters
	// sigs are the decoded candidate signatures of one header.
	sigs [maxSignatureEntries][ed25519.SignatureSize]byte
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
	o, err := applyVerifyOptions(opts, DefaultMaxBodyBytes)
	if err != nil {
		return nil, err
	}
	s := &Standard{key: key, o: o, budget: newBodyBudget(o.maxInFlight)}
	s.pool.New = func() any { return &macState{mac: hmac.New(sha256.New, key), buf: make([]byte, 0, 256)} }
	return s, nil
}

// NewStandardPublicKey returns a verifier for asymmetric (v1a, Ed25519)
// Standard Webhooks signatures. key is the base64 Ed25519 public key, with or
// without its "whpk_" prefix. It fails with [ErrBadSecret] unless the key
// decodes to exactly 32 bytes, and fails if the in-flight budget
// ([WithVerifyMaxInFlightBytes]) cannot hold one body of the largest size
// with its signed prefix (276 bytes).
//
// [VerifyMiddleware] reads the body with room for the signed prefix in
// front of it, so the message is verified in place and every byte is
// counted in the budget. Verify called directly copies the signed message
// once (Ed25519 needs it in one piece): a caller that does bounds its own
// bodies.
func NewStandardPublicKey(key string, opts ...VerifyOption) (*Standard, error) {
	raw, err := decodeBase64(strings.TrimPrefix(key, prefixPublicKey))
	if err != nil || len(raw) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("%w: a whpk_ key must be base64 of a 32-byte Ed25519 public key", ErrBadSecret)
	}
	o, err := applyVerifyOptions(opts, DefaultMaxBodyBytes)
	if err != nil {
		return nil, err
	}
	if o.maxInFlight < o.maxBody+signedPrefixRoom {
		return nil, fmt.Errorf("webhook: max in-flight bytes (%d) below the max body bytes (%d) plus the signed prefix (%d)", o.maxInFlight, o.maxBody, signedPrefixRoom)
	}
	s := &Standard{pub: ed25519.PublicKey(raw), edVerify: ed25519.Verify, o: o, budget: newBodyBudget(o.maxInFlight)}
	s.pool.New = func() any { return &macState{buf: make([]byte, 0, 256)} }
	return s, nil
}

func (s *Standard) limits() (int64, *bodyBudget) { return s.o.maxBody, s.budget }

// prefixRoom is the room VerifyMiddleware reserves in front of a body for
// verifyInPlace: the signed prefix for a public key, none for HMAC (which
// hashes the prefix and the body one after the other).
func (s *Standard) prefixRoom() int {
	if s.pub != nil {
		return signedPrefixRoom
	}
	return 0
}

// StandardWebhookID returns the delivery's id (the webhook-id header, or
// svix-id when webhook-id is absent): the idempotency key the spec tells
// receivers to dedupe on, for example with a [Store].
func StandardWebhookID(h http.Header) string {
	id, _, _ := standardHeaders(h)
	return id
}

// standardHeaders returns the webhook-* headers, or the svix-* ones when
// webhook-id is absent.
func standardHeaders(h http.Header) (id, ts, sig string) {
	if id = headerValue(h, headerWebhookID); id != "" {
		return id, headerValue(h, headerWebhookTimestamp), headerValue(h, headerWebhookSignature)
	}
	return headerValue(h, headerSvixID), headerValue(h, headerSvixTimestamp), headerValue(h, headerSvixSignature)
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
	return s.verifyAt(h, body, 0, s.o.now())
}

// verifyInPlace verifies buf[room:], the body, using buf[:room] (free) to
// build the signed message in place.
func (s *Standard) verifyInPlace(h http.Header, buf []byte, room int) error {
	return s.verifyAt(h, buf, room, s.o.now())
}

func (s *Standard) checkHeaders(h http.Header) error {
	_, _, _, err := s.parseHeaders(h, s.o.now())
	return err
}

// parseHeaders checks the headers' presence, bounds and timestamp.
func (s *Standard) parseHeaders(h http.Header, now time.Time) (id, tsRaw, sigs string, err error) {
	id, tsRaw, sigs = standardHeaders(h)
	if id == "" || tsRaw == "" || sigs == "" {
		return "", "", "", ErrMissingHeader
	}
	if len(id) > maxWebhookIDBytes || len(sigs) > maxSignatureHeaderBytes {
		return "", "", "", fmt.Errorf("%w: webhook-id or webhook-signature too long", ErrInvalidHeader)
	}
	ts, ok := parseUnixSeconds(tsRaw)
	if !ok {
		return "", "", "", fmt.Errorf("%w: webhook-timestamp is not a Unix time", ErrInvalidHeader)
	}
	if err := checkTimestamp(ts, now, s.o.tolerance, true); err != nil {
		return "", "", "", err
	}
	return id, tsRaw, sigs, nil
}

// verifyAt verifies buf[room:], the body; buf[:room] is free room in
// front of it (room is 0 or at least signedPrefixRoom).
func (s *Standard) verifyAt(h http.Header, buf []byte, room int, now time.Time) error {
	body := buf[room:]
	id, tsRaw, sigs, err := s.parseHeaders(h, now)
	if err != nil {
		return err
	}
	st := s.pool.Get().(*macState)
	defer s.pool.Put(st)
	want, size := sigVersionHMAC+",", sha256.Size
	if s.pub != nil {
		want, size = sigVersionEd25519+",", ed25519.SignatureSize
	}
	// Decode every candidate first: no cryptography runs on a header that
	// turns out malformed or too long.
	n, err := s.decodeSignatures(sigs, want, size, st)
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrNoMatchingSignature
	}
	// The signed content: id.timestamp.body.
	st.buf = append(st.buf[:0], id...)
	st.buf = append(st.buf, '.')
	st.buf = append(st.buf, tsRaw...)
	st.buf = append(st.buf, '.')
	found := false
	if s.pub != nil {
		var msg []byte
		if prefix := len(st.buf); prefix <= room {
			// In place: the prefix goes in the room in front of the body.
			msg = buf[room-prefix:]
			copy(msg, st.buf)
		} else {
			// Verify called directly: one copy, never pooled.
			msg = make([]byte, 0, prefix+len(body))
			msg = append(append(msg, st.buf...), body...)
		}
		for i := range n {
			if s.edVerify(s.pub, msg, st.sigs[i][:]) {
				found = true
				break // Ed25519 is public-key: no timing to hide
			}
		}
	} else {
		st.mac.Reset()
		st.mac.Write(st.buf)
		st.mac.Write(body)
		mark := len(st.buf)
		st.buf = st.mac.Sum(st.buf)
		expected := st.buf[mark : mark+sha256.Size]
		for i := range n {
			if hmac.Equal(st.sigs[i][:sha256.Size], expected) {
				found = true // keep the loop's timing independent of which entry matched
			}
		}
	}
	if found {
		return nil
	}
	return ErrNoMatchingSignature
}

// decodeSignatures decodes into st.sigs every "<version>,<base64>" entry of
// the space-separated list whose version prefix is want and whose signature
// has size bytes, returning how many. Entries of other versions, without a
// comma, of another encoded length, not base64, repeated or (for Ed25519)
// with a non-canonical S are skipped, all without cryptography; more than
// maxSignatureEntries entries (of any kind), or for Ed25519 more than
// maxEd25519Checks candidates, fail with ErrInvalidHeader.
func (s *Standard) decodeSignatures(list, want string, size int, st *macState) (int, error) {
	n, entries := 0, 0
	encLen := base64.StdEncoding.EncodedLen(size)
	ed := size == ed25519.SignatureSize
	for list != "" {
		var entry string
		entry, list, _ = strings.Cut(list, " ")
		if entry == "" {
			continue
		}
		if entries++; entries > maxSignatureEntries {
			return 0, fmt.Errorf("%w: more than %d signatures", ErrInvalidHeader, maxSignatureEntries)
		}
		if len(entry) != len(want)+encLen || entry[:len(want)] != want {
			continue
		}
		k, err := base64.StdEncoding.Decode(st.sig[:], scratchCopy(entry[len(want):], st))
		if err != nil || k != size {
			continue
		}
		sig := st.sig[:k]
		if ed && !canonicalScalar(sig[32:]) {
			continue // Ed25519 rejects it: no need to hash the body to know
		}
		if seen(st, n, sig) {
			continue
		}
		if ed && n == maxEd25519Checks {
			return 0, fmt.Errorf("%w: more than %d Ed25519 signatures", ErrInvalidHeader, maxEd25519Checks)
		}
		copy(st.sigs[n][:], sig)
		n++
	}
	return n, nil
}

// seen reports whether sig is among the first n decoded signatures.
func seen(st *macState, n int, sig []byte) bool {
	for i := range n {
		if string(st.sigs[i][:len(sig)]) == string(sig) {
			return true
		}
	}
	return false
}

// ed25519Order is the order L of the Ed25519 group, 2^252 +
// 27742317777372353535851937790883648493, little-endian (RFC 8032 5.1).
var ed25519Order = [32]byte{
	0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
}

// canonicalScalar reports whether the little-endian 32-byte s is below
// the group order, as RFC 8032 5.1.7 requires of a signature's S (and
// crypto/ed25519 checks, after hashing the message).
func canonicalScalar(s []byte) bool {
	for i := 31; i >= 0; i-- {
		switch {
		case s[i] < ed25519Order[i]:
			return true
		case s[i] > ed25519Order[i]:
			return false
		}
	}
	return false // equal to L
}

// scratchCopy copies s into st.buf and returns it, so
// decoding a header does not allocate.
func scratchCopy(s string, st *macState) []byte {
	st.buf = append(st.buf[:0], s...)
	return st.buf
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
