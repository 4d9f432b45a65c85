package initdata

import (
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// hasStop reports whether s holds a byte a key may not hold (keyBytes).
func hasStop(s string) bool {
	for i := 0; i < len(s); i++ {
		if !keyBytes[s[i]] {
			return true
		}
	}
	return false
}

// checkSplit checks that splitMasks over the masks of classifyGo, and
// splitInput (the assembly classifier on amd64 CPUs that have it), split s
// as split does: the same pairs and the same error. m is reused, so bits
// left by an earlier, longer input must not leak. splitMasks must also
// mark exactly the values that hold only key bytes as plain (and a plain
// value has no byte decode looks at: see TestPlainIsDecoded).
func checkSplit(t *testing.T, s string, m *masks) {
	t.Helper()
	want, werr := split(s, nil)
	classifyGo(s, m)
	got, gerr := splitMasks(s, m, nil)
	got2, gerr2 := splitInput(s, nil, m)
	if gerr != werr || gerr2 != werr {
		t.Fatalf("split(%q): %v; splitMasks: %v; splitInput: %v", s, werr, gerr, gerr2)
	}
	if werr != nil {
		return
	}
	if len(got) != len(want) || len(got2) != len(want) {
		t.Fatalf("split(%q): %d pairs; splitMasks: %d; splitInput: %d", s, len(want), len(got), len(got2))
	}
	for i := range want {
		if got[i].span&^pairPlain != want[i].span || got2[i].span&^pairPlain != want[i].span {
			t.Fatalf("split(%q) pair %d: %x; splitMasks: %x; splitInput: %x", s, i, want[i].span, got[i].span, got2[i].span)
		}
		if stop := hasStop(got[i].val(s)); got[i].plain() == stop || got2[i].plain() && stop {
			t.Fatalf("split(%q) pair %d: splitMasks says plain %v, splitInput %v", s, i, got[i].plain(), got2[i].plain())
		}
	}
}

// staleMasks returns masks with every bit set, as if a longer input had
// been classified before.
func staleMasks() *masks {
	m := new(masks)
	for i := range maskWords {
		m.amp[i], m.stop[i] = ^uint64(0), ^uint64(0)
	}
	return m
}

// TestSplitMasks puts each kind of separator and each byte a key or value
// may not hold at every position of inputs of up to two mask words, so
// that pairs start and end on every word boundary and on every block
// boundary of the assembly classifier (32 bytes).
func TestSplitMasks(t *testing.T) {
	m := staleMasks()
	inserts := []string{"&", "=", "&&", "==", "%", "+", ";", "\"", " ", "\x00", "\x7f", "\x80", "{", "&a=", "&=", "=&"}
	for _, base := range []string{"ab=cd&", "k=%41+&"} {
		for n := 1; n <= 136; n++ {
			s := strings.Repeat(base, n/len(base)+1)[:n]
			checkSplit(t, s, m)
			for p := 0; p <= n; p++ {
				for _, ins := range inserts {
					checkSplit(t, s[:p]+ins+s[p:], m)
				}
			}
		}
	}
	for _, v := range loadVectors(t) {
		checkSplit(t, v.InitData, m)
	}
	checkSplit(t, benchInitData, m)
}

// TestSplitMasksAllBytes puts every byte value at every position of a
// key and a value that span a word boundary.
func TestSplitMasksAllBytes(t *testing.T) {
	m := staleMasks()
	s := strings.Repeat("k", 60) + "=" + strings.Repeat("v", 60) + "&a=b"
	for c := range 256 {
		for p := range len(s) {
			checkSplit(t, s[:p]+string([]byte{byte(c)})+s[p+1:], m)
		}
	}
}

// FuzzSplit checks splitMasks and splitInput against split on arbitrary
// input of at most MaxLength bytes (see checkSplit); run it longer with
//
//	go test -run '^$' -fuzz '^FuzzSplit$' -fuzztime 1m ./initdata
func FuzzSplit(f *testing.F) {
	for _, v := range loadVectors(f) {
		f.Add(v.InitData)
	}
	f.Add(benchInitData)
	f.Add("a=1&b=%41&&c")
	m := staleMasks()
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > MaxLength {
			return
		}
		checkSplit(t, s, m)
	})
}

