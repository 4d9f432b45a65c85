package botapitest

import (
	"strings"
	"testing"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

// ent is a messageEntity of type typ at offset, length (UTF-16 units).
func ent(typ string, offset, length int) messageEntity {
	return messageEntity{Type: typ, Offset: offset, Length: length}
}

// Telegram finds entities in the text a bot sends and returns them in the
// Message; the expected entities follow TDLib's find_entities
// (td/telegram/MessageEntity.cpp). Before the fix the fake returned none.
func TestFoundEntities(t *testing.T) {
	tests := []struct {
		name, text, mode string
		want             []messageEntity
	}{
		{"command", "/start now", "", []messageEntity{ent("bot_command", 0, 6)}},
		{"mention and addressed command", "Hi @alice_bot, try /help@shop_bot!", "",
			[]messageEntity{ent("mention", 3, 10), ent("bot_command", 19, 14)}},
		{"url with path, trailing dot left out", "see https://example.com/a?b=1. ok", "",
			[]messageEntity{ent("url", 4, 25)}},
		{"url without scheme", "visit telegram.org!", "", []messageEntity{ent("url", 6, 12)}},
		{"email", "mail me@example.org.", "", []messageEntity{ent("email", 5, 14)}},
		{"hashtags need a letter", "#sale and #2024 and #go_1", "",
			[]messageEntity{ent("hashtag", 0, 5), ent("hashtag", 20, 5)}},
		{"utf-16 offsets", "😀 @alice_bot 👍 /go", "",
			[]messageEntity{ent("mention", 3, 10), ent("bot_command", 17, 3)}},
		{"short mentions", "mention @ab and @gif", "", []messageEntity{ent("mention", 16, 4)}},
		{"not commands", "path /usr/bin and a/b", "", nil},
		{"not urls", "file.txt and v1.2 and x.y", "", nil},
		{"parse_mode: found beside bold, not inside code", "<b>go</b> to https://x.com and <code>https://y.com</code>", "HTML",
			[]messageEntity{ent("bold", 0, 2), ent("url", 6, 13), ent("code", 24, 13)}},
		{"parse_mode: inside bold", "<b>see https://x.com</b>", "HTML",
			[]messageEntity{ent("bold", 0, 17), ent("url", 4, 13)}},
		{"parse_mode: a text link is not doubled", `<a href="https://z.org">z.org</a>`, "HTML",
			[]messageEntity{{Type: "text_link", Offset: 0, Length: 5, URL: "https://z.org/"}}},
		{"MarkdownV2", `*hi* @alice\_bot`, "MarkdownV2",
			[]messageEntity{ent("bold", 0, 2), ent("mention", 3, 10)}},
		{"cashtag", "buy $BTC now", "", []messageEntity{ent("cashtag", 4, 4)}},
	}
	srv := setup(t, WithoutListener())
	ann := srv.NewUser("Ann")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m message
			extra := []any{"text", tt.text}
			if tt.mode != "" {
				extra = append(extra, "parse_mode", tt.mode)
			}
			send(t, srv, ann.ID, extra...).decode(t, &m)
			require.Equal(t, tt.want, m.Entities, "entities of %q", m.Text)
		})
	}

	t.Run("entities parameter", func(t *testing.T) {
		var m message
		send(t, srv, ann.ID, "text", "hi @alice_bot", "entities", []messageEntity{ent("bold", 0, 2)}).decode(t, &m)
		require.Equal(t, []messageEntity{ent("bold", 0, 2), ent("mention", 3, 10)}, m.Entities)
	})
	t.Run("caption", func(t *testing.T) {
		var m message
		callMultipart(t, srv, "sendDocument", map[string]string{"chat_id": jsonInt(ann.ID), "caption": "see example.com"},
			map[string]string{"document": "x"}).decode(t, &m)
		require.Equal(t, []messageEntity{ent("url", 4, 11)}, m.CaptionEntities)
	})
}

