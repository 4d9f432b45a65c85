package botapi

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// sampleDepth bounds how deep sample values nest (Message holds Messages).
const sampleDepth = 3

var (
	sampleChatID    = reflect.TypeOf(ChatID{})
	sampleInputFile = reflect.TypeOf(InputFile{})
)

// fill sets v (addressable) to a non-zero sample: every field, every slice
// with one element, every interface with the first member of its union in
// unionTable, down to sampleDepth.
func fill(v reflect.Value, depth int) {
	switch v.Kind() {
	case reflect.String:
		v.SetString("s-" + v.Type().Name())
	case reflect.Int, reflect.Int64:
		v.SetInt(7)
	case reflect.Float64:
		v.SetFloat(1.5)
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Pointer:
		if depth >= sampleDepth && v.Type().Elem().Kind() == reflect.Struct {
			return
		}
		p := reflect.New(v.Type().Elem())
		fill(p.Elem(), depth+1)
		v.Set(p)
	case reflect.Slice:
		if depth >= sampleDepth || v.Type() == reflect.TypeOf(json.RawMessage(nil)) {
			return
		}
		s := reflect.MakeSlice(v.Type(), 1, 1)
		fill(s.Index(0), depth+1)
		v.Set(s)
	case reflect.Interface:
		if depth >= sampleDepth {
			return
		}
		for _, c := range unionTable {
			m := reflect.ValueOf(c.newMember())
			if m.Type().Implements(v.Type()) {
				fillMember(c, m, depth+1)
				v.Set(m)
				return
			}
		}
	case reflect.Struct:
		switch v.Type() {
		case sampleChatID:
			v.Set(reflect.ValueOf(ChatID{ID: -1001234567890}))
			return
		case sampleInputFile:
			v.Set(reflect.ValueOf(InputFile{FileID: "AgACAgIAAxkBAAIB"}))
			return
		}
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i), depth)
			}
		}
	}
}

// fillMember fills a union member so that it decodes back to itself.
func fillMember(c unionCase, m reflect.Value, depth int) {
	fill(m.Elem(), depth)
	if im, ok := m.Interface().(*InaccessibleMessage); ok {
		im.Date = 0 // what tells it from a Message
	}
}

// topKeys returns the keys of the JSON object b.
func topKeys(t *testing.T, b []byte) []string {
	t.Helper()
	var m map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(b, &m), "%s", b)
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// TestParamsEncode checks every method's parameters: a zero value encodes
// exactly the required parameters (never omitted, even when zero), a filled
// value encodes only parameter names of the spec and all required ones, and
// decoding what was encoded gives the value back.
func TestParamsEncode(t *testing.T) {
	require.NotEmpty(t, methodTable)
	for _, mc := range methodTable {
		if mc.params == nil {
			require.Empty(t, mc.names, mc.method)
			continue
		}
		t.Run(mc.method, func(t *testing.T) {
			zero, err := json.Marshal(mc.params())
			require.NoError(t, err)
			want := slices.Clone(mc.required)
			sort.Strings(want)
			require.Equal(t, want, topKeys(t, zero), "zero value encodes exactly the required parameters")

			p := mc.params()
			fill(reflect.ValueOf(p).Elem(), 0)
			b, err := json.Marshal(p)
			require.NoError(t, err)
			keys := topKeys(t, b)
			require.Subset(t, mc.names, keys, "only spec parameter names")
			require.Subset(t, keys, mc.required, "every required parameter")
			require.Len(t, keys, len(mc.names), "a filled value sends every parameter")

			back := mc.params()
			require.NoError(t, json.Unmarshal(b, back))
			require.Equal(t, p, back, "decode(encode(p)) == p")
		})
	}
}

