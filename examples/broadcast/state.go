package main

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/miniappkit/miniappkit/broadcast"
)

// state is what the state file holds: which broadcast (a fingerprint of
// the chat list and the text), where it stands, and the chats that did not
// get the message so far.
type state struct {
	Fingerprint string           `json:"fingerprint"`
	Cursor      broadcast.Cursor `json:"cursor"`
	Blocked     []int64          `json:"blocked,omitempty"`
	NotFound    []int64          `json:"not_found,omitempty"`
	Unknown     []int64          `json:"unknown,omitempty"`
	// Runs so far, and the chats they delivered to (migrated chats apart).
	Runs      int `json:"runs"`
	Delivered int `json:"delivered"`
	Migrated  int `json:"migrated,omitempty"`
}

// fingerprint identifies a broadcast, so a state file is never applied to
// another one.
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

// errOtherBroadcast means the state file belongs to another broadcast.
var errOtherBroadcast = errors.New("the state file belongs to another broadcast (other chats or text); remove it or pick another -state")

// loadState returns the saved state of the broadcast fp, and whether there
// was one.
func loadState(path, fp string) (state, bool, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return state{}, false, nil
	}
	if err != nil {
		return state{}, false, err
	}
	var s state
	if err := json.Unmarshal(b, &s); err != nil {
		return state{}, false, fmt.Errorf("%s: %w", path, err)
	}
	if s.Fingerprint != fp {
		return state{}, false, fmt.Errorf("%s: %w", path, errOtherBroadcast)
	}
	return s, true, nil
}

// saveState writes s atomically: a crash leaves the old file or the new
// one, never half of one.
func saveState(path string, s state) error {
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".broadcast-state-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after a successful rename there is nothing to remove
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
