package botapi

import (
	"encoding/json"
	"testing"
)

// FuzzChatIDJSON decodes arbitrary JSON into a ChatID (fakes of the Bot API
// decode chat_id parameters from requests). Whatever decodes must encode
// back to JSON that decodes to the same chat, with the same limiter key.
//
// Run it with: go test ./botapi -run '^$' -fuzz FuzzChatIDJSON -fuzztime 10s
func FuzzChatIDJSON(f *testing.F) {
	for _, s := range []string{`42`, `-1001234567890`, `"@channel"`, `"channel"`, `"-100123"`, `""`, `null`,
		`1.5`, `"\u0040x"`, `9223372036854775807`, `true`, `{}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 4096 {
			return
		}
		var id ChatID
		if err := json.Unmarshal(data, &id); err != nil {
			return
		}
		b, err := json.Marshal(id)
		if err != nil {
			t.Fatalf("%+v does not encode: %v", id, err)
		}
		var back ChatID
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("%s (from %q) does not decode: %v", b, data, err)
		}
		if back.Key() != id.Key() || back.String() != id.String() {
			t.Fatalf("round trip changed %+v into %+v", id, back)
		}
		if id.Username != "" && id.Key() >= -(1<<62) {
			t.Fatalf("username key %d collides with numeric ids", id.Key())
		}
	})
}
