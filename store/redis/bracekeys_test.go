package redis

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/miniappkit/miniappkit/webhook"
)

// braceKeys are Idempotency-Keys a client may send that hold hash-tag
// braces, the last one of the longest length webhook.Idempotency takes.
var braceKeys = []string{"a}b", "{x}", "}{", "{}", "%7D}", strings.Repeat("}{a", 85)}

// TestIdempotencyKeysWithBraces: a client's Idempotency-Key holding '{' or
// '}' neither breaks nor picks its entry's hash tag: the operation, which
// writes its effect with CompleteTx under webhook.Idempotency, runs and
// is replayed as for any key, and its effect's keys hash like its entry.
// (Failed before the fix: CompleteTx refused "a}b", "}{" and the long key
// with ErrCrossSlot, a 500 for each request.)
func TestIdempotencyKeysWithBraces(t *testing.T) {
	db := newTestDB(t)
	s := db.IdempotencyStore()
	mw, err := webhook.Idempotency(s, webhook.IdempotencyOptions{Required: true})
	require.NoError(t, err)
	h := mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		c, ok := webhook.ClaimFromContext(ctx)
		if !ok {
			http.Error(w, "no claim", http.StatusInternalServerError)
			return
		}
		tag, err := s.HashTag(c.Key)
		if err == nil {
			err = s.CompleteTx(ctx, c.Key, time.Hour, func(p goredis.Pipeliner) error {
				return p.Incr(ctx, db.prefix+"runs:"+tag).Err()
			})
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte(tag))
	}))
	send := func(key string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, "/orders", strings.NewReader("tea"))
		req.Header.Set(webhook.HeaderIdempotencyKey, `"`+key+`"`)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	tags := map[string]string{}
	for _, key := range braceKeys {
		first := send(key)
		require.Equal(t, http.StatusCreated, first.Code, "key %q: %s", key, first.Body.String())
		tag := first.Body.String()
		again := send(key)
		require.Equal(t, http.StatusCreated, again.Code, "key %q", key)
		require.Equal(t, "true", again.Header().Get(webhook.HeaderIdempotentReplayed), "key %q", key)
		require.Equal(t, tag, again.Body.String(), "key %q", key)
		n, err := db.c.Get(t.Context(), db.prefix+"runs:"+tag).Int()
		require.NoError(t, err, "key %q", key)
		require.Equal(t, 1, n, "key %q: the effect applied once", key)
		storeKey := "idem:0::" + key
		require.Equal(t, hashed(s.key(storeKey)), hashed(db.prefix+"runs:"+tag), "key %q: the effect's key hashes like the entry", key)
		require.NotContains(t, tags, tag, "key %q shares its tag with key %q", key, tags[tag])
		tags[tag] = key
	}
}

// TestBraceKeysNeverPickTheTag: braces in a key never form, break or
// share a hash tag: keys differing only after a "{…}" get tags of their
// own, a key naming another entry's tag does not get it, and a key
// without braces is where it always was.
func TestBraceKeysNeverPickTheTag(t *testing.T) {
	client := goredis.NewClient(&goredis.Options{Addr: "127.0.0.1:1"}) // never dialled
	t.Cleanup(func() { _ = client.Close() })
	s := New(client).UpdateStore()
	victim, err := s.HashTag("idem:0::order-1")
	require.NoError(t, err)
	seen := map[string]string{}
	for _, key := range append([]string{"{x}1", "{x}2", victim, "a" + victim, "%7B", "{", "idem:0::order-1"}, braceKeys...) {
		tag, err := s.HashTag(key)
		require.NoError(t, err, "key %q", key)
		require.NotContains(t, seen, tag, "keys %q and %q share a tag", key, seen[tag])
		seen[tag] = key
		require.Equal(t, hashed(s.key(key)), hashed("fx:"+tag+":n"), "key %q", key)
		require.Equal(t, strings.ContainsAny(key, "{}"), s.key(key) != s.legacyKey(key), "key %q", key)
	}
	require.Equal(t, DefaultKeyPrefix+"wh:tg:1:5", s.key("tg:1:5"))
	require.Equal(t, DefaultKeyPrefix+"wh%:a%7Db%25%7B", s.key("a}b%{"))
}

// TestBraceKeysLegacyEntries: the entry of a key holding a brace written
// by a release with layout 2 (at <prefix>wh:<key>, unescaped) keeps
// answering Claim until it expires: done, in flight, and in flight with
// its lease passed (claimed anew).
func TestBraceKeysLegacyEntries(t *testing.T) {
	ctx := t.Context()
	db := newTestDB(t)
	s := db.UpdateStore()
	data := "resp"
	for key, e := range map[string]struct {
		entry  entry
		expiry time.Duration
		want   webhook.State
	}{
		"done{1}":   {entry{state: '2', owner: "old", data: &data}, time.Hour, webhook.Done},
		"live}2":    {entry{state: '1', owner: "old", data: &data}, InFlightGrace + time.Hour, webhook.InFlight},
		"passed{3":  {entry{state: '1', owner: "old"}, InFlightGrace - time.Second, webhook.Claimed},
		"absent}{4": {},
	} {
		if e.entry.state != 0 {
			require.NoError(t, db.c.Set(ctx, s.legacyKey(key), e.entry.encode(), e.expiry).Err())
		} else {
			e.want = webhook.Claimed
		}
		r, err := s.Claim(ctx, key, "new", time.Minute, nil)
		require.NoError(t, err, key)
		require.Equal(t, e.want, r.State, key)
		if e.want == webhook.Claimed {
			require.NoError(t, s.Complete(ctx, key, "new", time.Hour, []byte("new")), key)
			r, err = s.Claim(ctx, key, "other", time.Minute, nil)
			require.NoError(t, err, key)
			require.Equal(t, webhook.ClaimResult{State: webhook.Done, Data: []byte("new")}, r, key)
			continue
		}
		require.Equal(t, data, string(r.Data), key)
		n, err := db.c.Exists(context.WithoutCancel(ctx), s.key(key)).Result()
		require.NoError(t, err)
		require.Zero(t, n, "%s: nothing claimed at the new key", key)
	}
}
