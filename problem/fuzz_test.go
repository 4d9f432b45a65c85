package problem

import (
	"encoding/json"
	"reflect"
	"testing"
)

// FuzzUnmarshal decodes arbitrary input (at most 64 KiB) as a problem:
// no panic, and what decodes survives a round trip unchanged. Run it
// longer with
//
//	go test -run '^$' -fuzz '^FuzzUnmarshal$' -fuzztime 1m ./problem
func FuzzUnmarshal(f *testing.F) {
	for _, s := range []string{
		`{"type":"about:blank","title":"Not Found","status":404,"detail":"x"}`,
		`{"status":"401","reason":"expired","n":[1,{"a":null}]}`,
		`{"type":1}`, `{}`, `null`, `[]`, `{"instance":"/a","status":1e3}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 64<<10 {
			return
		}
		var p Details
		if err := json.Unmarshal(b, &p); err != nil {
			return
		}
		out, err := json.Marshal(p)
		if err != nil {
			t.Fatalf("%q decoded to %#v, which does not encode: %v", b, p, err)
		}
		var q Details
		if err := json.Unmarshal(out, &q); err != nil {
			t.Fatalf("%q re-encoded as %q, which does not decode: %v", b, out, err)
		}
		if !reflect.DeepEqual(p, q) {
			t.Fatalf("%q: round trip changed %#v into %#v", b, p, q)
		}
	})
}
