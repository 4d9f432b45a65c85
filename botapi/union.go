package botapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
)

// This file holds the hand-written helpers of the generated union decoders:
// a small scanner that finds one top-level key of a JSON object without
// decoding the rest, so dispatching on a discriminator costs one cheap pass
// before the single real decode.

// errNotObject is returned by the scanner for input that is not a JSON
// object; the generated decoders wrap it with the union's name.
var errNotObject = errors.New("not a JSON object")

// errInvalidJSON is returned for an unknown member whose bytes are not valid
// JSON (only possible when a decoder is called directly, not by encoding/json).
var errInvalidJSON = errors.New("botapi: invalid JSON")

// isNull reports whether b is the JSON literal null (with optional spaces).
func isNull(b []byte) bool {
	b = trimSpace(b)
	return len(b) == 4 && string(b) == "null"
}

// firstByte returns the first non-space byte of b, or 0.
func firstByte(b []byte) byte {
	b = trimSpace(b)
	if len(b) == 0 {
		return 0
	}
	return b[0]
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && isSpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// peekKey returns the raw value of the top-level key in the JSON object b.
// It checks only as much syntax as it needs to skip other values; the real
// decode that follows validates everything. Keys match as encoding/json
// matches them to struct fields, so the dispatch and the decode always agree:
// case-insensitively (bytes.EqualFold), and the last occurrence wins.
func peekKey(b []byte, key string) (val []byte, found bool, err error) {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return nil, false, errNotObject
	}
	i++
	for {
		i = skipSpace(b, i)
		if i >= len(b) {
			return nil, false, errNotObject
		}
		if b[i] == '}' {
			return val, found, nil
		}
		if b[i] == ',' {
			i++
			continue
		}
		if b[i] != '"' {
			return nil, false, errNotObject
		}
		end, escaped := scanString(b, i)
		if end < 0 {
			return nil, false, errNotObject
		}
		k := b[i+1 : end-1]
		match := bytes.EqualFold(k, []byte(key))
		if escaped {
			var s string
			match = json.Unmarshal(b[i:end], &s) == nil && strings.EqualFold(s, key)
		}
		i = skipSpace(b, end)
		if i >= len(b) || b[i] != ':' {
			return nil, false, errNotObject
		}
		i = skipSpace(b, i+1)
		vend := skipValue(b, i)
		if vend < 0 {
			return nil, false, errNotObject
		}
		if match {
			val, found = b[i:vend], true
		}
		i = vend
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// scanString returns the index just past the string starting at b[i] == '"',
// or -1, and whether it holds escapes or non-ASCII bytes (then only
// unquoting it tells what encoding/json reads: invalid UTF-8 becomes U+FFFD).
func scanString(b []byte, i int) (int, bool) {
	escaped := false
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '\\':
			escaped = true
			j++
		case c == '"':
			return j + 1, escaped
		case c >= 0x80:
			escaped = true
		}
	}
	return -1, escaped
}

// skipValue returns the index just past the value starting at b[i], or -1.
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		end, _ := scanString(b, i)
		return end
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				end, _ := scanString(b, j)
				if end < 0 {
					return -1
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return -1
	default:
		j := i
		for j < len(b) && !isSpace(b[j]) && b[j] != ',' && b[j] != '}' && b[j] != ']' {
			j++
		}
		if j == i {
			return -1
		}
		return j
	}
}

// peekString returns the string value of the top-level key, or "" when the
// key is absent or not a string.
func peekString(b []byte, key string) (string, error) {
	v, ok, err := peekKey(b, key)
	if err != nil || !ok || len(v) < 2 || v[0] != '"' {
		return "", err
	}
	s := v[1 : len(v)-1]
	for _, c := range s {
		if c == '\\' {
			var u string
			if err := json.Unmarshal(v, &u); err != nil {
				return "", err
			}
			return u, nil
		}
	}
	return string(s), nil
}

// peekZero reports whether the top-level key is absent, null or the integer 0.
func peekZero(b []byte, key string) (bool, error) {
	v, ok, err := peekKey(b, key)
	if err != nil {
		return false, err
	}
	return !ok || string(v) == "0" || string(v) == "-0" || string(v) == "null", nil
}

// hasKey reports whether the JSON object b has the top-level key.
func hasKey(b []byte, key string) bool {
	_, ok, _ := peekKey(b, key)
	return ok
}

// hasKeys reports whether the JSON object b has every one of the top-level keys.
func hasKeys(b []byte, keys ...string) bool {
	for _, k := range keys {
		if !hasKey(b, k) {
			return false
		}
	}
	return true
}

// messageOrTrue decodes the result of methods that return the edited
// Message, or True for inline messages.
type messageOrTrue struct{ m *Message }

func (x *messageOrTrue) UnmarshalJSON(b []byte) error {
	switch string(trimSpace(b)) {
	case "true", "null":
		x.m = nil
		return nil
	case "false":
		return errors.New("botapi: result is false, want a Message or true")
	}
	x.m = new(Message)
	return json.Unmarshal(b, x.m)
}

// decodeNew decodes b into a new T.
func decodeNew[T any](b []byte) (*T, error) {
	v := new(T)
	if err := json.Unmarshal(b, v); err != nil {
		return nil, err
	}
	return v, nil
}

// decodeWire decodes b into a new wire type W and completes it into a *T.
func decodeWire[W, T any](b []byte, fill func(*W) *T) (*T, error) {
	w := new(W)
	if err := json.Unmarshal(b, w); err != nil {
		return nil, err
	}
	return fill(w), nil
}

// unknownRaw returns a copy of b for an Unknown… member, or an error when b
// is not valid JSON (encoding/json has checked it already when it calls a
// decoder; direct callers may not have).
func unknownRaw(b []byte) (json.RawMessage, error) {
	if !json.Valid(b) {
		return nil, errInvalidJSON
	}
	return bytes.Clone(b), nil
}
