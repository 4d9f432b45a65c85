package main

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"errors"

	"github.com/miniappkit/miniappkit/store/sqlite"
)

// fingerprint identifies a broadcast by its chat list and text: the
// default broadcast id, so another text is another broadcast.
func fingerprint(chats []int64, text string) string {
	h := sha256.New()
	var b [8]byte
	for _, id := range chats {
		binary.LittleEndian.PutUint64(b[:], uint64(id))
		h.Write(b[:])
	}
	h.Write([]byte(text))
	return hex.EncodeToString(h.Sum(nil))
}

// store is the data directory's SQLite file: the broadcast.Log of every
// broadcast (store/sqlite's tables) and, in the example's own tables, how
// many runs each took and the chats that did not simply get the message.
type store struct {
	db  *sqlite.DB
	log *sqlite.BroadcastLog
}

// The example's own tables, beside store/sqlite's.
const schema = `
CREATE TABLE IF NOT EXISTS example_broadcasts (
	id   TEXT PRIMARY KEY,
	runs INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS example_broadcast_chats (
	id     TEXT    NOT NULL,
	chat   INTEGER NOT NULL,
	reason TEXT    NOT NULL,
	PRIMARY KEY (id, chat)
) WITHOUT ROWID;`

// openStore opens (creating if missing) the file at path and its tables.
func openStore(ctx context.Context, path string) (*store, error) {
	db, err := sqlite.Open(path)
	if err != nil {
		return nil, err
	}
	if err := db.Migrate(ctx); err != nil {
		return nil, errors.Join(err, db.Close())
	}
	if _, err := db.SQL().ExecContext(ctx, schema); err != nil {
		return nil, errors.Join(err, db.Close())
	}
	return &store{db: db, log: db.BroadcastLog()}, nil
}

func (s *store) close() error { return s.db.Close() }

// restore loads broadcast id's earlier runs into r.
func (s *store) restore(ctx context.Context, id string, r *report) error {
	err := s.db.SQL().QueryRowContext(ctx, `SELECT runs FROM example_broadcasts WHERE id = ?`, id).Scan(&r.runs)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	rows, err := s.db.SQL().QueryContext(ctx, `SELECT chat, reason FROM example_broadcast_chats WHERE id = ?`, id)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var chat int64
		var reason string
		if err := rows.Scan(&chat, &reason); err != nil {
			return err
		}
		r.restore(chat, reason)
	}
	return rows.Err()
}

// countRun counts one more run of broadcast id, in the file and in r.
func (s *store) countRun(ctx context.Context, id string, r *report) error {
	var runs int
	err := s.db.SQL().QueryRowContext(ctx, `INSERT INTO example_broadcasts (id, runs) VALUES (?, 1)
	ON CONFLICT (id) DO UPDATE SET runs = runs + 1 RETURNING runs`, id).Scan(&runs)
	if err != nil {
		return err
	}
	r.mu.Lock()
	r.runs = runs
	r.mu.Unlock()
	return nil
}

// recordFailure saves that chat did not simply get broadcast id's message.
func (s *store) recordFailure(ctx context.Context, id string, chat int64, reason string) error {
	_, err := s.db.SQL().ExecContext(ctx, `INSERT INTO example_broadcast_chats (id, chat, reason) VALUES (?, ?, ?)
	ON CONFLICT (id, chat) DO UPDATE SET reason = excluded.reason`, id, chat, reason)
	return err
}
