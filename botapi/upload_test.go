package botapi

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// part is one multipart part as the server saw it.
type part struct {
	Name, Filename, Body string
}

func readParts(t *testing.T, r *http.Request) []part {
	t.Helper()
	assert.True(t, strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data; boundary="), r.Header.Get("Content-Type"))
	mr, err := r.MultipartReader()
	require.NoError(t, err)
	var parts []part
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return parts
		}
		require.NoError(t, err)
		b, err := io.ReadAll(p)
		require.NoError(t, err)
		parts = append(parts, part{p.FormName(), p.FileName(), string(b)})
	}
}

type docParams struct {
	ChatID      ChatID    `json:"chat_id"`
	Document    InputFile `json:"document"`
	Thumbnail   InputFile `json:"thumbnail,omitzero"`
	Caption     string    `json:"caption,omitempty"`
	Silent      bool      `json:"disable_notification"`
	ReplyMarkup any       `json:"reply_markup,omitempty"`
}

type media interface{ isMedia() }

type photo struct {
	Type    string    `json:"type"`
	Media   InputFile `json:"media"`
	Caption string    `json:"caption,omitempty"`
}

func (photo) isMedia() {}

type groupParams struct {
	ChatID ChatID  `json:"chat_id"`
	Media  []media `json:"media"`
}

func TestUploadTopLevel(t *testing.T) {
	c, mux := setup(t)
	mux.HandleFunc("POST /sendDocument", func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, int64(-1), r.ContentLength, "streamed, length unknown")
		assert.Equal(t, []part{
			{"caption", "", "Q3 report"},
			{"chat_id", "", "42"},
			{"disable_notification", "", "false"},
			{"reply_markup", "", `{"inline_keyboard":[[{"callback_data":"ok","text":"ok"}]]}`},
			{"document", "report.pdf", "%PDF-1.7 ..."},
			{"thumbnail", "thumbnail", "JPEGDATA"},
		}, readParts(t, r))
		reply(w, 200, `{"ok":true,"result":{"message_id":1}}`)
	})
	p := &docParams{
		ChatID:    ChatID{ID: 42},
		Document:  Upload("report.pdf", strings.NewReader("%PDF-1.7 ...")),
		Thumbnail: InputFile{Reader: strings.NewReader("JPEGDATA")},
		Caption:   "Q3 report",
		ReplyMarkup: map[string]any{"inline_keyboard": [][]map[string]string{
			{{"text": "ok", "callback_data": "ok"}}}},
	}
	require.NoError(t, c.Call(t.Context(), "sendDocument", p, nil))
	assert.Empty(t, p.Document.attach, "the caller's value is not modified")
	assert.Empty(t, p.Thumbnail.attach)
}

func TestUploadNestedInMediaGroup(t *testing.T) {
	c, mux := setup(t)
	mux.HandleFunc("POST /sendMediaGroup", func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, []part{
			{"chat_id", "", "@album"},
			{"media", "", `[{"type":"photo","media":"attach://file0","caption":"one"},` +
				`{"type":"photo","media":"AgACfileid"},` +
				`{"type":"photo","media":"attach://file1"},` +
				`{"type":"photo","media":"https://example.org/4.jpg"}]`},
			{"file0", "1.jpg", "one"},
			{"file1", "3.jpg", "three"},
		}, readParts(t, r))
		reply(w, 200, `{"ok":true,"result":[]}`)
	})
	p := &groupParams{ChatID: ChatID{Username: "album"}, Media: []media{
		photo{Type: "photo", Media: Upload("1.jpg", strings.NewReader("one")), Caption: "one"},
		photo{Type: "photo", Media: FileID("AgACfileid")},
		&photo{Type: "photo", Media: Upload("3.jpg", strings.NewReader("three"))},
		photo{Type: "photo", Media: FileFromURL("https://example.org/4.jpg")},
	}}
	before := p.Media[0].(photo).Media
	require.NoError(t, c.Call(t.Context(), "sendMediaGroup", p, nil))
	assert.Equal(t, before, p.Media[0].(photo).Media, "the caller's value is not modified")
	assert.Empty(t, p.Media[2].(*photo).Media.attach)
}

