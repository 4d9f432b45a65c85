package botapi

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path"
	"reflect"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// fakeTelegram is an httptest server that records the last request and
// answers with a canned result.
type fakeTelegram struct {
	mu     sync.Mutex
	method string
	body   []byte
	result string // JSON of the result to answer with
}

func newFake(t *testing.T) (*fakeTelegram, *Client) {
	t.Helper()
	f := &fakeTelegram{result: "true"}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		f.mu.Lock()
		f.method, f.body = path.Base(r.URL.Path), body
		result := f.result
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"ok":true,"result":`+result+`}`)
	}))
	t.Cleanup(srv.Close)
	return f, New("123456:TEST-token", WithBaseURL(srv.URL))
}

func (f *fakeTelegram) answer(result string) {
	f.mu.Lock()
	f.result = result
	f.mu.Unlock()
}

func (f *fakeTelegram) last() (string, string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.method, string(f.body)
}

func ptr[T any](v T) *T { return &v }

const sentMessage = `{"message_id":77,"date":1763880000,"chat":{"id":-1001234567890,"type":"supergroup","title":"Shop"},"text":"ok"}`

// TestEncodeExact checks, for a hand-picked set of calls, the exact JSON
// Telegram receives: chat ids as numbers or "@name", discriminators and
// literal-true fields added, meaningful zeros sent, optional zeros left out.
func TestEncodeExact(t *testing.T) {
	f, c := newFake(t)
	ctx := t.Context()
	for _, tc := range []struct {
		name, method, want, result string
		call                       func(context.Context) error
	}{
		{name: "sendMessage with inline keyboard", method: "sendMessage", result: sentMessage,
			call: func(ctx context.Context) error {
				_, err := c.SendMessage(ctx, &SendMessageParams{
					ChatID: ChatID{ID: -1001234567890}, Text: "Pay 9.80 EUR?", ParseMode: "HTML",
					LinkPreviewOptions: &LinkPreviewOptions{IsDisabled: true},
					ReplyMarkup: &InlineKeyboardMarkup{InlineKeyboard: [][]InlineKeyboardButton{
						{{Text: "Pay", CallbackData: "pay:1"}, {Text: "Search", SwitchInlineQueryCurrentChat: ptr("")}},
						{{Text: "Open", WebApp: &WebAppInfo{URL: "https://shop.example/app"}}},
					}},
				})
				return err
			},
			want: `{"chat_id":-1001234567890,"text":"Pay 9.80 EUR?","parse_mode":"HTML","link_preview_options":{"is_disabled":true},
				"reply_markup":{"inline_keyboard":[[{"text":"Pay","callback_data":"pay:1"},{"text":"Search","switch_inline_query_current_chat":""}],
				[{"text":"Open","web_app":{"url":"https://shop.example/app"}}]]}}`},
		{name: "sendMessage to @channel with force reply", method: "sendMessage", result: sentMessage,
			call: func(ctx context.Context) error {
				_, err := c.SendMessage(ctx, &SendMessageParams{ChatID: ChatID{Username: "@shopnews"}, Text: "?",
					ReplyMarkup: &ForceReply{InputFieldPlaceholder: "Your answer"}})
				return err
			},
			want: `{"chat_id":"@shopnews","text":"?","reply_markup":{"force_reply":true,"input_field_placeholder":"Your answer"}}`},
		{name: "remove keyboard", method: "sendMessage", result: sentMessage,
			call: func(ctx context.Context) error {
				_, err := c.SendMessage(ctx, &SendMessageParams{ChatID: ChatID{ID: 5}, Text: "bye", ReplyMarkup: &ReplyKeyboardRemove{}})
				return err
			},
			want: `{"chat_id":5,"text":"bye","reply_markup":{"remove_keyboard":true}}`},
		{name: "answerPreCheckoutQuery ok=false is sent", method: "answerPreCheckoutQuery",
			call: func(ctx context.Context) error {
				return c.AnswerPreCheckoutQuery(ctx, &AnswerPreCheckoutQueryParams{PreCheckoutQueryID: "q1", ErrorMessage: "Sold out"})
			},
			want: `{"pre_checkout_query_id":"q1","ok":false,"error_message":"Sold out"}`},
		{name: "answerInlineQuery cache_time 0 and result type", method: "answerInlineQuery",
			call: func(ctx context.Context) error {
				return c.AnswerInlineQuery(ctx, &AnswerInlineQueryParams{InlineQueryID: "iq", CacheTime: ptr(0), IsPersonal: true,
					Results: []InlineQueryResult{&InlineQueryResultArticle{ID: "1", Title: "Hoodie",
						InputMessageContent: &InputTextMessageContent{MessageText: "Blue hoodie, 1500 ⭐"}}}})
			},
			want: `{"inline_query_id":"iq","results":[{"type":"article","id":"1","title":"Hoodie",
				"input_message_content":{"message_text":"Blue hoodie, 1500 ⭐"}}],"cache_time":0,"is_personal":true}`},
		{name: "setMyCommands with a chat scope", method: "setMyCommands",
			call: func(ctx context.Context) error {
				return c.SetMyCommands(ctx, &SetMyCommandsParams{Commands: []BotCommand{{Command: "shop", Description: "Open the shop"}},
					Scope: &BotCommandScopeChat{ChatID: ChatID{ID: 42}}})
			},
			want: `{"commands":[{"command":"shop","description":"Open the shop"}],"scope":{"type":"chat","chat_id":42}}`},
		{name: "sendMediaGroup by file_id and URL", method: "sendMediaGroup", result: "[" + sentMessage + "]",
			call: func(ctx context.Context) error {
				_, err := c.SendMediaGroup(ctx, &SendMediaGroupParams{ChatID: ChatID{ID: 5}, Media: []InputMedia{
					&InputMediaPhoto{Media: InputFile{FileID: "AgACAgIAAxkBAAIB"}, Caption: "front"},
					&InputMediaVideo{Media: InputFile{URL: "https://shop.example/v.mp4"}, SupportsStreaming: true},
				}})
				return err
			},
			want: `{"chat_id":5,"media":[{"type":"photo","media":"AgACAgIAAxkBAAIB","caption":"front"},
				{"type":"video","media":"https://shop.example/v.mp4","supports_streaming":true}]}`},
		{name: "sendPoll is_anonymous false is sent", method: "sendPoll", result: sentMessage,
			call: func(ctx context.Context) error {
				_, err := c.SendPoll(ctx, &SendPollParams{ChatID: ChatID{ID: 5}, Question: "Colour?", IsAnonymous: ptr(false),
					Options: []InputPollOption{{Text: "Red"}, {Text: "Blue"}}})
				return err
			},
			want: `{"chat_id":5,"question":"Colour?","options":[{"text":"Red"},{"text":"Blue"}],"is_anonymous":false}`},
		{name: "restrictChatMember sends a permission set to false", method: "restrictChatMember",
			call: func(ctx context.Context) error {
				return c.RestrictChatMember(ctx, &RestrictChatMemberParams{ChatID: ChatID{ID: -100}, UserID: 7012345678,
					Permissions: ChatPermissions{CanSendMessages: true, CanReactToMessages: ptr(false)}})
			},
			want: `{"chat_id":-100,"user_id":7012345678,"permissions":{"can_send_messages":true,"can_react_to_messages":false}}`},
		{name: "banChatMember leaves zero options out", method: "banChatMember",
			call: func(ctx context.Context) error {
				return c.BanChatMember(ctx, &BanChatMemberParams{ChatID: ChatID{ID: -100}, UserID: 9007199254740991})
			},
			want: `{"chat_id":-100,"user_id":9007199254740991}`},
		{name: "setChatMenuButton with a web app", method: "setChatMenuButton",
			call: func(ctx context.Context) error {
				return c.SetChatMenuButton(ctx, &SetChatMenuButtonParams{ChatID: 42,
					MenuButton: &MenuButtonWebApp{Text: "Shop", WebApp: WebAppInfo{URL: "https://shop.example/app"}}})
			},
			want: `{"chat_id":42,"menu_button":{"type":"web_app","text":"Shop","web_app":{"url":"https://shop.example/app"}}}`},
		{name: "deleteEphemeralMessage (Bot API 10.2)", method: "deleteEphemeralMessage",
			call: func(ctx context.Context) error {
				return c.DeleteEphemeralMessage(ctx, &DeleteEphemeralMessageParams{ChatID: ChatID{ID: -100}, ReceiverUserID: 7, EphemeralMessageID: 3})
			},
			want: `{"chat_id":-100,"receiver_user_id":7,"ephemeral_message_id":3}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			result := tc.result
			if result == "" {
				result = "true"
			}
			f.answer(result)
			require.NoError(t, tc.call(ctx))
			method, body := f.last()
			require.Equal(t, tc.method, method)
			require.JSONEq(t, tc.want, body)
		})
	}
}

