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
