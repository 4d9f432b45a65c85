package botapi

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestKeyboards(t *testing.T) {
	row := InlineRow(CallbackButton("Pay", "pay:1"), URLButton("Site", "https://example.com"))
	m := InlineKeyboard(row, InlineRow(WebAppButton("Open", "https://app.example")))
	row[0].Text = "changed" // the keyboard holds copies
	b, err := json.Marshal(m)
	require.NoError(t, err)
	assert.JSONEq(t, `{"inline_keyboard":[[{"text":"Pay","callback_data":"pay:1"},{"text":"Site","url":"https://example.com"}],`+
		`[{"text":"Open","web_app":{"url":"https://app.example"}}]]}`, string(b))

	r := ReplyKeyboard(KeyboardRow(TextButton("Menu"), ContactButton("Phone")), KeyboardRow(LocationButton("Where"), WebAppKeyboardButton("App", "https://app.example")))
	r.OneTimeKeyboard = true
	b, err = json.Marshal(r)
	require.NoError(t, err)
	assert.JSONEq(t, `{"keyboard":[[{"text":"Menu"},{"text":"Phone","request_contact":true}],[{"text":"Where","request_location":true},`+
		`{"text":"App","web_app":{"url":"https://app.example"}}]],"resize_keyboard":true,"one_time_keyboard":true}`, string(b))

	b, err = json.Marshal(&SendMessageParams{ChatID: ChatID{ID: 1}, Text: "x", ReplyMarkup: RemoveKeyboard()})
	require.NoError(t, err)
	assert.Contains(t, string(b), `"reply_markup":{"remove_keyboard":true}`)
}

