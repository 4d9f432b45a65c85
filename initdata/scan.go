package initdata

import (
	"encoding/binary"
	"math/bits"
	"slices"
	"strings"
)

// pair is one key=value of init data. key is decoded; val is raw, as
// received. After decodeValues, escaped says whether val held "%" or "+",
// and buf[off:end] of the scratch holds the decoded value (when decoded).
type pair struct {
	key      string
	val      string
	off, end int32
	escaped  bool
	decoded  bool
}

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

// scan splits raw init data into pairs appended to dst, sorted by key, and
// checks its structure: at most MaxLength bytes, pairs of a non-empty plain
// key, "=" and a value, joined by single "&", no ";", no duplicate key, no
// quote (the mark of init data that was URL-decoded already). The
// values are checked further as decodeValues decodes them. scan does not
// allocate.
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
	if strings.IndexByte(s, '"') >= 0 {
		return dst, errLooksDecoded
	}
	if strings.IndexByte(s, ';') >= 0 {
		return dst, errSemicolon
	}
	dst, err := split(s, dst)
	if err != nil {
		if looksDecoded(s) {
			err = errLooksDecoded
		}
		return dst, err
	}
	if strings.Count(s, "=") != len(dst) {
		return dst, errExtraEquals
	}
	sortPairs(dst)
	for i := 1; i < len(dst); i++ {
		if dst[i].key == dst[i-1].key {
			return dst, errDuplicate
		}
	}
	return dst, nil
}

func split(s string, dst []pair) ([]pair, error) {
	for {
		seg, rest, more := strings.Cut(s, "&")
		if seg == "" {
			return dst, errEmptyPair
		}
		eq := strings.IndexByte(seg, '=')
		if eq < 0 {
			return dst, errNoEquals
		}
		if eq == 0 {
			return dst, errEmptyKey
		}
		if len(dst) == maxPairs {
			return dst, errTooManyPairs
		}
		key := seg[:eq]
		for i := 0; i < len(key); i++ {
			if byteClasses[key[i]] != clsPlain {
				return dst, errKey
			}
		}
		dst = append(dst, pair{key: key, val: seg[eq+1:]})
		if !more {
			return dst, nil
		}
		s = rest
	}
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

// find returns the index of the pair with the key in sorted pairs, or -1.
func find(p []pair, key string) int {
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
		return lo
	}
	return -1
}

func isHex(c byte) bool { return unhexTable[c] != 0xff }

func unhex(c byte) byte { return unhexTable[c] }

// SWAR constants: the same byte in all eight lanes of a word.
const (
	lanes1  = 0x0101010101010101
	lanes7f = 0x7f7f7f7f7f7f7f7f
	lanesHi = 0x8080808080808080

	// movemask gathers the low bit of each lane into the top byte.
	movemask = 0x0102040810204080
)

// equalBytes marks (high bit of the lane) exactly the bytes of w equal to c.
func equalBytes(w uint64, c byte) uint64 {
	t := w ^ lanes1*uint64(c)
	return ^((t&lanes7f + lanes7f) | t | lanes7f)
}

// plusOrControl is non-zero when w holds a '+' or a control byte (< 0x20).
func plusOrControl(w uint64) uint64 {
	y := w ^ lanes1*'+'
	return ((y-lanes1)&^y | (w-lanes1*0x20)&^w) & lanesHi
}