func TestUploadInMap(t *testing.T) {
	c, mux := setup(t)
	mux.HandleFunc("POST /sendPhoto", func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, []part{
			{"chat_id", "", "7"},
			{"photo", "p.png", "PNG"},
		}, readParts(t, r))
		reply(w, 200, `{"ok":true,"result":{}}`)
	})
	require.NoError(t, c.Call(t.Context(), "sendPhoto", map[string]any{
		"chat_id": 7, "photo": Upload("p.png", strings.NewReader("PNG"))}, nil))
}

// gatedReader yields its first chunk, then blocks until gate is closed:
// if the client buffered the whole upload before sending, the server would
// never see the first chunk and the test would hang.
type gatedReader struct {
	first, rest string
	gate        chan struct{}
	step        int
}

func (g *gatedReader) Read(p []byte) (int, error) {
	g.step++
	switch g.step {
	case 1:
		return copy(p, g.first), nil
	case 2:
		<-g.gate
		return copy(p, g.rest), nil
	}
	return 0, io.EOF
}

func TestUploadIsStreamed(t *testing.T) {
	c, mux := setup(t)
	r := &gatedReader{first: "chunk-1|", rest: "chunk-2", gate: make(chan struct{})}
	mux.HandleFunc("POST /sendVideo", func(w http.ResponseWriter, req *http.Request) {
		mr, err := req.MultipartReader()
		require.NoError(t, err)
		p, err := mr.NextPart()
		require.NoError(t, err)
		assert.Equal(t, "video", p.FormName())
		buf := make([]byte, len(r.first))
		_, err = io.ReadFull(p, buf)
		require.NoError(t, err)
		assert.Equal(t, r.first, string(buf))
		close(r.gate) // only now may the reader produce the rest
		rest, err := io.ReadAll(p)
		require.NoError(t, err)
		assert.Equal(t, r.rest, string(rest))
		reply(w, 200, `{"ok":true,"result":{}}`)
	})
	require.NoError(t, c.Call(t.Context(), "sendVideo", map[string]any{"video": Upload("v.mp4", r)}, nil))
}

// countingReader produces n zero bytes, counting the Read calls made once
// after is set.
type countingReader struct {
	n     int
	after atomic.Bool
	late  atomic.Int32
}

func (r *countingReader) Read(p []byte) (int, error) {
	if r.after.Load() {
		r.late.Add(1)
	}
	if r.n == 0 {
		return 0, io.EOF
	}
	k := min(len(p), r.n)
	clear(p[:k])
	r.n -= k
	return k, nil
}

// TestUploadNotReadAfterReturn checks that a call whose answer comes before
// the transport has sent the whole upload stops reading the caller's reader
// before it returns, so the caller may close or reuse it at once. The
// RoundTripper contract lets a transport go on reading the request body
// after RoundTrip has returned (net/http's does, when a server answers
// early); this one does so explicitly, after the call.
func TestUploadNotReadAfterReturn(t *testing.T) {
	var body io.ReadCloser
	rt := rtFunc(func(r *http.Request) (*http.Response, error) {
		body = r.Body
		if _, err := io.CopyN(io.Discard, body, 10); err != nil {
			return nil, err
		}
		return jsonResponse(400, `{"ok":false,"error_code":400,"description":"Bad Request: chat not found"}`), nil
	})
	c := New(testToken, WithHTTPClient(&http.Client{Transport: rt}))
	r := &countingReader{n: 1 << 20}
	err := c.Call(t.Context(), "sendDocument", map[string]any{"chat_id": 1, "document": Upload("big.bin", r)}, nil)
	require.ErrorIs(t, err, ErrBadRequest)
	r.after.Store(true)
	// The transport finishes sending the body, then closes it.
	_, _ = io.Copy(io.Discard, body)
	require.NoError(t, body.Close())
	assert.Zero(t, r.late.Load(), "the upload was read after the call returned")
}

