package botapi

import (
	"encoding/json"
	"errors"
	"testing"
)

// FuzzUpdateBatch feeds arbitrary getUpdates results to the batch decoder
// of Updates. It must never panic; for a JSON array it must account for
// every element, each as an update of a known kind or as an
// *UpdateDecodeError holding that element's JSON; for anything else it
// must fail as a whole.
//
// Run it with: go test ./botapi -run '^$' -fuzz FuzzUpdateBatch -fuzztime 10s
func FuzzUpdateBatch(f *testing.F) {
	for _, s := range []string{
		`[]`,
		`[{"update_id":1,"message":{"message_id":1,"date":1,"chat":{"id":1,"type":"private"},"text":"hi"}}]`,
		`[{"update_id":2,"message":{"message_id":"x"}},{"update_id":3,"poll":{"id":"p"}}]`,
		`[{"update_id":4,"brand_new_kind":{}}]`,
		`[{"update_id":"5"}]`,
		`[1,"x",null,{}]`,
		`[{"update_id":6,"callback_query":{"id":"q","from":{"id":1,"is_bot":false,"first_name":"A"},"chat_instance":"c","message":{"message_id":1,"date":0,"chat":{"id":1,"type":"private"}}}}]`,
		`{"update_id":1}`,
		`null`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<16 {
			return
		}
		b := &updateBatch{}
		err := json.Unmarshal(data, b)
		var raws []json.RawMessage
		arrErr := json.Unmarshal(data, &raws)
		if arrErr != nil {
			if err == nil && string(data) != "null" {
				t.Fatalf("%q is no array but decoded", data)
			}
			return
		}
		if err != nil {
			t.Fatalf("an array failed as a whole: %v", err)
		}
		if len(b.items) != len(raws) {
			t.Fatalf("%d elements, %d items", len(raws), len(b.items))
		}
		for i, it := range b.items {
			switch {
			case it.err != nil && it.u != nil, it.err == nil && it.u == nil:
				t.Fatalf("item %d: update %v, error %v", i, it.u, it.err)
			case it.err != nil:
				if string(it.err.Raw) != string(raws[i]) {
					t.Fatalf("item %d: raw %q, element %q", i, it.err.Raw, raws[i])
				}
				if !errors.Is(it.err, ErrUnknownUpdate) && !errors.Is(it.err, ErrInvalidResponse) {
					t.Fatalf("item %d: %v matches neither sentinel", i, it.err)
				}
			case !knownKind(it.u):
				t.Fatalf("item %d: an update of no known kind", i)
			}
		}
	})
}
