package initdata

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const testToken = "123456:TEST-token_for-unit-tests"

var testAuthDate = time.Unix(1_700_000_000, 0)

// at returns a clock fixed at t.
func at(t time.Time) func() time.Time { return func() time.Time { return t } }

func testValues() url.Values {
	return url.Values{
		"query_id":  {"AAHdF6IQAAAAAN0XohDhrOrc"},
		"user":      {`{"id":279058397,"first_name":"Vladislav + - ? \/","last_name":"Kibenko","username":"vdkfrost","language_code":"ru","is_premium":true,"allows_write_to_pm":true,"photo_url":"https:\/\/t.me\/i\/userpic\/320\/x.svg"}`},
		"signature": {"zL-ucjNyREiHDE8aihFwpfR9aggP2xiAo3NSpfe-p7IbCisNlDKlo7Kb6G4D0Ao2mBrSgEk4maLSdv6MLIlADQ"},
	}
}

// signRaw signs raw init data (already encoded pairs joined by "&") the way
// Telegram does, appending the hash, so tests can sign what Sign would not
// produce (no auth_date, a bad auth_date, a bad user object).
func signRaw(t testing.TB, raw string) string {
	t.Helper()
	var p []field
	for _, kv := range strings.Split(raw, "&") {
		k, v, ok := strings.Cut(kv, "=")
		require.True(t, ok)
		dv, err := url.QueryUnescape(v)
		require.NoError(t, err)
		p = append(p, field{key: k, val: dv})
	}
	slices.SortFunc(p, func(a, b field) int { return strings.Compare(a.key, b.key) })
	secret := secretKey(testToken)
	m := hmac.New(sha256.New, secret[:])
	m.Write(appendPlainCheckString(nil, p, false))
	return raw + "&hash=" + hex.EncodeToString(m.Sum(nil))
}

func TestValidateValid(t *testing.T) {
	signed := Sign(testValues(), testToken, testAuthDate)
	d, err := Validate(signed, testToken, WithClock(at(testAuthDate.Add(time.Hour))))
	require.NoError(t, err)
	require.Equal(t, "AAHdF6IQAAAAAN0XohDhrOrc", d.QueryID)
	require.Equal(t, testAuthDate, d.AuthDate)
	require.NotNil(t, d.User)
	require.Equal(t, User{
		ID: 279058397, FirstName: "Vladislav + - ? /", LastName: "Kibenko", Username: "vdkfrost",
		LanguageCode: "ru", IsPremium: true, AllowsWriteToPM: true, PhotoURL: "https://t.me/i/userpic/320/x.svg",
	}, *d.User)
	require.Len(t, d.Hash, 64)
	require.Equal(t, testValues().Get("signature"), d.Signature)
	require.Nil(t, d.Extra)
	require.Nil(t, d.Receiver)
	require.Nil(t, d.Chat)
}

