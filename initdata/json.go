package initdata

import (
	"encoding/json"
	"errors"
)

// The user, receiver and chat fields of init data are JSON objects, decoded
// with encoding/json straight into [User] and [Chat]. Some clients (and one
// of the shared test vectors) send ids and booleans as JSON strings ("123",
// "true"); such an object fails that first decoding on a type, and only then
// is decoded again into the wire types below, which accept both forms. The
// common case pays for one decoding and no custom UnmarshalJSON calls.
// Unknown fields are ignored, so a field Telegram adds later never breaks
// validation.

// jsonInt is an int64 sent as a JSON number or a string of one; null leaves
// it zero. Fractions, exponents and leading zeros are rejected: an id is an
// integer.
type jsonInt int64

func (n *jsonInt) UnmarshalJSON(b []byte) error {
	s := string(b)
	if s == "null" {
		return nil
	}
	if len(s) >= 2 && s[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
	}
	v, ok := parseInt(s)
	if !ok {
		return errNotInteger
	}
	*n = jsonInt(v)
	return nil
}

// jsonBool is a boolean sent as true/false or "true"/"false"; null leaves it
// false.
type jsonBool bool

func (v *jsonBool) UnmarshalJSON(b []byte) error {
	switch string(b) {
	case "true", `"true"`:
		*v = true
	case "false", `"false"`, "null":
		*v = false
	default:
		return errNotBoolean
	}
	return nil
}

var (
	errNotInteger = errors.New("initdata: not an integer")
	errNotBoolean = errors.New("initdata: not a boolean")
)

// userWire is [User] as sent.
type userWire struct {
	ID                    jsonInt  `json:"id"`
	IsBot                 jsonBool `json:"is_bot"`
	FirstName             string   `json:"first_name"`
	LastName              string   `json:"last_name"`
	Username              string   `json:"username"`
	LanguageCode          string   `json:"language_code"`
	IsPremium             jsonBool `json:"is_premium"`
	AddedToAttachmentMenu jsonBool `json:"added_to_attachment_menu"`
	AllowsWriteToPM       jsonBool `json:"allows_write_to_pm"`
	PhotoURL              string   `json:"photo_url"`
}

// chatWire is [Chat] as sent.
type chatWire struct {
	ID       jsonInt `json:"id"`
	Type     string  `json:"type"`
	Title    string  `json:"title"`
	Username string  `json:"username"`
	PhotoURL string  `json:"photo_url"`
}

// parseUser decodes a user (or receiver) object.
func parseUser(js []byte) (*User, bool) {
	u := new(User)
	if err := json.Unmarshal(js, u); err == nil {
		return u, true
	} else if !isTypeError(err) {
		return nil, false
	}
	var w userWire
	if json.Unmarshal(js, &w) != nil {
		return nil, false
	}
	*u = User{
		ID:                    int64(w.ID),
		IsBot:                 bool(w.IsBot),
		FirstName:             w.FirstName,
		LastName:              w.LastName,
		Username:              w.Username,
		LanguageCode:          w.LanguageCode,
		IsPremium:             bool(w.IsPremium),
		AddedToAttachmentMenu: bool(w.AddedToAttachmentMenu),
		AllowsWriteToPM:       bool(w.AllowsWriteToPM),
		PhotoURL:              w.PhotoURL,
	}
	return u, true
}

// parseChat decodes a chat object.
func parseChat(js []byte) (*Chat, bool) {
	c := new(Chat)
	if err := json.Unmarshal(js, c); err == nil {
		return c, true
	} else if !isTypeError(err) {
		return nil, false
	}
	var w chatWire
	if json.Unmarshal(js, &w) != nil {
		return nil, false
	}
	*c = Chat{ID: int64(w.ID), Type: w.Type, Title: w.Title, Username: w.Username, PhotoURL: w.PhotoURL}
	return c, true
}

// isTypeError reports whether err is encoding/json's complaint about a
// value of the wrong type (a string id, say): well-formed JSON that the
// wire types may still accept.
func isTypeError(err error) bool {
	var te *json.UnmarshalTypeError
	return errors.As(err, &te)
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
