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
