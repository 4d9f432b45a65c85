package botapitest

import (
	"net/http"
	"strconv"
	"strings"
)

// File sizes Telegram documents.
// Telegram docs: https://core.telegram.org/bots/api#getfile
const (
	// maxDownloadBytes is the largest file getFile serves ("files of up
	// to 20MB in size").
	maxDownloadBytes = 20 << 20
)

// storedFile is a file the server issued a file_id for: an upload, a URL
// the bot sent, or a user's photo or document.
type storedFile struct {
	id, unique string
	kind       string // photo, document, video, ...
	name       string
	mime       string
	size       int64
	path       string      // getFile's file_path
	data       []byte      // the content, for downloads; nil when not kept
	thumb      *storedFile // a photo's small size
}

// fileStore keeps the files by id, oldest first, within a count and a byte
// budget: past either, the oldest are forgotten (their file_ids then fail
// like unknown ones).
type fileStore struct {
	byID     map[string]*storedFile
	byPath   map[string]*storedFile
	order    []*storedFile // oldest first, from head
	head     int
	bytes    int64
	maxFiles int
	maxBytes int64
	next     int // file_path counter
}

func newFileStore(maxFiles int, maxBytes int64) fileStore {
	return fileStore{byID: map[string]*storedFile{}, byPath: map[string]*storedFile{}, maxFiles: maxFiles, maxBytes: maxBytes}
}

// add stores f under its id, evicting the oldest files beyond the bounds.
func (fs *fileStore) add(f *storedFile) {
	fs.next++
	f.path = f.kind + "s/file_" + strconv.Itoa(fs.next) + extension(f)
	fs.byID[f.id] = f
	fs.byPath[f.path] = f
	fs.order = append(fs.order, f)
	fs.bytes += int64(len(f.data))
	for fs.head < len(fs.order) && (len(fs.order)-fs.head > fs.maxFiles || fs.bytes > fs.maxBytes) {
		old := fs.order[fs.head]
		fs.order[fs.head] = nil
		fs.head++
		fs.bytes -= int64(len(old.data))
		if fs.byID[old.id] == old {
			delete(fs.byID, old.id)
		}
		delete(fs.byPath, old.path)
	}
	if fs.head > 64 && fs.head > len(fs.order)/2 {
		fs.order = append([]*storedFile(nil), fs.order[fs.head:]...)
		fs.head = 0
	}
}

func extension(f *storedFile) string {
	if i := strings.LastIndexByte(f.name, '.'); i >= 0 && len(f.name)-i <= 6 {
		return f.name[i:]
	}
	switch f.kind {
	case "photo":
		return ".jpg"
	case "video", "animation", "video_note":
		return ".mp4"
	case "voice":
		return ".oga"
	case "audio":
		return ".mp3"
	case "sticker":
		return ".webp"
	}
	return ""
}

// newFile issues a file_id for content of kind and stores it. Callers
// hold s.mu.
func (st *state) newFile(kind, name, mime string, size int64, data []byte) *storedFile {
	if int64(len(data)) > maxDownloadBytes {
		data = nil
	}
	f := &storedFile{id: fileIDPrefix(kind) + st.randomID(40), unique: "AQAD" + st.randomID(12), kind: kind,
		name: name, mime: mime, size: size, data: data}
	st.files.add(f)
	return f
}

// fileIDPrefix makes file_ids look like Telegram's (which start with a
// base64 of the file type); code that only passes them around never looks.
func fileIDPrefix(kind string) string {
	switch kind {
	case "photo":
		return "AgACAgIAAxkB"
	case "video":
		return "BAACAgIAAxkB"
	case "audio":
		return "CQACAgIAAxkB"
	case "voice":
		return "AwACAgIAAxkB"
	case "animation":
		return "CgACAgIAAxkB"
	case "sticker":
		return "CAACAgIAAxkB"
	case "video_note":
		return "DQACAgIAAxkB"
	}
	return "BQACAgIAAxkB"
}

// inputFile resolves an InputFile parameter as Telegram does: a file_id
// the server issued, an HTTP URL (fetched, as far as the fake goes: a file
// with no content), or an upload, named by attach://<name> or sent in the
// field itself. Callers hold s.mu.
// Telegram docs: https://core.telegram.org/bots/api#sending-files
func (st *state) inputFile(c *call, ref, kind string) (*storedFile, *apiError) {
	if field, ok := strings.CutPrefix(ref, "attach://"); ok {
		for _, f := range c.files {
			if f.Field == field {
				return st.newFile(kind, f.Name, "", f.Size, f.data), nil
			}
		}
		return nil, errWrongFileID
	}
	if strings.HasPrefix(ref, "http://") || strings.HasPrefix(ref, "https://") {
		name := ref[strings.LastIndexByte(ref, '/')+1:]
		return st.newFile(kind, name, "", 0, nil), nil
	}
	f := st.files.byID[ref]
	if f == nil {
		return nil, errWrongFileID
	}
	return f, nil
}

// getFile. Telegram docs: https://core.telegram.org/bots/api#getfile
func getFile(s *Server, c *call) (any, *apiError) {
	id := c.p.str("file_id")
	if id == "" { // Client::check_remote_file_id
		return nil, badRequest("file_id not specified")
	}
	f := s.st.files.byID[id]
	if f == nil {
		return nil, badRequest("invalid file_id")
	}
	if f.size > maxDownloadBytes {
		return nil, badRequest("file is too big")
	}
	return map[string]any{"file_id": f.id, "file_unique_id": f.unique, "file_size": f.size, "file_path": f.path}, nil
}

// serveFile answers a download at /file/bot<token>/<file_path>.
func (s *Server) serveFile(w http.ResponseWriter, path string) {
	s.mu.Lock()
	found := s.st.files.byPath[path]
	s.mu.Unlock()
	if found == nil {
		writeError(w, errNotFound)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.Itoa(len(found.data)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(found.data)
}

// Bounds of the files a server keeps (the fake's choice): beyond them the
// oldest are forgotten.
const (
	maxKeptFiles     = 10_000
	maxKeptFileBytes = 64 << 20
)
