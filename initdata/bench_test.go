package initdata

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"testing"
	"time"
)

// Realistic init data: real Telegram data (Bot API 8.0: full user object,
// chat_instance, chat_type, signature then hash), 560 bytes, from the vector
// tma-hmac-01 (Telegram-Mini-Apps/tma.js), with that demo bot's published,
// rotated token and id.
const (
	benchInitData = "user=%7B%22id%22%3A279058397%2C%22first_name%22%3A%22Vladislav%20%2B%20-%20%3F%20%5C%2F%22%2C%22last_name%22%3A%22Kibenko%22%2C%22username%22%3A%22vdkfrost%22%2C%22language_code%22%3A%22ru%22%2C%22is_premium%22%3Atrue%2C%22allows_write_to_pm%22%3Atrue%2C%22photo_url%22%3A%22https%3A%5C%2F%5C%2Ft.me%5C%2Fi%5C%2Fuserpic%5C%2F320%5C%2F4FPEE4tmP3ATHa57u6MqTDih13LTOiMoKoLDRG4PnSA.svg%22%7D&chat_instance=8134722200314281151&chat_type=private&auth_date=1733584787&signature=zL-ucjNyREiHDE8aihFwpfR9aggP2xiAo3NSpfe-p7IbCisNlDKlo7Kb6G4D0Ao2mBrSgEk4maLSdv6MLIlADQ&hash=2174df5b000556d044f3f020384e879c8efcab55ddea2ced4eb752e93e7080d6"
	benchToken    = "7342037359:AAFZehRPBRs8Seg40oDjTMIW8uTGPuW1zfQ"
	benchBotID    = 7342037359
)

// benchClock is an hour after the data's auth_date, so the expiry check runs.
func benchClock() time.Time { return time.Unix(1733584787+3600, 0) }

func BenchmarkValidate(b *testing.B) {
	v := NewValidator(benchToken, WithClock(benchClock))
	b.ReportAllocs()
	b.SetBytes(int64(len(benchInitData)))
	for b.Loop() {
		d, err := v.Validate(benchInitData)
		if err != nil || d.User == nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkValidateParallel(b *testing.B) {
	v := NewValidator(benchToken, WithClock(benchClock))
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := v.Validate(benchInitData); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkValidateFunc is the one-shot Validate, which derives the secret
// key on every call.
func BenchmarkValidateFunc(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Validate(benchInitData, benchToken, WithClock(benchClock)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	v := NewValidator(benchToken, WithClock(benchClock))
	b.ReportAllocs()
	b.SetBytes(int64(len(benchInitData)))
	for b.Loop() {
		if err := v.Verify(benchInitData); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHMACFloor is the floor for Verify: one HMAC-SHA-256 over the
// ready data-check-string with a precomputed key, and nothing else.
func BenchmarkHMACFloor(b *testing.B) {
	p, err := scan(benchInitData, nil)
	if err != nil {
		b.Fatal(err)
	}
	dcs, err := decodeValues(nil, p, false)
	if err != nil {
		b.Fatal(err)
	}
	secret := secretKey(benchToken)
	m := hmac.New(sha256.New, secret[:])
	var sum [sha256.Size]byte
	b.ReportAllocs()
	b.SetBytes(int64(len(benchInitData)))
	for b.Loop() {
		m.Reset()
		m.Write(dcs)
		m.Sum(sum[:0])
	}
	var h [sha256.Size]byte
	if !decodeHash(&h, p[find(p, keyHash)].raw) || h != sum {
		b.Fatal("floor computed the wrong MAC")
	}
}

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(benchInitData); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkValidateThirdParty(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ValidateThirdParty(benchInitData, benchBotID, WithClock(benchClock)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEd25519Verify is the floor for ValidateThirdParty: one
// ed25519.Verify over the ready message.
func BenchmarkEd25519Verify(b *testing.B) {
	p, err := scan(benchInitData, nil)
	if err != nil {
		b.Fatal(err)
	}
	msg, err := decodeValues([]byte("7342037359"+thirdPartySuffix), p, true)
	if err != nil {
		b.Fatal(err)
	}
	sig, err := sigEncoding.DecodeString(p[find(p, keySignature)].raw)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if !ed25519.Verify(ProductionPublicKey, msg, sig) {
			b.Fatal("signature does not verify")
		}
	}
}

func BenchmarkDecodeValues(b *testing.B) {
	p, err := scan(benchInitData, nil)
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		buf, err = decodeValues(buf[:0], p, false)
		if err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkScan(b *testing.B) {
	p := make([]pair, 0, 16)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		p, err = scan(benchInitData, p[:0])
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFind looks up the two keys Verify needs in the sorted pairs.
func BenchmarkFind(b *testing.B) {
	p, err := scan(benchInitData, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if find(p, keyHash) < 0 || find(p, keyAuthDate) < 0 {
			b.Fatal("key not found")
		}
	}
}
