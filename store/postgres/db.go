package postgres

import (
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// DB is miniappkit's tables in one schema of a PostgreSQL database, over
// the caller's pool. Apply the schema with [DB.Migrate], and take the
// stores from it. It is safe for concurrent use.
type DB struct {
	pool   *pgxpool.Pool
	schema string // as given
	ident  string // quoted, for SQL text
	err    error  // a bad option: every call fails with it
}

// Option configures [New].
type Option func(*options)

type options struct {
	schema string
	errs   []string
}

// DefaultSchema is the schema miniappkit's tables go in when [WithSchema]
// is not given.
const DefaultSchema = "miniappkit"

// WithSchema sets the schema that holds miniappkit's tables (default
// [DefaultSchema]). [DB.Migrate] creates it if missing. The name must be
// 1-63 bytes.
func WithSchema(name string) Option {
	return func(o *options) {
		if name == "" || len(name) > 63 {
			o.errs = append(o.errs, fmt.Sprintf("schema name must be 1-63 bytes, got %q", name))
			return
		}
		o.schema = name
	}
}

// New returns the stores over pool. It does not touch the database: call
// [DB.Migrate]. An invalid option makes every call fail with an error
// naming it. The caller keeps ownership of pool and closes it.
func New(pool *pgxpool.Pool, opts ...Option) *DB {
	o := options{schema: DefaultSchema}
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	db := &DB{pool: pool, schema: o.schema, ident: pgx.Identifier{o.schema}.Sanitize()}
	if pool == nil {
		o.errs = append(o.errs, "nil pool")
	}
	if len(o.errs) > 0 {
		db.err = fmt.Errorf("postgres: %s", strings.Join(o.errs, "; "))
	}
	return db
}

// Pool returns the pool the stores use, for the application's own
// statements, for example an update's effect written in the transaction
// that completes its claim ([UpdateStore.CompleteTx]).
func (db *DB) Pool() *pgxpool.Pool { return db.pool }

// Schema returns the schema that holds miniappkit's tables.
func (db *DB) Schema() string { return db.schema }

// sql puts the quoted schema into a statement written with {schema}.
func (db *DB) sql(q string) string { return strings.ReplaceAll(q, "{schema}", db.ident) }

// wrap names the operation on a driver error. pgx's errors name the host
// and user at most, never the password.
func wrap(op string, err error) error {
	return fmt.Errorf("postgres: %s: %w", op, err)
}
