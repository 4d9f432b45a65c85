package problem

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
)

// ContentType is the media type of a problem details body.
const ContentType = "application/problem+json"

// DefaultType is the problem type of a problem that has no more
// specific type than its HTTP status code (RFC 9457, section 4.2.1).
const DefaultType = "about:blank"

// Details is one RFC 9457 problem details object. The zero value is a
// valid, if unhelpful, problem; [Write] fills its defaults.
type Details struct {
	// Type is a URI naming the kind of problem; empty means [DefaultType].
	Type string
	// Title is a short human-readable summary of the kind of problem; by
	// default the status code's text (http.StatusText).
	Title string
	// Status is the HTTP status code; 0 (or a number outside 200-999)
	// means 500 to [Write].
	Status int
	// Detail explains this occurrence, for the client's user. It must
	// hold no secret: it goes to whoever sent the request.
	Detail string
	// Instance is an optional URI naming this occurrence.
	Instance string
	// Extensions holds further members, written after the standard
	// ones in key order. A key that names a standard member (type,
	// title, status, detail, instance) is ignored.
	Extensions map[string]any
}

// standard reports whether name is a member defined by RFC 9457.
func standard(name string) bool {
	switch name {
	case "type", "title", "status", "detail", "instance":
		return true
	}
	return false
}

// MarshalJSON encodes p as one JSON object: the standard members in the
// RFC's order (empty strings and a zero status are left out), then the
// extension members sorted by key.
func (p Details) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	sep := false
	member := func(name string, v any) error {
		enc, err := json.Marshal(v)
		if err != nil {
			return err
		}
		if sep {
			b.WriteByte(',')
		}
		sep = true
		k, _ := json.Marshal(name)
		b.Write(k)
		b.WriteByte(':')
		b.Write(enc)
		return nil
	}
	for _, m := range []struct {
		name, value string
	}{{"type", p.Type}, {"title", p.Title}} {
		if m.value != "" {
			_ = member(m.name, m.value)
		}
	}
	if p.Status != 0 {
		_ = member("status", p.Status)
	}
	if p.Detail != "" {
		_ = member("detail", p.Detail)
	}
	if p.Instance != "" {
		_ = member("instance", p.Instance)
	}
	keys := make([]string, 0, len(p.Extensions))
	for k := range p.Extensions {
		if !standard(k) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		if err := member(k, p.Extensions[k]); err != nil {
			return nil, err
		}
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// UnmarshalJSON decodes a problem details object. Members of the wrong
// JSON type are ignored, as RFC 9457 asks of consumers; members that are
// not standard go to Extensions.
func (p *Details) UnmarshalJSON(data []byte) error {
	var members map[string]json.RawMessage
	if err := json.Unmarshal(data, &members); err != nil {
		return err
	}
	if members == nil {
		return errors.New("problem: details must be a JSON object")
	}
	*p = Details{}
	str := func(name string, dst *string) {
		if raw, ok := members[name]; ok {
			_ = json.Unmarshal(raw, dst)
		}
	}
	str("type", &p.Type)
	str("title", &p.Title)
	str("detail", &p.Detail)
	str("instance", &p.Instance)
	if raw, ok := members["status"]; ok {
		_ = json.Unmarshal(raw, &p.Status)
	}
	for k, raw := range members {
		if standard(k) {
			continue
		}
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			return err
		}
		if p.Extensions == nil {
			p.Extensions = make(map[string]any)
		}
		p.Extensions[k] = v
	}
	return nil
}

// Write answers the request with p as application/problem+json. A zero
// Status, or one that cannot be a final HTTP answer (outside 200-999), is
// written as 500, an empty Type as [DefaultType] and an empty
// Title as the status code's text. It sets Content-Type, Content-Length
// and X-Content-Type-Options: nosniff, and leaves other headers the
// caller set (Cache-Control, Retry-After, WWW-Authenticate) alone. If an
// extension value cannot be encoded, the extensions are dropped rather
// than the answer.
func Write(w http.ResponseWriter, p Details) {
	if p.Status < 200 || p.Status > 999 {
		// 0, a 1xx (informational, not a final answer) or a number
		// net/http's WriteHeader would panic on.
		p.Status = http.StatusInternalServerError
	}
	if p.Type == "" {
		p.Type = DefaultType
	}
	if p.Title == "" {
		p.Title = http.StatusText(p.Status)
	}
	b, err := p.MarshalJSON()
	if err != nil {
		p.Extensions = nil
		b, _ = p.MarshalJSON()
	}
	b = append(b, '\n')
	h := w.Header()
	h.Set("Content-Type", ContentType)
	h.Set("Content-Length", strconv.Itoa(len(b)))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Del("Content-Encoding")
	w.WriteHeader(p.Status)
	_, _ = w.Write(b)
}

// Error answers the request with a problem of the given status whose
// detail is detail (leave it empty to say no more than the status):
// the problem+json counterpart of http.Error.
func Error(w http.ResponseWriter, status int, detail string) {
	Write(w, Details{Status: status, Detail: detail})
}
