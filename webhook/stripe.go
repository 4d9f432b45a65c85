package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// headerStripeSignature is Stripe's signature header, canonical form.
// Stripe docs: https://docs.stripe.com/webhooks#verify-manually
const headerStripeSignature = "Stripe-Signature"

// Stripe verifies Stripe-style "Stripe-Signature: t=<unix>,v1=<hex>[,v1=…]"
// signatures: HMAC-SHA256, keyed with the whole secret string (its "whsec_"
// prefix included, unlike [Standard]), over "<t>.<raw body>". Every v1 entry
// is tried, so a rotated secret keeps working; entries of other schemes (v0)
// and v1 values that are not hex are skipped. A header over 1 KiB fails
// with [ErrInvalidHeader].
//
// Like Stripe's own libraries, Stripe rejects a timestamp older than the
// tolerance ([ErrTimestampTooOld]) but accepts one in the future: Stripe
// signs at send time and clocks drift, and a future timestamp gives an
// attacker nothing a current one would not.
//
// A Stripe is safe for concurrent use.
//
// Stripe docs: https://docs.stripe.com/webhooks#verify-manually
type Stripe struct {
	o      verifyOptions
	budget *bodyBudget
	pool   sync.Pool // *stripeState
}

type stripeState struct {
	mac hash.Hash
	buf []byte
	sig [sha256.Size]byte
}

// NewStripe returns a verifier for Stripe-style signatures. secret is the
// endpoint's signing secret, used as-is. It fails with [ErrBadSecret] when the
// secret is empty.
func NewStripe(secret string, opts ...VerifyOption) (*Stripe, error) {
	if secret == "" {
		return nil, fmt.Errorf("%w: empty secret", ErrBadSecret)
	}
	o, err := applyVerifyOptions(opts, DefaultMaxBodyBytes)
	if err != nil {
		return nil, err
	}
	key := []byte(secret)
	s := &Stripe{o: o, budget: newBodyBudget(o.maxInFlight)}
	s.pool.New = func() any { return &stripeState{mac: hmac.New(sha256.New, key), buf: make([]byte, 0, 64)} }
	return s, nil
}

func (s *Stripe) limits() (int64, *bodyBudget) { return s.o.maxBody, s.budget }

// maxStripeHeaderBytes bounds the Stripe-Signature header: a timestamp and
// a few v1 (and v0) signatures of 64 hex digits each, as a rotation lists.
const maxStripeHeaderBytes = 1024

func (s *Stripe) checkHeaders(h http.Header) error {
	p, err := parseStripeHeader(headerValue(h, headerStripeSignature))
	if err != nil {
		return err
	}
	return checkTimestamp(p.ts, s.o.now(), s.o.tolerance, false)
}

// stripeHeader is a parsed Stripe-Signature header.
type stripeHeader struct {
	t   string   // the timestamp as sent
	ts  int64    // and parsed
	v1  []string // hex signatures, unchecked
	raw string
}

// parseStripeHeader parses "t=…,v1=…,…". Every item must be key=value; t
// must appear once as a Unix time. Unknown keys are ignored.
func parseStripeHeader(v string) (stripeHeader, error) {
	var p stripeHeader
	if v == "" {
		return p, ErrMissingHeader
	}
	if len(v) > maxStripeHeaderBytes {
		return p, fmt.Errorf("%w: Stripe-Signature too long", ErrInvalidHeader)
	}
	p.raw = v
	seenT := false
	for rest := v; rest != ""; {
		var item string
		item, rest, _ = strings.Cut(rest, ",")
		k, val, ok := strings.Cut(item, "=")
		if !ok {
			return p, fmt.Errorf("%w: Stripe-Signature item without '='", ErrInvalidHeader)
		}
		switch k {
		case "t":
			ts, ok := parseUnixSeconds(val)
			if !ok || seenT {
				return p, fmt.Errorf("%w: Stripe-Signature timestamp", ErrInvalidHeader)
			}
			p.t, p.ts, seenT = val, ts, true
		case "v1":
			p.v1 = append(p.v1, val)
		}
	}
	if !seenT {
		return p, fmt.Errorf("%w: Stripe-Signature without t=", ErrInvalidHeader)
	}
	return p, nil
}

// Verify checks h and the raw body. It returns nil, or an error wrapping
// [ErrMissingHeader], [ErrInvalidHeader], [ErrTimestampTooOld] or
// [ErrNoMatchingSignature].
func (s *Stripe) Verify(h http.Header, body []byte) error {
	p, err := parseStripeHeader(headerValue(h, headerStripeSignature))
	if err != nil {
		return err
	}
	if err := checkTimestamp(p.ts, s.o.now(), s.o.tolerance, false); err != nil {
		return err
	}
	if len(p.v1) == 0 {
		return ErrNoMatchingSignature
	}
	st := s.pool.Get().(*stripeState)
	defer s.pool.Put(st)
	st.mac.Reset()
	st.buf = append(append(st.buf[:0], p.t...), '.')
	st.mac.Write(st.buf)
	st.mac.Write(body)
	expected := st.mac.Sum(st.buf[:0])
	found := false
	for _, sig := range p.v1 {
		if len(sig) != 2*sha256.Size {
			continue
		}
		if _, err := hex.Decode(st.sig[:], []byte(sig)); err != nil {
			continue
		}
		if hmac.Equal(st.sig[:], expected) {
			found = true
		}
	}
	if !found {
		return ErrNoMatchingSignature
	}
	return nil
}

// SignStripe returns a Stripe-Signature header value for body signed with
// secret at timestamp, for tests of code that receives Stripe webhooks.
func SignStripe(secret string, timestamp time.Time, body []byte) string {
	t := strconv.FormatInt(timestamp.Unix(), 10)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(t))
	m.Write([]byte{'.'})
	m.Write(body)
	return "t=" + t + ",v1=" + hex.EncodeToString(m.Sum(nil))
}