// TestUnionMembers checks every member of every union: encoding a zero member
// emits its discriminator, and a filled member encodes and decodes through
// the union's decoder back to the same type and value.
func TestUnionMembers(t *testing.T) {
	require.NotEmpty(t, unionTable)
	for _, c := range unionTable {
		t.Run(c.union+"/"+c.member, func(t *testing.T) {
			if c.field != "" {
				b, err := json.Marshal(c.newMember())
				require.NoError(t, err)
				var d map[string]any
				require.NoError(t, json.Unmarshal(b, &d))
				require.Equal(t, c.value, d[c.field], "discriminator emitted: %s", b)
			}
			m := reflect.ValueOf(c.newMember())
			fillMember(c, m, 0)
			b, err := json.Marshal(m.Interface())
			require.NoError(t, err)
			got, err := c.decode(b)
			require.NoError(t, err, "%s", b)
			require.IsType(t, m.Interface(), got, "%s", b)
			require.Equal(t, m.Interface(), got)
		})
	}
}

// TestUnionNull checks that JSON null decodes to a nil union value.
func TestUnionNull(t *testing.T) {
	for _, c := range unionTable {
		v, err := c.decode([]byte(" null "))
		require.NoError(t, err, c.union)
		require.Nil(t, v, c.union)
	}
}

// TestUnknownInBatch decodes a getUpdates batch holding an update kind, a
// ReactionType, a ChatMember status and a MessageOrigin type that this
// package does not know, and a field from the future: the batch decodes, the
// unknown members keep their JSON, and the known data around them is intact.
func TestUnknownInBatch(t *testing.T) {
	body := readFixture(t, "updates_unknown.json")
	var plain getUpdatesResponse
	require.NoError(t, json.Unmarshal(body, &plain))
	ptrs := decodeClientPath(t, body)
	require.Len(t, plain.Result, 5)
	require.Len(t, ptrs, 5)
	for i := range ptrs {
		require.Equal(t, plain.Result[i], *ptrs[i])
	}
	ups := plain.Result

	require.Equal(t, int64(900000001), ups[0].UpdateID, "unknown update kind: an update with only its id")
	require.Equal(t, Update{UpdateID: 900000001}, ups[0])

	reactions := ups[1].MessageReaction.NewReaction
	require.Len(t, reactions, 2)
	unknown, ok := reactions[0].(*UnknownReactionType)
	require.True(t, ok, "%T", reactions[0])
	require.Equal(t, "sparkles", unknown.Type)
	require.JSONEq(t, `{"type":"sparkles","sparkles_id":"s-1","count":3}`, string(unknown.Raw))
	require.Equal(t, &ReactionTypeEmoji{Emoji: "👍"}, reactions[1])

	cm := ups[2].ChatMember
	require.IsType(t, &ChatMemberLeft{}, cm.OldChatMember)
	guest, ok := cm.NewChatMember.(*UnknownChatMember)
	require.True(t, ok, "%T", cm.NewChatMember)
	require.Equal(t, "guest", guest.Status)

	msg := ups[3].Message
	require.Equal(t, "forwarded from a bot", msg.Text)
	origin, ok := msg.ForwardOrigin.(*UnknownMessageOrigin)
	require.True(t, ok, "%T", msg.ForwardOrigin)
	require.Equal(t, "bot", origin.Type)
	require.Equal(t, "still fine", ups[4].Message.Text)

	// Unknown members encode back to the JSON they came from.
	enc, err := json.Marshal(ups[1].MessageReaction)
	require.NoError(t, err)
	require.Contains(t, string(enc), `{"type":"sparkles","sparkles_id":"s-1","count":3}`)
}

// TestUnknownMemberErrors checks that a known member with a malformed field
// is an error, not an Unknown member: only kinds we do not know fall back.
func TestUnknownMemberErrors(t *testing.T) {
	_, err := decodeReactionType([]byte(`{"type":"emoji","emoji":5}`))
	require.Error(t, err)
	_, err = decodeReactionType([]byte(`{"type":"sparkles",`))
	require.Error(t, err)
	_, err = decodeReactionType([]byte(`[1,2]`))
	require.Error(t, err)
}

