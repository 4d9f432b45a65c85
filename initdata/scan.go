package initdata

import (
	"slices"
	"strings"
)

// This file holds the first half of Telegram's algorithm: split the query
// string into key=value pairs, sort them by key, percent-decode each value
// and join the pairs as "key=value" lines into the data-check-string.
// validate.go computes its HMAC and compares; parse.go builds the result.

// pair is one key=value field of the input. key and raw are substrings of
// the input (no copy): keys are plain bytes, raw is the value as received,
// still percent-encoded. off and end locate the decoded value in the
// data-check-string once decodeValues has put it there (decoded says so),
// and escaped says whether decoding changes it (it holds "%" or "+"), in
// which case the input's bytes cannot stand in for it. Every check sets
// escaped for the pairs it lets through: decodeValues for those it decodes
// and the hash of a third-party check, Parse for the hash; the hash that
// Validate checked as hex digits and the signature that ValidateThirdParty
// checked as base64url have no escape.
type pair struct {
	key, raw string
	off, end int32
	decoded  bool
	escaped  bool
}

// stackPairs is how many pairs the callers of scan keep on the stack;
// more go to the heap. Telegram sends about ten.
const stackPairs = 16

// maxPairs bounds the number of fields. Telegram sends about ten; the bound
// keeps the sort cheap on hostile input.
const maxPairs = 128

// Byte classes of a raw query string.
const (
	clsPlain   = iota // copied as is
	clsPlus           // '+': a space
	clsPercent        // '%': an escape
	clsEquals         // '=': only between key and value
	clsSemi           // ';': never a separator here
	clsBad            // never in a raw query string: decoded or re-serialised input
)

var byteClasses = func() (t [256]uint8) {
	for c := range t {
		if c <= 0x20 || c >= 0x7f {
			t[c] = clsBad
		}
	}
	t['+'], t['%'], t['='], t[';'] = clsPlus, clsPercent, clsEquals, clsSemi
	t['"'], t['{'], t['}'], t['['], t[']'], t['\\'] = clsBad, clsBad, clsBad, clsBad, clsBad, clsBad
	return t
}()

// keyBytes marks the bytes a key may hold: printable ASCII but the
// separators and the bytes decode looks at.
var keyBytes = func() (t [256]bool) {
	for c := range t {
		t[c] = byteClasses[c] == clsPlain && c != '&'
	}
	return t
}()

// unhexTable maps a hex digit to its value and anything else to 0xff.
var unhexTable = func() (t [256]uint8) {
	for c := range t {
		t[c] = 0xff
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = uint8(c - '0')
	}
	for c := 'a'; c <= 'f'; c++ {
		t[c] = uint8(c - 'a' + 10)
		t[c-'a'+'A'] = uint8(c - 'a' + 10)
	}
	return t
}()

func isHex(c byte) bool { return unhexTable[c] != 0xff }

// scan splits raw init data into pairs appended to dst, sorted by key, and
// checks its structure: at most MaxLength bytes, pairs of a non-empty plain
// key, "=" and a value, joined by single "&", no duplicate key. The values
// are checked further as decodeValues decodes them. scan does not allocate
// while dst has room.
func scan(s string, dst []pair) ([]pair, error) {
	if len(s) > MaxLength {
		return dst, errTooLong
	}
	if len(s) == 0 {
		return dst, errEmpty
	}
	if s[0] == '{' || s[0] == '[' {
		return dst, errLooksJSON
	}
	dst, err := split(s, dst)
	if err != nil {
		if looksDecoded(s) {
			err = errLooksDecoded
		}
		return dst, err
	}
	if sortPairs(dst) {
		return dst, errDuplicate
	}
	return dst, nil
}

// split appends the pairs of s to dst in the order received: each "&"
// ends a pair, whose key runs up to its "=".
func split(s string, dst []pair) ([]pair, error) {
	for i := 0; ; {
		k := i
		for k < len(s) && keyBytes[s[k]] {
			k++
		}
		if k == len(s) || s[k] != '=' || k == i {
			return dst, keyError(s, i, k)
		}
		if len(dst) == maxPairs {
			return dst, errTooManyPairs
		}
		end := len(s)
		if e := strings.IndexByte(s[k+1:], '&'); e >= 0 {
			end = k + 1 + e
		}
		dst = append(dst, pair{key: s[i:k], raw: s[k+1 : end]})
		if end == len(s) {
			return dst, nil
		}
		i = end + 1
		if i == len(s) {
			return dst, errEmptyPair
		}
	}
}

