package initdata

import (
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// A hand-written reader for the two small JSON objects of init data (user and
// chat). It exists for speed: it copies each string once into one shared
// strings.Builder (one allocation for all of them) where encoding/json would
// allocate per field and reflect on every call.
//
// It is strict about structure (the value must be one JSON object, nothing
// after it, nesting at most maxDepth) and lenient about scalar types only
// where clients are known to be: an integer or boolean field may be sent as
// a JSON string ("123", "true"). Unknown fields are skipped.

const maxDepth = 32

type jsonReader struct {
	s   []byte
	i   int
	out *strings.Builder
	tmp []byte // scratch for unescaping
	bad bool
}

func (r *jsonReader) ws() {
	for r.i < len(r.s) {
		switch r.s[r.i] {
		case ' ', '\t', '\n', '\r':
			r.i++
		default:
			return
		}
	}
}

func (r *jsonReader) peek() byte {
	r.ws()
	if r.i < len(r.s) {
		return r.s[r.i]
	}
	return 0
}

func (r *jsonReader) expect(c byte) {
	if r.peek() != c {
		r.bad = true
		return
	}
	r.i++
}

// rawString reads a JSON string and returns its content (without quotes,
// still escaped) and whether it has escapes.
func (r *jsonReader) rawString() ([]byte, bool) {
	if r.peek() != '"' {
		r.bad = true
		return nil, false
	}
	r.i++
	start, esc := r.i, false
	for r.i < len(r.s) {
		c := r.s[r.i]
		switch {
		case c == '"':
			r.i++
			return r.s[start : r.i-1], esc
		case c == '\\':
			esc = true
			r.i += 2
		case c < 0x20:
			r.bad = true
			return nil, false
		default:
			r.i++
		}
	}
	r.bad = true
	return nil, false
}

// unescape appends the decoded content of a JSON string to dst. Invalid
// escapes set r.bad; lone surrogates become U+FFFD, as with encoding/json.
func (r *jsonReader) unescape(dst, s []byte) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			dst = append(dst, c)
			continue
		}
		i++
		if i >= len(s) {
			r.bad = true
			return dst
		}
		switch s[i] {
		case '"', '\\', '/':
			dst = append(dst, s[i])
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r1, ok := hex4(s[i+1:])
			if !ok {
				r.bad = true
				return dst
			}
			i += 4
			if utf16.IsSurrogate(r1) {
				if i+6 < len(s) && s[i+1] == '\\' && s[i+2] == 'u' {
					if r2, ok := hex4(s[i+3:]); ok {
						if dec := utf16.DecodeRune(r1, r2); dec != utf8.RuneError {
							dst = utf8.AppendRune(dst, dec)
							i += 6
							continue
						}
					}
				}
				r1 = utf8.RuneError
			}
			dst = utf8.AppendRune(dst, r1)
		default:
			r.bad = true
			return dst
		}
	}
	return dst
}

func hex4(s []byte) (rune, bool) {
	if len(s) < 4 {
		return 0, false
	}
	var v rune
	for _, c := range s[:4] {
		if !isHex(c) {
			return 0, false
		}
		v = v<<4 | rune(unhex(c))
	}
	return v, true
}

// str reads a JSON string value into the builder and returns it.
func (r *jsonReader) str() string {
	if r.peek() == 'n' { // null
		r.literal("null")
		return ""
	}
	raw, esc := r.rawString()
	if r.bad || len(raw) == 0 {
		return ""
	}
	if esc {
		r.tmp = r.unescape(r.tmp[:0], raw)
		raw = r.tmp
	}
	start := r.out.Len()
	r.out.Write(raw)
	return r.out.String()[start:]
}

func (r *jsonReader) literal(lit string) {
	if r.i+len(lit) > len(r.s) || string(r.s[r.i:r.i+len(lit)]) != lit {
		r.bad = true
		return
	}
	r.i += len(lit)
}

// boolean reads true, false, null, or the same as a JSON string.
func (r *jsonReader) boolean() bool {
	switch r.peek() {
	case 't':
		r.literal("true")
		return true
	case 'f':
		r.literal("false")
	case 'n':
		r.literal("null")
	case '"':
		raw, esc := r.rawString()
		switch {
		case esc:
			r.bad = true
		case string(raw) == "true":
			return true
		case string(raw) == "false":
		default:
			r.bad = true
		}
	default:
		r.bad = true
	}
	return false
}

