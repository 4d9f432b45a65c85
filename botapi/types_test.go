package botapi

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDecodeMessageWithUnions(t *testing.T) {
	body := `{"message_id":7,"date":1700000000,"chat":{"id":-1001234567890123,"type":"supergroup","title":"g"},
	"from":{"id":4611686018427387904,"is_bot":false,"first_name":"A"},
	"forward_origin":{"type":"hidden_user","date":1699999999,"sender_user_name":"Z"},
	"pinned_message":{"chat":{"id":5,"type":"private"},"message_id":3,"date":0},
	"text":"hi"}`
	var m Message
	require.NoError(t, json.Unmarshal([]byte(body), &m))
	require.Equal(t, int64(7), m.MessageID)
	require.Equal(t, int64(-1001234567890123), m.Chat.ID)
	require.Equal(t, int64(4611686018427387904), m.From.ID)
	require.Equal(t, "hi", m.Text)
	origin, ok := m.ForwardOrigin.(*MessageOriginHiddenUser)
	require.True(t, ok, "%T", m.ForwardOrigin)
	require.Equal(t, "Z", origin.SenderUserName)
	pinned, ok := m.PinnedMessage.(*InaccessibleMessage)
	require.True(t, ok, "%T", m.PinnedMessage)
	require.Equal(t, int64(3), pinned.MessageID)
}

func TestEncodeAddsDiscriminator(t *testing.T) {
	b, err := json.Marshal([]ReactionType{&ReactionTypeEmoji{Emoji: "👍"}, &ReactionTypePaid{}})
	require.NoError(t, err)
	require.JSONEq(t, `[{"type":"emoji","emoji":"👍"},{"type":"paid"}]`, string(b))
}
