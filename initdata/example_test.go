package initdata_test

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"time"

	"github.com/miniappkit/miniappkit/initdata"
)

// A throwaway token and a fixed clock keep the examples deterministic. In
// production the token comes from @BotFather and the clock is time.Now.
const botToken = "123456:example-token"

var (
	openedAt = time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)
	now      = func() time.Time { return openedAt.Add(time.Minute) }
)

// demoInitData is what Telegram.WebApp.initData would hold.
func demoInitData() string {
	return initdata.Sign(url.Values{
		"query_id": {"AAHdF6IQAAAAAN0XohDhrOrc"},
		"user":     {`{"id":279058397,"first_name":"Ada","username":"ada","language_code":"en"}`},
	}, botToken, openedAt)
}

func Example() {
	v := initdata.NewValidator(botToken, initdata.WithClock(now))
	d, err := v.Validate(demoInitData())
	if err != nil {
		fmt.Println("rejected:", err)
		return
	}
	fmt.Println(d.User.ID, d.User.FirstName, d.AuthDate.UTC().Format(time.RFC3339))

	_, err = v.Validate(demoInitData() + "&admin=true")
	fmt.Println(errors.Is(err, initdata.ErrHashInvalid))
	// Output:
	// 279058397 Ada 2026-01-02T15:04:05Z
	// true
}

func ExampleValidate() {
	_, err := initdata.Validate(demoInitData(), botToken, initdata.WithMaxAge(time.Hour),
		initdata.WithClock(func() time.Time { return openedAt.Add(2 * time.Hour) }))
	fmt.Println(err, errors.Is(err, initdata.ErrExpired))
	// Output: initdata: expired true
}

func ExampleValidator_Verify() {
	v := initdata.NewValidator(botToken, initdata.WithClock(now))
	fmt.Println(v.Verify(demoInitData()))
	// Passing data that was URL-decoded on the way is the common mistake:
	decoded, _ := url.QueryUnescape(demoInitData())
	fmt.Println(v.Verify(decoded))
	// Output:
	// <nil>
	// initdata: malformed init data: contains characters a raw query string never has (quote, brace, space, backslash, control or non-ASCII byte): was it already URL-decoded? Pass Telegram.WebApp.initData unchanged
}

func ExampleParse() {
	d, err := initdata.Parse("chat_instance=-9019086117643313246&chat_type=sender&auth_date=1736362318&ref=abc&hash=00")
	fmt.Println(d.ChatType, d.ChatInstance, d.AuthDate.Unix(), d.Extra["ref"], err)
	// Output: sender -9019086117643313246 1736362318 abc <nil>
}

// The hash is checked independently: in Python,
// hmac.new(hmac.new(b"WebAppData", token, sha256).digest(),
// b"auth_date=1700000000\nstart_param=ref 42", sha256).hexdigest().
func ExampleSign() {
	fmt.Println(initdata.Sign(url.Values{"start_param": {"ref 42"}}, botToken, time.Unix(1700000000, 0)))
	// Output: auth_date=1700000000&start_param=ref%2042&hash=285c4c08134af86bf9e7b514065666f9ffe11c56a05da642e731822695125388
}

func ExampleValidateThirdParty() {
	// With your own key pair: Telegram's private key signs real data, which
	// you check with the default ProductionPublicKey.
	pub, priv, _ := ed25519.GenerateKey(strings.NewReader(strings.Repeat("seed", 8)))
	const botID = 7342037359
	raw := initdata.SignThirdParty(url.Values{"user": {`{"id":1,"first_name":"Ada"}`}}, botID, priv, openedAt)

	d, err := initdata.ValidateThirdParty(raw, botID, initdata.WithPublicKey(pub), initdata.WithClock(now))
	fmt.Println(d.User.FirstName, err)
	_, err = initdata.ValidateThirdParty(raw, botID+1, initdata.WithPublicKey(pub), initdata.WithClock(now))
	fmt.Println(err)
	// Output:
	// Ada <nil>
	// initdata: signature invalid
}

func ExampleMiddleware() {
	v := initdata.NewValidator(botToken, initdata.WithClock(now))
	me := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, _ := initdata.FromContext(r.Context())
		fmt.Fprintf(w, "hello, %s", d.User.FirstName)
	})
	h := initdata.Middleware(v)(me)

	for _, auth := range []string{"tma " + demoInitData(), "tma forged"} {
		req := httptest.NewRequest(http.MethodGet, "/api/me", nil)
		req.Header.Set("Authorization", auth)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		body, _ := io.ReadAll(rec.Body)
		fmt.Println(rec.Code, strings.TrimSpace(string(body)))
	}
	// Output:
	// 200 hello, Ada
	// 401 {"type":"about:blank","title":"Unauthorized","status":401,"detail":"init data invalid","reason":"invalid"}
}

// Handlers that need a user let the middleware require one, and read its
// id without a nil check.
func ExampleWithRequireUser() {
	v := initdata.NewValidator(botToken, initdata.WithClock(now))
	me := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, _ := initdata.FromContext(r.Context())
		id, _ := d.UserID()
		fmt.Fprintf(w, "user %d", id)
	})
	h := initdata.Middleware(v, initdata.WithRequireUser())(me)

	noUser := initdata.Sign(url.Values{"chat_type": {"group"}}, botToken, openedAt)
	for _, raw := range []string{demoInitData(), noUser} {
		req := httptest.NewRequest(http.MethodGet, "/api/me", nil)
		req.Header.Set("Authorization", "tma "+raw)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		fmt.Println(rec.Code, rec.Body.String() != "")
	}
	// Output:
	// 200 true
	// 401 true
}

// An error hook answers in an application's own format; errors.Is tells
// the reasons apart.
func ExampleWithErrorHandler() {
	v := initdata.NewValidator(botToken, initdata.WithClock(now))
	h := initdata.Middleware(v, initdata.WithErrorHandler(func(w http.ResponseWriter, r *http.Request, err error) {
		if errors.Is(err, initdata.ErrExpired) {
			http.Redirect(w, r, "/reopen", http.StatusSeeOther)
			return
		}
		http.Error(w, initdata.PublicReason(err), http.StatusUnauthorized)
	}))(http.NotFoundHandler())

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/me", nil))
	fmt.Print(rec.Code, " ", rec.Body.String())
	// Output:
	// 401 missing
}
