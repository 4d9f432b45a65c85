package botapitest

import (
	"net/url"
	"testing"
	"time"

	"github.com/miniappkit/miniappkit/initdata"
	"github.com/stretchr/testify/require"
)

func TestPressButtonAndAnswer(t *testing.T) {
	srv := setup(t)
	ann := srv.NewUser("Ann")
	var m message
	callJSON(t, srv, "sendMessage", map[string]any{"chat_id": ann.ID, "text": "Pick", "reply_markup": map[string]any{
		"inline_keyboard": [][]map[string]string{{{"text": "Tea", "callback_data": "tea"}, {"text": "Site", "url": "https://example.com"}}}}}).decode(t, &m)

	_, err := srv.PressButton(ann, "Site")
	require.ErrorIs(t, err, ErrNoButton, "a URL button sends no callback")
	id, err := srv.PressButton(ann, "Tea")
	require.NoError(t, err)

	ups := pollUpdates(t, srv, map[string]any{})
	require.Len(t, ups, 1)
	cq := ups[0].CallbackQuery
	require.Equal(t, id, cq.ID)
	require.Equal(t, "tea", cq.Data)
	require.Equal(t, ann.ID, cq.From.ID)
	require.Equal(t, m.MessageID, cq.Message.MessageID)

	_, ok := srv.CallbackAnswer(id)
	require.True(t, ok)
	require.True(t, callJSON(t, srv, "answerCallbackQuery", map[string]any{"callback_query_id": id, "text": "Brewing"}).OK)
	ans, _ := srv.CallbackAnswer(id)
	require.Equal(t, CallbackAnswer{Answered: true, Text: "Brewing"}, ans)
	requireError(t, callJSON(t, srv, "answerCallbackQuery", map[string]any{"callback_query_id": id}), 400,
		"Bad Request: query is too old and response timeout expired or query ID is invalid")
	_, err = srv.PressButton(User{ID: 5}, "Tea")
	require.ErrorIs(t, err, ErrUnknownUser)
}

func TestBlockBot(t *testing.T) {
	srv := setup(t)
	ann := srv.NewUser("Ann")
	srv.BlockBot(ann)
	requireError(t, send(t, srv, ann.ID), 403, "Forbidden: bot was blocked by the user")
	ups := pollUpdates(t, srv, map[string]any{})
	require.Len(t, ups, 1)
	require.Equal(t, "kicked", ups[0].MyChatMember.NewChatMember.Status)
	require.Equal(t, "member", ups[0].MyChatMember.OldChatMember.Status)

	srv.SendUserMessage(ann, "/start")
	require.True(t, send(t, srv, ann.ID).OK, "writing to the bot unblocks it")
	srv.BlockBot(ann)
	srv.UnblockBot(ann)
	require.True(t, send(t, srv, ann.ID).OK)
}

func TestOpenMiniApp(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	srv := setup(t, WithClock(func() time.Time { return now }))
	ann := srv.AddUser(User{ID: 4242, FirstName: "Ann", Username: "ann", LanguageCode: "en"})

	raw := srv.OpenMiniApp(ann)
	data, err := initdata.Validate(raw, srv.Token(), initdata.WithClock(func() time.Time { return now }))
	require.NoError(t, err)
	require.Equal(t, int64(4242), data.User.ID)
	require.Equal(t, "ann", data.User.Username)
	require.Equal(t, now.Unix(), data.AuthDate.Unix())

	v, err := url.ParseQuery(raw)
	require.NoError(t, err)
	qid := v.Get("query_id")
	require.NotEmpty(t, qid)
	result := map[string]any{"type": "article", "id": "1", "title": "Done",
		"input_message_content": map[string]string{"message_text": "Bought"}}
	var sent struct {
		InlineMessageID string `json:"inline_message_id"`
	}
	callJSON(t, srv, "answerWebAppQuery", map[string]any{"web_app_query_id": qid, "result": result}).decode(t, &sent)
	require.NotEmpty(t, sent.InlineMessageID)
	requireError(t, callJSON(t, srv, "answerWebAppQuery", map[string]any{"web_app_query_id": qid, "result": result}), 400,
		"Bad Request: query is too old and response timeout expired or query ID is invalid")

	var prepared struct {
		ID             string `json:"id"`
		ExpirationDate int64  `json:"expiration_date"`
	}
	callJSON(t, srv, "savePreparedInlineMessage", map[string]any{"user_id": ann.ID, "result": result}).decode(t, &prepared)
	require.NotEmpty(t, prepared.ID)
	require.Equal(t, now.Add(preparedMessageLifetime).Unix(), prepared.ExpirationDate)
	requireError(t, callJSON(t, srv, "savePreparedInlineMessage", map[string]any{"user_id": ann.ID, "result": "{}"}), 400,
		"Bad Request: can't parse inline query result")
}

