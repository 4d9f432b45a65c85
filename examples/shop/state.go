package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	goredis "github.com/redis/go-redis/v9"

	"github.com/miniappkit/miniappkit/payments"
	"github.com/miniappkit/miniappkit/ratelimit"
	"github.com/miniappkit/miniappkit/store/postgres"
	"github.com/miniappkit/miniappkit/store/redis"
	"github.com/miniappkit/miniappkit/store/sqlite"
	"github.com/miniappkit/miniappkit/webhook"
)

// state is where the shop keeps everything that must outlive the process:
// the payments ledger, the webhook's handled updates, the Idempotency-Key
// answers, and the shop's own tables (orders, the confirmation outbox,
// settings and the sender's lease), which live in the ledger's database so
// a fulfilment writes them in the ledger's transaction.
//
// One process: a SQLite file (store/sqlite). Replicas: PostgreSQL
// (store/postgres) for the ledger and the shop's tables, Redis
// (store/redis) for handled updates, Idempotency-Key answers and
// Telegram's limits; see README.md, "Deployment shapes".
type state struct {
	desc        string // what the shop prints at start
	ledger      payments.Ledger
	updates     webhook.Store   // update_id dedupe
	idempotency webhook.Store   // POST /api/orders answers
	rates       ratelimit.Store // Telegram's limits; nil: the process's own
	queue       webhook.Queue   // the durable update queue
	db          sqlDB
	close       func()
}

// sqlDB is the shop's own tables on the ledger's engine. Queries are
// written with ? placeholders and {now} for the engine's clock in Unix
// milliseconds; each engine rewrites them to its dialect.
type sqlDB interface {
	// exec runs a statement and returns the rows it changed.
	exec(ctx context.Context, q string, args ...any) (int64, error)
	// execTx runs a statement in the ledger's transaction tx (the Tx a
	// FulfilFunc or RefundFunc is given).
	execTx(ctx context.Context, tx payments.Tx, q string, args ...any) (int64, error)
	// query runs a query and calls scan for each row.
	query(ctx context.Context, q string, scan func(scan func(dest ...any) error) error, args ...any) error
	// queryTx is query in the ledger's transaction tx.
	queryTx(ctx context.Context, tx payments.Tx, q string, scan func(scan func(dest ...any) error) error, args ...any) error
}

// defaultDataDir is where the SQLite file goes when DATA_DIR is unset: the
// user's data directory, read through getenv: $XDG_DATA_HOME (else
// ~/.local/share) on Linux and the BSDs, ~/Library/Application Support on
// macOS, %LocalAppData% on Windows.
func defaultDataDir(getenv func(string) string) (string, error) {
	const name = "miniappkit-shop"
	home := getenv("HOME")
	switch runtime.GOOS {
	case "windows":
		if d := getenv("LocalAppData"); d != "" {
			return filepath.Join(d, name), nil
		}
	case "darwin", "ios":
		if home != "" {
			return filepath.Join(home, "Library", "Application Support", name), nil
		}
	default:
		if d := getenv("XDG_DATA_HOME"); d != "" {
			return filepath.Join(d, name), nil
		}
		if home != "" {
			return filepath.Join(home, ".local", "share", name), nil
		}
	}
	return "", errors.New("no home directory to keep the data in: set DATA_DIR")
}

// openState opens the store the configuration names: PostgreSQL with
// DATABASE_URL, else the SQLite file shop.db in DataDir.
// With REDIS_URL, handled updates, Idempotency-Key answers and Telegram's
// limits move to Redis (store/redis), shared by every replica.
func openState(ctx context.Context, cfg config) (*state, error) {
	var (
		st  *state
		err error
	)
	if cfg.DatabaseURL != "" {
		st, err = openPostgres(ctx, cfg.DatabaseURL)
	} else {
		st, err = openSQLite(ctx, cfg.DataDir, cfg.SQLiteSync)
	}
	if err != nil || cfg.RedisURL == "" {
		return st, err
	}
	opt, err := goredis.ParseURL(cfg.RedisURL)
	if err != nil {
		st.close()
		return nil, fmt.Errorf("REDIS_URL: %w", err)
	}
	opt.ContextTimeoutEnabled = true // honour each call's ctx deadline (see store/redis's "Context")
	client := goredis.NewClient(opt)
	rdb := redis.New(client)
	if err := rdb.Migrate(ctx); err != nil {
		client.Close()
		st.close()
		return nil, fmt.Errorf("redis: %w", err)
	}
	sqlClose := st.close
	st.desc += fmt.Sprintf(" + Redis %s/%d", opt.Addr, opt.DB)
	st.updates = rdb.UpdateStore()
	st.idempotency = st.updates
	st.rates = rdb.RateStore()
	st.close = func() { client.Close(); sqlClose() }
	return st, nil
}