// TestMessageOrTrueResults checks the inline-edit methods: a Message for a
// chat message, a nil Message and nil error for Telegram's True.
func TestMessageOrTrueResults(t *testing.T) {
	f, c := newFake(t)
	f.answer(sentMessage)
	m, err := c.EditMessageText(t.Context(), &EditMessageTextParams{ChatID: ChatID{ID: -1001234567890}, MessageID: 77, Text: "ok"})
	require.NoError(t, err)
	require.Equal(t, int64(77), m.MessageID)

	f.answer("true")
	m, err = c.EditMessageText(t.Context(), &EditMessageTextParams{InlineMessageID: "AgAAAPk2", Text: "ok"})
	require.NoError(t, err)
	require.Nil(t, m)
	_, body := f.last()
	require.JSONEq(t, `{"inline_message_id":"AgAAAPk2","text":"ok"}`, body)
}

// TestGetUpdatesOverHTTP round-trips the 100-update fixture through an
// httptest server and GetUpdates, and through Call into []Update.
func TestGetUpdatesOverHTTP(t *testing.T) {
	body := readFixture(t, "updates100.json")
	var env struct {
		Result json.RawMessage `json:"result"`
	}
	require.NoError(t, json.Unmarshal(body, &env))
	var want []Update
	require.NoError(t, json.Unmarshal(env.Result, &want))

	f, c := newFake(t)
	f.answer(string(env.Result))
	ups, err := c.GetUpdates(t.Context(), &GetUpdatesParams{Offset: 804000000, Timeout: 0})
	require.NoError(t, err)
	method, sent := f.last()
	require.Equal(t, "getUpdates", method)
	require.JSONEq(t, `{"offset":804000000}`, sent)
	require.Len(t, ups, len(want))
	for i := range want {
		require.Equal(t, want[i], *ups[i])
	}

	var viaCall []Update
	require.NoError(t, c.Call(t.Context(), "getUpdates", nil, &viaCall))
	require.Equal(t, want, viaCall)
}

