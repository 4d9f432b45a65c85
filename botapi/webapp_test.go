package botapi

import (
	"io"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// expectJSON serves one method, checking the exact JSON body it receives.
func expectJSON(t *testing.T, mux *http.ServeMux, method, wantBody, answer string) {
	t.Helper()
	mux.HandleFunc("POST /"+method, func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, "application/json", r.Header.Get("Content-Type"))
		body, err := io.ReadAll(r.Body)
		require.NoError(t, err)
		assert.Equal(t, wantBody, string(body))
		reply(w, 200, answer)
	})
}

func TestSendMessageRoundTrip(t *testing.T) {
	c, mux := setup(t)
	expectJSON(t, mux, "sendMessage",
		`{"chat_id":42,"text":"Open the shop","reply_markup":{"inline_keyboard":[[{"text":"Shop","web_app":{"url":"https://shop.example/app"}},{"text":"Later","callback_data":"later"}]]}}`,
		`{"ok":true,"result":{"message_id":9,"date":1700000000,"chat":{"id":42,"type":"private"},"text":"Open the shop"}}`)
	m, err := c.SendMessage(t.Context(), &SendMessageParams{
		ChatID: ChatID{ID: 42},
		Text:   "Open the shop",
		ReplyMarkup: &InlineKeyboardMarkup{InlineKeyboard: [][]InlineKeyboardButton{{
			{Text: "Shop", WebApp: &WebAppInfo{URL: "https://shop.example/app"}},
			{Text: "Later", CallbackData: "later"},
		}}},
	})
	require.NoError(t, err)
	assert.Equal(t, int64(9), m.MessageID)
	assert.Equal(t, int64(42), m.Chat.ID)
}

func TestReplyMarkupMembers(t *testing.T) {
	for _, tt := range []struct {
		markup ReplyMarkup
		want   string
	}{
		{&ReplyKeyboardMarkup{Keyboard: [][]KeyboardButton{{{Text: "a"}}}}, `{"chat_id":1,"text":"t","reply_markup":{"keyboard":[[{"text":"a"}]]}}`},
		{&ReplyKeyboardRemove{}, `{"chat_id":1,"text":"t","reply_markup":{"remove_keyboard":true}}`},
		{&ForceReply{InputFieldPlaceholder: "name?"}, `{"chat_id":1,"text":"t","reply_markup":{"force_reply":true,"input_field_placeholder":"name?"}}`},
	} {
		t.Run(tt.want, func(t *testing.T) {
			c, mux := setup(t)
			expectJSON(t, mux, "sendMessage", tt.want, `{"ok":true,"result":{"message_id":1,"date":0,"chat":{"id":1,"type":"private"}}}`)
			_, err := c.SendMessage(t.Context(), &SendMessageParams{ChatID: ChatID{ID: 1}, Text: "t", ReplyMarkup: tt.markup})
			require.NoError(t, err)
		})
	}
}

func TestSetWebAppMenuButton(t *testing.T) {
	c, mux := setup(t)
	expectJSON(t, mux, "setChatMenuButton",
		`{"chat_id":42,"menu_button":{"type":"web_app","text":"Shop","web_app":{"url":"https://shop.example/app"}}}`,
		`{"ok":true,"result":true}`)
	require.NoError(t, c.SetWebAppMenuButton(t.Context(), 42, "Shop", "https://shop.example/app"))
}

func TestSetWebAppMenuButtonDefault(t *testing.T) {
	c, mux := setup(t)
	expectJSON(t, mux, "setChatMenuButton",
		`{"menu_button":{"type":"web_app","text":"Shop","web_app":{"url":"https://shop.example/app"}}}`,
		`{"ok":true,"result":true}`)
	require.NoError(t, c.SetWebAppMenuButton(t.Context(), 0, "Shop", "https://shop.example/app"))
}

func TestAnswerWebAppQueryText(t *testing.T) {
	c, mux := setup(t)
	expectJSON(t, mux, "answerWebAppQuery",
		`{"web_app_query_id":"AAHdF6IQAAAAAN0XohDhrOrc","result":{"type":"article","id":"1","title":"Order","input_message_content":{"message_text":"I ordered 2 coffees"}}}`,
		`{"ok":true,"result":{"inline_message_id":"AgAAAJ0"}}`)
	sent, err := c.AnswerWebAppQueryText(t.Context(), "AAHdF6IQAAAAAN0XohDhrOrc", "Order", "I ordered 2 coffees")
	require.NoError(t, err)
	assert.Equal(t, "AgAAAJ0", sent.InlineMessageID)
}

func TestPrepareTextMessage(t *testing.T) {
	c, mux := setup(t)
	expectJSON(t, mux, "savePreparedInlineMessage",
		`{"user_id":7,"result":{"type":"article","id":"1","title":"Invite","input_message_content":{"message_text":"Join me"}},"allow_user_chats":true,"allow_bot_chats":true,"allow_group_chats":true,"allow_channel_chats":true}`,
		`{"ok":true,"result":{"id":"prep-1","expiration_date":1700003600}}`)
	prep, err := c.PrepareTextMessage(t.Context(), 7, "Invite", "Join me")
	require.NoError(t, err)
	assert.Equal(t, &PreparedInlineMessage{ID: "prep-1", ExpirationDate: 1700003600}, prep)
}
