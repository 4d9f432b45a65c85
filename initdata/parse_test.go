package initdata

import (
	"crypto/ed25519"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParseAllFields(t *testing.T) {
	raw := "query_id=AAF&user=%7B%22id%22%3A1%2C%22is_bot%22%3Afalse%2C%22first_name%22%3A%22A%22%2C%22last_name%22%3A%22B%22%2C%22username%22%3A%22ab%22%2C%22language_code%22%3A%22en%22%2C%22is_premium%22%3Atrue%2C%22added_to_attachment_menu%22%3Atrue%2C%22allows_write_to_pm%22%3Atrue%2C%22photo_url%22%3A%22https%3A%5C%2F%5C%2Fx%22%2C%22future_field%22%3A%7B%22a%22%3A%5B1%2C2.5e3%2Cnull%2C%22s%22%5D%7D%7D" +
		"&receiver=%7B%22id%22%3A2%2C%22first_name%22%3A%22R%22%2C%22is_bot%22%3Atrue%7D" +
		"&chat=%7B%22id%22%3A-1001%2C%22type%22%3A%22group%22%2C%22title%22%3A%22G%22%2C%22username%22%3A%22g%22%2C%22photo_url%22%3A%22p%22%7D" +
		"&chat_type=group&chat_instance=-9019086117643313246&start_param=ref_42&can_send_after=10&auth_date=1736362318" +
		"&signature=sig&hash=abc&new_field=%F0%9F%99%82"
	d, err := Parse(raw)
	require.NoError(t, err)
	require.Equal(t, InitData{
		QueryID: "AAF",
		User: &User{ID: 1, FirstName: "A", LastName: "B", Username: "ab", LanguageCode: "en", IsPremium: true,
			AddedToAttachmentMenu: true, AllowsWriteToPM: true, PhotoURL: "https://x"},
		Receiver:     &User{ID: 2, FirstName: "R", IsBot: true},
		Chat:         &Chat{ID: -1001, Type: "group", Title: "G", Username: "g", PhotoURL: "p"},
		ChatType:     "group",
		ChatInstance: "-9019086117643313246",
		StartParam:   "ref_42",
		CanSendAfter: 10 * time.Second,
		AuthDate:     time.Unix(1736362318, 0),
		Hash:         "abc",
		Signature:    "sig",
		Extra:        map[string]string{"new_field": "🙂"},
	}, d)
}

func TestParseJSON(t *testing.T) {
	tests := []struct {
		name string
		json string
		want *User // nil: malformed
	}{
		{"minimal", `{"id":1}`, &User{ID: 1}},
		{"whitespace", " {\n\t\"id\" : 1 , \"first_name\" : \"a\" }\r\n", &User{ID: 1, FirstName: "a"}},
		{"empty object", `{}`, &User{}},
		{"string id and booleans", `{"id":"123456789","is_premium":"true","is_bot":"false"}`, &User{ID: 123456789, IsPremium: true}},
		{"nulls", `{"id":null,"first_name":null,"is_premium":null}`, &User{}},
		{"escapes", `{"first_name":"a\"b\\c\/d\b\f\n\r\t\u0041"}`, &User{FirstName: "a\"b\\c/d\b\f\n\r\tA"}},
		{"surrogate pair", `{"first_name":"\ud83c\uddfa\ud83c\udde6"}`, &User{FirstName: "🇺🇦"}},
		{"lone surrogate", `{"first_name":"\ud83c!"}`, &User{FirstName: "\uFFFD!"}},
		{"escaped key", `{"\u0069d":5}`, &User{ID: 5}},
		{"max int64", `{"id":9223372036854775807}`, &User{ID: 9223372036854775807}},
		{"min int64", `{"id":-9223372036854775808}`, &User{ID: -9223372036854775808}},
		{"unknown nested", `{"x":{"y":[1,{"z":[]},"s",true,false,null,-1.5e-3]},"id":2}`, &User{ID: 2}},
		{"utf-8", `{"first_name":"Привет"}`, &User{FirstName: "Привет"}},
		{"not an object", `[]`, nil},
		{"truncated", `{`, nil},
		{"trailing data", `{"id":1}x`, nil},
		{"two objects", `{}{}`, nil},
		{"float id", `{"id":1.0}`, nil},
		{"exponent id", `{"id":1e3}`, nil},
		{"id overflow", `{"id":9223372036854775808}`, nil},
		{"leading zero", `{"id":01}`, nil},
		{"string id not a number", `{"id":"x"}`, nil},
		{"bool not a bool", `{"is_bot":1}`, nil},
		{"string bool not a bool", `{"is_bot":"yes"}`, nil},
		{"name not a string", `{"first_name":1}`, nil},
		{"bad escape", `{"first_name":"\x"}`, nil},
		{"short unicode escape", `{"first_name":"\u12"}`, nil},
		{"control character", "{\"first_name\":\"a\tb\"}", nil},
		{"missing colon", `{"id" 1}`, nil},
		{"missing comma", `{"id":1 "is_bot":true}`, nil},
		{"trailing comma", `{"id":1,}`, nil},
		{"bad literal", `{"x":tru}`, nil},
		{"bad number", `{"x":-}`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, ok := parseUser([]byte(tt.json))
			if tt.want == nil {
				require.False(t, ok, "accepted %q as %+v", tt.json, u)
				return
			}
			require.True(t, ok)
			require.Equal(t, *tt.want, *u)
		})
	}
}

func TestParseErrors(t *testing.T) {
	for _, in := range []string{"", "{}", "a", "a=1&a=2", "auth_date=x", "auth_date=-1", "user=%7B", "a=%", "a=1;", "can_send_after=x", "hash=%zz", "hash=a%0Ab", `hash="`} {
		_, err := Parse(in)
		require.Error(t, err, in)
	}
}

// TestHashDecoded: the hash field is outside the data-check-string, but the
// result holds it decoded like every other field, in Parse and in
// ValidateThirdParty (which does not check it).
func TestHashDecoded(t *testing.T) {
	d, err := Parse("auth_date=1&hash=a%2Bb+c")
	require.NoError(t, err)
	require.Equal(t, "a+b c", d.Hash)

	pub, priv, err := ed25519.GenerateKey(strings.NewReader(strings.Repeat("k", 64)))
	require.NoError(t, err)
	signed := SignThirdParty(testValues(), 42, priv, testAuthDate) + "&hash=x%2By+z"
	d, err = ValidateThirdParty(signed, 42, WithPublicKey(pub), WithClock(at(testAuthDate)))
	require.NoError(t, err)
	require.Equal(t, "x+y z", d.Hash)
}