func TestLinks(t *testing.T) {
	long := strings.Repeat("a", MaxStartAppParamLength)
	tests := []struct {
		name, bot, app, param, want string
	}{
		{"main app", "shop_bot", "", "order-1001", "https://t.me/shop_bot?startapp=order-1001"},
		{"main app, no param", "shop_bot", "", "", "https://t.me/shop_bot?startapp"},
		{"main app, longest param", "shop_bot", "", long, "https://t.me/shop_bot?startapp=" + long},
		{"direct link", "shop_bot", "store", "Ab_9-", "https://t.me/shop_bot/store?startapp=Ab_9-"},
		{"direct link, no param", "shop_bot", "store", "", "https://t.me/shop_bot/store"},
		{"param too long", "shop_bot", "", long + "a", ""},
		{"param with =", "shop_bot", "", "a=b", ""},
		{"param with space", "shop_bot", "store", "a b", ""},
		{"param with non-ASCII", "shop_bot", "", "café", ""},
		{"bot too short", "shop", "", "x", ""},
		{"bot with @", "@shop_bot", "", "x", ""},
		{"bot too long", strings.Repeat("b", 33), "", "x", ""},
		{"app too short", "shop_bot", "ab", "x", ""},
		{"app with /", "shop_bot", "a/b", "x", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got string
			var err error
			if tt.app == "" && !strings.HasPrefix(tt.name, "app") {
				got, err = StartAppLink(tt.bot, tt.param)
			} else {
				got, err = AppLink(tt.bot, tt.app, tt.param)
			}
			if tt.want == "" {
				require.ErrorIs(t, err, ErrInvalidLink)
				assert.Empty(t, got)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestEscapeHTML(t *testing.T) {
	assert.Equal(t, `a &lt;b&gt; &amp;amp; &quot;q&quot; 'x' é`, EscapeHTML(`a <b> &amp; "q" 'x' é`))
	assert.Equal(t, "plain", EscapeHTML("plain"))
}

// Per https://core.telegram.org/bots/api#markdownv2-style: outside
// entities _ * [ ] ( ) ~ ` > # + - = | { } . ! and \ are escaped; inside
// code and pre only ` and \; inside a link's (...) only ) and \.
func TestEscapeMarkdownV2(t *testing.T) {
	special := "_*[]()~`>#+-=|{}.!\\"
	var want strings.Builder
	for _, c := range special {
		want.WriteString(`\` + string(c))
	}
	assert.Equal(t, want.String(), EscapeMarkdownV2(special))
	assert.Equal(t, `Price: 9\.80 €\! \(incl\. VAT\) a\_b`, EscapeMarkdownV2("Price: 9.80 €! (incl. VAT) a_b"))
	assert.Equal(t, "letters digits 09 space, comma; colon: quote'\" at@ dollar$ percent% amp& slash/ question? caret^ lt<",
		EscapeMarkdownV2("letters digits 09 space, comma; colon: quote'\" at@ dollar$ percent% amp& slash/ question? caret^ lt<"),
		"nothing else is escaped")
	assert.Equal(t, "a_b*c \\`d\\` e\\\\f (g).", EscapeMarkdownV2Code("a_b*c `d` e\\f (g)."))
	assert.Equal(t, "https://x.example/a_(b\\)?q=1\\\\", EscapeMarkdownV2URL("https://x.example/a_(b)?q=1\\"))
}

// FuzzEscapeMarkdownV2 checks that every escaped text reads back as
// itself: removing each backslash escape gives the input, and no special
// character is left unescaped. Run: go test -fuzz FuzzEscapeMarkdownV2 ./botapi
func FuzzEscapeMarkdownV2(f *testing.F) {
	for _, s := range []string{"", "plain", "9.80€!", "a\\b", "`code`", "_*[]()~`>#+-=|{}.!\\"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > 4096 {
			return
		}
		for _, tc := range []struct {
			esc     func(string) string
			special string
		}{{EscapeMarkdownV2, "_*[]()~`>#+-=|{}.!\\"}, {EscapeMarkdownV2Code, "`\\"}, {EscapeMarkdownV2URL, ")\\"}} {
			e := tc.esc(s)
			var back strings.Builder
			for i := 0; i < len(e); i++ {
				switch {
				case e[i] == '\\':
					i++
					if i == len(e) {
						t.Fatalf("%q: trailing backslash in %q", s, e)
					}
				case strings.IndexByte(tc.special, e[i]) >= 0:
					t.Fatalf("%q: unescaped %q at %d of %q", s, e[i], i, e)
				}
				back.WriteByte(e[i])
			}
			if back.String() != s {
				t.Fatalf("%q escaped to %q reads back as %q", s, e, back.String())
			}
		}
	})
}

func TestEffective(t *testing.T) {
	decode := func(js string) *Update {
		u, err := DecodeAnswer[*Update]("test", []byte(`{"ok":true,"result":`+js+`}`))
		require.NoError(t, err)
		return u
	}
	from := `"from":{"id":7,"is_bot":false,"first_name":"Ada"}`
	chat := `"chat":{"id":-5,"type":"group"}`
	tests := []struct {
		name       string
		js         string
		chat, user int64
		message    int64
	}{
		{"message", `{"update_id":1,"message":{"message_id":3,"date":1,` + from + `,` + chat + `}}`, -5, 7, 3},
		{"edited channel post", `{"update_id":1,"edited_channel_post":{"message_id":4,"date":1,"chat":{"id":-9,"type":"channel"}}}`, -9, 0, 4},
		{"callback", `{"update_id":1,"callback_query":{"id":"q",` + from + `,"chat_instance":"c","message":{"message_id":5,"date":1,` + chat + `}}}`, -5, 7, 5},
		{"callback, inaccessible message", `{"update_id":1,"callback_query":{"id":"q",` + from + `,"chat_instance":"c","message":{"message_id":5,"date":0,` + chat + `}}}`, -5, 7, 0},
		{"inline callback", `{"update_id":1,"callback_query":{"id":"q",` + from + `,"chat_instance":"c","inline_message_id":"i"}}`, 0, 7, 0},
		{"pre-checkout", `{"update_id":1,"pre_checkout_query":{"id":"p",` + from + `,"currency":"XTR","total_amount":1,"invoice_payload":"x"}}`, 0, 7, 0},
		{"chat member", `{"update_id":1,"chat_member":{` + chat + `,` + from + `,"date":1,"old_chat_member":{"status":"left","user":{"id":8,"is_bot":false,"first_name":"B"}},"new_chat_member":{"status":"member","user":{"id":8,"is_bot":false,"first_name":"B"}}}}`, -5, 7, 0},
		{"join request", `{"update_id":1,"chat_join_request":{` + chat + `,` + from + `,"user_chat_id":7,"date":1}}`, -5, 7, 0},
		{"anonymous reaction", `{"update_id":1,"message_reaction":{` + chat + `,"message_id":1,"date":1,"actor_chat":{"id":-5,"type":"group"},"old_reaction":[],"new_reaction":[]}}`, -5, 0, 0},
		{"poll", `{"update_id":1,"poll":{"id":"p","question":"q","options":[],"total_voter_count":0,"is_closed":false,"is_anonymous":true,"type":"regular","allows_multiple_answers":false}}`, 0, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := decode(tt.js)
			if c := u.EffectiveChat(); tt.chat == 0 {
				assert.Nil(t, c)
			} else if assert.NotNil(t, c) {
				assert.Equal(t, tt.chat, c.ID)
			}
			if usr := u.EffectiveUser(); tt.user == 0 {
				assert.Nil(t, usr)
			} else if assert.NotNil(t, usr) {
				assert.Equal(t, tt.user, usr.ID)
			}
			if m := u.EffectiveMessage(); tt.message == 0 {
				assert.Nil(t, m)
			} else if assert.NotNil(t, m) {
				assert.Equal(t, tt.message, m.MessageID)
			}
		})
	}
	var nilUpdate *Update
	assert.Nil(t, nilUpdate.EffectiveChat())
	assert.Nil(t, nilUpdate.EffectiveUser())
	assert.Nil(t, nilUpdate.EffectiveMessage())
}
