package botapitest

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// The expected entities and errors are Telegram's, as TDLib's parsers
// (td/telegram/MessageEntity.cpp: parse_markdown, parse_markdown_v2,
// parse_html) produce them.
func TestParseModes(t *testing.T) {
	tests := []struct {
		name, mode, in, text string
		ents                 []messageEntity
	}{
		{"html bold italic", "HTML", "<b>bold</b> and <i>it</i>", "bold and it",
			[]messageEntity{{Type: "bold", Offset: 0, Length: 4}, {Type: "italic", Offset: 9, Length: 2}}},
		{"html nested and refs", "html", "<b>a <u>&lt;b&gt;</u></b> &amp; &#128512;", "a <b> & 😀",
			[]messageEntity{{Type: "bold", Offset: 0, Length: 5}, {Type: "underline", Offset: 2, Length: 3}}},
		{"html link", "HTML", `<a href="https://example.com/x?a=1&amp;b=2">site</a>`, "site",
			[]messageEntity{{Type: "text_link", Offset: 0, Length: 4, URL: "https://example.com/x?a=1&b=2"}}},
		{"html mention", "HTML", `<a href="tg://user?id=42">Ann</a>`, "Ann",
			[]messageEntity{{Type: "text_mention", Offset: 0, Length: 3, User: &User{ID: 42}}}},
		{"html pre code", "HTML", `<pre><code class="language-go">x := 1</code></pre>`, "x := 1",
			[]messageEntity{{Type: "pre", Offset: 0, Length: 6, Language: "go"}}},
		{"html spoiler", "HTML", `<span class="tg-spoiler">s</span><tg-spoiler>t</tg-spoiler>`, "st",
			[]messageEntity{{Type: "spoiler", Offset: 0, Length: 1}, {Type: "spoiler", Offset: 1, Length: 1}}},
		{"html utf16", "HTML", "😀<b>x</b>", "😀x", []messageEntity{{Type: "bold", Offset: 2, Length: 1}}},
		{"html blockquote", "HTML", "<blockquote expandable>q</blockquote>", "q",
			[]messageEntity{{Type: "expandable_blockquote", Offset: 0, Length: 1}}},
		{"v2 styles", "MarkdownV2", `*b* _i_ __u__ ~s~ ||p|| \.`, "b i u s p .", []messageEntity{
			{Type: "bold", Offset: 0, Length: 1}, {Type: "italic", Offset: 2, Length: 1}, {Type: "underline", Offset: 4, Length: 1},
			{Type: "strikethrough", Offset: 6, Length: 1}, {Type: "spoiler", Offset: 8, Length: 1}}},
		{"v2 nested", "MarkdownV2", `*bold _both_*`, "bold both", []messageEntity{
			{Type: "bold", Offset: 0, Length: 9}, {Type: "italic", Offset: 5, Length: 4}}},
		{"v2 link with escape", "MarkdownV2", `[a\.b](https://example.com/\))`, "a.b",
			[]messageEntity{{Type: "text_link", Offset: 0, Length: 3, URL: "https://example.com/)"}}},
		{"v2 code and pre", "MarkdownV2", "`x_y` ```go\nfmt```", "x_y fmt", []messageEntity{
			{Type: "code", Offset: 0, Length: 3}, {Type: "pre", Offset: 4, Length: 3, Language: "go"}}},
		{"v2 custom emoji", "MarkdownV2", "![👍](tg://emoji?id=5368324170671202286)", "👍",
			[]messageEntity{{Type: "custom_emoji", Offset: 0, Length: 2, CustomEmojiID: "5368324170671202286"}}},
		{"v2 blockquote", "MarkdownV2", ">quoted\nplain", "quoted\nplain",
			[]messageEntity{{Type: "blockquote", Offset: 0, Length: 7}}},
		{"markdown legacy", "Markdown", "*b* _i_ `c` [t](http://x.org) 2\\*3", "b i c t 2*3", []messageEntity{
			{Type: "bold", Offset: 0, Length: 1}, {Type: "italic", Offset: 2, Length: 1}, {Type: "code", Offset: 4, Length: 1},
			{Type: "text_link", Offset: 6, Length: 1, URL: "http://x.org/"}}},
		{"none", "none", "*not bold*", "*not bold*", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text, ents, err := formatted(params{"text": tt.in, "parse_mode": tt.mode}, "text", "parse_mode", "entities")
			require.Nil(t, err)
			require.Equal(t, tt.text, text)
			require.Equal(t, tt.ents, ents)
		})
	}
}

