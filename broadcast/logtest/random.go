package logtest

import (
	"crypto/rand"
	"encoding/hex"
	"testing"
)

// randomID returns 8 random bytes in hex.
func randomID(t *testing.T) string {
	t.Helper()
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b[:])
}
