//go:build amd64 && !purego

package initdata

import (
	"strings"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
)

// TestDecodeAVX2Direct runs the assembly block decoder itself (not through
// decode, which falls back to Go without AVX2) on values of one to three
// blocks and checks what it decoded against decodeSlow.
func TestDecodeAVX2Direct(t *testing.T) {
	if !cpuHasAVX2() {
		t.Skip("the CPU has no AVX2")
	}
	require.True(t, useAVX2)
	for _, s := range []string{
		strings.Repeat("a", 34),
		strings.Repeat("%41", 12),
		strings.Repeat("%7B%22id%22%3A1+2%7D", 5),
		strings.Repeat("x", 31) + "%41" + strings.Repeat("y", 40),
		strings.Repeat("x", 30) + "%41" + strings.Repeat("y", 40),
		strings.Repeat("x", 29) + "%41" + strings.Repeat("y", 40),
	} {
		out := make([]byte, len(s)+avx2Slack)
		next, written, flags := decodeAVX2(&out[0], unsafe.StringData(s), len(s), &shuffleTable)
		require.Zero(t, flags&avx2Bad, s)
		require.GreaterOrEqual(t, next, len(s)-2, s)
		require.LessOrEqual(t, next, len(s), s)
		want, changed, err := decodeSlow(nil, s[:next])
		require.NoError(t, err, s)
		require.Equal(t, string(want), string(out[:written]), s)
		require.Equal(t, changed, flags&avx2Changed != 0, s)
	}
	s := strings.Repeat("x", 40) + "%4g" + strings.Repeat("y", 40)
	out := make([]byte, len(s)+avx2Slack)
	_, _, flags := decodeAVX2(&out[0], unsafe.StringData(s), len(s), &shuffleTable)
	require.NotZero(t, flags&avx2Bad)
}

// TestClassifyAVX2 checks the masks of the assembly classifier against
// classifyGo for every byte value at every position of inputs of every
// length to three blocks and a half, over masks left full of bits.
func TestClassifyAVX2(t *testing.T) {
	if !cpuHasAVX2() {
		t.Skip("the CPU has no AVX2")
	}
	for n := 1; n <= 112; n++ {
		for c := range 256 {
			b := []byte(strings.Repeat("a", n))
			for p := 0; p < n; p += 1 + p%5 {
				b[p] = byte(c + p)
			}
			s := string(b)
			got, want := staleMasks(), new(masks)
			classify(s, got)
			classifyGo(s, want)
			for w := 0; w*64 < n; w++ {
				keep := ^uint64(0) // the bits of bytes of s
				if n-w*64 < 64 {
					keep = 1<<(n-w*64) - 1
				}
				if (got.amp[w]^want.amp[w])&keep != 0 || (got.stop[w]^want.stop[w])&keep != 0 {
					t.Fatalf("classify(%q) word %d: %x %x; classifyGo: %x %x", s, w,
						got.amp[w], got.stop[w], want.amp[w], want.stop[w])
				}
			}
		}
	}
}
