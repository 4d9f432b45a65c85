package botapitest

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSendingMethods drives the send family, each with its check.
func TestSendingMethods(t *testing.T) {
	srv := setup(t)
	ann := srv.NewUser("Ann")
	call := func(method string, p map[string]any) answer {
		t.Helper()
		if p == nil {
			p = map[string]any{}
		}
		if _, ok := p["chat_id"]; !ok {
			p["chat_id"] = ann.ID
		}
		return callJSON(t, srv, method, p)
	}
	var m map[string]json.RawMessage
	call("sendLocation", map[string]any{"latitude": 52.5, "longitude": 13.4}).decode(t, &m)
	require.JSONEq(t, `{"latitude":52.5,"longitude":13.4}`, string(m["location"]))
	requireError(t, call("sendLocation", map[string]any{"latitude": 91, "longitude": 0}), 400, "Bad Request: wrong latitude specified")
	call("sendVenue", map[string]any{"latitude": 1, "longitude": 2, "title": "Cafe", "address": "Main St"}).decode(t, &m)
	require.Contains(t, string(m["venue"]), `"title":"Cafe"`)
	require.NotNil(t, m["location"])
	requireError(t, call("sendVenue", map[string]any{"latitude": 1, "longitude": 2, "address": "x"}), 400, `Bad Request: parameter "title" is required`)
	call("sendContact", map[string]any{"phone_number": "+100", "first_name": "Bo"}).decode(t, &m)
	require.JSONEq(t, `{"phone_number":"+100","first_name":"Bo"}`, string(m["contact"]))
	call("sendDice", map[string]any{"emoji": "🎯"}).decode(t, &m)
	var dice struct {
		Emoji string
		Value int
	}
	require.NoError(t, json.Unmarshal(m["dice"], &dice))
	require.Equal(t, "🎯", dice.Emoji)
	require.True(t, dice.Value >= 1 && dice.Value <= 6)
	call("sendPoll", map[string]any{"question": "Tea?", "options": []string{"yes", "no"}}).decode(t, &m)
	require.Contains(t, string(m["poll"]), `"question":"Tea?"`)
	var pollMsg struct {
		MessageID int64 `json:"message_id"`
	}
	call("sendPoll", map[string]any{"question": "Q", "options": []map[string]string{{"text": "a"}, {"text": "b"}}}).decode(t, &pollMsg)
	var stopped struct {
		IsClosed bool `json:"is_closed"`
	}
	call("stopPoll", map[string]any{"message_id": pollMsg.MessageID}).decode(t, &stopped)
	require.True(t, stopped.IsClosed)
	requireError(t, call("sendPoll", map[string]any{"question": "Q", "options": []string{"one"}}), 400, "Bad Request: poll must have 2-12 options")

	var album []message
	call("sendMediaGroup", map[string]any{"media": []map[string]string{
		{"type": "photo", "media": "https://example.com/1.jpg", "caption": "*one*", "parse_mode": "MarkdownV2"},
		{"type": "photo", "media": "https://example.com/2.jpg"},
	}}).decode(t, &album)
	require.Len(t, album, 2)
	require.Equal(t, album[0].MediaGroupID, album[1].MediaGroupID)
	require.Equal(t, "one", album[0].Caption)
	requireError(t, call("sendMediaGroup", map[string]any{"media": []map[string]string{{"type": "photo", "media": "https://e.x/1"}}}), 400,
		"Bad Request: wrong number of media specified: must be 2-10")

	call("sendPaidMedia", map[string]any{"star_count": 5, "media": []map[string]string{{"type": "photo", "media": "https://e.x/p.jpg"}}}).decode(t, &m)
	require.Contains(t, string(m["paid_media"]), `"star_count":5`)

	var sent []map[string]int64
	first := srv.SendUserMessage(ann, "one")
	second := srv.SendUserMessage(ann, "two")
	call("forwardMessages", map[string]any{"from_chat_id": ann.ID, "message_ids": []int64{second, first, 999}}).decode(t, &sent)
	require.Len(t, sent, 2)
	call("copyMessages", map[string]any{"from_chat_id": ann.ID, "message_ids": []int64{first}}).decode(t, &sent)
	require.Len(t, sent, 1)
	requireError(t, call("forwardMessages", map[string]any{"from_chat_id": ann.ID, "message_ids": []int64{999}}), 400, "Bad Request: message to forward not found")
}

