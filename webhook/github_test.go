package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
)

// githubSig computes a X-Hub-Signature-256 value, for tests.
func githubSig(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}