// integer reads a 64-bit integer, null, or an integer as a JSON string.
func (r *jsonReader) integer() int64 {
	var digits []byte
	switch c := r.peek(); {
	case c == 'n':
		r.literal("null")
		return 0
	case c == '"':
		raw, esc := r.rawString()
		if esc {
			r.bad = true
			return 0
		}
		digits = raw
	case c == '-' || '0' <= c && c <= '9':
		start := r.i
		for r.i < len(r.s) && (r.s[r.i] == '-' || '0' <= r.s[r.i] && r.s[r.i] <= '9') {
			r.i++
		}
		if r.i < len(r.s) {
			switch r.s[r.i] {
			case '.', 'e', 'E', '+':
				r.bad = true // a float: never accept it for an id
				return 0
			}
		}
		digits = r.s[start:r.i]
	default:
		r.bad = true
		return 0
	}
	v, ok := parseInt(digits)
	if !ok {
		r.bad = true
	}
	return v
}

// parseInt parses a decimal int64 without allocating: an optional "-", then
// digits without a leading zero.
func parseInt[T string | []byte](b T) (int64, bool) {
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 19 || b[0] == '0' && len(b) > 1 {
		return 0, false
	}
	var u uint64
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		u = u*10 + uint64(c-'0')
	}
	if neg {
		if u > 1<<63 {
			return 0, false
		}
		return -int64(u), true
	}
	if u > 1<<63-1 {
		return 0, false
	}
	return int64(u), true
}

// skip skips any JSON value.
func (r *jsonReader) skip(depth int) {
	if depth > maxDepth {
		r.bad = true
		return
	}
	switch c := r.peek(); {
	case c == '"':
		r.rawString()
	case c == '{':
		r.i++
		if r.peek() == '}' {
			r.i++
			return
		}
		for !r.bad {
			r.rawString()
			r.expect(':')
			r.skip(depth + 1)
			if r.peek() == ',' {
				r.i++
				continue
			}
			r.expect('}')
			return
		}
	case c == '[':
		r.i++
		if r.peek() == ']' {
			r.i++
			return
		}
		for !r.bad {
			r.skip(depth + 1)
			if r.peek() == ',' {
				r.i++
				continue
			}
			r.expect(']')
			return
		}
	case c == 't':
		r.literal("true")
	case c == 'f':
		r.literal("false")
	case c == 'n':
		r.literal("null")
	case c == '-' || '0' <= c && c <= '9':
		start := r.i
		for r.i < len(r.s) && strings.IndexByte("+-.0123456789eE", r.s[r.i]) >= 0 {
			r.i++
		}
		if _, err := strconv.ParseFloat(string(r.s[start:r.i]), 64); err != nil {
			r.bad = true
		}
	default:
		r.bad = true
	}
}

// object reads one JSON object, calling field for each key (unescaped). The
// field callback reads the value or skips it.
func (r *jsonReader) object(field func(key []byte)) {
	r.expect('{')
	if r.bad {
		return
	}
	if r.peek() == '}' {
		r.i++
	} else {
		for !r.bad {
			raw, esc := r.rawString()
			if r.bad {
				return
			}
			if esc {
				raw = r.unescape(nil, raw)
			}
			r.expect(':')
			if r.bad {
				return
			}
			field(raw)
			if r.bad {
				return
			}
			if r.peek() == ',' {
				r.i++
				continue
			}
			r.expect('}')
			break
		}
	}
	if r.peek() != 0 || r.i != len(r.s) {
		r.bad = true
	}
}

func (r *jsonReader) user(u *User) {
	r.object(func(key []byte) {
		switch string(key) { // compared in place, no allocation
		case "id":
			u.ID = r.integer()
		case "is_bot":
			u.IsBot = r.boolean()
		case "first_name":
			u.FirstName = r.str()
		case "last_name":
			u.LastName = r.str()
		case "username":
			u.Username = r.str()
		case "language_code":
			u.LanguageCode = r.str()
		case "is_premium":
			u.IsPremium = r.boolean()
		case "added_to_attachment_menu":
			u.AddedToAttachmentMenu = r.boolean()
		case "allows_write_to_pm":
			u.AllowsWriteToPM = r.boolean()
		case "photo_url":
			u.PhotoURL = r.str()
		default:
			r.skip(1)
		}
	})
}

func (r *jsonReader) chat(c *Chat) {
	r.object(func(key []byte) {
		switch string(key) { // compared in place, no allocation
		case "id":
			c.ID = r.integer()
		case "type":
			c.Type = r.str()
		case "title":
			c.Title = r.str()
		case "username":
			c.Username = r.str()
		case "photo_url":
			c.PhotoURL = r.str()
		default:
			r.skip(1)
		}
	})
}