// blockingReader returns first, then blocks in Read until release is closed,
// after closing blocked.
type blockingReader struct {
	first   string
	done    bool
	blocked chan struct{}
	release chan struct{}
}

func (r *blockingReader) Read(p []byte) (int, error) {
	if !r.done {
		r.done = true
		return copy(p, r.first), nil
	}
	close(r.blocked)
	<-r.release
	return 0, io.EOF
}

// TestUploadBlockedReaderCanceled checks that a call whose upload reader
// blocks still returns once its context ends.
func TestUploadBlockedReaderCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	r := &blockingReader{first: "0123456789", blocked: make(chan struct{}), release: make(chan struct{})}
	defer close(r.release)
	rt := rtFunc(func(req *http.Request) (*http.Response, error) {
		go io.Copy(io.Discard, req.Body)
		<-r.blocked // the writer waits inside the caller's Read
		cancel()
		return nil, req.Context().Err()
	})
	c := New(testToken, WithHTTPClient(&http.Client{Transport: rt}))
	err := c.Call(ctx, "sendDocument", map[string]any{"chat_id": 1, "document": Upload("a.bin", r)}, nil)
	require.ErrorIs(t, err, context.Canceled)
}

// onlyReader hides every method but Read, such as io.Seeker.
type onlyReader struct{ io.Reader }

func TestUploadFromPlainReaderIsNotRetried(t *testing.T) {
	c, mux := setup(t, WithRetry(RetryPolicy{RetryUnsafe: true, Backoff: noBackoff}))
	var calls atomic.Int32
	mux.HandleFunc("POST /setChatPhoto", func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		io.Copy(io.Discard, r.Body)
		reply(w, 502, `{"ok":false,"error_code":502,"description":"Bad Gateway"}`)
	})
	photo := Upload("a.jpg", onlyReader{strings.NewReader("x")})
	err := c.Call(t.Context(), "setChatPhoto", map[string]any{"chat_id": 1, "photo": photo}, nil)
	require.ErrorIs(t, err, ErrServer)
	assert.Equal(t, int32(1), calls.Load())
}

func TestUploadFromSeekerIsRewoundAndRetried(t *testing.T) {
	c, mux := setup(t, WithRetry(RetryPolicy{RetryUnsafe: true, Backoff: noBackoff}))
	var calls atomic.Int32
	mux.HandleFunc("POST /sendMediaGroup", func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		if n == 1 {
			// Read part of the body only, then fail: the client must
			// stop its writer and rewind before the retry.
			io.CopyN(io.Discard, r.Body, 200)
			reply(w, 502, `{"ok":false,"error_code":502,"description":"Bad Gateway"}`)
			return
		}
		assert.Equal(t, []part{
			{"chat_id", "", "1"},
			{"media", "", `[{"type":"photo","media":"attach://file0"},{"type":"photo","media":"attach://file1"}]`},
			{"file0", "a.jpg", strings.Repeat("A", 4096)},
			{"file1", "b.jpg", "BBBB"},
		}, readParts(t, r))
		reply(w, 200, `{"ok":true,"result":[]}`)
	})
	a := strings.NewReader("skip" + strings.Repeat("A", 4096))
	a.Seek(4, io.SeekStart) // an upload starts where its reader stands
	_, err := c.SendMediaGroup(t.Context(), &SendMediaGroupParams{ChatID: ChatID{ID: 1}, Media: []InputMedia{
		&InputMediaPhoto{Media: Upload("a.jpg", a)},
		&InputMediaPhoto{Media: Upload("b.jpg", bytes.NewReader([]byte("BBBB")))},
	}})
	require.NoError(t, err)
	assert.Equal(t, int32(2), calls.Load())
}