// load64 reads eight bytes of s at i, little-endian (one load on amd64 and arm64).
func load64(s string, i int) uint64 {
	s = s[i : i+8]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// escapeAt decodes the escape "%XX" at s[p].
func escapeAt(s string, p int) (byte, error) {
	if p+2 >= len(s) {
		return 0, errBadEscape
	}
	hi, lo := unhexTable[s[p+1]], unhexTable[s[p+2]]
	if hi|lo == 0xff {
		return 0, errBadEscape
	}
	c := hi<<4 | lo
	if c == '\n' {
		return 0, errLineFeed
	}
	return c, nil
}

// decode appends the form-decoding of the raw value s ("+" is a space,
// "%XX" a byte) to dst. A bad escape, a control byte, and a line feed in
// the decoded value are errors: the data-check-string joins fields with
// "\n", so a value holding one could pass for two fields, or two for one.
//
// Init data is dense with escapes (a user object is about one in six), so
// the fast path finds every '%' of a word at once, walks them by bit
// tricks and copies the plain runs between them a word at a time: no
// branch depends on where the escapes fall, and no load on the last one.
// A value with "+" or a control byte takes the plain loop, decodeSlow.
func decode(dst []byte, s string) ([]byte, error) {
	if len(s) < 16 {
		return decodeSlow(dst, s)
	}
	n := len(dst)
	if cap(dst)-n < len(s)+8 {
		dst = slices.Grow(dst, len(s)+8)
	}
	out := dst[n : n+len(s)+8] // 8 bytes of slack for word stores
	var other uint64
	prev, j := 0, 0 // s[prev:] is still to copy, to out[j:]
	full := len(s) &^ 7
	for b0 := 0; b0 < full; b0 += 64 {
		// The '%'s of up to 64 bytes as one bit mask.
		var mask uint64
		for w0, k := b0, 0; k < 64 && w0 < full; w0, k = w0+8, k+8 {
			w := load64(s, w0)
			other |= plusOrControl(w)
			mask |= ((equalBytes(w, '%') >> 7) * movemask >> 56) << k
		}
		for ; mask != 0; mask &= mask - 1 {
			p := b0 + bits.TrailingZeros64(mask)
			// Copy the plain run s[prev:p]: one word store covers most.
			if r := p - prev; r <= 8 && prev+8 <= len(s) {
				binary.LittleEndian.PutUint64(out[j:], load64(s, prev))
			} else {
				copy(out[j:j+r], s[prev:p])
			}
			j += p - prev
			c, err := escapeAt(s, p)
			if err != nil {
				return dst[:n], err
			}
			out[j] = c
			j++
			prev = p + 3
		}
	}
	for p := max(full, prev); p < len(s); p++ {
		c := s[p]
		if c == '+' || c < 0x20 {
			other = 1
		}
		if c != '%' {
			continue
		}
		j += copy(out[j:], s[prev:p])
		e, err := escapeAt(s, p)
		if err != nil {
			return dst[:n], err
		}
		out[j] = e
		j++
		prev = p + 3
		p += 2
	}
	if other != 0 {
		return decodeSlow(dst[:n], s)
	}
	if prev < len(s) {
		j += copy(out[j:], s[prev:])
	}
	return dst[:n+j], nil
}

// decodeSlow is decode one byte at a time, for the rare values with "+" or
// a control byte, and for short ones.
func decodeSlow(dst []byte, s string) ([]byte, error) {
	n := len(dst)
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '%':
			e, err := escapeAt(s, i)
			if err != nil {
				return dst[:n], err
			}
			dst = append(dst, e)
			i += 2
		case c == '+':
			dst = append(dst, ' ')
		case c < 0x20:
			return dst[:n], errLooksDecoded
		default:
			dst = append(dst, c)
		}
	}
	return dst, nil
}

// decodeValues decodes the value of every pair into dst, recording where,
// and makes dst the data-check-string: key=value lines joined by "\n" in the
// order of p, leaving out hash and, for third-party checks, signature.
// The pairs left out are checked but not decoded.
func decodeValues(dst []byte, p []pair, skipSignature bool) ([]byte, error) {
	first := true
	for i := range p {
		kv := &p[i]
		if kv.key == keyHash || skipSignature && kv.key == keySignature {
			continue // checked by decodeHash and the signature decoder
		}
		if !first {
			dst = append(dst, '\n')
		}
		first = false
		dst = append(dst, kv.key...)
		dst = append(dst, '=')
		start := len(dst)
		var err error
		if dst, err = decode(dst, kv.val); err != nil {
			return dst, err
		}
		kv.off, kv.end, kv.decoded = int32(start), int32(len(dst)), true
		kv.escaped = len(dst)-start != len(kv.val) || strings.IndexByte(kv.val, '+') >= 0
	}
	return dst, nil
}