func TestMenuButtonAndCommands(t *testing.T) {
	srv := setup(t)
	ann := srv.NewUser("Ann")
	button := map[string]any{"type": "web_app", "text": "Shop", "web_app": map[string]string{"url": "https://shop.example"}}
	require.True(t, callJSON(t, srv, "setChatMenuButton", map[string]any{"chat_id": ann.ID, "menu_button": button}).OK)
	var got map[string]any
	callJSON(t, srv, "getChatMenuButton", map[string]any{"chat_id": ann.ID}).decode(t, &got)
	require.Equal(t, "Shop", got["text"])
	require.JSONEq(t, `{"type":"web_app","text":"Shop","web_app":{"url":"https://shop.example"}}`, string(srv.MenuButton(ann.ID)))
	require.JSONEq(t, `{"type":"default"}`, string(srv.MenuButton(0)))
	requireError(t, callJSON(t, srv, "setChatMenuButton", map[string]any{"menu_button": map[string]any{
		"type": "web_app", "text": "x", "web_app": map[string]string{"url": "http://insecure"}}}), 400, "Bad Request: BUTTON_URL_INVALID")

	cmds := []map[string]string{{"command": "start", "description": "Start"}}
	require.True(t, callJSON(t, srv, "setMyCommands", map[string]any{"commands": cmds}).OK)
	var back []map[string]string
	callJSON(t, srv, "getMyCommands", nil).decode(t, &back)
	require.Equal(t, cmds, back)
	requireError(t, callJSON(t, srv, "setMyCommands", map[string]any{"commands": []map[string]string{{"command": "Bad Cmd", "description": "x"}}}), 400,
		"Bad Request: BOT_COMMAND_INVALID")
	require.True(t, callJSON(t, srv, "deleteMyCommands", nil).OK)
	callJSON(t, srv, "getMyCommands", nil).decode(t, &back)
	require.Empty(t, back)
}

