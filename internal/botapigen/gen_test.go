package botapigen

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestGeneratedUpToDate fails when botapi's generated files differ from what
// the committed spec, additions and overrides produce. Fix: go generate ./botapi.
func TestGeneratedUpToDate(t *testing.T) {
	s, err := Load()
	require.NoError(t, err)
	files, err := Generate(s)
	require.NoError(t, err)
	require.Len(t, files, 4)
	dir := t.TempDir()
	for name, src := range files {
		// Write and re-read, as go generate would, so the comparison is of bytes on disk.
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, src, 0o644))
		got, err := os.ReadFile(p)
		require.NoError(t, err)
		want, err := os.ReadFile(filepath.Join("..", "..", "botapi", name))
		require.NoError(t, err)
		if !bytes.Equal(got, want) {
			t.Errorf("botapi/%s is out of date with internal/botapigen: run go generate ./botapi", name)
		}
	}
}

// TestSpecCanonical checks that the committed spec.json is in the format
// Trim writes, so a refresh from a newer api.json diffs cleanly.
func TestSpecCanonical(t *testing.T) {
	s, err := Parse(specJSON, nil)
	require.NoError(t, err)
	require.Equal(t, string(specJSON), string(Format(s)))
}

func TestGenerateDeterministic(t *testing.T) {
	s, err := Load()
	require.NoError(t, err)
	a, err := Generate(s)
	require.NoError(t, err)
	b, err := Generate(s)
	require.NoError(t, err)
	require.Equal(t, a, b)
}

func TestTrim(t *testing.T) {
	full := []byte(`{"version":"Bot API 9.9","release_date":"X","changelog":"https://core.telegram.org/bots/api#x",
	"methods":{"getMe":{"name":"getMe","href":"https://core.telegram.org/bots/api#getme","description":["prose"],"returns":["User"]}},
	"types":{"U":{"name":"U","href":"https://core.telegram.org/bots/api#u","subtypes":["UA"]},
	"UA":{"name":"UA","href":"https://core.telegram.org/bots/api#ua","subtype_of":["U"],"fields":[
	{"name":"type","types":["String"],"required":true,"description":"Type of the thing, always \"a_b\""},
	{"name":"user_id","types":["Integer"],"required":false,"description":"Optional. Field\n  text"}]}},
	"extra":[1,2]}`)
	out, err := Trim(full)
	require.NoError(t, err)
	s, err := Parse(out, nil)
	require.NoError(t, err)
	require.Equal(t, "Bot API 9.9", s.Version)
	require.Equal(t, []Method{{Name: "getMe", Returns: []string{"User"}, Description: []string{"prose"}}}, s.Methods)
	require.Equal(t, []Type{
		{Name: "U", Subtypes: []string{"UA"}},
		{Name: "UA", SubtypeOf: []string{"U"}, Fields: []Field{
			{Name: "type", Types: []string{"String"}, Required: true, Const: "a_b", Description: `Type of the thing, always "a_b"`},
			{Name: "user_id", Types: []string{"Integer"}, Description: "Field text"},
		}},
	}, s.Types)

	_, err = Trim([]byte(`{"methods":{"getMe":{"name":"getMe","href":"https://example.com/#getme"}}}`))
	require.Error(t, err, "a wrong href means the source format changed")
}

func TestGoName(t *testing.T) {
	for in, want := range map[string]string{
		"message_id":                    "MessageID",
		"thumbnail_url":                 "ThumbnailURL",
		"option_ids":                    "OptionIDs",
		"ip_address":                    "IPAddress",
		"sendMessage":                   "SendMessage",
		"getWebhookInfo":                "GetWebhookInfo",
		"TransactionPartnerTelegramApi": "TransactionPartnerTelegramAPI",
		"LoginUrl":                      "LoginURL",
		"MessageId":                     "MessageID",
		"InlineQueryResultMpeg4Gif":     "InlineQueryResultMpeg4Gif",
		"web_app":                       "WebApp",
	} {
		require.Equal(t, want, GoName(in), in)
	}
}

// TestMeaningfulZeroScan checks that the reviewed list of fields whose zero
// value means something (overrides.go) is exactly what the scan of the
// spec's descriptions finds, so a spec refresh cannot add or drop one
// unnoticed.
func TestMeaningfulZeroScan(t *testing.T) {
	s, err := Load()
	require.NoError(t, err)
	found := ScanMeaningfulZero(s)
	for k := range zeroSameAsOmitted {
		require.Contains(t, found, k, "zeroSameAsOmitted entry the scan no longer finds")
		delete(found, k)
	}
	require.ElementsMatch(t, sortedKeys(meaningfulZero), sortedKeys(found),
		"update meaningfulZero in overrides.go to what the scan finds (with its reason)")
}

func TestScanMeaningfulZeroRules(t *testing.T) {
	s := &Spec{Methods: []Method{{Name: "m", Params: []Field{
		{Name: "a", Types: []string{"Boolean"}, Description: "Pass True to x, pass False to y."},
		{Name: "b", Types: []string{"Boolean"}, Description: "Pass True to x. Defaults to false."},
		{Name: "c", Types: []string{"Integer"}, Description: "Limit; 1-100. Defaults to 100."},
		{Name: "d", Types: []string{"Integer"}, Description: "Cache time. Defaults to 300."},
		{Name: "e", Types: []string{"Integer"}, Description: "Timeout. Defaults to 0."},
		{Name: "f", Types: []string{"String"}, Description: "Caption, 0-1024 characters. If not specified, the original caption is kept."},
		{Name: "g", Types: []string{"String"}, Description: "Name, 0-128 characters. If not specified or empty, the current name will be kept."},
		{Name: "h", Types: []string{"String"}, Description: "Icon. Pass an empty string to remove the icon."},
		{Name: "i", Types: []string{"Boolean"}, Required: true, Description: "Pass False to z."},
		{Name: "j", Types: []string{"Boolean"}, Description: "If omitted, defaults to the value of can_pin_messages."},
	}}}}
	require.Equal(t, []string{"m.a", "m.d", "m.f", "m.h", "m.j"}, sortedKeys(ScanMeaningfulZero(s)))
}