// TestFoundCashtags: Telegram finds $TICKER cashtags in the text a bot
// sends, with the rules of TDLib's match_cashtags
// (td/telegram/MessageEntity.cpp): '$' not after a letter, digit, '_' or
// '$'; 1 to 8 uppercase Latin letters, or 1INCH; an optional @username of
// 3 to 32 characters; no letter, digit, '_' or '$' right after. Offsets
// and lengths are in UTF-16 units. Before the fix the fake found none.
func TestFoundCashtags(t *testing.T) {
	tests := []struct {
		name, text string
		want       []messageEntity
	}{
		{"alone", "$USD", []messageEntity{ent("cashtag", 0, 4)}},
		{"two in a sentence", "price in $USD and $EUR.", []messageEntity{ent("cashtag", 9, 4), ent("cashtag", 18, 4)}},
		{"one letter", "$A", []messageEntity{ent("cashtag", 0, 2)}},
		{"eight letters", "$ABCDEFGH", []messageEntity{ent("cashtag", 0, 9)}},
		{"nine letters", "$ABCDEFGHI", nil},
		{"lowercase", "$usd", nil},
		{"mixed case", "$Usd", nil},
		{"digits", "$100", nil},
		{"1INCH", "swap $1INCH", []messageEntity{ent("cashtag", 5, 6)}},
		{"after a letter", "a$USD", nil},
		{"after a digit", "5$USD", nil},
		{"after an underscore", "_$USD", nil},
		{"after a dollar", "$$USD", nil},
		{"after punctuation", "($USD)", []messageEntity{ent("cashtag", 1, 4)}},
		{"after a currency sign", "€$USD", []messageEntity{ent("cashtag", 1, 4)}},
		{"letter after", "$USDx", nil},
		{"digit after", "$USD1", nil},
		{"dollar after", "$USD$", nil},
		{"non-Latin letter after", "$USDé", nil},
		{"non-Latin letter inside", "$ÜSD", nil},
		{"with a username", "$USD@shop_bot rate", []messageEntity{ent("cashtag", 0, 13)}},
		{"username too short", "$USD@ab", []messageEntity{ent("cashtag", 0, 4)}},
		{"username too long", "$USD@" + strings.Repeat("a", 33), []messageEntity{ent("cashtag", 0, 4)}},
		{"utf-16 offsets", "😀 $BTC", []messageEntity{ent("cashtag", 3, 4)}},
		{"beside a hashtag", "#tag $BTC", []messageEntity{ent("hashtag", 0, 4), ent("cashtag", 5, 4)}},
		{"inside a url", "https://x.com/$USD", []messageEntity{ent("url", 0, 18)}},
		{"bare dollar", "costs $ 5", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, findEntities(tt.text), "entities of %q", tt.text)
		})
	}
}

// FuzzFindEntities feeds any text to the entity finder: none panics, the
// entities are sorted, apart and within the text, and each one's text
// starts as its kind does.
// Run with: go test -run '^$' -fuzz FuzzFindEntities ./botapi/botapitest
func FuzzFindEntities(f *testing.F) {
	for _, s := range []string{"/start@bot x", "@alice_bot", "#tag@bot", "https://a.com/(x)", "me@x.org", "a.b.c.d", "1.2.3.4:80/x", "😀 #ü", "$USD@shop_bot", "a$B $1INCH $$C"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		if len(text) > 4096 || !utf8.ValidString(text) {
			return
		}
		units := utf16.Encode([]rune(text))
		end := 0
		for _, e := range findEntities(text) {
			if e.Offset < end || e.Length <= 0 || e.Offset+e.Length > len(units) {
				t.Fatalf("%q: entity %+v overlaps or lies outside (previous end %d, %d units)", text, e, end, len(units))
			}
			end = e.Offset + e.Length
			first := string(utf16.Decode(units[e.Offset : e.Offset+1]))
			if want := map[string]string{"mention": "@", "hashtag": "#", "bot_command": "/", "cashtag": "$"}[e.Type]; want != "" && first != want {
				t.Fatalf("%q: %s starts with %q", text, e.Type, first)
			}
		}
	})
}
