package initdata

import (
	"crypto/sha256"
	"encoding/hex"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// checkDecode checks that decode (the assembly decoder where the CPU has
// one) and decodeGo agree with decodeSlow on s: the bytes, the changed
// flag and the error, after a prefix already in dst.
func checkDecode(t *testing.T, s string) {
	t.Helper()
	slow, schanged, serr := decodeSlow([]byte("prefix"), s)
	for _, f := range []struct {
		name string
		fn   func([]byte, string) ([]byte, bool, error)
	}{{"decode", decode}, {"decodeGo", decodeGo}} {
		got, changed, err := f.fn([]byte("prefix"), s)
		if err != serr || err == nil && (string(got) != string(slow) || changed != schanged) {
			t.Fatalf("%s(%q) = %q, %v, %v; decodeSlow = %q, %v, %v", f.name, s, got, changed, err, slow, schanged, serr)
		}
		if err != nil && string(got) != "prefix" {
			t.Fatalf("%s(%q) failed but changed dst: %q", f.name, s, got)
		}
	}
}

// TestDecodeBlockBoundaries puts each kind of escape, and each byte a raw
// value never holds, at every position of plain values of every length up
// to three blocks of the assembly decoder (32 bytes; a block reads 34),
// so that escapes start, end and straddle every block boundary, the last
// overlapping block and the scalar tail.
func TestDecodeBlockBoundaries(t *testing.T) {
	inserts := []string{
		"%41", "%7e", "%7E", "%2B", "%2b", "%25", "%00", "%ff", "%0A", "%0a", "%0D",
		"+", "%", "%4", "%g1", "%1g", "%%41", "%+1", "%4%41",
		"=", ";", "\"", "\x00", "\x1f", " ", "\x7f", "\x80", "\xff", "&",
		"%41%42", "%41+%42", "++", "%7B%22id%22%3A1%7D",
	}
	for _, fill := range []string{"a", "0", "%41", "a+"} {
		for n := 0; n <= 100; n++ {
			base := strings.Repeat(fill, n/len(fill)+1)[:n]
			checkDecode(t, base)
			for p := 0; p <= n; p++ {
				for _, ins := range inserts {
					checkDecode(t, base[:p]+ins+base[p:])
				}
			}
		}
	}
}

// TestDecodeAllBytes puts every byte value at every position of an
// escape-dense value two blocks long.
func TestDecodeAllBytes(t *testing.T) {
	base := strings.Repeat("%7B%22a%22%3A+x", 5) // 75 bytes
	for c := range 256 {
		for p := range len(base) {
			checkDecode(t, base[:p]+string([]byte{byte(c)})+base[p+1:])
			checkDecode(t, base[:p]+string([]byte{byte(c)})+base[p:])
		}
	}
}

// TestDecodeCases names the cases an escape decoder gets wrong.
func TestDecodeCases(t *testing.T) {
	long := strings.Repeat("abcdefghij", 30)
	for _, tc := range []struct {
		name, in, want string
		err            error
	}{
		{"plus is a space", "a+b", "a b", nil},
		{"escaped plus stays", "a%2Bb", "a+b", nil},
		{"line feed", "a%0Ab", "", errLineFeed},
		{"line feed at a block's end", long[:29] + "%0A" + long, "", errLineFeed},
		{"carriage return is fine", long[:30] + "%0D", long[:30] + "\r", nil},
		{"long run without escapes", long, long, nil},
		{"long run, escape at the end", long + "%21", long + "!", nil},
		{"bad hex across a block", long[:31] + "%4z" + long, "", errBadEscape},
		{"escape cut by the end", long + "%4", "", errBadEscape},
		{"percent at the end", long + "%", "", errBadEscape},
		{"equals", long + "=", "", errExtraEquals},
		{"semicolon", long[:40] + ";" + long, "", errSemicolon},
		{"quote", long[:33] + `"`, "", errLooksDecoded},
		{"control byte", long[:32] + "\t" + long, "", errLooksDecoded},
		{"non-ASCII bytes are plain", long + "\xd0\x96" + long, long + "\xd0\x96" + long, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkDecode(t, tc.in)
			got, _, err := decode(nil, tc.in)
			require.ErrorIs(t, err, tc.err)
			if tc.err == nil {
				require.Equal(t, tc.want, string(got))
			}
		})
	}
}

// TestDecodeRandom compares the decoders on random values drawn from the
// bytes that matter, dense with escapes.
func TestDecodeRandom(t *testing.T) {
	const alphabet = "%%%%%%0123456789abcdefABCDEFgG+++ xyz=;\"\n\x00\x80\xff&-._~"
	r := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, 0, 300)
	for range 30000 {
		b = b[:0]
		for range r.IntN(300) {
			if r.IntN(4) == 0 {
				b = append(b, alphabet[r.IntN(len(alphabet))])
			} else {
				b = append(b, "%7B%22abc%3A+-"[r.IntN(14)])
			}
		}
		checkDecode(t, string(b))
	}
}

// TestDecodeHash checks decodeHash (assembly where the CPU has it)
// against decodeHashGo and encoding/hex.
func TestDecodeHash(t *testing.T) {
	sum := sha256.Sum256([]byte("x"))
	valid := hex.EncodeToString(sum[:])
	check := func(h string) {
		t.Helper()
		var a, b [sha256.Size]byte
		okA, okB := decodeHash(&a, h), decodeHashGo(&b, h)
		want, err := hex.DecodeString(h)
		wantOK := err == nil && len(want) == sha256.Size
		require.Equal(t, wantOK, okA, h)
		require.Equal(t, wantOK, okB, h)
		if wantOK {
			require.Equal(t, want, a[:], h)
			require.Equal(t, want, b[:], h)
		}
	}
	check(valid)
	check(strings.ToUpper(valid))
	check(strings.Repeat("0", 64))
	check(strings.Repeat("f", 64))
	check(strings.Repeat("F", 64))
	check(valid[:63])
	check(valid + "0")
	check("")
	for p := range 64 {
		for _, c := range []byte("gG/:@`\x00 %\xff9aA") {
			check(valid[:p] + string([]byte{c}) + valid[p+1:])
		}
	}
	for i := range 256 {
		check(strings.Repeat(strconv.FormatInt(int64(i%16), 16), 64))
	}
}

// TestPlain checks plain against decodeSlow: a value is plain when
// decoding changes nothing and fails on nothing.
func TestPlain(t *testing.T) {
	for n := 0; n <= 40; n++ {
		base := strings.Repeat("a", n)
		for p := 0; p <= n; p++ {
			for c := range 256 {
				s := base[:p] + string([]byte{byte(c)}) + base[p:]
				_, changed, err := decodeSlow(nil, s)
				require.Equal(t, err == nil && !changed, plain(s), "%q", s)
			}
		}
	}
}