// TestEditingMethods covers captions, media, reactions, pins and bulk
// deletion.
func TestEditingMethods(t *testing.T) {
	srv := setup(t)
	ann := srv.NewUser("Ann")
	var photo message
	callJSON(t, srv, "sendPhoto", map[string]any{"chat_id": ann.ID, "photo": "https://e.x/a.jpg", "caption": "old"}).decode(t, &photo)
	var edited, replaced message
	callJSON(t, srv, "editMessageCaption", map[string]any{"chat_id": ann.ID, "message_id": photo.MessageID, "caption": "<b>new</b>", "parse_mode": "HTML"}).decode(t, &edited)
	require.Equal(t, "new", edited.Caption)
	require.Equal(t, []messageEntity{{Type: "bold", Offset: 0, Length: 3}}, edited.CaptionEntities)
	requireError(t, callJSON(t, srv, "editMessageCaption", map[string]any{"chat_id": ann.ID, "message_id": photo.MessageID, "caption": "<b>new</b>", "parse_mode": "HTML"}), 400,
		"Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message")
	callJSON(t, srv, "editMessageMedia", map[string]any{"chat_id": ann.ID, "message_id": photo.MessageID,
		"media": map[string]string{"type": "document", "media": "https://e.x/r.pdf"}}).decode(t, &replaced)
	require.Nil(t, replaced.Photo)
	require.NotNil(t, replaced.Document)

	text := srv.SendUserMessage(ann, "react to me")
	require.True(t, callJSON(t, srv, "setMessageReaction", map[string]any{"chat_id": ann.ID, "message_id": text,
		"reaction": []map[string]string{{"type": "emoji", "emoji": "👍"}}}).OK)
	requireError(t, callJSON(t, srv, "setMessageReaction", map[string]any{"chat_id": ann.ID, "message_id": 999}), 400, "Bad Request: message to react not found")

	require.True(t, callJSON(t, srv, "pinChatMessage", map[string]any{"chat_id": ann.ID, "message_id": text}).OK)
	require.Equal(t, []int64{text}, srv.Pinned(ann.ID))
	requireError(t, callJSON(t, srv, "pinChatMessage", map[string]any{"chat_id": ann.ID, "message_id": 999}), 400, "Bad Request: message to pin not found")
	var info chatFullInfo
	callJSON(t, srv, "getChat", map[string]any{"chat_id": ann.ID}).decode(t, &info)
	require.Equal(t, text, info.PinnedMessage.MessageID)
	require.True(t, callJSON(t, srv, "unpinChatMessage", map[string]any{"chat_id": ann.ID, "message_id": text}).OK)
	requireError(t, callJSON(t, srv, "unpinChatMessage", map[string]any{"chat_id": ann.ID, "message_id": text}), 400, "Bad Request: message to unpin not found")

	require.True(t, callJSON(t, srv, "deleteMessages", map[string]any{"chat_id": ann.ID, "message_ids": []int64{text, photo.MessageID, 999}}).OK)
	requireError(t, callJSON(t, srv, "deleteMessages", map[string]any{"chat_id": ann.ID, "message_ids": []int64{}}), 400, "Bad Request: message identifiers are not specified")

	var live message
	callJSON(t, srv, "sendLocation", map[string]any{"chat_id": ann.ID, "latitude": 1, "longitude": 1, "live_period": 60}).decode(t, &live)
	callJSON(t, srv, "editMessageLiveLocation", map[string]any{"chat_id": ann.ID, "message_id": live.MessageID, "latitude": 2, "longitude": 2}).decode(t, &edited)
	require.Contains(t, string(edited.Location), `"latitude":2`)
	require.True(t, callJSON(t, srv, "stopMessageLiveLocation", map[string]any{"chat_id": ann.ID, "message_id": live.MessageID}).OK)
}

