package benchmarks

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	peer "github.com/telegram-mini-apps/init-data-golang"

	"github.com/miniappkit/miniappkit/initdata"
)

// Realistic init data: real Telegram data (Bot API 8.0: full user object,
// chat_instance, chat_type, signature, hash; 627 bytes) from the tma.js
// tests, with that demo bot's published, since rotated, token.
const (
	initData = "user=%7B%22id%22%3A279058397%2C%22first_name%22%3A%22Vladislav%20%2B%20-%20%3F%20%5C%2F%22%2C%22last_name%22%3A%22Kibenko%22%2C%22username%22%3A%22vdkfrost%22%2C%22language_code%22%3A%22ru%22%2C%22is_premium%22%3Atrue%2C%22allows_write_to_pm%22%3Atrue%2C%22photo_url%22%3A%22https%3A%5C%2F%5C%2Ft.me%5C%2Fi%5C%2Fuserpic%5C%2F320%5C%2F4FPEE4tmP3ATHa57u6MqTDih13LTOiMoKoLDRG4PnSA.svg%22%7D&chat_instance=8134722200314281151&chat_type=private&auth_date=1733584787&signature=zL-ucjNyREiHDE8aihFwpfR9aggP2xiAo3NSpfe-p7IbCisNlDKlo7Kb6G4D0Ao2mBrSgEk4maLSdv6MLIlADQ&hash=2174df5b000556d044f3f020384e879c8efcab55ddea2ced4eb752e93e7080d6"
	botToken = "7342037359:AAFZehRPBRs8Seg40oDjTMIW8uTGPuW1zfQ"
	botID    = 7342037359
	authDate = 1733584787
)

// Both libraries check expiry. The peer reads time.Now, so it gets a max age
// that reaches today; ours gets a clock an hour after auth_date and the
// default 24 hours.
var (
	peerExpIn = time.Since(time.Unix(authDate, 0)) + 24*time.Hour
	clock     = initdata.WithClock(func() time.Time { return time.Unix(authDate+3600, 0) })
)

// checkStrings builds, independently of both libraries, the data-check-strings
// that Telegram signs: every field but hash (HMAC), or but hash and signature
// (Ed25519), sorted, decoded, joined by "\n".
func checkStrings(tb testing.TB) (mac, thirdParty string, hash, sig []byte) {
	tb.Helper()
	q, err := url.ParseQuery(initData)
	if err != nil {
		tb.Fatal(err)
	}
	var all, noSig []string
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range q {
			if !yield(k) {
				return
			}
		}
	}) {
		if k == "hash" {
			continue
		}
		all = append(all, k+"="+q.Get(k))
		if k != "signature" {
			noSig = append(noSig, k+"="+q.Get(k))
		}
	}
	if hash, err = hex.DecodeString(q.Get("hash")); err != nil {
		tb.Fatal(err)
	}
	if sig, err = base64.RawURLEncoding.DecodeString(q.Get("signature")); err != nil {
		tb.Fatal(err)
	}
	return strings.Join(all, "\n"), strconv.Itoa(botID) + ":WebAppData\n" + strings.Join(noSig, "\n"), hash, sig
}

// TestSameInputAccepted makes sure every benchmark below does real work on
// input both libraries accept, and that the floors compute the right thing.
func TestSameInputAccepted(t *testing.T) {
	if err := peer.Validate(initData, botToken, peerExpIn); err != nil {
		t.Fatal("peer:", err)
	}
	pd, err := peer.Parse(initData)
	if err != nil {
		t.Fatal("peer:", err)
	}
	d, err := initdata.NewValidator(botToken, clock).Validate(initData)
	if err != nil {
		t.Fatal(err)
	}
	if d.User.ID != pd.User.ID || d.User.FirstName != pd.User.FirstName || d.AuthDate.Unix() != int64(pd.AuthDateRaw) {
		t.Fatalf("results differ: %+v vs %+v", d, pd)
	}
	if err := peer.ValidateThirdParty(initData, botID, peerExpIn); err != nil {
		t.Fatal("peer:", err)
	}
	if _, err := initdata.ValidateThirdParty(initData, botID, clock); err != nil {
		t.Fatal(err)
	}
	mac, third, hash, sig := checkStrings(t)
	secret := hmac.New(sha256.New, []byte("WebAppData"))
	secret.Write([]byte(botToken))
	m := hmac.New(sha256.New, secret.Sum(nil))
	m.Write([]byte(mac))
	if !hmac.Equal(m.Sum(nil), hash) {
		t.Fatal("HMAC floor computes the wrong MAC")
	}
	if !ed25519.Verify(initdata.ProductionPublicKey, []byte(third), sig) {
		t.Fatal("Ed25519 floor does not verify")
	}
}

