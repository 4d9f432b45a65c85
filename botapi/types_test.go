package botapi

import (
	"encoding/json"
	"os"
	"path/filepath"
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

// getUpdatesResponse is the envelope of a getUpdates answer.
type getUpdatesResponse struct {
	OK     bool     `json:"ok"`
	Result []Update `json:"result"`
}

func readFixture(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(tb, err)
	return b
}

// BenchmarkDecodeUpdates decodes a getUpdates answer of 100 mixed updates
// (testdata/updates100.json, about 60 KB).
//
// "client" is the work GetUpdates does on the body: one json.Unmarshal of
// the envelope into the pre-sized wire slice GetUpdates passes to the
// client, then completing it in place. "slice" decodes into a plain []Update, as code holding a
// body of its own would (each Update runs its UnmarshalJSON).
func BenchmarkDecodeUpdates(b *testing.B) {
	body := readFixture(b, "updates100.json")
	b.Run("client", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			r := struct {
				OK     bool         `json:"ok"`
				Result []updateWire `json:"result"`
			}{Result: make([]updateWire, 0, 100)}
			if err := json.Unmarshal(body, &r); err != nil {
				b.Fatal(err)
			}
			if ups := fillUpdatePtrs(r.Result); len(ups) != 100 {
				b.Fatalf("decoded %d updates", len(ups))
			}
		}
	})
	b.Run("slice", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			var r getUpdatesResponse
			if err := json.Unmarshal(body, &r); err != nil {
				b.Fatal(err)
			}
			if len(r.Result) != 100 {
				b.Fatalf("decoded %d updates", len(r.Result))
			}
		}
	})
}

// decodeClientPath decodes a getUpdates body the way GetUpdates does.
func decodeClientPath(t testing.TB, body []byte) []*Update {
	t.Helper()
	r := struct {
		OK     bool         `json:"ok"`
		Result []updateWire `json:"result"`
	}{Result: make([]updateWire, 0, 100)}
	require.NoError(t, json.Unmarshal(body, &r))
	require.True(t, r.OK)
	return fillUpdatePtrs(r.Result)
}

// TestDecodeUpdatesFixture decodes the 100-update fixture both ways (the
// client's wire path and plain json.Unmarshal into []Update), checks they
// agree, and that encoding and decoding again gives the same updates.
func TestDecodeUpdatesFixture(t *testing.T) {
	body := readFixture(t, "updates100.json")
	ptrs := decodeClientPath(t, body)
	require.Len(t, ptrs, 100)

	var plain getUpdatesResponse
	require.NoError(t, json.Unmarshal(body, &plain))
	require.Len(t, plain.Result, 100)
	for i := range plain.Result {
		require.Equal(t, plain.Result[i], *ptrs[i], "update %d", i)
	}

	enc, err := json.Marshal(plain.Result)
	require.NoError(t, err)
	var again []Update
	require.NoError(t, json.Unmarshal(enc, &again))
	require.Equal(t, plain.Result, again)
}

// TestBotAPI102Additions decodes the Bot API 10.2 fields added from the
// changelog (see internal/botapigen/SPEC.md).
func TestBotAPI102Additions(t *testing.T) {
	var u Update
	require.NoError(t, json.Unmarshal([]byte(`{"update_id":3,"subscription":{"user":{"id":7,"is_bot":false,"first_name":"A"},
		"invoice_payload":"sub:1","state":"canceled"}}`), &u))
	require.Equal(t, &BotSubscriptionUpdated{User: User{ID: 7, FirstName: "A"}, InvoicePayload: "sub:1", State: "canceled"}, u.Subscription)

	var m Message
	require.NoError(t, json.Unmarshal([]byte(`{"message_id":1,"date":2,"chat":{"id":-100,"type":"supergroup"},
		"receiver_user":{"id":7,"is_bot":false,"first_name":"A"},"ephemeral_message_id":9,
		"community_chat_added":{"community":{"id":4503599627370497,"name":"Makers"}}}`), &m))
	require.Equal(t, int64(7), m.ReceiverUser.ID)
	require.Equal(t, int64(9), m.EphemeralMessageID)
	require.Equal(t, Community{ID: 4503599627370497, Name: "Makers"}, m.CommunityChatAdded.Community)
}
