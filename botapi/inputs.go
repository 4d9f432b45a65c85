package botapi

import (
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"
)

// ChatID identifies a chat: a numeric id, or the @username of a channel or
// supergroup. Exactly one of the fields should be set; ID wins when both are.
// It encodes to a JSON number or string, as Telegram's "Integer or String"
// chat_id parameters expect.
type ChatID struct {
	// ID is the chat's numeric id (negative for groups and channels).
	ID int64
	// Username is the public username of a channel or supergroup, with or
	// without the leading "@".
	Username string
}

// IsZero reports whether id names no chat.
func (id ChatID) IsZero() bool { return id.ID == 0 && id.Username == "" }

// String returns the id in decimal or the "@username".
func (id ChatID) String() string {
	if id.ID != 0 || id.Username == "" {
		return strconv.FormatInt(id.ID, 10)
	}
	return "@" + strings.TrimPrefix(id.Username, "@")
}

// MarshalJSON encodes the id as a number or the username as "@username".
func (id ChatID) MarshalJSON() ([]byte, error) {
	if id.ID != 0 || id.Username == "" {
		return strconv.AppendInt(nil, id.ID, 10), nil
	}
	return json.Marshal("@" + strings.TrimPrefix(id.Username, "@"))
}

// UnmarshalJSON accepts a number, or a string holding a number or a
// username.
func (id *ChatID) UnmarshalJSON(data []byte) error {
	if len(data) > 0 && data[0] == '"' {
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return err
		}
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			*id = ChatID{ID: n}
			return nil
		}
		if s == "" {
			return errors.New("botapi: empty chat id")
		}
		*id = ChatID{Username: s}
		return nil
	}
	var n int64
	if err := json.Unmarshal(data, &n); err != nil {
		return err
	}
	*id = ChatID{ID: n}
	return nil
}

// InputFile is a file to send: a file_id of a file already on Telegram's
// servers, an HTTP URL for Telegram to fetch, or an upload (Reader + Name)
// that the client streams as multipart/form-data. When more than one is set,
// Reader wins, then FileID, then URL.
//
// An upload is streamed from its own goroutine and never buffered whole; the
// client does not close Reader. A call with uploads is retried (see
// [RetryPolicy]) only when every Reader is also an io.Seeker (an *os.File, a
// *bytes.Reader, a *strings.Reader): each is rewound to where it started.
// An InputFile without a Reader may be shared freely; one with a Reader
// belongs to one call at a time. Uploads nested in other values (the media of
// sendMediaGroup, a thumbnail) are sent as "attach://<name>" references to
// parts of the same request.
//
// Telegram docs: https://core.telegram.org/bots/api#sending-files
type InputFile struct {
	// FileID is the file_id of a file Telegram already has.
	FileID string
	// URL is an HTTP URL Telegram downloads the file from.
	URL string
	// Name is the file name sent with an upload (Telegram shows it for
	// documents). Empty means the parameter's name.
	Name string
	// Reader is the content of an upload.
	Reader io.Reader

	attach string // the multipart part name, set on the client's copy
}

// IsZero reports whether f names no file.
func (f InputFile) IsZero() bool { return f.FileID == "" && f.URL == "" && f.Reader == nil }

// FileID returns an InputFile for a file Telegram already has.
func FileID(id string) InputFile { return InputFile{FileID: id} }

// FileFromURL returns an InputFile that Telegram downloads from url.
func FileFromURL(url string) InputFile { return InputFile{URL: url} }

// Upload returns an InputFile that uploads r's content under name. The call
// streams r from where it stands and stops reading it before it returns
// (except when its ctx ends while a Read of r blocks: the call then returns
// at once, and at most one Read of r may still run); an r that is an
// io.Seeker is rewound for a retry, any other is sent once.
func Upload(name string, r io.Reader) InputFile { return InputFile{Name: name, Reader: r} }

// errUploadOutsideCall is returned when an upload is encoded to JSON other
// than by the client, which alone can put it in a multipart request.
var errUploadOutsideCall = errors.New("botapi: an InputFile upload can only be encoded by a Client call")

// MarshalJSON encodes a file_id or URL as a string and an upload as its
// "attach://<part>" reference. Encoding an upload outside a Client call
// fails.
func (f InputFile) MarshalJSON() ([]byte, error) {
	switch {
	case f.Reader != nil:
		if f.attach == "" {
			return nil, errUploadOutsideCall
		}
		return json.Marshal("attach://" + f.attach)
	case f.FileID != "":
		return json.Marshal(f.FileID)
	default:
		return json.Marshal(f.URL)
	}
}

// UnmarshalJSON decodes a string: an http(s) URL into URL, an
// "attach://<name>" reference into Name (with no Reader), anything else into
// FileID. It lets fakes of the Bot API decode parameters.
func (f *InputFile) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return err
	}
	switch {
	case strings.HasPrefix(s, "http://"), strings.HasPrefix(s, "https://"):
		*f = InputFile{URL: s}
	case strings.HasPrefix(s, "attach://"):
		*f = InputFile{Name: strings.TrimPrefix(s, "attach://")}
	default:
		*f = InputFile{FileID: s}
	}
	return nil
}

// ReplyMarkup is one of *[InlineKeyboardMarkup], *[ReplyKeyboardMarkup],
// *[ReplyKeyboardRemove] or *[ForceReply] (pointers only, like the members
// of the other unions). Decoding tells them apart by their keys.
type ReplyMarkup interface{ replyMarkup() }
