//go:build amd64 && !purego

package initdata

import (
	"crypto/sha256"
	"slices"
	"unsafe"
)

// useAVX2 says whether decode uses decodeAVX2: the CPU has AVX2 and
// POPCNT and the OS saves the YMM registers. Tests turn it off to run the
// Go decoder in its place.
var useAVX2 = cpuHasAVX2()

// cpuHasAVX2 reports whether the CPU has AVX2 and POPCNT and the OS
// saves the YMM registers (CPUID and XGETBV; decode_amd64.s).
func cpuHasAVX2() bool

// decodeAVX2 decodes src[:next] (n bytes long, n >= avx2MinLen) to
// dst[:written] in blocks of 32 bytes; dst has room for n+avx2Slack
// bytes, and tab is shuffleTable. flags has avx2Bad when the decoded part
// holds a bad byte or escape, avx2Changed when it holds "%" or "+". next
// is at least len-2: the caller decodes the rest.
//
//go:noescape
func decodeAVX2(dst, src *byte, n int, tab *[512]uint64) (next, written, flags int)

const (
	avx2MinLen = 34 // a block reads 34 bytes
	avx2Slack  = 32 // a block may write this far past the end of its output

	avx2Bad     = 1
	avx2Changed = 2
)

// shuffleTable[k] holds the VPSHUFB indices that pack the lanes of a
// group of eight whose bits are set in k, in order; shuffleTable[256+k]
// the same for the upper group of a 16-byte lane (indices 8 to 15).
var shuffleTable = func() (t [512]uint64) {
	for k := range 256 {
		n := 0
		for b := range 8 {
			if k>>b&1 != 0 {
				t[k] |= uint64(b) << (8 * n)
				t[256+k] |= uint64(b+8) << (8 * n)
				n++
			}
		}
	}
	return t
}()

// decode is decodeAVX2 for values long enough for a block and decodeGo
// for the rest: see decodeGo for what it does.
func decode(dst []byte, s string) ([]byte, bool, error) {
	if !useAVX2 || len(s) == 0 || len(s) == avx2MinLen-1 {
		return decodeGo(dst, s)
	}
	n := len(dst)
	if cap(dst)-n < len(s)+avx2Slack {
		dst = slices.Grow(dst, len(s)+avx2Slack)
	}
	out := dst[n : n+len(s)+avx2Slack]
	var i, j, flags int
	if len(s) < avx2MinLen {
		if plain(s) { // short values are mostly plain: ids, dates, chat_type
			return append(dst, s...), false, nil
		}
		// One block over s padded with 'g's: plain bytes, and not hex
		// digits, so an escape that runs into them is bad, as it is at
		// the end of s. The padding is decoded too and dropped.
		b := avx2Padding
		copy(b[:], s)
		_, j, flags = decodeAVX2(&out[0], &b[0], avx2MinLen, &shuffleTable)
		i, j = len(s), j-(avx2MinLen-2-len(s))
	} else {
		i, j, flags = decodeAVX2(&out[0], unsafe.StringData(s), len(s), &shuffleTable)
	}
	if flags&avx2Bad != 0 {
		return decodeGo(dst[:n], s) // for the precise error
	}
	if i == len(s) {
		return dst[:n+j], flags&avx2Changed != 0, nil
	}
	return decodeTail(dst, n, out, s, i, j, flags&avx2Changed != 0)
}

// avx2Padding is the block a short value is copied into.
var avx2Padding = func() (b [avx2MinLen]byte) {
	for i := range b {
		b[i] = 'g'
	}
	return b
}()

// decodeHexAVX2 decodes the 64 hex digits at src to dst and reports
// whether they all are hex digits.
//
//go:noescape
func decodeHexAVX2(dst *[sha256.Size]byte, src *byte) bool

// decodeHash decodes a hash of exactly 64 hex digits: decodeHexAVX2, or
// decodeHashGo without AVX2.
func decodeHash(dst *[sha256.Size]byte, h string) bool {
	if !useAVX2 {
		return decodeHashGo(dst, h)
	}
	if len(h) != 2*sha256.Size {
		return false
	}
	return decodeHexAVX2(dst, unsafe.StringData(h))
}

// classifyAVX2 sets the first n bits of the masks in m from src[:n]; n is
// at least 32 and at most MaxLength.
//
//go:noescape
func classifyAVX2(m *masks, src *byte, n int)

// The assembly stores stop 1024 bytes after amp: this fails to compile
// (a negative uintptr) if the layout of masks changes.
const _ = -(unsafe.Offsetof(masks{}.stop) ^ 1024)

// classify does what classifyGo does, with classifyAVX2: on s in place,
// or, for input shorter than a block, on a copy padded with 'a's (a key
// byte, in neither mask). Bits past len(s) in the last word may be stale;
// next ignores them.
func classify(s string, m *masks) {
	if len(s) >= 32 {
		classifyAVX2(m, unsafe.StringData(s), len(s))
		return
	}
	b := classPadding
	copy(b[:], s)
	classifyAVX2(m, &b[0], len(b))
}

// classPadding is the block a short input is copied into.
var classPadding = func() (b [32]byte) {
	for i := range b {
		b[i] = 'a'
	}
	return b
}()

// splitInput is split, or with AVX2 classify and splitMasks (which also
// marks the plain values).
func splitInput(s string, dst []pair, m *masks) ([]pair, error) {
	if !useAVX2 {
		return split(s, dst)
	}
	classify(s, m)
	return splitMasks(s, m, dst)
}