func TestUploadReaderError(t *testing.T) {
	c, mux := setup(t)
	mux.HandleFunc("POST /sendAudio", func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		reply(w, 400, `{"ok":false,"error_code":400,"description":"Bad Request: no file"}`)
	})
	err := c.Call(t.Context(), "sendAudio", map[string]any{"audio": Upload("a.mp3", io.MultiReader(strings.NewReader("ab"), errReader{}))}, nil)
	require.Error(t, err)
	assert.NotContains(t, err.Error(), testToken)
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, io.ErrUnexpectedEOF }

func TestNoUploadWalkIsFree(t *testing.T) {
	p := &echoParams{ChatID: ChatID{ID: 1}, Text: "hi"}
	allocs := testing.AllocsPerRun(100, func() {
		ups, got, err := prepareUploads(p)
		if err != nil || ups != nil || got != any(p) {
			t.Fatal("unexpected rewrite")
		}
	})
	assert.Zero(t, allocs)

	withIface := &docParams{ChatID: ChatID{ID: 1}, Document: FileID("x"), ReplyMarkup: &echoParams{}}
	allocs = testing.AllocsPerRun(100, func() {
		ups, _, err := prepareUploads(withIface)
		if err != nil || ups != nil {
			t.Fatal("unexpected rewrite")
		}
	})
	assert.Zero(t, allocs)
}

type loop struct {
	Next *loop     `json:"next,omitempty"`
	File InputFile `json:"file,omitzero"`
}

func TestUploadPlanHandlesRecursiveTypes(t *testing.T) {
	p := &loop{Next: &loop{Next: &loop{File: Upload("deep.txt", strings.NewReader("d"))}}}
	ups, got, err := prepareUploads(p)
	require.NoError(t, err)
	require.Len(t, ups, 1)
	assert.Equal(t, "deep.txt", ups[0].filename)
	assert.Equal(t, "file0", got.(*loop).Next.Next.File.attach)
	assert.Empty(t, p.Next.Next.File.attach)
}

func TestSendMediaGroupGenerated(t *testing.T) {
	c, mux := setup(t)
	mux.HandleFunc("POST /sendMediaGroup", func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, []part{
			{"chat_id", "", "-100200"},
			{"media", "", `[{"type":"photo","media":"attach://file0","caption":"new"},` +
				`{"type":"video","media":"BAACfileid","thumbnail":"attach://file1"}]`},
			{"file0", "new.jpg", "JPEG"},
			{"file1", "thumb.jpg", "THUMB"},
		}, readParts(t, r))
		reply(w, 200, `{"ok":true,"result":[{"message_id":1,"date":0,"chat":{"id":-100200,"type":"supergroup"}},{"message_id":2,"date":0,"chat":{"id":-100200,"type":"supergroup"}}]}`)
	})
	msgs, err := c.SendMediaGroup(t.Context(), &SendMediaGroupParams{
		ChatID: ChatID{ID: -100200},
		Media: []InputMedia{
			&InputMediaPhoto{Media: Upload("new.jpg", strings.NewReader("JPEG")), Caption: "new"},
			&InputMediaVideo{Media: FileID("BAACfileid"), Thumbnail: Upload("thumb.jpg", strings.NewReader("THUMB"))},
		},
	})
	require.NoError(t, err)
	assert.Len(t, msgs, 2)
}

func TestSendPhotoGenerated(t *testing.T) {
	c, mux := setup(t)
	mux.HandleFunc("POST /sendPhoto", func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, []part{
			{"caption", "", "hi"},
			{"chat_id", "", "42"},
			{"photo", "cat.jpg", "CAT"},
		}, readParts(t, r))
		reply(w, 200, `{"ok":true,"result":{"message_id":3,"date":0,"chat":{"id":42,"type":"private"}}}`)
	})
	m, err := c.SendPhoto(t.Context(), &SendPhotoParams{ChatID: ChatID{ID: 42}, Photo: Upload("cat.jpg", strings.NewReader("CAT")), Caption: "hi"})
	require.NoError(t, err)
	assert.Equal(t, int64(3), m.MessageID)
}
