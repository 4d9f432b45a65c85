package payments

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var (
	testKey1 = Key{ID: 1, Secret: []byte("0123456789abcdef0123456789abcdef")}
	testKey2 = Key{ID: 2, Secret: []byte("fedcba9876543210fedcba9876543210")}
	testNow  = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
)

func newTestCodec(t testing.TB) *Codec {
	t.Helper()
	c, err := NewCodec(testKey1)
	require.NoError(t, err)
	return c
}

func TestCodecRoundTrip(t *testing.T) {
	c := newTestCodec(t)
	tests := []struct {
		name string
		o    Order
	}{
		{"ref only", Order{Ref: "o1"}},
		{"all fields", Order{Ref: "order-000123", UserID: 123456789, Product: "gold-pack", Currency: XTR, Amount: 250, Expires: testNow.Add(time.Hour)}},
		{"negative user (never real, still exact)", Order{Ref: "x", UserID: -5}},
		{"binary ref", Order{Ref: "\x00\xff\x80"}},
		{"provider price with max tip", Order{Ref: "o2", Currency: "USD", Amount: 1500, MaxTip: 500}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := c.Encode(tt.o)
			require.NoError(t, err)
			require.LessOrEqual(t, len(p), MaxPayloadBytes)
			got, err := c.DecodeAt(p, testNow)
			require.NoError(t, err)
			require.Equal(t, tt.o.Ref, got.Ref)
			require.Equal(t, tt.o.UserID, got.UserID)
			require.Equal(t, tt.o.Product, got.Product)
			require.Equal(t, tt.o.Currency, got.Currency)
			require.Equal(t, tt.o.Amount, got.Amount)
			require.True(t, tt.o.Expires.Equal(got.Expires))
		})
	}
}

func TestCodecEncodeErrors(t *testing.T) {
	c := newTestCodec(t)
	tests := []struct {
		name string
		o    Order
		want error
	}{
		{"empty ref", Order{}, ErrPayloadMalformed},
		{"currency without amount", Order{Ref: "a", Currency: "USD"}, ErrPayloadMalformed},
		{"amount without currency", Order{Ref: "a", Amount: 5}, ErrPayloadMalformed},
		{"negative amount", Order{Ref: "a", Currency: "USD", Amount: -5}, ErrPayloadMalformed},
		{"long currency", Order{Ref: "a", Currency: "USDT", Amount: 5}, ErrPayloadMalformed},
		{"max tip without price", Order{Ref: "a", MaxTip: 5}, ErrPayloadMalformed},
		{"max tip in stars", Order{Ref: "a", Currency: XTR, Amount: 5, MaxTip: 5}, ErrPayloadMalformed},
		{"negative max tip", Order{Ref: "a", Currency: "USD", Amount: 5, MaxTip: -1}, ErrPayloadMalformed},
		{"too long", Order{Ref: strings.Repeat("r", 80)}, ErrPayloadTooLong},
		{"too long with product", Order{Ref: strings.Repeat("r", 40), Product: strings.Repeat("p", 40)}, ErrPayloadTooLong},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.Encode(tt.o)
			require.ErrorIs(t, err, tt.want)
		})
	}
}

// TestCodecPayloadLengthProperty: every payload Encode returns is at most
// 128 bytes, for random orders of every size, and decodes to the same order.
func TestCodecPayloadLengthProperty(t *testing.T) {
	c := newTestCodec(t)
	r := rand.New(rand.NewPCG(1, 2))
	randString := func(max int) string {
		b := make([]byte, r.IntN(max+1))
		for i := range b {
			b[i] = byte(r.UintN(256))
		}
		return string(b)
	}
	accepted, rejected := 0, 0
	for range 20000 {
		o := Order{Ref: randString(100), Product: randString(60)}
		if r.IntN(2) == 0 {
			o.UserID = r.Int64() - r.Int64()
		}
		if r.IntN(2) == 0 {
			o.Expires = time.Unix(r.Int64N(1<<40)+1, 0)
		}
		if r.IntN(2) == 0 {
			o.Currency, o.Amount = "USD", r.Int64N(1<<62)+1
		}
		p, err := c.Encode(o)
		if err != nil {
			require.ErrorIs(t, err, errForOrder(o))
			rejected++
			continue
		}
		accepted++
		require.LessOrEqual(t, len(p), MaxPayloadBytes)
		require.GreaterOrEqual(t, len(p), MinPayloadBytes)
		got, err := c.DecodeAt(p, time.Unix(0, 0))
		require.NoError(t, err)
		require.Equal(t, o.Ref, got.Ref)
		require.Equal(t, o.Product, got.Product)
	}
	require.Positive(t, accepted)
	require.Positive(t, rejected)
}

func errForOrder(o Order) error {
	if o.Ref == "" {
		return ErrPayloadMalformed
	}
	return ErrPayloadTooLong
}

