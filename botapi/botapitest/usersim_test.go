package botapitest

import (
	"encoding/json"
	"io"
	"net/url"
	"testing"
	"time"

	"github.com/miniappkit/miniappkit/initdata"
	"github.com/stretchr/testify/require"
)

// TestOpenMiniAppSigned: init data carries what Telegram's does and passes
// both checks: the hash with the bot token, the signature with the
// server's public key.
func TestOpenMiniAppSigned(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	srv := setup(t, WithClock(func() time.Time { return now }))
	ann := srv.AddUser(User{ID: 4242, FirstName: "Ann"})
	raw := srv.OpenMiniApp(ann)
	clock := initdata.WithClock(func() time.Time { return now })
	_, err := initdata.Validate(raw, srv.Token(), clock)
	require.NoError(t, err)
	data, err := initdata.ValidateThirdParty(raw, 123456, clock, initdata.WithPublicKey(srv.PublicKey()))
	require.NoError(t, err, "signed for the bot id of DefaultToken")
	require.Equal(t, int64(4242), data.User.ID)
	v, err := url.ParseQuery(raw)
	require.NoError(t, err)
	require.Equal(t, "sender", v.Get("chat_type"))
	require.NotEmpty(t, v.Get("chat_instance"))
	require.NotEmpty(t, v.Get("signature"))
	require.Contains(t, v.Get("user"), `"allows_write_to_pm":true`)
	require.Equal(t, v.Get("chat_instance"), mustQuery(t, srv.OpenMiniApp(ann)).Get("chat_instance"), "one chat, one chat_instance")
	_, err = initdata.ValidateThirdParty(raw, 123456, clock, initdata.WithPublicKey(NewServer(WithSeed(2), WithoutListener()).PublicKey()))
	require.Error(t, err, "another key fails")

	// answerWebAppQuery posts the result in the chat, via the bot.
	result := map[string]any{"type": "article", "id": "1", "title": "Done", "input_message_content": map[string]string{"message_text": "Bought"}}
	require.True(t, callJSON(t, srv, "answerWebAppQuery", map[string]any{"web_app_query_id": v.Get("query_id"), "result": result}).OK)
	msgs := srv.Messages(ann.ID)
	last := msgs[len(msgs)-1]
	require.Equal(t, "Bought", last.Text)
	require.Equal(t, ann.ID, last.From.ID)
	require.Equal(t, srv.Bot().ID, last.ViaBot.ID)
}

func mustQuery(t *testing.T, s string) url.Values {
	t.Helper()
	v, err := url.ParseQuery(s)
	require.NoError(t, err)
	return v
}

func TestUserSimulations(t *testing.T) {
	srv := setup(t)
	ann := srv.NewUser("Ann")
	g := srv.NewGroup("Club")

	t.Run("web app data", func(t *testing.T) {
		srv.SendWebAppData(ann, `{"order":7}`, "Order")
		ups := pollUpdates(t, srv, map[string]any{})
		require.Equal(t, `{"order":7}`, ups[len(ups)-1].Message.WebAppData.Data)
		require.Equal(t, "Order", ups[len(ups)-1].Message.WebAppData.ButtonText)
		confirm(t, srv, ups)
	})
	t.Run("edited message", func(t *testing.T) {
		id := srv.SendUserMessage(ann, "helo")
		require.NoError(t, srv.EditUserMessage(ann, id, "hello"))
		require.ErrorIs(t, srv.EditUserMessage(ann, 999, "x"), ErrUnknownMessage)
		var ups []map[string]json.RawMessage
		callJSON(t, srv, "getUpdates", map[string]any{}).decode(t, &ups)
		require.Contains(t, string(ups[len(ups)-1]["edited_message"]), `"text":"hello"`)
		callJSON(t, srv, "getUpdates", map[string]any{"offset": -1, "limit": 1})
		pollUpdates(t, srv, map[string]any{"offset": lastID(t, ups) + 1})
	})
	t.Run("photo and document with getFile", func(t *testing.T) {
		srv.SendUserPhoto(ann, []byte("JPEGDATA"), "look")
		srv.SendUserDocument(ann, "cv.pdf", []byte("%PDF"), "")
		ups := pollUpdates(t, srv, map[string]any{})
		photo := ups[len(ups)-2].Message.Photo
		doc := ups[len(ups)-1].Message.Document
		require.Equal(t, "cv.pdf", doc.FileName)
		for id, want := range map[string]string{photo[len(photo)-1].FileID: "JPEGDATA", doc.FileID: "%PDF"} {
			var f struct {
				FilePath string `json:"file_path"`
			}
			callJSON(t, srv, "getFile", map[string]any{"file_id": id}).decode(t, &f)
			resp, err := srv.HTTPClient().Get(srv.URL() + "/file/bot" + srv.Token() + "/" + f.FilePath)
			require.NoError(t, err)
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			require.Equal(t, want, string(b))
		}
		confirm(t, srv, ups)
	})
	t.Run("inline query and chosen result", func(t *testing.T) {
		id := srv.SendInlineQuery(ann, "pizza")
		require.Equal(t, []string{"inline_query"}, updateKindsOf(t, srv))
		_, ok := srv.InlineAnswer(id)
		require.False(t, ok)
		require.True(t, callJSON(t, srv, "answerInlineQuery", map[string]any{"inline_query_id": id,
			"results": []map[string]any{{"type": "article", "id": "r1", "title": "Pizza", "input_message_content": map[string]string{"message_text": "🍕"}}}}).OK)
		res, ok := srv.InlineAnswer(id)
		require.True(t, ok)
		require.Contains(t, string(res), `"id":"r1"`)
		requireError(t, callJSON(t, srv, "answerInlineQuery", map[string]any{"inline_query_id": id, "results": []any{}}), 400,
			"Bad Request: query is too old and response timeout expired or query ID is invalid")
		require.NoError(t, srv.ChooseInlineResult(id, "r1"))
		kinds := updateKindsOf(t, srv)
		require.Equal(t, "chosen_inline_result", kinds[len(kinds)-1])
		callJSON(t, srv, "getUpdates", map[string]any{"offset": -1})
		pollUpdates(t, srv, map[string]any{"offset": 1 << 40})
	})
	t.Run("join request and members", func(t *testing.T) {
		pollUpdates(t, srv, map[string]any{"allowed_updates": []string{"chat_join_request", "chat_member", "message"}})
		bob := srv.NewUser("Bob")
		require.NoError(t, srv.SendJoinRequest(g, bob))
		require.NoError(t, srv.JoinGroup(g, ann))
		require.NoError(t, srv.LeaveGroup(g, ann))
		require.ErrorIs(t, srv.JoinGroup(Chat{ID: -5}, ann), ErrUnknownChat)
		require.Equal(t, []string{"chat_join_request", "chat_member", "chat_member"}, updateKindsOf(t, srv))
	})
}

func lastID(t *testing.T, ups []map[string]json.RawMessage) int64 {
	t.Helper()
	var id int64
	require.NoError(t, json.Unmarshal(ups[len(ups)-1]["update_id"], &id))
	return id
}

// confirm acknowledges ups.
func confirm(t *testing.T, srv *Server, ups []update) {
	t.Helper()
	pollUpdates(t, srv, map[string]any{"offset": ups[len(ups)-1].UpdateID + 1})
}
