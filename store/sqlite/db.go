package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"modernc.org/sqlite" // the "sqlite" database/sql driver
	sqlite3 "modernc.org/sqlite/lib"
)

// DB is one SQLite file holding miniappkit's tables. Open it with [Open],
// apply its schema with [DB.Migrate], and take the stores from it. It is
// safe for concurrent use.
type DB struct {
	w *sql.DB // the one writer connection
	r *sql.DB // read-only connections

	stmts sync.Map // SQL text → *sql.Stmt on w, prepared on first use
}

// Option configures [Open].
type Option func(*options)

type options struct {
	readers     int
	synchronous string
	busyTimeout int // milliseconds
	errs        []error
}

// DefaultReaders is the size of the read-only connection pool when
// [WithReaders] is not given.
const DefaultReaders = 4

// WithReaders sets the number of read-only connections (default
// [DefaultReaders]). n must be at least 1.
func WithReaders(n int) Option {
	return func(o *options) {
		if n < 1 {
			o.errs = append(o.errs, fmt.Errorf("sqlite: readers must be at least 1, got %d", n))
			return
		}
		o.readers = n
	}
}

// WithSynchronous sets PRAGMA synchronous: "FULL" (the default), "NORMAL"
// or "EXTRA". See the package doc, "Durability".
func WithSynchronous(mode string) Option {
	return func(o *options) {
		switch m := strings.ToUpper(mode); m {
		case "FULL", "NORMAL", "EXTRA":
			o.synchronous = m
		default:
			o.errs = append(o.errs, fmt.Errorf("sqlite: synchronous must be FULL, NORMAL or EXTRA, got %q", mode))
		}
	}
}

// WithBusyTimeout sets how long a write waits for another process's write
// to end before failing with SQLITE_BUSY, in milliseconds (default 10 000).
func WithBusyTimeout(ms int) Option {
	return func(o *options) {
		if ms < 0 {
			o.errs = append(o.errs, fmt.Errorf("sqlite: busy timeout must not be negative, got %d", ms))
			return
		}
		o.busyTimeout = ms
	}
}

// Open opens (creating if missing) the SQLite file at path. It does not
// create or change tables: call [DB.Migrate]. path is a file name, not a
// URI; it must not contain '?'.
func Open(path string, opts ...Option) (*DB, error) {
	o := options{readers: DefaultReaders, synchronous: "FULL", busyTimeout: 10_000}
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	if path == "" || strings.ContainsAny(path, "?#") {
		o.errs = append(o.errs, fmt.Errorf("sqlite: path must be a non-empty file name without '?' or '#', got %q", path))
	}
	if err := errors.Join(o.errs...); err != nil {
		return nil, err
	}
	busy := fmt.Sprintf("%s?_pragma=busy_timeout(%d)", path, o.busyTimeout)
	w, err := sql.Open("sqlite", fmt.Sprintf("%s&_pragma=journal_mode(WAL)&_pragma=synchronous(%s)&_txlock=immediate", busy, o.synchronous))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	// The writer opens first, so the file exists and is in WAL mode before
	// a read-only connection looks at it.
	if err := pingWhileBusy(w, time.Duration(o.busyTimeout)*time.Millisecond); err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open: %w", err)
	}
	// WAL mode is kept in the file: readers need only the busy timeout.
	r, err := sql.Open("sqlite", busy+"&_query_only=1")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open: %w", err)
	}
	r.SetMaxOpenConns(o.readers)
	r.SetMaxIdleConns(o.readers)
	return &DB{w: w, r: r}, nil
}

// pingWhileBusy opens the writer's connection, retrying while the file
// is busy for at most timeout. Switching a file to WAL mode needs a lock
// for which SQLite does not call its busy handler, so two processes
// opening one fresh file at once can see SQLITE_BUSY from the pragma
// itself, whatever busy_timeout says.
func pingWhileBusy(w *sql.DB, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for wait := time.Millisecond; ; wait = min(2*wait, 100*time.Millisecond) {
		err := w.Ping()
		if !isBusy(err) || time.Now().Add(wait).After(deadline) {
			return err
		}
		time.Sleep(wait)
	}
}

// isBusy reports whether err is SQLITE_BUSY (any extended code).
func isBusy(err error) bool {
	var e *sqlite.Error
	return errors.As(err, &e) && e.Code()&0xff == sqlite3.SQLITE_BUSY
}

// Close closes the file's connections.
func (db *DB) Close() error {
	var errs []error
	db.stmts.Range(func(_, v any) bool {
		errs = append(errs, v.(*sql.Stmt).Close())
		return true
	})
	return errors.Join(append(errs, db.r.Close(), db.w.Close())...)
}

// stmt returns q prepared on the writer. Statements are prepared once and
// reused: compiling a statement costs SQLite about as much as running it.
func (db *DB) stmt(ctx context.Context, q string) (*sql.Stmt, error) {
	if v, ok := db.stmts.Load(q); ok {
		return v.(*sql.Stmt), nil
	}
	st, err := db.w.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	if v, loaded := db.stmts.LoadOrStore(q, st); loaded {
		st.Close()
		return v.(*sql.Stmt), nil
	}
	return st, nil
}

// exec runs q, prepared, on the writer.
func (db *DB) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	st, err := db.stmt(ctx, q)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

// queryRow runs q, prepared, on the writer; it returns the error of
// preparing, if any, as the row's.
func (db *DB) queryRow(ctx context.Context, q string, args ...any) (*sql.Row, error) {
	st, err := db.stmt(ctx, q)
	if err != nil {
		return nil, err
	}
	return st.QueryRowContext(ctx, args...), nil
}

// SQL returns the writer: a *sql.DB with a single connection, for the
// application's own tables in the same file, for example to write an
// update's effect in the transaction that completes its claim
// ([UpdateStore.CompleteTx]). Keep its transactions short: every write to
// the file waits for them. Inside such a transaction use only the
// transaction (and CompleteTx): any other call on this DB from the same
// goroutine would wait for the connection the transaction holds.
func (db *DB) SQL() *sql.DB { return db.w }

// wrap names the operation on a driver error; it keeps context errors
// recognisable with errors.Is.
func wrap(op string, err error) error {
	return fmt.Errorf("sqlite: %s: %w", op, err)
}