// The benchmarks report cpu-ns/op (process CPU time, see processCPU) beside
// ns/op: on a shared, loaded machine it is the steadier figure.

// BenchmarkValidate: validate, then return the typed result; beside the
// peer, the floor encoding/json sets for the typed user.
func BenchmarkValidate(b *testing.B) {
	b.Run("miniappkit", func(b *testing.B) {
		v := initdata.NewValidator(botToken, clock)
		b.ReportAllocs()
		start := processCPU()
		for b.Loop() {
			d, err := v.Validate(initData)
			if err != nil || d.User == nil {
				b.Fatal(err)
			}
		}
		reportCPU(b, start)
	})
	b.Run("init-data-golang", func(b *testing.B) {
		b.ReportAllocs()
		start := processCPU()
		for b.Loop() {
			if err := peer.Validate(initData, botToken, peerExpIn); err != nil {
				b.Fatal(err)
			}
			d, err := peer.Parse(initData)
			if err != nil || d.User.ID == 0 {
				b.Fatal(err)
			}
		}
		reportCPU(b, start)
	})
	// The floor of the typed result: what encoding/json alone costs for
	// the user object, one json.Unmarshal of its decoded JSON into an
	// initdata.User. Validate is at least this plus Verify.
	b.Run("encoding-json-user-floor", func(b *testing.B) {
		q, err := url.ParseQuery(initData)
		if err != nil {
			b.Fatal(err)
		}
		js := []byte(q.Get("user"))
		b.ReportAllocs()
		start := processCPU()
		for b.Loop() {
			var u initdata.User
			if err := json.Unmarshal(js, &u); err != nil || u.ID == 0 {
				b.Fatal(err)
			}
		}
		reportCPU(b, start)
	})
}

// BenchmarkVerify: the MAC check alone (yes or no), beside its floor, one
// HMAC-SHA-256 over the ready data-check-string with a precomputed key.
func BenchmarkVerify(b *testing.B) {
	b.Run("miniappkit", func(b *testing.B) {
		v := initdata.NewValidator(botToken, clock)
		b.ReportAllocs()
		start := processCPU()
		for b.Loop() {
			if err := v.Verify(initData); err != nil {
				b.Fatal(err)
			}
		}
		reportCPU(b, start)
	})
	b.Run("init-data-golang", func(b *testing.B) {
		b.ReportAllocs()
		start := processCPU()
		for b.Loop() {
			if err := peer.Validate(initData, botToken, peerExpIn); err != nil {
				b.Fatal(err)
			}
		}
		reportCPU(b, start)
	})
	b.Run("hmac-sha256-floor", func(b *testing.B) {
		mac, _, hash, _ := checkStrings(b)
		msg := []byte(mac)
		secret := hmac.New(sha256.New, []byte("WebAppData"))
		secret.Write([]byte(botToken))
		m := hmac.New(sha256.New, secret.Sum(nil))
		var sum [sha256.Size]byte
		b.ReportAllocs()
		start := processCPU()
		for b.Loop() {
			m.Reset()
			m.Write(msg)
			if !hmac.Equal(m.Sum(sum[:0]), hash) {
				b.Fatal("wrong MAC")
			}
		}
		reportCPU(b, start)
	})
}

// BenchmarkValidateThirdParty: the Ed25519 check and the typed result,
// beside its floor, one ed25519.Verify over the ready message.
func BenchmarkValidateThirdParty(b *testing.B) {
	b.Run("miniappkit", func(b *testing.B) {
		b.ReportAllocs()
		start := processCPU()
		for b.Loop() {
			if _, err := initdata.ValidateThirdParty(initData, botID, clock); err != nil {
				b.Fatal(err)
			}
		}
		reportCPU(b, start)
	})
	b.Run("init-data-golang", func(b *testing.B) {
		b.ReportAllocs()
		start := processCPU()
		for b.Loop() {
			if err := peer.ValidateThirdParty(initData, botID, peerExpIn); err != nil {
				b.Fatal(err)
			}
		}
		reportCPU(b, start)
	})
	b.Run("ed25519-verify-floor", func(b *testing.B) {
		_, third, _, sig := checkStrings(b)
		msg := []byte(third)
		b.ReportAllocs()
		start := processCPU()
		for b.Loop() {
			if !ed25519.Verify(initdata.ProductionPublicKey, msg, sig) {
				b.Fatal("does not verify")
			}
		}
		reportCPU(b, start)
	})
}