func TestValidateErrors(t *testing.T) {
	now := testAuthDate.Add(time.Hour)
	good := Sign(testValues(), testToken, testAuthDate)
	hashAt := strings.Index(good, "hash=") + len("hash=")
	flipped := []byte(good)
	if flipped[hashAt] == '0' {
		flipped[hashAt] = '1'
	} else {
		flipped[hashAt] = '0'
	}
	decoded, err := url.QueryUnescape(good)
	require.NoError(t, err)
	tests := []struct {
		name     string
		initData string
		token    string
		opts     []Option
		want     error
		contains string // in the message
	}{
		{name: "too long", initData: good + "&x=" + strings.Repeat("a", MaxLength), want: ErrMalformed, contains: "8 KiB"},
		{name: "empty", initData: "", want: ErrMalformed, contains: "empty"},
		{name: "JSON", initData: `{"query_id":"x","hash":"y"}`, want: ErrMalformed, contains: "JSON"},
		{name: "already decoded", initData: decoded, want: ErrMalformed, contains: "URL-decoded"},
		{name: "decoded and split by a raw &", initData: "user={\"a\":\"b&c\"}&hash=00", want: ErrMalformed, contains: "URL-decoded"},
		{name: "duplicate key appended", initData: good + "&query_id=other", want: ErrMalformed, contains: "duplicate"},
		{name: "duplicate key prepended", initData: "query_id=other&" + good, want: ErrMalformed, contains: "duplicate"},
		{name: "no hash", initData: "auth_date=1&query_id=x", want: ErrHashMissing},
		{name: "empty hash", initData: "auth_date=1&hash=", want: ErrHashMissing},
		{name: "hash not hex", initData: "auth_date=1&hash=" + strings.Repeat("zz", 32), want: ErrMalformed, contains: "hex"},
		{name: "hash too short", initData: good[:len(good)-2], want: ErrMalformed, contains: "hex"},
		{name: "hash too long", initData: good + "00", want: ErrMalformed, contains: "hex"},
		{name: "hash percent-encoded", initData: "auth_date=1&hash=%41%41", want: ErrMalformed},
		{name: "hash flipped", initData: string(flipped), want: ErrHashInvalid},
		{name: "wrong token", initData: good, token: "123456:other", want: ErrHashInvalid},
		{name: "tampered value", initData: strings.Replace(good, "AAHdF6IQ", "AAHdF6IR", 1), want: ErrHashInvalid},
		{name: "field appended", initData: good + "&x=1", want: ErrHashInvalid},
		{name: "empty token", initData: good, token: "-", want: ErrHashInvalid, contains: "empty bot token"},
		{name: "no auth_date", initData: signRaw(t, "query_id=x"), want: ErrAuthDateMissing},
		{name: "auth_date not a number", initData: signRaw(t, "auth_date=abc"), want: ErrAuthDateInvalid},
		{name: "auth_date negative", initData: signRaw(t, "auth_date=-5"), want: ErrAuthDateInvalid},
		{name: "auth_date zero", initData: signRaw(t, "auth_date=0"), want: ErrAuthDateInvalid},
		{name: "auth_date fraction", initData: signRaw(t, "auth_date=1.5"), want: ErrAuthDateInvalid},
		{name: "auth_date overflow", initData: signRaw(t, "auth_date=99999999999999999999"), want: ErrAuthDateInvalid},
		{name: "auth_date in the future", initData: Sign(testValues(), testToken, now.Add(MaxClockSkew+time.Second)), want: ErrAuthDateInvalid, contains: "future"},
		{name: "expired", initData: Sign(testValues(), testToken, now.Add(-DefaultMaxAge-time.Second)), want: ErrExpired},
		{name: "expired with max age", initData: good, opts: []Option{WithMaxAge(time.Hour - time.Second)}, want: ErrExpired},
		{name: "negative max age", initData: good, opts: []Option{WithMaxAge(-1)}, want: ErrExpired, contains: "negative"},
		{name: "bad escape", initData: "a=%zz&hash=00", want: ErrMalformed, contains: "escape"},
		{name: "truncated escape", initData: "hash=00&a=%4", want: ErrMalformed, contains: "escape"},
		{name: "line feed in a value", initData: signRaw(t, "auth_date=1&start_param=a%0Ab"), want: ErrMalformed, contains: "line feed"},
		{name: "semicolon", initData: "a=1;b=2&hash=00", want: ErrMalformed, contains: ";"},
		{name: "pair without =", initData: "a&hash=00", want: ErrMalformed, contains: `"="`},
		{name: "empty key", initData: "=1&hash=00", want: ErrMalformed, contains: "empty key"},
		{name: "percent-encoded key", initData: "h%61sh=00", want: ErrMalformed, contains: "key"},
		{name: "doubled &", initData: "a=1&&hash=00", want: ErrMalformed, contains: "empty pair"},
		{name: "trailing &", initData: good + "&", want: ErrMalformed, contains: "empty pair"},
		{name: "unescaped = in a value", initData: "a=1=2&hash=00", want: ErrMalformed, contains: `"="`},
		{name: "control byte", initData: "a=1\x01&hash=00", want: ErrMalformed},
		{name: "too many fields", initData: strings.Repeat("a=1&", maxPairs) + "hash=00", want: ErrMalformed},
		{name: "user not JSON", initData: signRaw(t, "auth_date=1700000000&user=%7B"), want: ErrMalformed, contains: "user"},
		{name: "user an array", initData: signRaw(t, "auth_date=1700000000&user=%5B%5D"), want: ErrMalformed, contains: "user"},
		{name: "user id a float", initData: signRaw(t, "auth_date=1700000000&user=%7B%22id%22%3A1.5%7D"), want: ErrMalformed, contains: "user"},
		{name: "receiver not JSON", initData: signRaw(t, "auth_date=1700000000&receiver=x"), want: ErrMalformed, contains: "receiver"},
		{name: "chat not JSON", initData: signRaw(t, "auth_date=1700000000&chat=%7B%22id%22%3A%7D"), want: ErrMalformed, contains: "chat"},
		{name: "can_send_after negative", initData: signRaw(t, "auth_date=1700000000&can_send_after=-1"), want: ErrMalformed, contains: "can_send_after"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			token := testToken
			switch tt.token {
			case "":
			case "-":
				token = ""
			default:
				token = tt.token
			}
			opts := append([]Option{WithClock(at(now))}, tt.opts...)
			_, err := Validate(tt.initData, token, opts...)
			require.ErrorIs(t, err, tt.want)
			for _, other := range []error{ErrMalformed, ErrHashMissing, ErrHashInvalid, ErrSignatureMissing, ErrSignatureInvalid, ErrAuthDateMissing, ErrAuthDateInvalid, ErrExpired} {
				if other != tt.want {
					require.NotErrorIs(t, err, other)
				}
			}
			require.Contains(t, err.Error(), tt.contains)
			require.True(t, strings.HasPrefix(err.Error(), "initdata: "), err.Error())
			require.NotContains(t, err.Error(), testToken)
			if len(tt.initData) > 20 {
				require.NotContains(t, err.Error(), tt.initData)
			}
			// Verify gives the same answer, unless only the typed parse fails.
			if !strings.Contains(tt.name, "JSON") && !strings.Contains(tt.name, "can_send_after") && !strings.Contains(tt.name, "user") {
				require.ErrorIs(t, NewValidator(token, opts...).Verify(tt.initData), tt.want)
			}
		})
	}
}

