package botapi

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The tests in this file check what Bot API 10.2 and 10.3 added, decoded
// from and encoded to the JSON Telegram documents.

func TestDecodeBotAPI103Update(t *testing.T) {
	var u Update
	require.NoError(t, json.Unmarshal([]byte(`{"update_id":9,
		"stopped_message_generation":{"chat":{"id":42,"type":"private","first_name":"Ann"},"message_thread_id":3,"draft_id":77}}`), &u))
	require.NotNil(t, u.StoppedMessageGeneration)
	assert.Equal(t, int64(42), u.StoppedMessageGeneration.Chat.ID)
	assert.Equal(t, int64(3), u.StoppedMessageGeneration.MessageThreadID)
	assert.Equal(t, int64(77), u.StoppedMessageGeneration.DraftID)

	require.NoError(t, json.Unmarshal([]byte(`{"update_id":10,"message":{"message_id":0,"date":1,
		"chat":{"id":-1001,"type":"supergroup","title":"G"},
		"receiver_user":{"id":5,"is_bot":false,"first_name":"Bo"},"ephemeral_message_id":12,
		"community_chat_joined":{"community":{"id":8,"name":"Club"}}}}`), &u))
	m := u.Message
	require.NotNil(t, m)
	assert.Equal(t, int64(12), m.EphemeralMessageID)
	require.NotNil(t, m.ReceiverUser)
	assert.Equal(t, int64(5), m.ReceiverUser.ID)
	require.NotNil(t, m.CommunityChatJoined)
	assert.Equal(t, Community{ID: 8, Name: "Club"}, m.CommunityChatJoined.Community)
}

func TestDecodeRichMessageButtons(t *testing.T) {
	var m Message
	require.NoError(t, json.Unmarshal([]byte(`{"message_id":1,"date":1,"chat":{"id":1,"type":"private"},
		"rich_message":{"blocks":[
			{"type":"buttons","align":"center","buttons":[{"text":"Open","style":"success","url":"https://t.me"},{"text":"Off","disabled":{}}]},
			{"type":"paragraph","text":["Press ",{"type":"button","button":{"text":"here","callback_data":"x"}}]},
			{"type":"expandable_blockquote","text":"long"},
			{"type":"document","document":{"file_id":"f","file_unique_id":"u"}}]}}`), &m))
	require.NotNil(t, m.RichMessage)
	bs := m.RichMessage.Blocks
	require.Len(t, bs, 4)
	buttons, ok := bs[0].(*RichBlockButtons)
	require.True(t, ok, "%T", bs[0])
	assert.Equal(t, "center", buttons.Align)
	require.Len(t, buttons.Buttons, 2)
	assert.Equal(t, RichTextPlain("Open"), buttons.Buttons[0].Text)
	assert.Equal(t, "https://t.me", buttons.Buttons[0].URL)
	assert.NotNil(t, buttons.Buttons[1].Disabled)
	p, ok := bs[1].(*RichBlockParagraph)
	require.True(t, ok, "%T", bs[1])
	arr, ok := p.Text.(RichTextArray)
	require.True(t, ok, "%T", p.Text)
	require.Len(t, arr, 2)
	b, ok := arr[1].(*RichTextButton)
	require.True(t, ok, "%T", arr[1])
	assert.Equal(t, "x", b.Button.CallbackData)
	assert.IsType(t, &RichBlockExpandableBlockQuotation{}, bs[2])
	doc, ok := bs[3].(*RichBlockDocument)
	require.True(t, ok, "%T", bs[3])
	assert.Equal(t, "f", doc.Document.FileID)
}

func TestEncodeEphemeralAndDraftParameters(t *testing.T) {
	f, c := newFake(t)
	f.answer(sentMessage)
	_, err := c.SendMessage(t.Context(), &SendMessageParams{ChatID: ChatID{ID: -100}, Text: "only you see this",
		EphemeralMessageParameters: &EphemeralMessageParameters{ReceiverUserID: 5, CallbackQueryID: "cq", ReplaceCallbackQueryMessage: true}})
	require.NoError(t, err)
	_, body := f.last()
	assert.JSONEq(t, `{"chat_id":-100,"text":"only you see this",
		"ephemeral_message_parameters":{"receiver_user_id":5,"callback_query_id":"cq","replace_callback_query_message":true}}`, body)

	f.answer("true")
	require.NoError(t, c.SendMessageDraft(t.Context(), &SendMessageDraftParams{ChatID: 5, DraftID: 1, Text: Ptr(""), CanStop: true, KeepOnStop: true}))
	_, body = f.last()
	assert.JSONEq(t, `{"chat_id":5,"draft_id":1,"text":"","can_stop":true,"keep_on_stop":true}`, body)

	require.NoError(t, c.EditEphemeralMessageText(t.Context(), &EditEphemeralMessageTextParams{ChatID: ChatID{ID: -100},
		ReceiverUserID: 5, EphemeralMessageID: 12, RichMessage: &InputRichMessage{Blocks: []InputRichBlock{
			&InputRichBlockButtons{Buttons: []RichMessageButton{{Text: RichTextPlain("Stop"), Disabled: &DisabledButton{}}}},
			&InputRichBlockTable{Cells: [][]RichBlockTableCell{}, IsCompact: true},
		}}}))
	_, body = f.last()
	assert.JSONEq(t, `{"chat_id":-100,"receiver_user_id":5,"ephemeral_message_id":12,"rich_message":{"blocks":[
		{"type":"buttons","buttons":[{"text":"Stop","disabled":{}}]},
		{"type":"table","cells":[],"is_compact":true}]}}`, body)
}

// TestUploadNestedInRichMessage checks that a file uploaded inside a rich
// message's media (the InputRichMedia union, 10.3 adds documents) is sent as
// a multipart part and referenced by attach://.
func TestUploadNestedInRichMessage(t *testing.T) {
	c, mux := setup(t)
	mux.HandleFunc("POST /sendRichMessage", func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, []part{
			{"chat_id", "", "1"},
			{"rich_message", "", `{"markdown":"![](tg://document?id=d1)","media":[` +
				`{"id":"d1","media":{"type":"document","media":"attach://file0"}},` +
				`{"id":"v1","media":{"type":"voice_note","media":"AwACvoice"}}]}`},
			{"file0", "menu.pdf", "%PDF"},
		}, readParts(t, r))
		reply(w, 200, `{"ok":true,"result":`+sentMessage+`}`)
	})
	_, err := c.SendRichMessage(t.Context(), &SendRichMessageParams{ChatID: ChatID{ID: 1}, RichMessage: InputRichMessage{
		Markdown: "![](tg://document?id=d1)",
		Media: []InputRichMessageMedia{
			{ID: "d1", Media: &InputMediaDocument{Media: Upload("menu.pdf", strings.NewReader("%PDF"))}},
			{ID: "v1", Media: &InputMediaVoiceNote{Media: FileID("AwACvoice")}},
		},
	}})
	require.NoError(t, err)
}
