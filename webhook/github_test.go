package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// githubSig computes a X-Hub-Signature-256 value, for tests.
func githubSig(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// TestNewGitHubRefusesTimeOptions: GitHub signs no timestamp, so a
// tolerance or clock given to NewGitHub could only be ignored, leaving a
// caller who asked for replay protection without it. Before, NewGitHub
// accepted both silently.
func TestNewGitHubRefusesTimeOptions(t *testing.T) {
	_, err := NewGitHub("s3cret", WithTolerance(time.Minute))
	require.Error(t, err)
	_, err = NewGitHub("s3cret", WithClock(time.Now))
	require.Error(t, err)
	_, err = NewGitHub("s3cret", WithVerifyMaxBodyBytes(1<<20), WithVerifyMaxInFlightBytes(8<<20))
	require.NoError(t, err)
}