func TestCodecRejects(t *testing.T) {
	c := newTestCodec(t)
	p, err := c.Encode(Order{Ref: "order-1", UserID: 42, Currency: XTR, Amount: 10, Expires: testNow.Add(time.Minute)})
	require.NoError(t, err)

	other, err := NewCodec(testKey2)
	require.NoError(t, err)
	forged, err := other.Encode(Order{Ref: "order-1", UserID: 42, Currency: XTR, Amount: 1})
	require.NoError(t, err)

	raw, err := b64.DecodeString(p)
	require.NoError(t, err)
	flipped := append([]byte(nil), raw...)
	flipped[4] ^= 1 // inside the signed fields
	sameKeyID := append([]byte(nil), raw...)
	sameKeyID[1] = testKey2.ID

	tests := []struct {
		name    string
		payload string
		now     time.Time
		want    error
	}{
		{"expired", p, testNow.Add(time.Minute), ErrPayloadExpired},
		{"other key", forged, testNow, ErrPayloadSignature},
		{"altered field", b64.EncodeToString(flipped), testNow, ErrPayloadSignature},
		{"altered key id", b64.EncodeToString(sameKeyID), testNow, ErrPayloadSignature},
		{"truncated", p[:len(p)-2], testNow, nil},
		{"not base64", "order-1!", testNow, ErrPayloadMalformed},
		{"empty", "", testNow, ErrPayloadMalformed},
		{"too long", strings.Repeat("A", 129), testNow, ErrPayloadMalformed},
		{"plain text", "order-1", testNow, ErrPayloadMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.DecodeAt(tt.payload, tt.now)
			require.Error(t, err)
			if tt.want != nil {
				require.ErrorIs(t, err, tt.want)
			}
		})
	}

	o, err := c.DecodeAt(p, testNow)
	require.NoError(t, err)
	require.NoError(t, o.CheckUser(42))
	require.ErrorIs(t, o.CheckUser(43), ErrWrongUser)
	require.NoError(t, Order{Ref: "any"}.CheckUser(43))
}

func TestCodecKeyRotation(t *testing.T) {
	old, err := NewCodec(testKey1)
	require.NoError(t, err)
	p, err := old.Encode(Order{Ref: "in-flight"})
	require.NoError(t, err)

	// Step 2 of the rotation: key 2 signs, key 1 still verifies.
	rotated, err := NewCodec(testKey2, testKey1)
	require.NoError(t, err)
	o, err := rotated.DecodeAt(p, testNow)
	require.NoError(t, err)
	require.Equal(t, "in-flight", o.Ref)
	p2, err := rotated.Encode(Order{Ref: "new"})
	require.NoError(t, err)
	_, err = old.DecodeAt(p2, testNow)
	require.ErrorIs(t, err, ErrPayloadSignature, "old-only codec does not know key 2")

	// Step 3: key 1 dropped.
	final, err := NewCodec(testKey2)
	require.NoError(t, err)
	_, err = final.DecodeAt(p, testNow)
	require.ErrorIs(t, err, ErrPayloadSignature)
}

func TestNewCodecErrors(t *testing.T) {
	_, err := NewCodec(Key{ID: 1, Secret: []byte("short")})
	require.Error(t, err)
	_, err = NewCodec(testKey1, Key{ID: 1, Secret: testKey2.Secret})
	require.Error(t, err)
	secret := []byte("0123456789abcdef0123456789abcdef")
	c, err := NewCodec(Key{ID: 9, Secret: secret})
	require.NoError(t, err)
	p, err := c.Encode(Order{Ref: "a"})
	require.NoError(t, err)
	secret[0] = 'X' // the codec keeps its own copy
	_, err = c.DecodeAt(p, testNow)
	require.NoError(t, err)
}

// FuzzCodecDecode feeds arbitrary text to DecodeAt: it must never panic, and
// it may accept only what Encode itself produces for the decoded order
// (no forged or altered payload is accepted).
// Run: go test -run '^$' -fuzz FuzzCodecDecode -fuzztime 10s ./payments
func FuzzCodecDecode(f *testing.F) {
	c := newTestCodec(f)
	for _, o := range []Order{
		{Ref: "o1"},
		{Ref: "order-000123", UserID: 123456789, Product: "gold", Currency: XTR, Amount: 250, Expires: testNow.Add(time.Hour)},
		{Ref: "order-7", Currency: "EUR", Amount: 990, MaxTip: 300},
	} {
		p, err := c.Encode(o)
		require.NoError(f, err)
		f.Add(p)
	}
	f.Add("order-1")
	f.Add("")
	f.Fuzz(func(t *testing.T, payload string) {
		if len(payload) > 4*MaxPayloadBytes {
			return
		}
		o, err := c.DecodeAt(payload, testNow)
		if err != nil {
			return
		}
		again, err := c.Encode(o)
		require.NoError(t, err)
		require.Equal(t, payload, again, "accepted a payload Encode would not produce")
	})
}

// FuzzCodecTamper alters one byte of a genuine payload's decoded bytes:
// the result must never verify. Run: go test -run '^$' -fuzz FuzzCodecTamper -fuzztime 10s ./payments
func FuzzCodecTamper(f *testing.F) {
	c := newTestCodec(f)
	p, err := c.Encode(Order{Ref: "order-42", UserID: 42, Currency: XTR, Amount: 100})
	require.NoError(f, err)
	raw, err := b64.DecodeString(p)
	require.NoError(f, err)
	f.Add(uint8(0), uint8(1))
	f.Add(uint8(5), uint8(0x80))
	f.Add(uint8(len(raw)-1), uint8(0xff))
	f.Fuzz(func(t *testing.T, at, xor uint8) {
		if xor == 0 {
			return
		}
		b := append([]byte(nil), raw...)
		b[int(at)%len(b)] ^= xor
		_, err := c.DecodeAt(b64.EncodeToString(b), testNow)
		require.Error(t, err)
	})
}
