package initdata

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// splitRef is the slow reference split is checked against: the query
// string cut at every "&", each field at its first "=", with the rules of
// split's errors applied field by field.
func splitRef(s string) ([]pair, error) {
	var out []pair
	for _, f := range strings.Split(s, "&") {
		j := 0
		for j < len(f) && keyBytes[f[j]] {
			j++
		}
		switch {
		case j < len(f) && f[j] == '=' && j == 0:
			return out, errEmptyKey
		case j < len(f) && f[j] == '=':
			if len(out) == maxPairs {
				return out, errTooManyPairs
			}
			out = append(out, pair{key: f[:j], raw: f[j+1:]})
		case len(f) == 0:
			return out, errEmptyPair
		case j == len(f):
			return out, errNoEquals
		default:
			return out, errKey
		}
	}
	return out, nil
}

// checkSplit checks split against splitRef on s: the same pairs, in
// order, and the same error.
func checkSplit(t *testing.T, s string) {
	t.Helper()
	want, werr := splitRef(s)
	got, err := split(s, nil)
	if err != werr {
		t.Fatalf("split(%q): %v; splitRef: %v", s, err, werr)
	}
	if err == nil && !equalPairs(got, want) {
		t.Fatalf("split(%q) = %v; splitRef = %v", s, got, want)
	}
}

func equalPairs(a, b []pair) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].key != b[i].key || a[i].raw != b[i].raw {
			return false
		}
	}
	return true
}

// TestSplit puts each separator and each byte a key or value may not hold
// at every position of short inputs.
func TestSplit(t *testing.T) {
	inserts := []string{"&", "=", "&&", "==", "%", "+", ";", "\"", " ", "\x00", "\x7f", "\x80", "{", "&a=", "&=", "=&"}
	for _, base := range []string{"ab=cd&", "k=%41+&"} {
		for n := 1; n <= 40; n++ {
			s := strings.Repeat(base, n/len(base)+1)[:n]
			checkSplit(t, s)
			for p := 0; p <= n; p++ {
				for _, ins := range inserts {
					checkSplit(t, s[:p]+ins+s[p:])
				}
			}
		}
	}
	for _, v := range loadVectors(t) {
		checkSplit(t, v.InitData)
	}
	checkSplit(t, benchInitData)
	checkSplit(t, strings.Repeat("a=1&", maxPairs)+"b=2")
}

// FuzzSplit checks split against splitRef on arbitrary input of at most
// MaxLength bytes; run it longer with
//
//	go test -run '^$' -fuzz '^FuzzSplit$' -fuzztime 1m ./initdata
func FuzzSplit(f *testing.F) {
	for _, v := range loadVectors(f) {
		f.Add(v.InitData)
	}
	f.Add(benchInitData)
	f.Add("a=1&b=%41&&c")
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > MaxLength {
			return
		}
		checkSplit(t, s)
	})
}

// TestSortPairs checks that scan sorts keys that share their first bytes,
// and reports duplicates.
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
			p, err := scan(s, nil)
			require.NoError(t, err, s)
			for i := 1; i < len(p); i++ {
				require.Less(t, p[i-1].key, p[i].key, s)
			}
			_, err = scan(s+"&"+keys[rot%n]+"=x", nil)
			require.ErrorIs(t, err, errDuplicate, s)
		}
	}
}