func TestExpiryBoundaries(t *testing.T) {
	signed := Sign(testValues(), testToken, testAuthDate)
	tests := []struct {
		name   string
		now    time.Time
		maxAge time.Duration
		want   error
	}{
		{"exactly max age is valid", testAuthDate.Add(DefaultMaxAge), DefaultMaxAge, nil},
		{"a nanosecond later is expired", testAuthDate.Add(DefaultMaxAge + 1), DefaultMaxAge, ErrExpired},
		{"max age 0 turns the check off", testAuthDate.Add(100 * 365 * 24 * time.Hour), 0, nil},
		{"exactly a minute ahead is valid", testAuthDate.Add(-MaxClockSkew), DefaultMaxAge, nil},
		{"more than a minute ahead is invalid", testAuthDate.Add(-MaxClockSkew - 1), DefaultMaxAge, ErrAuthDateInvalid},
		{"ahead is invalid even with max age 0", testAuthDate.Add(-time.Hour), 0, ErrAuthDateInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := NewValidator(testToken, WithMaxAge(tt.maxAge), WithClock(at(tt.now)))
			_, err := v.Validate(signed)
			if tt.want == nil {
				require.NoError(t, err)
				require.NoError(t, v.Verify(signed))
				return
			}
			require.ErrorIs(t, err, tt.want)
			require.ErrorIs(t, v.Verify(signed), tt.want)
		})
	}
}

func TestUppercaseHashIsAccepted(t *testing.T) {
	signed := Sign(testValues(), testToken, testAuthDate)
	i := strings.Index(signed, "hash=") + len("hash=")
	upper := signed[:i] + strings.ToUpper(signed[i:])
	_, err := Validate(upper, testToken, WithClock(at(testAuthDate)))
	require.NoError(t, err)
}

