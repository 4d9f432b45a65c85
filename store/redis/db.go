package redis

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"
)

// DB is miniappkit's keys on a Redis server (or cluster), over the
// caller's client. Call [DB.Migrate] once at start, and take the stores
// from it. It is safe for concurrent use.
type DB struct {
	c      redis.UniversalClient
	prefix string
	err    error // a bad option: every call fails with it
	cmdState
}

// Option configures [New].
type Option func(*options)

type options struct {
	prefix string
	errs   []string
}

// DefaultKeyPrefix starts every key when [WithKeyPrefix] is not given.
const DefaultKeyPrefix = "miniappkit:"

// WithKeyPrefix sets the string every key starts with (default
// [DefaultKeyPrefix]), so several bots or tests can share a server. It
// must not be empty; end it with a separator such as ':'. It may hold a
// Redis Cluster hash tag ("app{7}:") to put every key on one slot, but
// not an empty one ("{}" first): Redis would then hash each whole key, and
// a script's keys would land on different slots (CROSSSLOT).
func WithKeyPrefix(prefix string) Option {
	return func(o *options) {
		if prefix == "" {
			o.errs = append(o.errs, "empty key prefix")
			return
		}
		if i := strings.IndexByte(prefix, '{'); i >= 0 && strings.HasPrefix(prefix[i+1:], "}") {
			o.errs = append(o.errs, fmt.Sprintf("key prefix %q starts an empty hash tag", prefix))
			return
		}
		o.prefix = prefix
	}
}

// New returns the stores over client. It does not touch the server. An
// invalid option makes every call fail with an error naming it. The
// caller keeps ownership of client and closes it.
func New(client redis.UniversalClient, opts ...Option) *DB {
	o := options{prefix: DefaultKeyPrefix}
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	if client == nil {
		o.errs = append(o.errs, "nil client")
	}
	db := &DB{c: client, prefix: o.prefix}
	db.cmdLock = make(chan struct{}, 1)
	if len(o.errs) > 0 {
		db.err = fmt.Errorf("redis: %s", strings.Join(o.errs, "; "))
	}
	return db
}

// Client returns the client the stores use.
func (db *DB) Client() redis.UniversalClient { return db.c }

// KeyPrefix returns the string every key of the stores starts with.
func (db *DB) KeyPrefix() string { return db.prefix }

// schemaVersions is what Migrate records: the layout version of each
// feature's keys. A feature whose layout changes bumps its number and
// either teaches Migrate to convert or reads the old layout in place:
// "updates" 2 (one string per entry) still reads layout 1's hashes, which
// expire on their own, and "updates" 3 (braces in a key escaped) still
// reads the entries of such keys where layout 2 kept them (see Layout in
// the package doc).
var schemaVersions = map[string]int{"ledger": 1, "updates": 3}

// ErrNewerLayout is the error of [DB.Migrate] when the server holds a
// feature's keys in a layout newer than this version of the package knows
// (a newer release migrated it): the stores would misread them.
var ErrNewerLayout = errors.New("redis: the server's key layout is newer than this version of miniappkit knows")

// Migrate checks the server, loads the stores' scripts and records the
// key layout's version per feature under <prefix>migrations. It is
// idempotent and safe to run from several processes at once (the record
// is one script: it never lowers a version). When the server holds a
// feature at a newer version than this package knows, it fails with
// [ErrNewerLayout] and changes nothing. Redis needs no tables, so it has
// nothing else to do today.
func (db *DB) Migrate(ctx context.Context) error {
	if db.err != nil {
		return db.err
	}
	var errs []error
	for _, s := range scripts {
		if err := s.Load(ctx, db.c).Err(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return wrap("migrate: load scripts", err)
	}
	args := make([]any, 0, 2*len(schemaVersions))
	for k, v := range schemaVersions {
		args = append(args, k, v)
	}
	newer, err := versionScript.Run(ctx, db.c, []string{db.prefix + "migrations"}, args...).Text()
	if err != nil {
		return wrap("migrate", err)
	}
	if newer != "" {
		return fmt.Errorf("redis: migrate: feature %s: %w", newer, ErrNewerLayout)
	}
	return nil
}

// versionScript: KEYS[1] the migrations hash; ARGV feature, version
// pairs. Returns the first feature the hash holds at a higher version
// (and then writes nothing), or "" after raising every lower or missing
// version to ARGV's.
var versionScript = redis.NewScript(`
for i = 1, #ARGV, 2 do
	local cur = tonumber(redis.call('HGET', KEYS[1], ARGV[i]) or '0')
	if cur > tonumber(ARGV[i+1]) then return ARGV[i] end
end
for i = 1, #ARGV, 2 do
	redis.call('HSET', KEYS[1], ARGV[i], ARGV[i+1])
end
return ''
`)

// scripts is every script the stores run, loaded by Migrate (EVALSHA
// falls back to EVAL on a server that has not seen a script anyway).
var scripts = append(append([]*redis.Script{claimScript, peekScript, extendScript, completeScript, releaseScript, versionScript}, queueScripts...), ledgerScripts...)

// wrap names the operation on a driver error. go-redis's errors carry no
// password.
func wrap(op string, err error) error {
	return fmt.Errorf("redis: %s: %w", op, err)
}
