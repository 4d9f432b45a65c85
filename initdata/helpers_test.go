package initdata

import (
	"crypto/ed25519"
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func isKind(err, kind error) bool { return kind != nil && errors.Is(err, kind) }

func mustQuery(t testing.TB, s string) url.Values {
	t.Helper()
	v, err := url.ParseQuery(s)
	require.NoError(t, err)
	return v
}

// testKeys is a fixed Ed25519 key pair for tests.
func testKeys(t testing.TB) (ed25519.PublicKey, ed25519.PrivateKey) {
	t.Helper()
	priv := ed25519.NewKeyFromSeed([]byte(strings.Repeat("k", ed25519.SeedSize)))
	return priv.Public().(ed25519.PublicKey), priv
}
