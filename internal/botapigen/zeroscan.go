package botapigen

import (
	"regexp"
	"strconv"
	"strings"
)

// This file finds the optional fields whose zero value (false, 0, "") means
// something to Telegram, by scanning the spec's descriptions. Such a field
// must be a pointer in Go: with a plain bool, int or string and omitempty,
// "set to the zero value" cannot be told from "not set", and the zero value
// is never sent. The result is checked against the reviewed list in
// overrides.go (meaningfulZero) by TestMeaningfulZeroScan, so a new spec
// cannot add such a field without someone reading it.

// zeroRule is one way a description gives the zero value a meaning.
type zeroRule struct {
	kind string         // the spec type the rule applies to: Boolean, Integer, Float or String
	re   *regexp.Regexp // matched against the description
	// ok, when set, vetoes a match (e.g. a default of 0 is not a meaning).
	ok func(desc string, m []string) bool
}

var (
	// rangeFromOne matches an accepted range that excludes 0 ("1-100",
	// "Values between 1-100"): 0 is then invalid, not meaningful.
	rangeFromOne = regexp.MustCompile(`\b[1-9]\d*-\d+\b`)
	// rangeFromZero matches an accepted range that includes 0 or "" ("0-1024 characters").
	rangeFromZero = regexp.MustCompile(`\b0-\d+\b`)
)

// zeroRules, in order; the first match gives the reason.
var zeroRules = []zeroRule{
	// The caller is told to send the zero value for an effect.
	{kind: "Boolean", re: regexp.MustCompile(`[Pp]ass False[^.;]*`)},
	{kind: "String", re: regexp.MustCompile(`[Pp]ass an empty (?:string|text)[^.;]*`)},
	{kind: "String", re: regexp.MustCompile(`May be empty[^.;]*`)},
	{kind: "Integer", re: regexp.MustCompile(`pass 0\b[^.;]*`)},
	// Telegram's default is not the zero value, so the zero value must be sent to get it.
	{kind: "Boolean", re: regexp.MustCompile(`[Dd]efaults to [^.;]*\bTrue\b[^.;]*`)},
	{kind: "Boolean", re: regexp.MustCompile(`If omitted,? defaults to the value of \w+`)},
	{kind: "Integer", re: regexp.MustCompile(`[Dd]efaults to (\d+)`), ok: func(d string, m []string) bool {
		n, err := strconv.Atoi(m[1])
		return err == nil && n != 0 && !rangeFromOne.MatchString(d)
	}},
	// Leaving the field out keeps the current value, and the empty value is
	// accepted: sending it clears the value.
	{kind: "String", re: regexp.MustCompile(`If not specified, [^.;]*(?:is|will be) kept`), ok: func(d string, _ []string) bool {
		return rangeFromZero.MatchString(d) && !strings.Contains(d, "not specified or empty")
	}},
}

// ScanMeaningfulZero returns the optional scalar fields and parameters of s
// ("Owner.field") whose description gives their zero value a meaning, each
// with the words of the description that do.
func ScanMeaningfulZero(s *Spec) map[string]string {
	out := map[string]string{}
	scan := func(owner string, fs []Field) {
		for _, f := range fs {
			if f.Required || len(f.Types) != 1 {
				continue
			}
			for _, r := range zeroRules {
				if r.kind != f.Types[0] {
					continue
				}
				m := r.re.FindStringSubmatch(f.Description)
				if m == nil || (r.ok != nil && !r.ok(f.Description, m)) {
					continue
				}
				out[owner+"."+f.Name] = m[0]
				break
			}
		}
	}
	for _, m := range s.Methods {
		scan(m.Name, m.Params)
	}
	for _, t := range s.Types {
		scan(t.Name, t.Fields)
	}
	return out
}
