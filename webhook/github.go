package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"net/http"
	"strings"
	"sync"
)

const (
	// headerGitHubSignature is GitHub's SHA-256 signature header, canonical
	// form. The legacy SHA-1 X-Hub-Signature is never used.
	// GitHub docs: https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries
	headerGitHubSignature = "X-Hub-Signature-256"
	githubSigPrefix       = "sha256="
	// githubMaxPayload is GitHub's cap on webhook payloads (25 MB), the
	// bound [VerifyMiddleware] reads for a [GitHub] verifier.
	// GitHub docs: https://docs.github.com/en/webhooks/webhook-events-and-payloads
	githubMaxPayload = 25 << 20
)

// GitHub verifies GitHub's "X-Hub-Signature-256: sha256=<hex>" webhook
// signatures: HMAC-SHA256 of the raw body keyed with the secret. GitHub
// signs no timestamp, so replays are stopped by deduplicating the
// X-GitHub-Delivery header (for example with a [Store]), not here.
// A GitHub is safe for concurrent use.
//
// GitHub docs: https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries
type GitHub struct {
	o      verifyOptions
	budget *bodyBudget
	pool   sync.Pool // *githubState
}

type githubState struct {
	mac hash.Hash
	sig [sha256.Size]byte
	sum [sha256.Size]byte
}

// NewGitHub returns a verifier for GitHub webhook signatures. It fails with
// [ErrBadSecret] when the secret is empty. Of the options, only
// [WithVerifyMaxBodyBytes] (default 25 MB, GitHub's cap) and
// [WithVerifyMaxInFlightBytes] apply: GitHub signs no timestamp, so
// [WithTolerance] or [WithClock] makes it fail rather than be ignored.
func NewGitHub(secret string, opts ...VerifyOption) (*GitHub, error) {
	if secret == "" {
		return nil, fmt.Errorf("%w: empty secret", ErrBadSecret)
	}
	o, err := applyVerifyOptions(opts, githubMaxPayload)
	if err != nil {
		return nil, err
	}
	if o.timeSet {
		return nil, errors.New("webhook: NewGitHub: GitHub signs no timestamp, so WithTolerance and WithClock cannot apply")
	}
	key := []byte(secret)
	g := &GitHub{o: o, budget: newBodyBudget(o.maxInFlight)}
	g.pool.New = func() any { return &githubState{mac: hmac.New(sha256.New, key)} }
	return g, nil
}

func (g *GitHub) limits() (int64, *bodyBudget) { return g.o.maxBody, g.budget }

func (g *GitHub) checkHeaders(h http.Header) error {
	_, err := parseGitHubSignature(headerValue(h, headerGitHubSignature))
	return err
}

// parseGitHubSignature returns the hex digest of a "sha256=<hex>" value.
func parseGitHubSignature(v string) (string, error) {
	if v == "" {
		return "", ErrMissingHeader
	}
	hexSig, ok := strings.CutPrefix(v, githubSigPrefix)
	if !ok || len(hexSig) != 2*sha256.Size {
		return "", fmt.Errorf("%w: X-Hub-Signature-256 must be sha256=<64 hex digits>", ErrInvalidHeader)
	}
	return hexSig, nil
}

// Verify checks h and the raw body. It returns nil, or an error wrapping
// [ErrMissingHeader], [ErrInvalidHeader] or [ErrNoMatchingSignature].
func (g *GitHub) Verify(h http.Header, body []byte) error {
	hexSig, err := parseGitHubSignature(headerValue(h, headerGitHubSignature))
	if err != nil {
		return err
	}
	st := g.pool.Get().(*githubState)
	defer g.pool.Put(st)
	if _, err := hex.Decode(st.sig[:], []byte(hexSig)); err != nil {
		return fmt.Errorf("%w: X-Hub-Signature-256 is not hex", ErrInvalidHeader)
	}
	st.mac.Reset()
	st.mac.Write(body)
	if !hmac.Equal(st.sig[:], st.mac.Sum(st.sum[:0])) {
		return ErrNoMatchingSignature
	}
	return nil
}