// The durable update queue: its name in the engine's queue table, and the
// pop lease, after which an update whose worker died is handed out again
// (well above the longest handler run: a pre-checkout answers within 10 s).
const (
	queueName  = "shop"
	queueLease = 15 * time.Second
)

// sqliteFile is the name of the shop's SQLite file in its data directory.
const sqliteFile = "shop.db"

func openSQLite(ctx context.Context, dir, sync string) (*state, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("DATA_DIR: %w", err)
	}
	path := filepath.Join(dir, sqliteFile)
	var opts []sqlite.Option
	if sync != "" {
		opts = append(opts, sqlite.WithSynchronous(sync))
	}
	db, err := sqlite.Open(path, opts...)
	if err != nil {
		return nil, err
	}
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("migrate %s: %w", path, err)
	}
	lite := liteDB{db.SQL()}
	for _, q := range shopSchema {
		if _, err := lite.exec(ctx, q); err != nil {
			db.Close()
			return nil, fmt.Errorf("migrate %s: %w", path, err)
		}
	}
	st := db.UpdateStore()
	return &state{
		desc:   "SQLite " + path,
		ledger: db.Ledger(), updates: st, idempotency: st, queue: db.UpdateQueue(queueName, queueLease),
		db: lite, close: func() { db.Close() },
	}, nil
}

func openPostgres(ctx context.Context, url string) (*state, error) {
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("DATABASE_URL: %w", err)
	}
	db := postgres.New(pool)
	if err := db.Migrate(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("migrate: %w", err)
	}
	pg := pgDB{pool}
	// Replicas start together: one at a time creates the shop's tables.
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(727274)"); err != nil {
			return err
		}
		for _, q := range shopSchema {
			if _, err := tx.Exec(ctx, q); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("migrate: %w", err)
	}
	st := db.UpdateStore()
	cfg := pool.Config().ConnConfig
	return &state{
		desc:   fmt.Sprintf("PostgreSQL %s:%d/%s", cfg.Host, cfg.Port, cfg.Database),
		ledger: db.Ledger(), updates: st, idempotency: st, queue: db.UpdateQueue(queueName, queueLease),
		db: pg, close: pool.Close,
	}, nil
}

// shopSchema is the shop's own tables, the same on SQLite and PostgreSQL.
// Times are Unix milliseconds.
var shopSchema = []string{
	`CREATE TABLE IF NOT EXISTS shop_orders (
		id         TEXT PRIMARY KEY,
		user_id    BIGINT NOT NULL,
		product_id TEXT NOT NULL,
		stars      BIGINT NOT NULL,
		status     TEXT NOT NULL,
		created_at BIGINT NOT NULL,
		paid_at    BIGINT,
		charge_id  TEXT
	)`,
	`CREATE INDEX IF NOT EXISTS shop_orders_user ON shop_orders (user_id, status, created_at)`,
	`CREATE INDEX IF NOT EXISTS shop_orders_unpaid ON shop_orders (created_at) WHERE status = 'pending'`,
	// One message per (charge, kind), written in the ledger's transaction;
	// sent_at is set once Telegram took it.
	`CREATE TABLE IF NOT EXISTS shop_outbox (
		charge_id  TEXT NOT NULL,
		kind       TEXT NOT NULL,
		chat_id    BIGINT NOT NULL,
		text       TEXT NOT NULL,
		created_at BIGINT NOT NULL,
		sent_at    BIGINT,
		PRIMARY KEY (charge_id, kind)
	)`,
	`CREATE INDEX IF NOT EXISTS shop_outbox_unsent ON shop_outbox (created_at) WHERE sent_at IS NULL`,
	`CREATE TABLE IF NOT EXISTS shop_settings (name TEXT PRIMARY KEY, value TEXT NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS shop_leases (name TEXT PRIMARY KEY, owner TEXT NOT NULL, until_ms BIGINT NOT NULL)`,
}

