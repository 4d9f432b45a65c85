package botapi

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// FuzzDecodeEnvelope feeds arbitrary answers to the decoder of Telegram's
// answer envelope. It must never panic, must return either nil or an error
// that is an *Error (so errors.Is works on it), must bound the description
// it keeps, must echo no control characters from a non-JSON body, and must never report success for an ok:false answer.
//
// Run it with: go test ./botapi -run '^$' -fuzz FuzzDecodeEnvelope -fuzztime 10s
func FuzzDecodeEnvelope(f *testing.F) {
	seeds := []string{
		`{"ok":true,"result":{"message_id":1,"date":0,"chat":{"id":1,"type":"private"}}}`,
		`{"ok":true,"result":true}`,
		`{"ok":true,"result":[{"update_id":1}]}`,
		`{"ok":false,"error_code":400,"description":"Bad Request: chat not found"}`,
		`{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 7","parameters":{"retry_after":7}}`,
		`{"ok":false,"error_code":400,"description":"x","parameters":{"migrate_to_chat_id":-1001234567890}}`,
		`{"ok":false}`,
		`<html><body>502 Bad Gateway</body></html>`,
		``,
		`{"ok":true,"result":"str"}`,
		`{"ok":false,"error_code":429,"parameters":{"retry_after":-5}}`,
		`{"ok":false,"error_code":"429"}`,
		`{"ok":false,"error_code":429,"parameters":{"retry_after":10000000000}}`,
	}
	for _, s := range seeds {
		f.Add(200, s)
		f.Add(502, s)
	}
	f.Fuzz(func(t *testing.T, status int, data string) {
		if len(data) > MaxResponseSize {
			return
		}
		var result map[string]any
		err := decodeEnvelope("m", status, "application/json", []byte(data), &result)
		if err == nil {
			var env struct {
				OK bool `json:"ok"`
			}
			if json.Unmarshal([]byte(data), &env) != nil || !env.OK {
				t.Fatalf("success reported for %q", data)
			}
			return
		}
		var e *Error
		if !errors.As(err, &e) {
			t.Fatalf("error %T is not an *Error: %v", err, err)
		}
		if e.Method != "m" {
			t.Fatalf("method %q", e.Method)
		}
		if len(e.Description) > 1100 {
			t.Fatalf("description not bounded: %d bytes", len(e.Description))
		}
		if e.RetryAfter < 0 || e.RetryAfter > maxRetryAfter {
			t.Fatalf("RetryAfter %v out of [0, %v]", e.RetryAfter, maxRetryAfter)
		}
		if strings.IndexFunc(e.Description, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0 {
			t.Fatalf("answer echoed with control characters: %q", e.Description)
		}
	})
}
