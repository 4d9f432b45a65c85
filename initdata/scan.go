package initdata

import (
	"encoding/binary"
	"math/bits"
	"slices"
	"strings"
)

// pair is one key=value of init data, as offsets into the input (at most
// MaxLength bytes, so 16 bits hold each): the key is in[k:eq], decoded
// (keys are plain), and the raw value, as received, in[eq+1:end]. span
// packs k (bits 0 to 15), eq (16 to 31), end (32 to 47) and whether the
// value is plain, holding only bytes a key may hold, which decode leaves
// as they are (bit 48, set by splitMasks only). dec is zero until
// decodeValues records in it where the decoded value lies in the
// data-check-string, buf[off:end] of the scratch (off in bits 0 to 15,
// end in 16 to 31), whether the value held "%" or "+" (bit 32) and that
// it was decoded (bit 33).
//
// Two words, not eight named fields: the compiler builds and copies a
// struct of at most four fields a field at a time in registers, but a
// bigger one on the stack with narrow stores and copies it with wide
// loads, which stall waiting for those stores (measured: most of the time
// of split and the sort). Offsets rather than strings keep a pair free of
// pointers and 16 bytes: the stack array is cheap to zero and to sort.
type pair struct {
	span, dec uint64
}

const (
	pairPlain   = 1 << 48
	pairEscaped = 1 << 32
	pairDecoded = 1 << 33
)

// newPair returns the pair of key in[k:eq] and value in[eq+1:end].
func newPair(k, eq, end int, plain bool) pair {
	span := uint64(k) | uint64(eq)<<16 | uint64(end)<<32
	if plain {
		span |= pairPlain
	}
	return pair{span: span}
}

func (kv pair) k() int      { return int(uint16(kv.span)) }
func (kv pair) eq() int     { return int(uint16(kv.span >> 16)) }
func (kv pair) end() int    { return int(uint16(kv.span >> 32)) }
func (kv pair) plain() bool { return kv.span&pairPlain != 0 }

// key returns the key of kv in the input in.
func (kv pair) key(in string) string { return in[kv.k():kv.eq()] }

// val returns the raw value of kv in the input in.
func (kv pair) val(in string) string { return in[kv.eq()+1 : kv.end()] }

// valLen returns the length of the raw value of kv.
func (kv pair) valLen() int { return kv.end() - kv.eq() - 1 }

// decoded returns where decodeValues put the decoded value of kv in the
// data-check-string, and false if it did not.
func (kv pair) decoded() (off, end int, ok bool) {
	return int(uint16(kv.dec)), int(uint16(kv.dec >> 16)), kv.dec&pairDecoded != 0
}

// escaped reports whether decodeValues found "%" or "+" in the value of kv.
func (kv pair) escaped() bool { return kv.dec&pairEscaped != 0 }

