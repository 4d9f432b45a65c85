package botapitest

import (
	"bytes"
	"net/http"
	"net/url"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"
)

// Each case is Telegram's own answer, checked against tdlib/telegram-bot-api
// (telegram-bot-api/Client.cpp unless said otherwise).

// Client::fail_query_with_error maps QUERY_ID_INVALID to this text.
func TestErrorAnswerWebAppQueryUnknownID(t *testing.T) {
	srv := setup(t)
	a := callJSON(t, srv, "answerWebAppQuery", map[string]any{
		"web_app_query_id": "AAHnope", "result": map[string]any{"type": "article", "id": "1", "title": "x", "input_message_content": map[string]any{"message_text": "x"}},
	})
	requireError(t, a, 400, "Bad Request: query is too old and response timeout expired or query ID is invalid")
}

// Client::process_answer_pre_checkout_query_query: ok is to_bool("ok"), and
// without it error_message is get_required_string_arg's
// `Parameter "error_message" is required`, whose first letter
// fail_query_with_error lowercases.
func TestErrorAnswerPreCheckoutQueryErrorMessageRequired(t *testing.T) {
	srv := setup(t)
	const want = `Bad Request: parameter "error_message" is required`
	requireError(t, callJSON(t, srv, "answerPreCheckoutQuery", map[string]any{"pre_checkout_query_id": "1"}), 400, want)
	requireError(t, callJSON(t, srv, "answerPreCheckoutQuery", map[string]any{"pre_checkout_query_id": "1", "ok": false, "error_message": ""}), 400, want)
	requireError(t, callJSON(t, srv, "answerPreCheckoutQuery", map[string]any{"pre_checkout_query_id": "1", "ok": "yes"}), 400,
		"Bad Request: query is too old and response timeout expired or query ID is invalid") // "yes" is true (Client::to_bool)
}

// Client::get_allowed_update_types: an unparsable value, or one that is
// not an array of strings, changes nothing; names are lowercased; an array
// of no known name restores the default.
func TestErrorAllowedUpdatesIgnoredWhenUnparsable(t *testing.T) {
	srv := setup(t)
	ann := srv.NewUser("Ann")
	pollUpdates(t, srv, map[string]any{"allowed_updates": []string{"CALLBACK_QUERY"}})
	for _, bad := range []any{"[not json", "{}", []any{1, 2}, "42"} {
		a := callJSON(t, srv, "getUpdates", map[string]any{"allowed_updates": bad})
		require.True(t, a.OK, "allowed_updates %v is ignored, not an error", bad)
	}
	srv.SendUserMessage(ann, "filtered out")
	require.Empty(t, pollUpdates(t, srv, map[string]any{}), "callback_query only, still")

	pollUpdates(t, srv, map[string]any{"allowed_updates": []string{"no_such_update"}})
	srv.SendUserMessage(ann, "seen")
	require.Len(t, pollUpdates(t, srv, map[string]any{}), 1, "the default again")

	var info webhookInfo
	callJSON(t, srv, "setWebhook", map[string]any{"url": "https://bot.example/h", "allowed_updates": []string{"Message", "callback_query"}}).decode(t, new(bool))
	callJSON(t, srv, "getWebhookInfo", nil).decode(t, &info)
	require.Equal(t, []string{"message", "callback_query"}, info.AllowedUpdates)
}

// td/net/HttpReader.cpp: a JSON body that does not parse is logged and
// ignored (the parameters read before the error stay).
func TestErrorMalformedJSONBodyIsNoParameters(t *testing.T) {
	srv := setup(t)
	for _, body := range []string{`{"x":`, `not json`, `[1,2]`, `{"chat_id":1,`} {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, methodURL(srv, "getMe"), bytes.NewReader([]byte(body)))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		require.True(t, do(t, srv, req).OK, "body %q", body)
	}
	ann := srv.NewUser("Ann")
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, methodURL(srv, "sendMessage"),
		bytes.NewReader([]byte(`{"chat_id":`+jsonInt(ann.ID)+`,"text":"kept", "oops"`)))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	a := do(t, srv, req)
	require.True(t, a.OK, "%s", a.Description)
}