// TestChatMethods covers members, administration and invite links, with
// the chat_member updates a bot sees when it asks for them.
func TestChatMethods(t *testing.T) {
	srv := setup(t)
	ann, bob := srv.NewUser("Ann"), srv.NewUser("Bob")
	g := srv.NewGroup("Club")
	pollUpdates(t, srv, map[string]any{"allowed_updates": []string{"message", "chat_member", "chat_join_request"}})
	require.NoError(t, srv.JoinGroup(g, ann))

	var mem struct {
		Status string `json:"status"`
	}
	callJSON(t, srv, "getChatMember", map[string]any{"chat_id": g.ID, "user_id": ann.ID}).decode(t, &mem)
	require.Equal(t, "member", mem.Status)
	callJSON(t, srv, "getChatMember", map[string]any{"chat_id": g.ID, "user_id": bob.ID}).decode(t, &mem)
	require.Equal(t, "left", mem.Status)
	requireError(t, callJSON(t, srv, "getChatMember", map[string]any{"chat_id": g.ID, "user_id": 42}), 400, "Bad Request: user not found")

	require.True(t, callJSON(t, srv, "banChatMember", map[string]any{"chat_id": g.ID, "user_id": ann.ID}).OK)
	callJSON(t, srv, "getChatMember", map[string]any{"chat_id": g.ID, "user_id": ann.ID}).decode(t, &mem)
	require.Equal(t, "kicked", mem.Status)
	require.True(t, callJSON(t, srv, "unbanChatMember", map[string]any{"chat_id": g.ID, "user_id": ann.ID}).OK)
	require.True(t, callJSON(t, srv, "restrictChatMember", map[string]any{"chat_id": g.ID, "user_id": bob.ID, "permissions": map[string]bool{"can_send_messages": false}}).OK)
	require.True(t, callJSON(t, srv, "promoteChatMember", map[string]any{"chat_id": g.ID, "user_id": ann.ID, "can_delete_messages": true}).OK)
	require.True(t, callJSON(t, srv, "setChatAdministratorCustomTitle", map[string]any{"chat_id": g.ID, "user_id": ann.ID, "custom_title": "boss"}).OK)
	var admins []map[string]any
	callJSON(t, srv, "getChatAdministrators", map[string]any{"chat_id": g.ID}).decode(t, &admins)
	require.Len(t, admins, 2)
	requireError(t, callJSON(t, srv, "banChatMember", map[string]any{"chat_id": ann.ID, "user_id": ann.ID}), 400,
		"Bad Request: chat member status can't be changed in private chats")
	var count int
	callJSON(t, srv, "getChatMemberCount", map[string]any{"chat_id": g.ID}).decode(t, &count)
	require.Equal(t, 3, count)

	var link inviteLink
	callJSON(t, srv, "createChatInviteLink", map[string]any{"chat_id": g.ID, "name": "promo", "creates_join_request": true}).decode(t, &link)
	require.Contains(t, link.InviteLink, "https://t.me/+")
	require.True(t, link.CreatesJoinRequest)
	callJSON(t, srv, "revokeChatInviteLink", map[string]any{"chat_id": g.ID, "invite_link": link.InviteLink}).decode(t, &link)
	require.True(t, link.IsRevoked)
	var primary string
	callJSON(t, srv, "exportChatInviteLink", map[string]any{"chat_id": g.ID}).decode(t, &primary)
	require.Contains(t, primary, "https://t.me/+")

	eve := srv.NewUser("Eve")
	require.NoError(t, srv.SendJoinRequest(g, eve))
	require.True(t, callJSON(t, srv, "approveChatJoinRequest", map[string]any{"chat_id": g.ID, "user_id": eve.ID}).OK)
	requireError(t, callJSON(t, srv, "declineChatJoinRequest", map[string]any{"chat_id": g.ID, "user_id": eve.ID}), 400, "Bad Request: HIDE_REQUESTER_MISSING")

	require.True(t, callJSON(t, srv, "setChatTitle", map[string]any{"chat_id": g.ID, "title": "Club 2"}).OK)
	require.True(t, callJSON(t, srv, "setChatDescription", map[string]any{"chat_id": g.ID, "description": "about"}).OK)
	require.True(t, callJSON(t, srv, "setChatPermissions", map[string]any{"chat_id": g.ID, "permissions": map[string]bool{"can_send_messages": true}}).OK)
	var info chatFullInfo
	callJSON(t, srv, "getChat", map[string]any{"chat_id": g.ID}).decode(t, &info)
	require.Equal(t, "Club 2", info.Title)
	require.Equal(t, "about", info.Description)

	kinds := updateKindsOf(t, srv)
	require.Contains(t, kinds, "chat_member")
	require.Contains(t, kinds, "chat_join_request")
}

