//go:build !amd64 || purego

package initdata

// decode is decodeGo where there is no assembly decoder.
func decode(dst []byte, s string) ([]byte, bool, error) {
	return decodeGo(dst, s)
}
