package botapigen

import (
	"strings"
	"unicode"
)

// initialisms are the words Go spells in capitals (Go Code Review Comments).
var initialisms = map[string]string{
	"id": "ID", "ids": "IDs", "url": "URL", "urls": "URLs", "http": "HTTP", "https": "HTTPS",
	"json": "JSON", "api": "API", "ip": "IP", "ok": "OK",
}

// GoName turns a snake_case field name or a camelCase/PascalCase method or
// type name into an exported Go identifier with Go's initialisms
// ("message_id" → "MessageID", "TransactionPartnerTelegramApi" →
// "TransactionPartnerTelegramAPI", "LoginUrl" → "LoginURL").
func GoName(s string) string {
	var b strings.Builder
	for _, w := range splitWords(s) {
		if up, ok := initialisms[strings.ToLower(w)]; ok {
			b.WriteString(up)
			continue
		}
		r := []rune(w)
		r[0] = unicode.ToUpper(r[0])
		b.WriteString(string(r))
	}
	return b.String()
}

// splitWords splits on underscores and before upper-case letters that follow
// a lower-case letter or digit.
func splitWords(s string) []string {
	var words []string
	for _, part := range strings.Split(s, "_") {
		start := 0
		rs := []rune(part)
		for i := 1; i < len(rs); i++ {
			if unicode.IsUpper(rs[i]) && !unicode.IsUpper(rs[i-1]) {
				words = append(words, string(rs[start:i]))
				start = i
			}
		}
		if start < len(rs) {
			words = append(words, string(rs[start:]))
		}
	}
	return words
}

// lowerFirst returns s with its first letter in lower case.
func lowerFirst(s string) string {
	r := []rune(s)
	r[0] = unicode.ToLower(r[0])
	return string(r)
}
