package initdata

import (
	"crypto/sha256"
	"encoding/hex"
	"math/rand/v2"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// decodeRef is the slow reference decode is checked against: the rules
// of decode's doc applied one at a time, left to right, for the error, and
// net/url for the decoding itself.
func decodeRef(s string) (string, bool, error) {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '%':
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				return "", false, errBadEscape
			}
			if strings.EqualFold(s[i+1:i+3], "0a") {
				return "", false, errLineFeed
			}
			i += 2
		case c == '=':
			return "", false, errExtraEquals
		case c == ';':
			return "", false, errSemicolon
		case c < 0x20 || c == '"':
			return "", false, errLooksDecoded
		}
	}
	out, err := url.QueryUnescape(s)
	if err != nil {
		panic("decodeRef: net/url rejects what the rules accept: " + s)
	}
	return out, strings.ContainsAny(s, "%+"), nil
}

// checkDecode checks decode against decodeRef on s: the bytes, the
// changed flag and the error, after a prefix already in dst, which a
// failure leaves as it was.
func checkDecode(t *testing.T, s string) {
	t.Helper()
	want, wchanged, werr := decodeRef(s)
	got, changed, err := decode([]byte("prefix"), s)
	if err != werr || err == nil && (string(got) != "prefix"+want || changed != wchanged) {
		t.Fatalf("decode(%q) = %q, %v, %v; decodeRef = %q, %v, %v", s, got, changed, err, want, wchanged, werr)
	}
	if err != nil && string(got) != "prefix" {
		t.Fatalf("decode(%q) failed but changed dst: %q", s, got)
	}
}

// TestDecodeInserts puts each kind of escape, and each byte a raw value
// never holds, at every position of plain values of every length up to
// 100 bytes, so that escapes start, end and straddle every position.
func TestDecodeInserts(t *testing.T) {
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
// escape-dense value.
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
		{"line feed in a long value", long[:29] + "%0A" + long, "", errLineFeed},
		{"carriage return is fine", long[:30] + "%0D", long[:30] + "\r", nil},
		{"long run without escapes", long, long, nil},
		{"long run, escape at the end", long + "%21", long + "!", nil},
		{"bad hex", long[:31] + "%4z" + long, "", errBadEscape},
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

// TestDecodeHash checks decodeHash against encoding/hex.
func TestDecodeHash(t *testing.T) {
	sum := sha256.Sum256([]byte("x"))
	valid := hex.EncodeToString(sum[:])
	check := func(h string) {
		t.Helper()
		var a [sha256.Size]byte
		ok := decodeHash(&a, h)
		want, err := hex.DecodeString(h)
		wantOK := err == nil && len(want) == sha256.Size
		require.Equal(t, wantOK, ok, h)
		if wantOK {
			require.Equal(t, want, a[:], h)
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