func TestPeekKey(t *testing.T) {
	for _, tc := range []struct {
		name, in, key, want string
		found, fail         bool
	}{
		{name: "first", in: `{"type":"a","x":1}`, key: "type", want: `"a"`, found: true},
		{name: "after nested", in: ` { "x" : {"type":"no","y":[{"type":"no"}]} , "type" : "yes" } `, key: "type", want: `"yes"`, found: true},
		{name: "escaped key", in: `{"t\u0079pe":"e"}`, key: "type", want: `"e"`, found: true},
		{name: "string with brace", in: `{"a":"}{\"","type":"q"}`, key: "type", want: `"q"`, found: true},
		{name: "number", in: `{"date":0,"x":1}`, key: "date", want: `0`, found: true},
		{name: "case-insensitive, as encoding/json", in: `{"dAte":1}`, key: "date", want: `1`, found: true},
		{name: "last occurrence wins, as encoding/json", in: `{"date":0,"x":1,"Date":2}`, key: "date", want: `2`, found: true},
		{name: "absent", in: `{"a":1}`, key: "type"},
		{name: "empty object", in: `{}`, key: "type"},
		{name: "array", in: `[{"type":"a"}]`, key: "type", fail: true},
		{name: "truncated", in: `{"a":"b`, key: "type", fail: true},
		{name: "empty", in: ``, key: "type", fail: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, found, err := peekKey([]byte(tc.in), tc.key)
			if tc.fail {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.found, found)
			require.Equal(t, tc.want, string(v))
		})
	}
}

func TestMessageOrTrue(t *testing.T) {
	var r messageOrTrue
	require.NoError(t, json.Unmarshal([]byte(`true`), &r))
	require.Nil(t, r.m)
	require.NoError(t, json.Unmarshal([]byte(`{"message_id":5,"date":1,"chat":{"id":1,"type":"private"},"text":"edited"}`), &r))
	require.Equal(t, "edited", r.m.Text)
	require.Error(t, json.Unmarshal([]byte(`false`), &r))
}

