//go:build !amd64 || purego

package initdata

import "crypto/sha256"

// decode is decodeGo where there is no assembly decoder.
func decode(dst []byte, s string) ([]byte, bool, error) {
	return decodeGo(dst, s)
}

// decodeHash decodes a hash of exactly 64 hex digits: decodeHashGo.
func decodeHash(dst *[sha256.Size]byte, h string) bool {
	return decodeHashGo(dst, h)
}

// splitInput is split where there is no assembly classifier (byte-by-byte
// masks would not pay).
func splitInput(s string, dst []pair, _ *masks) ([]pair, error) {
	return split(s, dst)
}
