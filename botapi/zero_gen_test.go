package botapi

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestZeroValuesOnTheWire checks that a field set to a zero value that means
// something to Telegram (false, 0, "") reaches Telegram. Each case is what
// the caller set, as JSON, decoded into the method's generated parameters (so
// the case does not depend on the Go type chosen for the field), then sent
// through the client to an httptest server; the request body must carry
// every field of want.
func TestZeroValuesOnTheWire(t *testing.T) {
	f, c := newFake(t)
	for _, tc := range []struct {
		name, method, params string
		want                 []string
	}{
		{name: "request users: regular, non-premium", method: "sendMessage",
			params: `{"chat_id":1,"text":"Pick","reply_markup":{"keyboard":[[{"text":"Pick a user","request_users":{"request_id":1,"user_is_bot":false,"user_is_premium":false}}]]}}`,
			want:   []string{`"user_is_bot":false`, `"user_is_premium":false`}},
		{name: "request chat: group, not a forum, no username", method: "sendMessage",
			params: `{"chat_id":1,"text":"Pick","reply_markup":{"keyboard":[[{"text":"Pick a group","request_chat":{"request_id":2,"chat_is_channel":false,"chat_is_forum":false,"chat_has_username":false}}]]}}`,
			want:   []string{`"chat_is_channel":false`, `"chat_is_forum":false`, `"chat_has_username":false`}},
		{name: "editForumTopic removes the icon", method: "editForumTopic",
			params: `{"chat_id":-100123,"message_thread_id":7,"icon_custom_emoji_id":""}`,
			want:   []string{`"icon_custom_emoji_id":""`}},
		{name: "copyMessage removes the caption", method: "copyMessage",
			params: `{"chat_id":1,"from_chat_id":2,"message_id":3,"caption":""}`,
			want:   []string{`"caption":""`}},
		{name: "sendPoll not anonymous, no revoting", method: "sendPoll",
			params: `{"chat_id":1,"question":"Q?","options":[{"text":"a"},{"text":"b"}],"is_anonymous":false,"allows_revoting":false}`,
			want:   []string{`"is_anonymous":false`, `"allows_revoting":false`}},
		{name: "answerInlineQuery without caching", method: "answerInlineQuery",
			params: `{"inline_query_id":"q","results":[],"cache_time":0,"next_offset":""}`,
			want:   []string{`"cache_time":0`, `"next_offset":""`}},
		{name: "setMyName removes the name", method: "setMyName",
			params: `{"name":"","language_code":"de"}`,
			want:   []string{`"name":""`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := paramsOf(t, tc.method)
			require.NoError(t, json.Unmarshal([]byte(tc.params), p))
			var res json.RawMessage
			require.NoError(t, c.Call(t.Context(), tc.method, p, &res))
			method, body := f.last()
			require.Equal(t, tc.method, method)
			for _, w := range tc.want {
				require.Contains(t, body, w)
			}
		})
	}
}

// paramsOf returns new, empty parameters of method from the generated table.
func paramsOf(t *testing.T, method string) any {
	t.Helper()
	for _, m := range methodTable {
		if m.method == method {
			return m.params()
		}
	}
	t.Fatalf("no method %s", method)
	return nil
}

// TestEveryMeaningfulZeroIsSent checks every field of the generator's
// meaningfulZero list (zeroTable): set to its zero value, it is encoded; and
// for a method's parameter, it reaches the server.
func TestEveryMeaningfulZeroIsSent(t *testing.T) {
	f, c := newFake(t)
	require.NotEmpty(t, zeroTable)
	for _, z := range zeroTable {
		t.Run(z.owner+"."+z.field, func(t *testing.T) {
			want := `"` + z.field + `":` + z.zero
			v := z.newOwner()
			require.NoError(t, json.Unmarshal([]byte("{"+want+"}"), v))
			b, err := json.Marshal(v)
			require.NoError(t, err)
			require.Contains(t, string(b), want)

			empty := z.newOwner()
			b, err = json.Marshal(empty)
			require.NoError(t, err)
			require.NotContains(t, string(b), `"`+z.field+`"`, "an unset field is left out")

			if z.owner[0] >= 'a' && z.owner[0] <= 'z' { // a method
				var res json.RawMessage
				require.NoError(t, c.Call(t.Context(), z.owner, v, &res))
				method, body := f.last()
				require.Equal(t, z.owner, method)
				require.Contains(t, body, want)
			}
		})
	}
}
