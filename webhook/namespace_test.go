package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miniappkit/miniappkit/botapi"
	"github.com/stretchr/testify/require"
)

// keyRecorder is a Store that records the keys it is asked to claim, as
// anyone who can list a shared store's keys sees them.
type keyRecorder struct {
	Store
	mu   sync.Mutex
	keys []string
}

func (k *keyRecorder) Claim(ctx context.Context, key, owner string, lease time.Duration, data []byte) (ClaimResult, error) {
	k.mu.Lock()
	k.keys = append(k.keys, key)
	k.mu.Unlock()
	return k.Store.Claim(ctx, key, owner, lease, data)
}

// TestNamespaceResistsCheapDictionary: a weak secret token must not be
// recoverable from the store's keys with one hash per guess. On the
// release before this test, the namespace was 16 hex digits of
// SHA-256(label || token), and this test recovered "hunter2" from the key.
func TestNamespaceResistsCheapDictionary(t *testing.T) {
	const weak = "hunter2"
	rec := &keyRecorder{Store: NewMemoryStore(8)}
	h := mustHandler(t, weak, UpdateHandlerFunc(func(context.Context, *botapi.Update) error { return nil }), WithStore(rec))
	req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(updateBody(7)))
	req.Header.Set(HeaderSecretToken, weak)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	require.Equal(t, http.StatusOK, w.Code)
	rec.mu.Lock()
	keys := append([]string(nil), rec.keys...)
	rec.mu.Unlock()
	require.Len(t, keys, 1)
	ns, ok := strings.CutPrefix(keys[0], "tg:")
	require.True(t, ok)
	ns, ok = strings.CutSuffix(ns, ":update:7")
	require.True(t, ok, keys[0])

	// What the attacker tries: one fast hash (or one HMAC) per guess, under
	// the labels an attacker reads in the source, truncated to the
	// namespace's length.
	labels := []string{"", "miniappkit webhook namespace", "miniappkit webhook namespace\x00", "miniappkit webhook namespace v2"}
	fast := func(tok string) []string {
		var out []string
		for _, l := range labels {
			s1 := sha256.Sum256([]byte(l + tok))
			m := hmac.New(sha256.New, []byte(tok))
			m.Write([]byte(l))
			for _, sum := range [][]byte{s1[:], m.Sum(nil)} {
				out = append(out, hex.EncodeToString(sum)[:min(len(ns), 64)])
			}
		}
		return out
	}
	for _, guess := range []string{"password", "secret", "hunter2", "letmein", "webhook", "123456"} {
		for _, cand := range fast(guess) {
			require.NotEqual(t, cand, ns, "namespace reversed to %q with one hash per guess", guess)
		}
	}
	// The namespace is the documented slow derivation (known answer), with
	// 128 bits so two bots never collide.
	want, err := pbkdf2.Key(sha256.New, weak, []byte(namespaceSalt), namespaceIterations, 16)
	require.NoError(t, err)
	require.Equal(t, hex.EncodeToString(want), ns)
	require.GreaterOrEqual(t, namespaceIterations, 100_000)
}

// BenchmarkSecretNamespace: the one-time cost of deriving a namespace from
// a secret token (paid once per NewHandler or NewWorker; an attacker pays
// it per guess).
func BenchmarkSecretNamespace(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := secretNamespace(testToken); err != nil {
			b.Fatal(err)
		}
	}
}