// Client::process_get_updates_query: limit is clamped to 1..100 (an
// unparsable one reads as 0, so 1) and timeout to 0..LONG_POLL_MAX_TIMEOUT (50).
func TestErrorGetUpdatesClamps(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := NewServer(WithoutListener())
		defer srv.Close()
		ann := srv.NewUser("Ann")
		for range 3 {
			srv.SendUserMessage(ann, "x")
		}
		require.Len(t, pollUpdates(t, srv, map[string]any{"limit": 0}), 1)
		require.Len(t, pollUpdates(t, srv, map[string]any{"limit": -5}), 1)
		require.Len(t, pollUpdates(t, srv, map[string]any{"limit": "abc"}), 1)
		require.Len(t, pollUpdates(t, srv, map[string]any{"limit": 1000}), 3)
		ups := pollUpdates(t, srv, map[string]any{})
		start := time.Now()
		require.Empty(t, pollUpdates(t, srv, map[string]any{"offset": ups[2].UpdateID + 1, "timeout": 3600}))
		require.Equal(t, 50*time.Second, time.Since(start))
	})
}

// A user who never started the bot: Telegram refuses to open the chat.
func TestErrorUserNotStarted(t *testing.T) {
	srv := setup(t)
	eve := srv.NewUnstartedUser("Eve")
	requireError(t, send(t, srv, eve.ID), 403, "Forbidden: bot can't initiate conversation with a user")
	srv.SendUserMessage(eve, "/start")
	require.True(t, send(t, srv, eve.ID).OK, "writing to the bot starts it")
}

// Client.cpp (on_reply_chat_resolved / TdOnCheckMessageCallback): a reply
// to a message that does not exist fails unless allow_sending_without_reply.
func TestErrorReplyToMissingMessage(t *testing.T) {
	srv := setup(t)
	ann := srv.NewUser("Ann")
	first := srv.SendUserMessage(ann, "question")
	var m message
	send(t, srv, ann.ID, "reply_parameters", map[string]any{"message_id": first}).decode(t, &m)
	require.NotNil(t, m.ReplyToMessage)
	require.Equal(t, first, m.ReplyToMessage.MessageID)
	require.Equal(t, "question", m.ReplyToMessage.Text)

	requireError(t, send(t, srv, ann.ID, "reply_parameters", map[string]any{"message_id": 999}), 400,
		"Bad Request: message to be replied not found")
	requireError(t, send(t, srv, ann.ID, "reply_to_message_id", 999), 400, "Bad Request: message to be replied not found")
	var m2 message
	send(t, srv, ann.ID, "reply_parameters", map[string]any{"message_id": 999, "allow_sending_without_reply": true}).decode(t, &m2)
	require.Nil(t, m2.ReplyToMessage)
	requireError(t, send(t, srv, ann.ID, "reply_parameters", "{oops"), 400, "Bad Request: can't parse reply parameters JSON object")
}

// A file_id the server never issued.
func TestErrorUnknownFileID(t *testing.T) {
	srv := setup(t)
	ann := srv.NewUser("Ann")
	requireError(t, callForm(t, srv, "sendPhoto", url.Values{"chat_id": {jsonInt(ann.ID)}, "photo": {"AgACAgIAAxkBAAnope"}}), 400,
		"Bad Request: wrong file identifier/HTTP URL specified")
	var m message
	callMultipart(t, srv, "sendDocument", map[string]string{"chat_id": jsonInt(ann.ID)}, map[string]string{"document": "hello"}).decode(t, &m)
	require.NotNil(t, m.Document)
	a := callForm(t, srv, "sendDocument", url.Values{"chat_id": {jsonInt(ann.ID)}, "document": {m.Document.FileID}})
	require.True(t, a.OK, "a file_id the server issued: %s", a.Description)
}
