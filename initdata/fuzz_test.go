package initdata

import (
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"
)

// The fuzz targets run for 10 s each in CI; run one longer by hand with
//
//	go test -run '^$' -fuzz '^FuzzValidate$' -fuzztime 1m ./initdata

// fuzzSeeds adds every vector and a few hand-made inputs to the corpus.
func fuzzSeeds(f *testing.F) {
	for _, v := range loadVectors(f) {
		f.Add(v.InitData)
	}
	f.Add(Sign(testValues(), testToken, testAuthDate))
	f.Add("a=%zz&hash=00")
	f.Add("user=%7B%22id%22%3A%221%22%7D&auth_date=1&hash=" + strings.Repeat("0", 64))
}

var allKinds = []error{ErrMalformed, ErrHashMissing, ErrHashInvalid, ErrSignatureMissing, ErrSignatureInvalid, ErrAuthDateMissing, ErrAuthDateInvalid, ErrExpired}

// kinds counts the sentinels err wraps: every error must wrap exactly one.
func kinds(err error) int {
	n := 0
	for _, k := range allKinds {
		if errors.Is(err, k) {
			n++
		}
	}
	return n
}

// FuzzValidate feeds arbitrary input (at most 2*MaxLength bytes) to every
// entry point: none may panic, every error wraps exactly one sentinel and
// never quotes the input, Verify agrees with Validate, and whatever
// validates parses to the same result.
func FuzzValidate(f *testing.F) {
	fuzzSeeds(f)
	v := NewValidator(testToken, WithClock(at(testAuthDate)))
	f.Fuzz(func(t *testing.T, in string) {
		if len(in) > 2*MaxLength {
			return
		}
		d, err := v.Validate(in)
		verr := v.Verify(in)
		pd, perr := Parse(in)
		_, terr := ValidateThirdParty(in, 42, WithClock(at(testAuthDate)))
		for _, e := range []error{err, verr, perr, terr} {
			if e == nil {
				continue
			}
			if kinds(e) != 1 {
				t.Fatalf("%v wraps %d sentinels", e, kinds(e))
			}
			if len(in) >= 8 && strings.Contains(e.Error(), in) {
				t.Fatalf("error quotes the input: %v", e)
			}
		}
		if err == nil {
			if verr != nil || perr != nil {
				t.Fatalf("Validate accepts what Verify (%v) or Parse (%v) rejects", verr, perr)
			}
			if d.QueryID != pd.QueryID || d.AuthDate != pd.AuthDate || (d.User == nil) != (pd.User == nil) {
				t.Fatalf("Validate and Parse disagree: %+v, %+v", d, pd)
			}
		}
		if verr != nil && !errors.Is(err, verr) && kinds(err) == 1 && err.Error() != verr.Error() {
			t.Fatalf("Verify says %v, Validate %v", verr, err)
		}
	})
}

// FuzzSignValidate signs an arbitrary field with Sign and SignThirdParty
// and checks that it validates and comes back unchanged.
func FuzzSignValidate(f *testing.F) {
	f.Add("start_param", "ref 42")
	f.Add("x", "a+b&c=d%e\u00e9🙂")
	f.Add("x_empty", "")
	f.Add("chat_instance", "-9019086117643313246")
	pub, priv := testKeys(f)
	f.Fuzz(func(t *testing.T, key, value string) {
		// Keys are plain, as Telegram's are; values are anything without a
		// line feed (see decode) that keeps the data under MaxLength.
		if key == "" || strings.Contains(value, "\n") || len(key)+3*len(value) > MaxLength-200 {
			return
		}
		for i := 0; i < len(key); i++ {
			if byteClasses[key[i]] != clsPlain || key[i] == '&' {
				return
			}
		}
		switch key {
		case keyUser, keyReceiver, keyChat, keyAuthDate, keyCanSendAfter, keyHash, keySignature:
			return // typed fields: their content is checked, see FuzzValidate
		}
		values := url.Values{key: {value}}
		raw := Sign(values, testToken, testAuthDate)
		d, err := Validate(raw, testToken, WithClock(at(testAuthDate)))
		if err != nil {
			t.Fatalf("Sign made %q, Validate says %v", raw, err)
		}
		if got := fieldOf(d, key); got != value {
			t.Fatalf("%s: got %q, want %q", key, got, value)
		}
		raw = SignThirdParty(values, 42, priv, testAuthDate)
		if _, err := ValidateThirdParty(raw, 42, WithPublicKey(pub), WithClock(at(testAuthDate.Add(time.Second)))); err != nil {
			t.Fatalf("SignThirdParty made %q, ValidateThirdParty says %v", raw, err)
		}
	})
}