func TestMessageLifecycle(t *testing.T) {
	srv := setup(t)
	ann, bob := srv.NewUser("Ann"), srv.NewUser("Bob")
	g := srv.NewGroup("Club")

	var m1, m2, g1 message
	callJSON(t, srv, "sendMessage", map[string]any{"chat_id": ann.ID, "text": "one"}).decode(t, &m1)
	callJSON(t, srv, "sendMessage", map[string]any{"chat_id": ann.ID, "text": "two"}).decode(t, &m2)
	callJSON(t, srv, "sendMessage", map[string]any{"chat_id": g.ID, "text": "hello group"}).decode(t, &g1)
	require.Equal(t, int64(1), m1.MessageID)
	require.Equal(t, int64(2), m2.MessageID)
	require.Equal(t, int64(1), g1.MessageID, "ids count per chat")
	require.Equal(t, "supergroup", g1.Chat.Type)
	require.True(t, m1.From.IsBot)

	t.Run("edit", func(t *testing.T) {
		var e message
		callJSON(t, srv, "editMessageText", map[string]any{"chat_id": ann.ID, "message_id": m1.MessageID, "text": "uno"}).decode(t, &e)
		require.Equal(t, "uno", e.Text)
		require.NotZero(t, e.EditDate)
		requireError(t, callJSON(t, srv, "editMessageText", map[string]any{"chat_id": ann.ID, "message_id": m1.MessageID, "text": "uno"}), 400,
			"Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message")
		requireError(t, callJSON(t, srv, "editMessageText", map[string]any{"chat_id": ann.ID, "message_id": 99, "text": "x"}), 400,
			"Bad Request: message to edit not found")
		requireError(t, callJSON(t, srv, "editMessageText", map[string]any{"chat_id": ann.ID, "message_id": 0, "text": "x"}), 400,
			"Bad Request: MESSAGE_ID_INVALID")
		id := srv.SendUserMessage(ann, "mine")
		requireError(t, callJSON(t, srv, "editMessageText", map[string]any{"chat_id": ann.ID, "message_id": id, "text": "x"}), 400,
			"Bad Request: message can't be edited")
		kb := map[string]any{"inline_keyboard": [][]map[string]string{{{"text": "A", "callback_data": "a"}}}}
		callJSON(t, srv, "editMessageReplyMarkup", map[string]any{"chat_id": ann.ID, "message_id": m2.MessageID, "reply_markup": kb}).decode(t, &e)
		require.JSONEq(t, `{"inline_keyboard":[[{"text":"A","callback_data":"a"}]]}`, string(e.ReplyMarkup))
	})
	t.Run("forward and copy", func(t *testing.T) {
		var f message
		callJSON(t, srv, "forwardMessage", map[string]any{"chat_id": bob.ID, "from_chat_id": ann.ID, "message_id": m2.MessageID}).decode(t, &f)
		require.Equal(t, "two", f.Text)
		require.Equal(t, bob.ID, f.Chat.ID)
		require.Equal(t, "user", f.ForwardOrigin.Type)
		msgs := srv.Messages(bob.ID)
		require.Equal(t, "two", msgs[len(msgs)-1].Text)
		require.NotNil(t, msgs[len(msgs)-1].ForwardOrigin, "forward_origin decodes into the Bot API's union")
		var c struct {
			MessageID int64 `json:"message_id"`
		}
		callJSON(t, srv, "copyMessage", map[string]any{"chat_id": bob.ID, "from_chat_id": ann.ID, "message_id": m2.MessageID}).decode(t, &c)
		require.Equal(t, f.MessageID+1, c.MessageID)
		requireError(t, callJSON(t, srv, "forwardMessage", map[string]any{"chat_id": bob.ID, "from_chat_id": ann.ID, "message_id": 99}), 400,
			"Bad Request: message to forward not found")
		requireError(t, callJSON(t, srv, "copyMessage", map[string]any{"chat_id": bob.ID, "from_chat_id": ann.ID, "message_id": 99}), 400,
			"Bad Request: message to copy not found")
	})
	t.Run("delete", func(t *testing.T) {
		require.True(t, callJSON(t, srv, "deleteMessage", map[string]any{"chat_id": ann.ID, "message_id": m1.MessageID}).OK)
		requireError(t, callJSON(t, srv, "deleteMessage", map[string]any{"chat_id": ann.ID, "message_id": m1.MessageID}), 400,
			"Bad Request: message to delete not found")
	})
	t.Run("chat and actions", func(t *testing.T) {
		var c Chat
		callJSON(t, srv, "getChat", map[string]any{"chat_id": g.ID}).decode(t, &c)
		require.Equal(t, "Club", c.Title)
		require.True(t, callJSON(t, srv, "sendChatAction", map[string]any{"chat_id": ann.ID, "action": "typing"}).OK)
		requireError(t, callJSON(t, srv, "sendChatAction", map[string]any{"chat_id": ann.ID}), 400, "Bad Request: wrong parameter action in request")
		requireError(t, callJSON(t, srv, "sendChatAction", map[string]any{"chat_id": ann.ID, "action": "dancing"}), 400, "Bad Request: wrong parameter action in request")
		requireError(t, callJSON(t, srv, "sendPhoto", map[string]any{"chat_id": ann.ID}), 400, "Bad Request: there is no photo in the request")
		var p, again message
		callJSON(t, srv, "sendPhoto", map[string]any{"chat_id": ann.ID, "photo": "https://example.com/a.jpg"}).decode(t, &p)
		callJSON(t, srv, "sendPhoto", map[string]any{"chat_id": ann.ID, "photo": p.Photo[len(p.Photo)-1].FileID}).decode(t, &again)
		require.Equal(t, p.Photo, again.Photo, "a file_id resends the same photo")
	})
	t.Run("group message from a user", func(t *testing.T) {
		require.Equal(t, int64(2), srv.SendGroupMessage(g, bob, "hi all"))
		require.Zero(t, srv.SendGroupMessage(Chat{ID: -5}, bob, "nowhere"))
	})
}

func TestMessagesShowsChatState(t *testing.T) {
	srv := setup(t)
	ann := srv.NewUser("Ann")
	srv.SendUserMessage(ann, "/menu")
	kb := map[string]any{"inline_keyboard": [][]map[string]string{{{"text": "A", "callback_data": "a"}}}}
	var m message
	callJSON(t, srv, "sendMessage", map[string]any{"chat_id": ann.ID, "text": "Pick", "reply_markup": kb}).decode(t, &m)
	callJSON(t, srv, "editMessageText", map[string]any{"chat_id": ann.ID, "message_id": m.MessageID, "text": "Picked A"}).decode(t, &m)

	msgs := srv.Messages(ann.ID)
	require.Len(t, msgs, 2)
	require.Equal(t, "/menu", msgs[0].Text)
	require.Equal(t, ann.ID, msgs[0].From.ID)
	require.Equal(t, "Picked A", msgs[1].Text)
	require.Nil(t, msgs[1].ReplyMarkup, "an edit without reply_markup removes the keyboard")
	require.NotZero(t, msgs[1].EditDate)

	require.True(t, callJSON(t, srv, "deleteMessage", map[string]any{"chat_id": ann.ID, "message_id": 1}).OK)
	require.Len(t, srv.Messages(ann.ID), 1)
	require.Nil(t, srv.Messages(-1))
}