// TestUnionMembersOverHTTP serves every member of every union as a method's
// result and decodes it through the client: the member comes back with its
// own type and value.
func TestUnionMembersOverHTTP(t *testing.T) {
	f, c := newFake(t)
	for _, uc := range unionTable {
		t.Run(uc.union+"/"+uc.member, func(t *testing.T) {
			m := reflect.ValueOf(uc.newMember())
			fillMember(uc, m, 1)
			b, err := json.Marshal(m.Interface())
			require.NoError(t, err)
			f.answer(string(b))
			var got unionResult
			got.decode = uc.decode
			require.NoError(t, c.Call(t.Context(), "getSomething", nil, &got))
			require.Equal(t, m.Interface(), got.v)
		})
	}

	// The two methods that return a union decode it themselves.
	f.answer(`{"status":"kicked","user":{"id":7,"is_bot":false,"first_name":"X"},"until_date":0}`)
	cm, err := c.GetChatMember(t.Context(), &GetChatMemberParams{ChatID: ChatID{ID: -100}, UserID: 7})
	require.NoError(t, err)
	require.Equal(t, &ChatMemberBanned{User: User{ID: 7, FirstName: "X"}}, cm)
	f.answer(`{"type":"web_app","text":"Shop","web_app":{"url":"https://shop.example/app"}}`)
	mb, err := c.GetChatMenuButton(t.Context(), nil)
	require.NoError(t, err)
	require.Equal(t, &MenuButtonWebApp{Text: "Shop", WebApp: WebAppInfo{URL: "https://shop.example/app"}}, mb)
}

// unionResult decodes a result with one union's decoder.
type unionResult struct {
	decode func([]byte) (any, error)
	v      any
}

func (u *unionResult) UnmarshalJSON(b []byte) (err error) {
	u.v, err = u.decode(b)
	return err
}