// FuzzUnionDecoders feeds arbitrary bytes to every union decoder. Whatever
// decodes must encode, and one round of encode/decode reaches a fixed point
// with the same member type. Run: go test -run '^$' -fuzz FuzzUnionDecoders ./botapi
func FuzzUnionDecoders(f *testing.F) {
	for _, c := range unionTable {
		m := reflect.ValueOf(c.newMember())
		fillMember(c, m, 1)
		b, err := json.Marshal(m.Interface())
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"type":"sparkles","x":[1,{"a":"}"}]}`))
	f.Add([]byte(`"plain rich text"`))
	f.Add([]byte(`["a",{"type":"bold","text":"b"}]`))
	f.Add([]byte(`{"date":0,"chat":{"id":1,"type":"private"},"message_id":1}`))
	decoders := map[string]func([]byte) (any, error){}
	for _, c := range unionTable {
		decoders[c.union] = c.decode
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 1<<16 {
			return
		}
		for name, decode := range decoders {
			v, err := decode(b)
			if err != nil || v == nil {
				continue
			}
			enc, err := json.Marshal(v)
			if err != nil {
				t.Fatalf("%s: decoded %T but cannot encode it: %v", name, v, err)
			}
			v2, err := decode(enc)
			if err != nil {
				t.Fatalf("%s: cannot decode own encoding %s: %v", name, enc, err)
			}
			if reflect.TypeOf(v) != reflect.TypeOf(v2) {
				t.Fatalf("%s: %T became %T through %s", name, v, v2, enc)
			}
			enc2, err := json.Marshal(v2)
			if err != nil || !bytes.Equal(enc, enc2) {
				t.Fatalf("%s: encoding is not stable: %s vs %s (%v)", name, enc, enc2, err)
			}
		}
	})
}

// FuzzPeekKey checks the discriminator scanner against encoding/json: on a
// valid JSON object it finds exactly the top-level keys, with valid values;
// on anything else it never panics. Run: go test -run '^$' -fuzz FuzzPeekKey ./botapi
func FuzzPeekKey(f *testing.F) {
	f.Add([]byte(`{"type":"a","x":{"type":"b"}}`), "type")
	f.Add([]byte(`{"t\u0079pe":"e","a":[1,"]"]}`), "type")
	f.Add([]byte(`{"date":0}`), "date")
	f.Add([]byte(`{"date":0,"DATE":1}`), "date")
	f.Fuzz(func(t *testing.T, b []byte, key string) {
		if len(b) > 1<<16 {
			return
		}
		v, found, err := peekKey(b, key)
		if found && (err != nil || len(v) == 0) {
			t.Fatalf("found with err %v, value %q", err, v)
		}
		var m map[string]json.RawMessage
		if json.Unmarshal(b, &m) != nil || m == nil {
			return
		}
		if err != nil {
			t.Fatalf("valid object %q: %v", b, err)
		}
		ok := false
		for k := range m {
			ok = ok || strings.EqualFold(k, key)
		}
		if ok != found {
			t.Fatalf("key %q: peekKey found=%v, encoding/json %v in %q", key, found, ok, b)
		}
		if found && isIdent(key) {
			// The value is the one encoding/json gives a field of that
			// name: matched case-insensitively, the last occurrence winning.
			field := reflect.StructOf([]reflect.StructField{{
				Name: "V", Type: reflect.TypeFor[json.RawMessage](), Tag: reflect.StructTag(`json:"` + key + `"`),
			}})
			dst := reflect.New(field)
			if err := json.Unmarshal(b, dst.Interface()); err == nil {
				if want := dst.Elem().Field(0).Bytes(); !bytes.Equal(v, want) {
					t.Fatalf("key %q in %q: peekKey %q, encoding/json %q", key, b, v, want)
				}
			}
		}
		for k := range m {
			v, found, err := peekKey(b, k)
			if err != nil || !found || !json.Valid(v) {
				t.Fatalf("key %q in %q: %q %v %v", k, b, v, found, err)
			}
		}
	})
}

// FuzzDecodeUpdates decodes arbitrary getUpdates bodies through the client's
// wire path and through plain []Update: both agree on success and on the
// result. Run: go test -run '^$' -fuzz FuzzDecodeUpdates ./botapi
func FuzzDecodeUpdates(f *testing.F) {
	f.Add(readFixture(f, "updates_unknown.json"))
	f.Add([]byte(`{"ok":true,"result":[{"update_id":1,"message":{"message_id":1,"date":1,"chat":{"id":1,"type":"private"},"pinned_message":{"date":0,"message_id":2,"chat":{"id":1,"type":"private"}}}}]}`))
	f.Add([]byte(`{"ok":true,"result":[]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 1<<16 {
			return
		}
		var plain getUpdatesResponse
		errPlain := json.Unmarshal(b, &plain)
		w := struct {
			OK     bool         `json:"ok"`
			Result []updateWire `json:"result"`
		}{Result: make([]updateWire, 0, 4)}
		errWire := json.Unmarshal(b, &w)
		if (errPlain == nil) != (errWire == nil) {
			t.Fatalf("plain %v, wire %v", errPlain, errWire)
		}
		if errPlain != nil {
			return
		}
		ptrs := fillUpdatePtrs(w.Result)
		if len(ptrs) != len(plain.Result) {
			t.Fatalf("%d vs %d updates", len(ptrs), len(plain.Result))
		}
		for i := range ptrs {
			if !reflect.DeepEqual(plain.Result[i], *ptrs[i]) {
				t.Fatalf("update %d differs", i)
			}
		}
	})
}

// isIdent reports whether s is a non-empty run of ASCII letters, digits and
// underscores, safe to put in a struct tag.
func isIdent(s string) bool {
	for _, c := range []byte(s) {
		if !(c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return s != ""
}
