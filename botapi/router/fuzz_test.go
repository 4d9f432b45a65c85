package router

import (
	"strings"
	"testing"
	"unicode"
)

// FuzzParseCommand feeds arbitrary message texts (untrusted: any user can
// send any text) to ParseCommand. It must never panic, and a command it
// finds must be what the text says: "/" + name (+ "@" + bot) at the start,
// a name and bot without spaces or "@", and a payload that the text ends
// with (before trailing spaces).
//
// Run it with: go test ./botapi/router -run '^$' -fuzz FuzzParseCommand -fuzztime 10s
func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{"/start", "/start ref42", "/start@shop_bot x y ", "/", "/@b", "hello", "/a\tb", "/é@ü payload"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		name, bot, payload, ok := ParseCommand(text)
		if !ok {
			if name != "" || bot != "" || payload != "" {
				t.Fatalf("%q: not a command, yet %q %q %q", text, name, bot, payload)
			}
			return
		}
		head := "/" + name
		if bot != "" || strings.HasPrefix(text[len(head):], "@") {
			head += "@" + bot
		}
		if name == "" || !strings.HasPrefix(text, head) {
			t.Fatalf("%q: parsed as %q", text, head)
		}
		if strings.ContainsAny(name, " \t\r\n@") || strings.ContainsAny(bot, " \t\r\n") {
			t.Fatalf("%q: name %q bot %q", text, name, bot)
		}
		if !strings.HasSuffix(strings.TrimRightFunc(text, unicode.IsSpace), payload) && payload != "" {
			t.Fatalf("%q: payload %q is not its end", text, payload)
		}
	})
}