// setting returns the value stored under name, storing value first if
// there is none: every replica ends up with the first one stored.
func setting(ctx context.Context, db sqlDB, name, value string) (string, error) {
	if _, err := db.exec(ctx, `INSERT INTO shop_settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING`, name, value); err != nil {
		return "", err
	}
	var v string
	err := db.query(ctx, `SELECT value FROM shop_settings WHERE name = ?`, func(scan func(...any) error) error {
		return scan(&v)
	}, name)
	return v, err
}

// payloadKey is PAYLOAD_KEY, or else a random key made once and kept in the
// database, so invoices issued before a restart (or by another replica)
// still verify.
func payloadKey(ctx context.Context, db sqlDB, configured string) ([]byte, error) {
	if configured != "" {
		return []byte(configured), nil
	}
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	v, err := setting(ctx, db, "payload_key", hex.EncodeToString(b))
	if err != nil {
		return nil, fmt.Errorf("payload key: %w", err)
	}
	return hex.DecodeString(v)
}

// liteDB is sqlDB on SQLite's writer connection.
type liteDB struct{ db *sql.DB }

func liteSQL(q string) string {
	return strings.ReplaceAll(q, "{now}", "CAST(unixepoch('subsec') * 1000 AS INTEGER)")
}

func (l liteDB) exec(ctx context.Context, q string, args ...any) (int64, error) {
	r, err := l.db.ExecContext(ctx, liteSQL(q), args...)
	if err != nil {
		return 0, err
	}
	return r.RowsAffected()
}

func (l liteDB) execTx(ctx context.Context, tx payments.Tx, q string, args ...any) (int64, error) {
	t, ok := tx.(*sql.Tx)
	if !ok {
		return 0, fmt.Errorf("shop: want the ledger's *sql.Tx, got %T", tx)
	}
	r, err := t.ExecContext(ctx, liteSQL(q), args...)
	if err != nil {
		return 0, err
	}
	return r.RowsAffected()
}

func (l liteDB) query(ctx context.Context, q string, scan func(func(...any) error) error, args ...any) error {
	rows, err := l.db.QueryContext(ctx, liteSQL(q), args...)
	if err != nil {
		return err
	}
	return scanSQL(rows, scan)
}

func (l liteDB) queryTx(ctx context.Context, tx payments.Tx, q string, scan func(func(...any) error) error, args ...any) error {
	t, ok := tx.(*sql.Tx)
	if !ok {
		return fmt.Errorf("shop: want the ledger's *sql.Tx, got %T", tx)
	}
	rows, err := t.QueryContext(ctx, liteSQL(q), args...)
	if err != nil {
		return err
	}
	return scanSQL(rows, scan)
}

func scanSQL(rows *sql.Rows, scan func(func(...any) error) error) error {
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows.Scan); err != nil {
			return err
		}
	}
	return rows.Err()
}

// pgDB is sqlDB on a pgx pool.
type pgDB struct{ pool *pgxpool.Pool }

// pgSQL numbers the placeholders ($1, $2, ...) and puts in the server's
// clock.
func pgSQL(q string) string {
	q = strings.ReplaceAll(q, "{now}", "(extract(epoch FROM clock_timestamp()) * 1000)::bigint")
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func (p pgDB) exec(ctx context.Context, q string, args ...any) (int64, error) {
	t, err := p.pool.Exec(ctx, pgSQL(q), args...)
	return t.RowsAffected(), err
}

func (p pgDB) execTx(ctx context.Context, tx payments.Tx, q string, args ...any) (int64, error) {
	t, ok := tx.(pgx.Tx)
	if !ok {
		return 0, fmt.Errorf("shop: want the ledger's pgx.Tx, got %T", tx)
	}
	tag, err := t.Exec(ctx, pgSQL(q), args...)
	return tag.RowsAffected(), err
}

func (p pgDB) query(ctx context.Context, q string, scan func(func(...any) error) error, args ...any) error {
	rows, err := p.pool.Query(ctx, pgSQL(q), args...)
	if err != nil {
		return err
	}
	return scanPG(rows, scan)
}

func (p pgDB) queryTx(ctx context.Context, tx payments.Tx, q string, scan func(func(...any) error) error, args ...any) error {
	t, ok := tx.(pgx.Tx)
	if !ok {
		return fmt.Errorf("shop: want the ledger's pgx.Tx, got %T", tx)
	}
	rows, err := t.Query(ctx, pgSQL(q), args...)
	if err != nil {
		return err
	}
	return scanPG(rows, scan)
}

func scanPG(rows pgx.Rows, scan func(func(...any) error) error) error {
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows.Scan); err != nil {
			return err
		}
	}
	return rows.Err()
}