func fieldOf(d InitData, key string) string {
	switch key {
	case keyQueryID:
		return d.QueryID
	case keyChatType:
		return d.ChatType
	case keyChatInstance:
		return d.ChatInstance
	case keyStartParam:
		return d.StartParam
	}
	return d.Extra[key]
}

// FuzzDecode checks decode against the slow reference decodeRef (the
// rules one at a time, and net/url); run it longer with
//
//	go test -run '^$' -fuzz '^FuzzDecode$' -fuzztime 1m ./initdata
func FuzzDecode(f *testing.F) {
	for _, v := range loadVectors(f) {
		for _, kv := range strings.Split(v.InitData, "&") {
			_, val, _ := strings.Cut(kv, "=")
			f.Add(val)
		}
	}
	f.Add(strings.Repeat("x", 30) + "%41%0A" + strings.Repeat("%7B", 12))
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > 2*MaxLength {
			return
		}
		checkDecode(t, s)
	})
}

// parseUserRef and parseChatRef are the references parseUser and parseChat
// are checked against: every object decoded once, into the wire types that
// accept ids and booleans in both forms.
func parseUserRef(js []byte) (*User, bool) {
	var w userWire
	if json.Unmarshal(js, &w) != nil {
		return nil, false
	}
	return &User{ID: int64(w.ID), IsBot: bool(w.IsBot), FirstName: w.FirstName, LastName: w.LastName,
		Username: w.Username, LanguageCode: w.LanguageCode, IsPremium: bool(w.IsPremium),
		AddedToAttachmentMenu: bool(w.AddedToAttachmentMenu), AllowsWriteToPM: bool(w.AllowsWriteToPM),
		PhotoURL: w.PhotoURL}, true
}

func parseChatRef(js []byte) (*Chat, bool) {
	var w chatWire
	if json.Unmarshal(js, &w) != nil {
		return nil, false
	}
	return &Chat{ID: int64(w.ID), Type: w.Type, Title: w.Title, Username: w.Username, PhotoURL: w.PhotoURL}, true
}

// FuzzParseJSON checks parseUser and parseChat, which try the plain types
// first, against the references that always take the wire types: the same
// objects accepted, with the same content. Run it longer with
//
//	go test -run '^$' -fuzz '^FuzzParseJSON$' -fuzztime 1m ./initdata
func FuzzParseJSON(f *testing.F) {
	for _, v := range loadVectors(f) {
		q, err := url.ParseQuery(v.InitData)
		if err != nil {
			continue
		}
		for _, k := range []string{keyUser, keyReceiver, keyChat} {
			if js := q.Get(k); js != "" {
				f.Add(js)
			}
		}
	}
	for _, js := range []string{`{"id":"12","is_bot":"true","type":7}`, `{"id":1.5}`, `{"id":"-0","is_premium":null}`,
		`{"id":-1001,"type":"group","title":"G"}`, `{"is_bot":"yes"}`, `{"id":"9223372036854775808"}`} {
		f.Add(js)
	}
	f.Fuzz(func(t *testing.T, js string) {
		if len(js) > MaxLength {
			return
		}
		u, ok := parseUser([]byte(js))
		wu, wok := parseUserRef([]byte(js))
		if ok != wok || ok && *u != *wu {
			t.Fatalf("parseUser(%q) = %+v, %v; reference %+v, %v", js, u, ok, wu, wok)
		}
		c, ok := parseChat([]byte(js))
		wc, wok := parseChatRef([]byte(js))
		if ok != wok || ok && *c != *wc {
			t.Fatalf("parseChat(%q) = %+v, %v; reference %+v, %v", js, c, ok, wc, wok)
		}
	})
}
