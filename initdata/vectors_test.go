package initdata

import (
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// vector is one case of testdata/initdata-vectors.json, computed by another
// public implementation (named in Source).
type vector struct {
	ID                   string   `json:"id"`
	Source               string   `json:"source"`
	Kind                 string   `json:"kind"` // "hmac" or "ed25519"
	Token                string   `json:"token"`
	BotID                int64    `json:"bot_id"`
	Env                  string   `json:"env"` // "prod", "test" or "custom"
	PublicKeyHex         string   `json:"public_key_hex"`
	PrivateKeySeedHex    string   `json:"private_key_seed_hex"`
	InitData             string   `json:"init_data"`
	NowUnix              *int64   `json:"now_unix"`
	MaxAgeSeconds        int64    `json:"max_age_seconds"`
	ExpectValid          bool     `json:"expect_valid"`
	ExpectErrorKind      string   `json:"expect_error_kind"`
	AcceptableErrorKinds []string `json:"acceptable_error_kinds"`
	Note                 string   `json:"note"`
}

var errorKinds = map[string]error{
	"malformed":         ErrMalformed,
	"hash_missing":      ErrHashMissing,
	"hash_invalid":      ErrHashInvalid,
	"signature_missing": ErrSignatureMissing,
	"signature_invalid": ErrSignatureInvalid,
	"auth_date_missing": ErrAuthDateMissing,
	"auth_date_invalid": ErrAuthDateInvalid,
	"expired":           ErrExpired,
}

// vectorNow is the clock for vectors without now_unix: after every auth_date
// in the file, so only max_age_seconds decides.
var vectorNow = time.Unix(2_000_000_000, 0)

func loadVectors(t testing.TB) []vector {
	t.Helper()
	b, err := os.ReadFile("testdata/initdata-vectors.json")
	require.NoError(t, err)
	var vs []vector
	require.NoError(t, json.Unmarshal(b, &vs))
	require.NotEmpty(t, vs)
	return vs
}

func (v vector) options(t testing.TB) []Option {
	now := vectorNow
	if v.NowUnix != nil {
		now = time.Unix(*v.NowUnix, 0)
	}
	opts := []Option{WithMaxAge(time.Duration(v.MaxAgeSeconds) * time.Second), WithClock(func() time.Time { return now })}
	switch v.Env {
	case "test":
		opts = append(opts, WithTestEnvironment())
	case "custom":
		key, err := hex.DecodeString(v.PublicKeyHex)
		require.NoError(t, err)
		opts = append(opts, WithPublicKey(key))
	}
	return opts
}

func (v vector) run(t testing.TB) (InitData, error) {
	switch v.Kind {
	case "hmac":
		return Validate(v.InitData, v.Token, v.options(t)...)
	case "ed25519":
		return ValidateThirdParty(v.InitData, v.BotID, v.options(t)...)
	}
	t.Fatalf("unknown kind %q", v.Kind)
	return InitData{}, nil
}

func TestVectors(t *testing.T) {
	for _, v := range loadVectors(t) {
		t.Run(v.ID, func(t *testing.T) {
			t.Logf("source: %s", v.Source)
			d, err := v.run(t)
			if v.ExpectValid {
				require.NoError(t, err, v.Note)
				require.False(t, d.AuthDate.IsZero())
				// The Validator fast path and Verify agree with the one-shot form.
				if v.Kind == "hmac" {
					val := NewValidator(v.Token, v.options(t)...)
					d2, err := val.Validate(v.InitData)
					require.NoError(t, err)
					require.Equal(t, d, d2)
					require.NoError(t, val.Verify(v.InitData))
				}
				return
			}
			require.Error(t, err, v.Note)
			want, ok := errorKinds[v.ExpectErrorKind]
			require.True(t, ok, "unknown error kind %q", v.ExpectErrorKind)
			if v.ExpectErrorKind != "" && isKind(err, want) {
				return
			}
			for _, kind := range v.AcceptableErrorKinds {
				if isKind(err, errorKinds[kind]) {
					t.Logf("acceptable %s instead of %s: %v", kind, v.ExpectErrorKind, err)
					return
				}
			}
			t.Fatalf("got %v, want %s (or one of %v)", err, v.ExpectErrorKind, v.AcceptableErrorKinds)
		})
	}
}

// TestVectorsSignThirdParty reproduces the Ed25519 vectors whose private key
// is known: Ed25519 is deterministic, so SignThirdParty must produce the
// very signature another implementation computed.
func TestVectorsSignThirdParty(t *testing.T) {
	n := 0
	for _, v := range loadVectors(t) {
		if v.PrivateKeySeedHex == "" || !v.ExpectValid {
			continue
		}
		n++
		t.Run(v.ID, func(t *testing.T) {
			seed, err := hex.DecodeString(v.PrivateKeySeedHex)
			require.NoError(t, err)
			key := ed25519.NewKeyFromSeed(seed)
			d, err := Parse(v.InitData)
			require.NoError(t, err)
			values := mustQuery(t, v.InitData)
			signed := SignThirdParty(values, v.BotID, key, d.AuthDate)
			got, err := Parse(signed)
			require.NoError(t, err)
			require.Equal(t, d.Signature, got.Signature)
		})
	}
	require.Positive(t, n)
}
