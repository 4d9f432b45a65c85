package initdata

import (
	"slices"
	"strings"
)

// pair is one key=value of init data. key is decoded; val is raw, as
// received, and escaped says whether it holds "%" or "+" to decode.
type pair struct {
	key     string
	val     string
	escaped bool
}

// maxPairs bounds the number of fields. Telegram sends about ten; the bound
// keeps the sort cheap on hostile input.
const maxPairs = 128

// byteClass tells the scanner what each byte of a raw query string may be.
const (
	clsBad     = iota // never in a raw query string: decoded or re-serialised input
	clsPlain          // copied as is
	clsEscape         // '%' or '+': the value needs decoding
	clsAmp            // '&'
	clsEquals         // '='
	clsSemi           // ';'
	clsBraceLo        // '{' or '[': JSON
)

var byteClasses = func() (t [256]uint8) {
	for c := 0x21; c < 0x7f; c++ {
		t[c] = clsPlain
	}
	t['%'], t['+'] = clsEscape, clsEscape
	t['&'], t['='], t[';'] = clsAmp, clsEquals, clsSemi
	t['{'], t['['] = clsBraceLo, clsBraceLo
	t['"'], t['}'], t[']'], t['\\'] = clsBad, clsBad, clsBad, clsBad
	return t
}()

// scan splits raw init data into pairs appended to dst, sorted by key, and
// rejects anything that is not a well-formed, duplicate-free query string.
// It allocates only for keys that need percent-decoding (Telegram's never do).
func scan(s string, dst []pair) ([]pair, error) {
	if len(s) > MaxLength {
		return dst, errTooLong
	}
	if len(s) == 0 {
		return dst, errEmpty
	}
	if c := byteClasses[s[0]]; c == clsBraceLo {
		return dst, errLooksJSON
	}
	start, eq, escaped, keyEscaped := 0, -1, false, false
	for i := 0; i <= len(s); i++ {
		var c uint8 = clsAmp
		if i < len(s) {
			c = byteClasses[s[i]]
		}
		switch c {
		case clsPlain:
			continue
		case clsEscape:
			if s[i] == '%' {
				if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
					return dst, errBadEscape
				}
			}
			if eq < 0 {
				keyEscaped = true
			} else {
				escaped = true
			}
		case clsEquals:
			if eq >= 0 {
				return dst, errExtraEquals
			}
			eq = i
		case clsAmp:
			if i == start {
				return dst, errEmptyPair
			}
			if eq < 0 {
				return dst, errNoEquals
			}
			if eq == start {
				return dst, errEmptyKey
			}
			if len(dst) == maxPairs {
				return dst, errTooManyPairs
			}
			key := s[start:eq]
			if keyEscaped {
				key = string(decode(nil, key))
			}
			dst = append(dst, pair{key: key, val: s[eq+1 : i], escaped: escaped})
			start, eq, escaped, keyEscaped = i+1, -1, false, false
		case clsSemi:
			return dst, errSemicolon
		case clsBraceLo:
			return dst, errLooksDecoded
		default:
			return dst, errLooksDecoded
		}
	}
	sortPairs(dst)
	for i := 1; i < len(dst); i++ {
		if dst[i].key == dst[i-1].key {
			return dst, errDuplicate
		}
	}
	return dst, nil
}

// sortPairs sorts by key: insertion sort for the usual dozen, which costs
// no allocation and beats a general sort at that size.
func sortPairs(p []pair) {
	if len(p) > 16 {
		slices.SortFunc(p, func(a, b pair) int { return strings.Compare(a.key, b.key) })
		return
	}
	for i := 1; i < len(p); i++ {
		for j := i; j > 0 && p[j].key < p[j-1].key; j-- {
			p[j], p[j-1] = p[j-1], p[j]
		}
	}
}

// find returns the raw pair with the key, by binary search over sorted pairs.
func find(p []pair, key string) (pair, bool) {
	lo, hi := 0, len(p)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if p[m].key < key {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < len(p) && p[lo].key == key {
		return p[lo], true
	}
	return pair{}, false
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	default:
		return c - 'a' + 10
	}
}

// decode appends the form-decoding of s ("+" is a space, "%XX" a byte) to
// dst. s has been checked by scan, so every "%" has two hex digits.
func decode(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '+':
			dst = append(dst, ' ')
		case '%':
			dst = append(dst, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

// appendValue appends the decoded value of p to dst.
func appendValue(dst []byte, p pair) []byte {
	if !p.escaped {
		return append(dst, p.val...)
	}
	return decode(dst, p.val)
}

// appendCheckString appends Telegram's data-check-string to dst: every pair
// but hash (and, for third-party checks, signature), sorted by key, as
// key=value with the value decoded, joined by "\n".
func appendCheckString(dst []byte, p []pair, skipSignature bool) []byte {
	first := true
	for _, kv := range p {
		if kv.key == keyHash || skipSignature && kv.key == keySignature {
			continue
		}
		if !first {
			dst = append(dst, '\n')
		}
		first = false
		dst = append(dst, kv.key...)
		dst = append(dst, '=')
		dst = appendValue(dst, kv)
	}
	return dst
}