// setDecoded records where the decoded value of kv is, and whether it held
// "%" or "+".
func (kv *pair) setDecoded(off, end int, escaped bool) {
	dec := uint64(off) | uint64(end)<<16 | pairDecoded
	if escaped {
		dec |= pairEscaped
	}
	kv.dec = dec
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
// allocate; m is scratch for splitInput.
func scan(s string, dst []pair, m *masks) ([]pair, error) {
	if len(s) > MaxLength {
		return dst, errTooLong
	}
	if len(s) == 0 {
		return dst, errEmpty
	}
	if s[0] == '{' || s[0] == '[' {
		return dst, errLooksJSON
	}
	dst, err := splitInput(s, dst, m)
	if err != nil {
		if looksDecoded(s) {
			err = errLooksDecoded
		}
		return dst, err
	}
	if sortPairs(s, dst) {
		return dst, errDuplicate
	}
	return dst, nil
}

func split(s string, dst []pair) ([]pair, error) {
	for i := 0; ; {
		// The key: plain bytes up to "=" (keys are short, a loop beats a
		// search); the value: up to the next "&".
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
		e := strings.IndexByte(s[k+1:], '&')
		if e >= 0 {
			end = k + 1 + e
		}
		dst = append(dst, newPair(i, k, end, false))
		if e < 0 {
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

// maskWords is how many 64-bit words a mask of an input takes.
const maskWords = MaxLength / 64

// masks marks two classes of the bytes of an input, a bit a byte (byte i
// is bit i%64 of word i/64): amp the "&"s and stop the bytes a key may
// not hold (keyBytes false: "=", "&" and every byte decode looks at among
// them). classifyAVX2 fills them 32 bytes at a time, classifyGo a byte at
// a time; splitMasks splits with them.
type masks struct {
	amp, stop [maskWords]uint64
}

// classifyGo sets the masks of s in m (bits past len(s) in its last word
// are zero).
func classifyGo(s string, m *masks) {
	for w := 0; w*64 < len(s); w++ {
		var amp, stop uint64
		for b := 0; b < 64 && w*64+b < len(s); b++ {
			c := s[w*64+b]
			if c == '&' {
				amp |= 1 << b
			}
			if !keyBytes[c] {
				stop |= 1 << b
			}
		}
		m.amp[w], m.stop[w] = amp, stop
	}
}

// next returns the position of the first bit of mask at or after i, or n
// if there is none before n. Only the words that hold bits before n are
// read, and a bit at or after n (stale in the last word) counts as none.
func next(mask *[maskWords]uint64, i, n int) int {
	if i >= n {
		return n
	}
	w := i >> 6
	if x := mask[w] >> (uint(i) & 63); x != 0 {
		return min(i+bits.TrailingZeros64(x), n)
	}
	for w++; w<<6 < n; w++ {
		if x := mask[w]; x != 0 {
			return min(w<<6+bits.TrailingZeros64(x), n)
		}
	}
	return n
}

// splitMasks is split from the masks of s: it finds the end of each key
// and value by the bits of stop and amp rather than byte by byte, and
// marks the values that hold no bit of stop as plain, so decodeValues
// copies them without decoding. It returns what split returns.
func splitMasks(s string, m *masks, dst []pair) ([]pair, error) {
	for i := 0; ; {
		k := next(&m.stop, i, len(s))
		if k == len(s) || s[k] != '=' || k == i {
			return dst, keyError(s, i, k)
		}
		if len(dst) == maxPairs {
			return dst, errTooManyPairs
		}
		// The value ends at the first "&" after "="; it is plain if that
		// is the first byte a key may not hold, too.
		end := next(&m.stop, k+1, len(s))
		plain := end == len(s) || s[end] == '&'
		if !plain {
			end = next(&m.amp, end, len(s))
		}
		dst = append(dst, newPair(i, k, end, plain))
		if end == len(s) {
			return dst, nil
		}
		i = end + 1
		if i == len(s) {
			return dst, errEmptyPair
		}
	}
}

// keyBytes marks the bytes a key may hold: printable ASCII but the
// separators and the bytes decode looks at.
var keyBytes = func() (t [256]bool) {
	for c := range t {
		t[c] = byteClasses[c] == clsPlain && c != '&'
	}
	return t
}()

// looksDecoded reports whether s holds a byte that no raw query string has.
func looksDecoded(s string) bool {
	for i := 0; i < len(s); i++ {
		if byteClasses[s[i]] == clsBad {
			return true
		}
	}
	return false
}

// sortPairs sorts the pairs of the input in by key and reports whether two
// keys are equal. Up to eight pairs go through sortEight; up to
// stackPairs, or when sortEight declines, an insertion sort, which costs
// no allocation and beats a general sort at that size (a branch-free
// ranking of all sixteen by 8-byte key prefixes lost to it, measured: its
// n² compares cost more than the moves they save); more, a general sort.
func sortPairs(in string, p []pair) (dup bool) {
	if len(p) > stackPairs {
		slices.SortFunc(p, func(a, b pair) int { return strings.Compare(a.key(in), b.key(in)) })
		for i := 1; i < len(p); i++ {
			if p[i].key(in) == p[i-1].key(in) {
				return true
			}
		}
		return false
	}
	if len(p) <= 8 {
		if dup, ok := sortEight(in, p); ok {
			return dup
		}
	}
	// Insertion sort on the first bytes, kept apart (the full keys
	// break ties); the moves make a hole rather than swap.
	var first [stackPairs]byte
	for i := range p {
		first[i] = in[p[i].k()]
	}
	for i := 1; i < len(p); i++ {
		f, kv := first[i], p[i]
		j := i
		for ; j > 0 && (f < first[j-1] || f == first[j-1] && kv.key(in) < p[j-1].key(in)); j-- {
			first[j], p[j] = first[j-1], p[j-1]
		}
		first[j], p[j] = f, kv
	}
	for i := 1; i < len(p); i++ {
		if first[i] == first[i-1] && p[i].key(in) == p[i-1].key(in) {
			return true
		}
	}
	return false
}

// sortEight sorts up to eight pairs with a sorting network (19
// compare-exchanges, each a min and a max with no branch) over words that
// pack the first seven bytes of a key, big-endian and zero-padded, over
// the pair's index. Keys hold no zero byte, so the words order as the keys
// do, except that two keys that share their first seven bytes tie. ok is
// false, and p unchanged, when two such keys are not both that short: the
// caller sorts by whole keys then. Otherwise dup says whether two keys
// are equal (a tie of keys of at most seven bytes).
//
// With the data in registers, nothing waits on a mispredicted branch: an
// insertion sort mispredicts nearly every move, and Telegram's keys
// differ within their first seven bytes.
func sortEight(in string, p []pair) (dup, ok bool) {
	var w [8]uint64
	var tmp [8]pair
	for i, kv := range p {
		k, n := kv.k(), kv.eq()-kv.k()
		var x uint64
		if k+8 <= len(in) {
			x = bits.ReverseBytes64(load64(in, k))
		} else {
			x = loadEnd(in, k)
		}
		w[i] = x&(^uint64(0)<<(64-8*min(n, 7))) | uint64(i)
		tmp[i] = kv
	}
	for i := len(p); i < len(w); i++ {
		w[i] = ^uint64(0) // after every key
	}
	w0, w1, w2, w3, w4, w5, w6, w7 := w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]
	w0, w2 = min(w0, w2), max(w0, w2)
	w1, w3 = min(w1, w3), max(w1, w3)
	w4, w6 = min(w4, w6), max(w4, w6)
	w5, w7 = min(w5, w7), max(w5, w7)
	w0, w4 = min(w0, w4), max(w0, w4)
	w1, w5 = min(w1, w5), max(w1, w5)
	w2, w6 = min(w2, w6), max(w2, w6)
	w3, w7 = min(w3, w7), max(w3, w7)
	w0, w1 = min(w0, w1), max(w0, w1)
	w2, w3 = min(w2, w3), max(w2, w3)
	w4, w5 = min(w4, w5), max(w4, w5)
	w6, w7 = min(w6, w7), max(w6, w7)
	w2, w4 = min(w2, w4), max(w2, w4)
	w3, w5 = min(w3, w5), max(w3, w5)
	w1, w4 = min(w1, w4), max(w1, w4)
	w3, w6 = min(w3, w6), max(w3, w6)
	w1, w2 = min(w1, w2), max(w1, w2)
	w3, w4 = min(w3, w4), max(w3, w4)
	w5, w6 = min(w5, w6), max(w5, w6)
	w = [8]uint64{w0, w1, w2, w3, w4, w5, w6, w7}
	for i := 1; i < len(p); i++ {
		if w[i]>>8 == w[i-1]>>8 {
			a, b := tmp[w[i-1]&7], tmp[w[i]&7]
			if a.eq()-a.k() > 7 || b.eq()-b.k() > 7 {
				return false, false
			}
			dup = true
		}
	}
	for i := range p {
		p[i] = tmp[w[i]&7]
	}
	return dup, true
}

// loadEnd returns the bytes of in from k, fewer than eight, as the high
// bytes of a big-endian word padded with zeros.
func loadEnd(in string, k int) uint64 {
	var x uint64
	for i := 0; k+i < len(in); i++ {
		x |= uint64(in[k+i]) << (56 - 8*i)
	}
	return x
}

// find returns the index of the pair with the key in pairs of the input
// in sorted by key, or -1. For the usual dozen pairs a linear scan that
// compares lengths first beats a binary search, whose every step is a call
// to compare strings.
func find(in string, p []pair, key string) int {
	if len(p) <= stackPairs {
		for i := range p {
			if p[i].eq()-p[i].k() == len(key) && p[i].key(in) == key {
				return i
			}
		}
		return -1
	}
	lo, hi := 0, len(p)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if p[m].key(in) < key {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < len(p) && p[lo].key(in) == key {
		return lo
	}
	return -1
}

func isHex(c byte) bool { return unhexTable[c] != 0xff }

func unhex(c byte) byte { return unhexTable[c] }

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

// SWAR constants: a byte in all eight lanes of a word.
const (
	lanes1  = 0x0101010101010101
	lanesHi = 0x8080808080808080
)

// hasByte reports whether a lane of w equals c.
func hasByte(w uint64, c byte) uint64 {
	x := w ^ lanes1*uint64(c)
	return (x - lanes1) &^ x & lanesHi
}

// needsLook reports whether the eight bytes in w hold one that decode must
// look at: a control byte, "%", "+", "=", ";" or a quote (see valueBytes).
func needsLook(w uint64) bool {
	return (w-lanes1*0x20)&^w&lanesHi|hasByte(w, '%')|hasByte(w, '+')|hasByte(w, '=')|hasByte(w, ';')|hasByte(w, '"') != 0
}

// plain reports whether s holds no byte decode must look at (see
// valueBytes), eight bytes at a time (the last eight overlapping).
func plain(s string) bool {
	if len(s) < 8 {
		var c uint8
		for i := 0; i < len(s); i++ {
			c |= valueBytes[s[i]]
		}
		return c == 0
	}
	for i := 0; i+8 < len(s); i += 8 {
		if needsLook(load64(s, i)) {
			return false
		}
	}
	return !needsLook(load64(s, len(s)-8))
}

// load64 reads eight bytes of s at i, little-endian (one load on amd64 and arm64).
func load64(s string, i int) uint64 {
	s = s[i : i+8]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// decode appends the form-decoding of the raw value s ("+" is a space,
// "%XX" a byte) to dst, and reports whether that changed anything. A bad
// escape, a raw "=", ";", quote or control byte, and a line feed in the
// decoded value are errors: the data-check-string joins fields with "\n",
// so a value holding one could pass for two fields, or two for one.
//
// decode is decodeGo, or on amd64 with AVX2 a block decoder in assembly
// (decode_amd64.go); FuzzDecode checks both against decodeSlow.

// decodeGo is decode in Go. Init data is dense with escapes (a user object
// is one in six), so its loop is tuned for them: one table lookup and
// branch per byte, escape checks folded into one flag tested at the end.
// (A word-at-a-time version measured slower: the escapes are too close
// together.)
func decodeGo(dst []byte, s string) ([]byte, bool, error) {
	n := len(dst)
	if cap(dst)-n < len(s) {
		dst = slices.Grow(dst, len(s))
	}
	out := dst[n : n+len(s)]
	// Values without escapes (signature, ids) go eight bytes at a time
	// until the first byte that needs a look; the rest goes byte by byte.
	i := 0
	for ; i+8 <= len(s); i += 8 {
		w := load64(s, i)
		if needsLook(w) {
			break
		}
		binary.LittleEndian.PutUint64(out[i:], w)
	}
	return decodeTail(dst, n, out, s, i, i, false)
}

// decodeTail decodes s[i:] to out[j:], out being dst[n:] with room for
// len(s)-i more bytes, and returns dst[:n+j'] with j' where the output
// ended; changed says whether s[:i] held an escape already.
func decodeTail(dst []byte, n int, out []byte, s string, i, j int, changed bool) ([]byte, bool, error) {
	var bad uint8 // high nibble set by a non-hex digit or a decoded line feed
	for ; i < len(s); i++ {
		c := s[i]
		if i+1 < len(s) {
			if c1 := s[i+1]; valueBytes[c]|valueBytes[c1] == 0 {
				out[j], out[j+1] = c, c1
				i++
				j += 2
				continue
			}
		}
		if cls := valueBytes[c]; cls != 0 {
			changed = true
			switch {
			case cls == vbPercent && i+2 < len(s):
				hi, lo := unhexTable[s[i+1]], unhexTable[s[i+2]]
				c = hi<<4 | lo
				bad |= hi | lo
				if c == '\n' {
					bad |= 0xf0
				}
				i += 2
			case cls == vbPlus:
				c = ' '
			default:
				_, _, err := decodeSlow(dst[n:n], s) // for the precise error
				return dst[:n], false, err
			}
		}
		out[j] = c
		j++
	}
	if bad&0xf0 != 0 {
		_, _, err := decodeSlow(dst[n:n], s)
		return dst[:n], false, err
	}
	return dst[:n+j], changed, nil
}

// decodeSlow is decode with append and a return at the first bad byte: the
// reference FuzzDecode checks decode against, and the source of decode's
// precise errors.
func decodeSlow(dst []byte, s string) ([]byte, bool, error) {
	n := len(dst)
	changed := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch valueBytes[c] {
		case 0:
			dst = append(dst, c)
			continue
		case vbPercent:
			if i+2 >= len(s) {
				return dst[:n], false, errBadEscape
			}
			hi, lo := unhexTable[s[i+1]], unhexTable[s[i+2]]
			if hi|lo == 0xff {
				return dst[:n], false, errBadEscape
			}
			if hi<<4|lo == '\n' {
				return dst[:n], false, errLineFeed
			}
			dst = append(dst, hi<<4|lo)
			i += 2
		case vbPlus:
			dst = append(dst, ' ')
		case vbEquals:
			return dst[:n], false, errExtraEquals
		case vbSemi:
			return dst[:n], false, errSemicolon
		default:
			return dst[:n], false, errLooksDecoded
		}
		changed = true
	}
	return dst, changed, nil
}

// decodeValues decodes the value of every pair of the input in into dst,
// recording where, and makes dst the data-check-string: key=value lines
// joined by "\n" in the order of p, leaving out hash and, for third-party
// checks, signature. Those are checked elsewhere (decodeHash, the
// signature decoder); the hash of a third-party check, which nothing else
// reads, is checked here.
func decodeValues(dst []byte, in string, p []pair, thirdParty bool) ([]byte, error) {
	first := true
	for i := range p {
		kv := &p[i]
		key := kv.key(in)
		if key == keyHash || thirdParty && key == keySignature {
			if thirdParty && key == keyHash {
				if _, _, err := decode(dst[len(dst):], kv.val(in)); err != nil {
					return dst, err
				}
			}
			continue
		}
		if !first {
			dst = append(dst, '\n')
		}
		first = false
		// "key=" is as received, and so is "key=value" when the value is
		// plain: one append each.
		if kv.plain() {
			dst = append(dst, in[kv.k():kv.end()]...)
			kv.setDecoded(len(dst)-kv.valLen(), len(dst), false)
			continue
		}
		dst = append(dst, in[kv.k():kv.eq()+1]...)
		start := len(dst)
		var escaped bool
		var err error
		if dst, escaped, err = decode(dst, kv.val(in)); err != nil {
			return dst, err
		}
		kv.setDecoded(start, len(dst), escaped)
	}
	return dst, nil
}