func TestOrderDoesNotMatter(t *testing.T) {
	signed := Sign(testValues(), testToken, testAuthDate)
	parts := strings.Split(signed, "&")
	for i, j := 0, len(parts)-1; i < j; i, j = i+1, j-1 {
		parts[i], parts[j] = parts[j], parts[i]
	}
	_, err := Validate(strings.Join(parts, "&"), testToken, WithClock(at(testAuthDate)))
	require.NoError(t, err)
}

func TestValidatorConcurrentUse(t *testing.T) {
	v := NewValidator(testToken, WithClock(at(testAuthDate)))
	inputs := make([]string, 8)
	for i := range inputs {
		vals := testValues()
		vals.Set("query_id", fmt.Sprintf("q%d", i))
		inputs[i] = Sign(vals, testToken, testAuthDate)
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				in := inputs[(g+i)%len(inputs)]
				d, err := v.Validate(in)
				if err != nil || d.QueryID != fmt.Sprintf("q%d", (g+i)%len(inputs)) {
					t.Errorf("validate %d: %v %q", i, err, d.QueryID)
					return
				}
				if err := v.Verify(in); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestVerifyAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	v := NewValidator(testToken, WithClock(at(testAuthDate)))
	signed := Sign(testValues(), testToken, testAuthDate)
	require.NoError(t, v.Verify(signed))
	require.Zero(t, testing.AllocsPerRun(100, func() { _ = v.Verify(signed) }))
	// Rejections allocate nothing either.
	tampered := signed + "&x=1"
	require.Zero(t, testing.AllocsPerRun(100, func() { _ = v.Verify(tampered) }))
	// The typed result: the strings of the top level (one allocation), and
	// encoding/json's decoding of the user (the user and each of its strings).
	require.LessOrEqual(t, testing.AllocsPerRun(100, func() { _, _ = v.Validate(signed) }), 16.0)
}

func TestValidateThirdParty(t *testing.T) {
	pub, priv, err := ed25519.GenerateKey(strings.NewReader(strings.Repeat("k", 64)))
	require.NoError(t, err)
	const botID = 7342037359
	clock := WithClock(at(testAuthDate))
	signed := SignThirdParty(testValues(), botID, priv, testAuthDate)

	d, err := ValidateThirdParty(signed, botID, WithPublicKey(pub), clock)
	require.NoError(t, err)
	require.Equal(t, int64(279058397), d.User.ID)
	require.Empty(t, d.Hash)

	// Sign on top adds a hash that covers the signature: both checks pass.
	both := Sign(mustQuery(t, signed), testToken, testAuthDate)
	_, err = ValidateThirdParty(both, botID, WithPublicKey(pub), clock)
	require.NoError(t, err)
	_, err = Validate(both, testToken, clock)
	require.NoError(t, err)

	sigAt := strings.Index(signed, "signature=") + len("signature=")
	tests := []struct {
		name     string
		initData string
		botID    int64
		opts     []Option
		want     error
	}{
		{"production key", signed, botID, nil, ErrSignatureInvalid},
		{"test key", signed, botID, []Option{WithTestEnvironment()}, ErrSignatureInvalid},
		{"other bot", signed, botID + 1, []Option{WithPublicKey(pub)}, ErrSignatureInvalid},
		{"tampered", strings.Replace(signed, "AAHdF6IQ", "AAHdF6IR", 1), botID, []Option{WithPublicKey(pub)}, ErrSignatureInvalid},
		{"field appended", signed + "&x=1", botID, []Option{WithPublicKey(pub)}, ErrSignatureInvalid},
		{"no signature", Sign(url.Values{"query_id": {"x"}}, testToken, testAuthDate), botID, []Option{WithPublicKey(pub)}, ErrSignatureMissing},
		{"empty signature", "auth_date=1&signature=", botID, nil, ErrSignatureMissing},
		{"signature too short", signed[:len(signed)-1], botID, []Option{WithPublicKey(pub)}, ErrMalformed},
		{"signature padded", signed + "%3D%3D", botID, []Option{WithPublicKey(pub)}, ErrMalformed},
		{"signature std base64", signed[:sigAt] + strings.NewReplacer("-", "+", "_", "/").Replace(signed[sigAt:]), botID, []Option{WithPublicKey(pub)}, ErrMalformed},
		{"bad public key", signed, botID, []Option{WithPublicKey(pub[:31])}, ErrSignatureInvalid},
		{"expired", signed, botID, []Option{WithPublicKey(pub), WithClock(at(testAuthDate.Add(DefaultMaxAge + time.Second)))}, ErrExpired},
		{"malformed", "x", botID, nil, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := append([]Option{clock}, tt.opts...)
			_, err := ValidateThirdParty(tt.initData, tt.botID, opts...)
			require.ErrorIs(t, err, tt.want)
		})
	}
}