func TestParseModeErrors(t *testing.T) {
	tests := []struct{ mode, in, want string }{
		{"Markdown", "a *b", "Can't find end of the entity starting at byte offset 2"},
		{"Markdown", "snake_case", "Can't find end of the entity starting at byte offset 5"},
		{"MarkdownV2", "1.5", "Character '.' is reserved and must be escaped with the preceding '\\'"},
		{"MarkdownV2", "*open", "Can't find end of Bold entity at byte offset 0"},
		{"MarkdownV2", "x _y", "Can't find end of Italic entity at byte offset 2"},
		{"MarkdownV2", "[a](http://x", "Can't find end of a URL at byte offset 4"},
		{"HTML", "<b>x", `Can't find end tag corresponding to start tag "b"`},
		{"HTML", "a <foo>", `Unsupported start tag "foo" at byte offset 2`},
		{"HTML", "<b>x</i>", `Unmatched end tag at byte offset 4, expected "</b>", found "</i>"`},
		{"HTML", "x</b>", "Unexpected end tag at byte offset 1"},
		{"HTML", "<b", "Unclosed start tag at byte offset 0"},
		{"HTML", `<span class="x">y</span>`, `Tag "span" must have class "tg-spoiler" at byte offset 0`},
	}
	for _, tt := range tests {
		t.Run(tt.mode+" "+tt.in, func(t *testing.T) {
			_, _, err := formatted(params{"text": tt.in, "parse_mode": tt.mode}, "text", "parse_mode", "entities")
			require.NotNil(t, err)
			require.Equal(t, "Bad Request: can't parse entities: "+tt.want, err.description)
		})
	}
	_, _, err := formatted(params{"text": "x", "parse_mode": "BBCode"}, "text", "parse_mode", "entities")
	require.Equal(t, "Bad Request: unsupported parse_mode", err.description)
}

// TestSendMessageEntities: the sent Message carries the stripped text and
// the entities, and a bad markup is Telegram's 400.
func TestSendMessageEntities(t *testing.T) {
	srv := setup(t)
	ann := srv.NewUser("Ann")
	var m message
	send(t, srv, ann.ID, "text", "<b>hi</b> there", "parse_mode", "HTML").decode(t, &m)
	require.Equal(t, "hi there", m.Text)
	require.Equal(t, []messageEntity{{Type: "bold", Offset: 0, Length: 2}}, m.Entities)
	requireError(t, send(t, srv, ann.ID, "text", "price 1.5", "parse_mode", "MarkdownV2"), 400,
		"Bad Request: can't parse entities: Character '.' is reserved and must be escaped with the preceding '\\'")
	requireError(t, send(t, srv, ann.ID, "text", "<b></b>", "parse_mode", "HTML"), 400, "Bad Request: message text is empty")
	var c message
	callMultipart(t, srv, "sendDocument", map[string]string{"chat_id": jsonInt(ann.ID), "caption": "_doc_", "parse_mode": "Markdown"},
		map[string]string{"document": "x"}).decode(t, &c)
	require.Equal(t, "doc", c.Caption)
	require.Equal(t, []messageEntity{{Type: "italic", Offset: 0, Length: 3}}, c.CaptionEntities)
}

// FuzzParseModes feeds any text to the three parsers: none panics, and
// every entity lies within the text it returns.
// Run with: go test -run '^$' -fuzz FuzzParseModes ./botapi/botapitest
func FuzzParseModes(f *testing.F) {
	for _, s := range []string{"<b>x</b>", "*a _b_*", "[a](b)", "```go\nx```", "&#x1F600;", ">q\n||s||", "<a href='x'>y</a>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		if len(in) > 4096 {
			return
		}
		for _, mode := range []string{"HTML", "MarkdownV2", "Markdown"} {
			text, ents, err := formatted(params{"text": in, "parse_mode": mode}, "text", "parse_mode", "entities")
			if err != nil {
				continue
			}
			n := utf16Len(text)
			for _, e := range ents {
				if e.Offset < 0 || e.Length <= 0 || e.Offset+e.Length > n {
					t.Fatalf("%s %q: entity %+v outside %q", mode, in, e, text)
				}
			}
		}
	})
}