// TestBotSettingsAndStars covers the bot's own texts, rights, gifts and
// user emoji statuses.
func TestBotSettingsAndStars(t *testing.T) {
	srv := setup(t)
	ann := srv.NewUser("Ann")
	require.True(t, callJSON(t, srv, "setMyName", map[string]any{"name": "Shop"}).OK)
	var name map[string]string
	callJSON(t, srv, "getMyName", nil).decode(t, &name)
	require.Equal(t, "Shop", name["name"])
	callJSON(t, srv, "getMyName", map[string]any{"language_code": "de"}).decode(t, &name)
	require.Equal(t, "", name["name"])
	require.True(t, callJSON(t, srv, "setMyDescription", map[string]any{"description": "d"}).OK)
	require.True(t, callJSON(t, srv, "setMyShortDescription", map[string]any{"short_description": "s"}).OK)
	var rights map[string]bool
	require.True(t, callJSON(t, srv, "setMyDefaultAdministratorRights", map[string]any{"rights": map[string]bool{"can_invite_users": true}}).OK)
	callJSON(t, srv, "getMyDefaultAdministratorRights", nil).decode(t, &rights)
	require.True(t, rights["can_invite_users"])

	var gifts struct {
		Gifts []struct {
			ID        string `json:"id"`
			StarCount int64  `json:"star_count"`
		} `json:"gifts"`
	}
	callJSON(t, srv, "getAvailableGifts", nil).decode(t, &gifts)
	require.NotEmpty(t, gifts.Gifts)
	requireError(t, callJSON(t, srv, "sendGift", map[string]any{"user_id": ann.ID, "gift_id": gifts.Gifts[0].ID}), 400, "Bad Request: BALANCE_TOO_LOW")
	srv.mu.Lock()
	srv.st.balance = 100
	srv.mu.Unlock()
	require.True(t, callJSON(t, srv, "sendGift", map[string]any{"user_id": ann.ID, "gift_id": gifts.Gifts[0].ID, "text": "hi"}).OK)
	require.Equal(t, []SentGift{{To: ann.ID, GiftID: gifts.Gifts[0].ID, Stars: gifts.Gifts[0].StarCount, Text: "hi"}}, srv.Gifts())
	require.Equal(t, 100-gifts.Gifts[0].StarCount, srv.StarBalance())

	require.True(t, callJSON(t, srv, "setUserEmojiStatus", map[string]any{"user_id": ann.ID, "emoji_status_custom_emoji_id": "5368324170671202286"}).OK)
	require.Equal(t, "5368324170671202286", srv.EmojiStatus(ann))
	require.True(t, callJSON(t, srv, "logOut", nil).OK)
	require.True(t, callJSON(t, srv, "getUserProfilePhotos", map[string]any{"user_id": ann.ID}).OK)
	requireError(t, callJSON(t, srv, "answerShippingQuery", map[string]any{"shipping_query_id": "1", "ok": false}), 400, `Bad Request: parameter "error_message" is required`)
}