// TestSortPairs checks sortPairs against a general sort on keys that tie
// on their first bytes, and its report of duplicates.
func TestSortPairs(t *testing.T) {
	keys := []string{"a", "b", "ab", "ba", "chat_type", "chat_instance", "chat", "aaaaaaaaa", "aaaaaaaab", "aaaaaaaa", "z"}
	for n := 1; n <= len(keys); n++ {
		for rot := range n {
			var b strings.Builder
			for i := range n {
				if i > 0 {
					b.WriteByte('&')
				}
				b.WriteString(keys[(i+rot)%n] + "=" + keys[i])
			}
			s := b.String()
			p, err := scan(s, nil, new(masks))
			require.NoError(t, err, s)
			for i := 1; i < len(p); i++ {
				require.Less(t, p[i-1].key(s), p[i].key(s), s)
			}
			_, err = scan(s+"&"+keys[rot%n]+"=x", nil, new(masks))
			require.ErrorIs(t, err, errDuplicate, s)
		}
	}
}

// TestSortEight sorts every permutation of eight keys, and of fewer, with
// the network of sortEight, and checks its reports of ties and duplicates.
func TestSortEight(t *testing.T) {
	keys := []string{"auth_date", "chat", "chat_instance", "chat_type", "hash", "query_id", "signature", "user"}
	for n := 1; n <= len(keys); n++ {
		perm := make([]int, n)
		for i := range perm {
			perm[i] = i
		}
		for {
			var b strings.Builder
			for i, j := range perm {
				if i > 0 {
					b.WriteByte('&')
				}
				b.WriteString(keys[j] + "=1")
			}
			s := b.String()
			p, err := split(s, nil)
			require.NoError(t, err)
			dup, ok := sortEight(s, p)
			require.True(t, ok, s)
			require.False(t, dup, s)
			for i := range p {
				require.Equal(t, keys[i], p[i].key(s), s)
			}
			if !nextPerm(perm) {
				break
			}
		}
	}
	for _, tc := range []struct {
		in      string
		dup, ok bool
	}{
		{"abcdefg=1&abcdefg=2", true, true},
		{"a=1&b=2&a=3", true, true},
		{"abcdefgh=1&abcdefgi=2", false, false},
		{"abcdefg=1&abcdefgh=2", false, false},
		{"abcdefgh=1&abcdefgh=2", false, false},
	} {
		p, err := split(tc.in, nil)
		require.NoError(t, err)
		before := slices.Clone(p)
		dup, ok := sortEight(tc.in, p)
		require.Equal(t, tc.ok, ok, tc.in)
		if !ok {
			require.Equal(t, before, p, tc.in)
			continue
		}
		require.Equal(t, tc.dup, dup, tc.in)
	}
}

// nextPerm steps p to the next permutation in lexical order and reports
// whether there is one.
func nextPerm(p []int) bool {
	i := len(p) - 2
	for i >= 0 && p[i] >= p[i+1] {
		i--
	}
	if i < 0 {
		return false
	}
	j := len(p) - 1
	for p[j] <= p[i] {
		j--
	}
	p[i], p[j] = p[j], p[i]
	slices.Reverse(p[i+1:])
	return true
}

// TestPlainIsDecoded checks that what splitMasks calls plain, a value of
// key bytes only, is its own decoding: no byte decode looks at is a key
// byte.
func TestPlainIsDecoded(t *testing.T) {
	for c := range 256 {
		if keyBytes[c] {
			require.Zero(t, valueBytes[c], "byte %#x", c)
		}
	}
}