func TestSignDoesNotModifyValues(t *testing.T) {
	v := testValues()
	v.Set("hash", "old")
	v.Set("auth_date", "5")
	before := fmt.Sprint(v)
	Sign(v, testToken, testAuthDate)
	_, priv, err := ed25519.GenerateKey(strings.NewReader(strings.Repeat("k", 64)))
	require.NoError(t, err)
	SignThirdParty(v, 1, priv, testAuthDate)
	require.Equal(t, before, fmt.Sprint(v))
}

func TestSignRoundTrip(t *testing.T) {
	values := url.Values{
		"start_param":    {"a b+c&d=e%f/?#"},
		"x_unicode":      {"Привет, 世界 🇺🇦"},
		"x_empty":        {""},
		"chat_instance":  {"-9019086117643313246"},
		"chat_type":      {"sender"},
		"chat":           {`{"id":-1001234567890,"type":"supergroup","title":"T","username":"u","photo_url":"p"}`},
		"receiver":       {`{"id":"42","is_bot":"true","first_name":"R","added_to_attachment_menu":true}`},
		"can_send_after": {"30"},
	}
	signed := Sign(values, testToken, testAuthDate)
	require.NotContains(t, signed, "+", "spaces are %20, as Telegram sends them")
	d, err := Validate(signed, testToken, WithClock(at(testAuthDate)))
	require.NoError(t, err)
	require.Equal(t, "a b+c&d=e%f/?#", d.StartParam)
	require.Equal(t, map[string]string{"x_unicode": "Привет, 世界 🇺🇦", "x_empty": ""}, d.Extra)
	require.Equal(t, "-9019086117643313246", d.ChatInstance)
	require.Equal(t, "sender", d.ChatType)
	require.Equal(t, &Chat{ID: -1001234567890, Type: "supergroup", Title: "T", Username: "u", PhotoURL: "p"}, d.Chat)
	require.Equal(t, &User{ID: 42, IsBot: true, FirstName: "R", AddedToAttachmentMenu: true}, d.Receiver)
	require.Equal(t, 30*time.Second, d.CanSendAfter)
	require.Nil(t, d.User)
}

func TestBuiltInKeysCannotBeChanged(t *testing.T) {
	saved := slices.Clone(ProductionPublicKey)
	defer copy(ProductionPublicKey, saved)
	ProductionPublicKey[0] ^= 0xff
	v := loadVectors(t)
	for _, c := range v {
		if c.ID == "tma-ed-01" {
			_, err := c.run(t)
			require.NoError(t, err, "validation must not read the exported slice")
			return
		}
	}
	t.Fatal("vector tma-ed-01 not found")
}

func TestZeroValidatorRejects(t *testing.T) {
	var v Validator
	signed := Sign(testValues(), testToken, testAuthDate)
	_, err := v.Validate(signed)
	require.ErrorIs(t, err, ErrHashInvalid)
	require.ErrorIs(t, v.Verify(signed), ErrHashInvalid)
}
