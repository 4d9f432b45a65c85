package botapi

import "strings"

// htmlEscaper escapes what Telegram's HTML parse mode requires outside
// tags: <, > and &; and " too, so that the result is also safe inside a
// quoted attribute (an href). These are the named entities Telegram
// supports (&lt; &gt; &amp; &quot;).
var htmlEscaper = strings.NewReplacer("<", "&lt;", ">", "&gt;", "&", "&amp;", `"`, "&quot;")

// EscapeHTML returns s with <, >, & and " replaced by &lt;, &gt;, &amp; and
// &quot;, so that it shows as written in a message sent with parse_mode
// "HTML", as text or as an attribute value.
//
// Telegram docs: https://core.telegram.org/bots/api#html-style
func EscapeHTML(s string) string { return htmlEscaper.Replace(s) }

// EscapeMarkdownV2 returns s with a backslash before each character that
// MarkdownV2 gives a meaning outside entities: _ * [ ] ( ) ~ ` > # + - = |
// { } . ! and the backslash itself, so that it shows as written in a
// message sent with parse_mode "MarkdownV2". Inside code and pre entities
// use [EscapeMarkdownV2Code]; inside the (...) of a link or custom emoji,
// [EscapeMarkdownV2URL].
//
// Telegram docs: https://core.telegram.org/bots/api#markdownv2-style
func EscapeMarkdownV2(s string) string { return escapeBytes(s, "_*[]()~`>#+-=|{}.!\\") }

// EscapeMarkdownV2Code returns s escaped for the inside of a MarkdownV2
// code or pre entity, where only ` and the backslash are escaped.
//
// Telegram docs: https://core.telegram.org/bots/api#markdownv2-style
func EscapeMarkdownV2Code(s string) string { return escapeBytes(s, "`\\") }

// EscapeMarkdownV2URL returns s escaped for the (...) part of a MarkdownV2
// inline link or custom emoji, where only ) and the backslash are escaped.
//
// Telegram docs: https://core.telegram.org/bots/api#markdownv2-style
func EscapeMarkdownV2URL(s string) string { return escapeBytes(s, ")\\") }

// escapeBytes puts a backslash before each byte of s found in special
// (all ASCII, so never inside a multi-byte UTF-8 sequence).
func escapeBytes(s, special string) string {
	n := 0
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(special, s[i]) >= 0 {
			n++
		}
	}
	if n == 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + n)
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(special, s[i]) >= 0 {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