// keyError says what is wrong with the key that starts at i and stops at
// k, before the byte a key may not hold or the end of s, when that is not
// the "=" of a non-empty key.
func keyError(s string, i, k int) error {
	switch {
	case k < len(s) && s[k] == '=':
		return errEmptyKey
	case k == i && (k == len(s) || s[k] == '&'):
		return errEmptyPair
	case k == len(s) || s[k] == '&':
		return errNoEquals
	}
	return errKey
}

// looksDecoded reports whether s holds a byte that no raw query string has.
func looksDecoded(s string) bool {
	for i := 0; i < len(s); i++ {
		if byteClasses[s[i]] == clsBad {
			return true
		}
	}
	return false
}

// sortPairs sorts p by key and reports whether two keys are equal. Init
// data has about ten pairs: an insertion sort does, beyond that
// slices.SortFunc.
func sortPairs(p []pair) (dup bool) {
	if len(p) <= stackPairs {
		for i := 1; i < len(p); i++ {
			for j := i; j > 0 && p[j].key < p[j-1].key; j-- {
				p[j], p[j-1] = p[j-1], p[j]
			}
		}
	} else {
		slices.SortFunc(p, func(a, b pair) int { return strings.Compare(a.key, b.key) })
	}
	for i := 1; i < len(p); i++ {
		if p[i].key == p[i-1].key {
			return true
		}
	}
	return false
}

// find returns the index of the pair with the key, or -1.
func find(p []pair, key string) int {
	for i := range p {
		if p[i].key == key {
			return i
		}
	}
	return -1
}

// valueBytes classifies the bytes of a raw value for decode: 0 for the
// plain ones, copied as they are.
var valueBytes = func() (t [256]uint8) {
	for c := range 0x20 {
		t[c] = vbBad // control bytes: never in a raw query string
	}
	t['%'], t['+'], t['='], t[';'], t['"'] = vbPercent, vbPlus, vbEquals, vbSemi, vbBad
	return t
}()

const (
	vbPercent = 1 + iota
	vbPlus
	vbEquals
	vbSemi
	vbBad // a control byte, or a quote: the mark of URL-decoded JSON
)

// decode appends the form-decoding of the raw value s ("+" is a space,
// "%XX" a byte) to dst, and reports whether that changed anything. A bad
// escape, a raw "=", ";", quote or control byte, and a line feed in the
// decoded value are errors: the data-check-string joins fields with "\n",
// so a value holding one could pass for two fields, or two for one. On
// error dst is returned as it was.
func decode(dst []byte, s string) ([]byte, bool, error) {
	n := len(dst)
	dst = slices.Grow(dst, len(s)) // decoding never lengthens a value
	out := dst[n : n+len(s)]
	j := 0
	changed := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch valueBytes[c] {
		case 0:
		case vbPercent:
			if i+2 >= len(s) {
				return dst[:n], false, errBadEscape
			}
			hi, lo := unhexTable[s[i+1]], unhexTable[s[i+2]]
			if hi|lo == 0xff {
				return dst[:n], false, errBadEscape
			}
			if c = hi<<4 | lo; c == '\n' {
				return dst[:n], false, errLineFeed
			}
			i += 2
			changed = true
		case vbPlus:
			c = ' '
			changed = true
		case vbEquals:
			return dst[:n], false, errExtraEquals
		case vbSemi:
			return dst[:n], false, errSemicolon
		default:
			return dst[:n], false, errLooksDecoded
		}
		out[j] = c
		j++
	}
	return dst[:n+j], changed, nil
}

// decodeValues decodes the value of every pair into dst, recording where,
// and makes dst the data-check-string: key=value lines joined by "\n" in
// the order of p, leaving out hash and, for third-party checks,
// signature. Those are checked elsewhere (decodeHash, the signature
// decoder); the hash of a third-party check, which nothing else reads, is
// checked here.
func decodeValues(dst []byte, p []pair, thirdParty bool) ([]byte, error) {
	first := true
	for i := range p {
		kv := &p[i]
		if kv.key == keyHash || thirdParty && kv.key == keySignature {
			if thirdParty && kv.key == keyHash {
				var err error
				if _, kv.escaped, err = decode(dst[len(dst):], kv.raw); err != nil {
					return dst, err
				}
			}
			continue
		}
		if !first {
			dst = append(dst, '\n')
		}
		first = false
		dst = append(dst, kv.key...)
		dst = append(dst, '=')
		start := len(dst)
		var err error
		if dst, kv.escaped, err = decode(dst, kv.raw); err != nil {
			return dst, err
		}
		kv.off, kv.end, kv.decoded = int32(start), int32(len(dst)), true
	}
	return dst, nil
}
