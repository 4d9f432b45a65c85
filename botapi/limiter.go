package botapi

import (
	"context"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Limiter paces calls that post to a chat (send*, copy*, forward*, ...).
// ratelimit.Telegram satisfies it by shape. Implementations must be safe for
// concurrent use.
//
// chatID is the target chat's numeric id; a chat named by @username maps to a
// stable negative key (usernames name channels and supergroups, which share
// the group limit). chatID 0 means "not tied to a chat".
// The lane (interactive or bulk) travels in ctx, set by the caller with the
// ratelimit package; the client passes ctx through unchanged.
type Limiter interface {
	// Wait blocks until a message to chatID may be sent, or ctx ends.
	Wait(ctx context.Context, chatID int64) error
	// Backoff reports a 429 for chatID with Telegram's retry_after;
	// chatID 0 reports a 429 on a call not tied to a chat.
	Backoff(chatID int64, retryAfter time.Duration)
}

// PostsToChat reports whether the client waits on its [Limiter] before
// calling method: true for the methods that put a message into a chat or
// change one that is there, which Telegram's per-chat flood limits count:
//   - send* (sendMessage, sendPhoto, sendMediaGroup, sendInvoice, ...),
//     except sendChatAction and the send*Draft methods (a typing indicator
//     and a draft preview post nothing);
//   - copyMessage, copyMessages, forwardMessage, forwardMessages;
//   - editMessage*, stopPoll and stopMessageLiveLocation: edits redraw a
//     message in the chat, and bursts of edits draw 429s like sends do.
//
// Everything else does not wait, notably answerCallbackQuery (it answers the
// tap of one user, who is waiting for the spinner to stop; it posts nothing
// to the chat) and answerWebAppQuery. A call that waits but names no chat
// (an edit of an inline message by inline_message_id) does not wait either.
// A 429 answer is reported to [Limiter.Backoff] with the chat's key for
// these methods, and with 0 (not tied to a chat) for every other method.
//
// Telegram docs: https://core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this
func PostsToChat(method string) bool {
	switch {
	case method == "sendChatAction":
		return false
	case strings.HasPrefix(method, "send"):
		return !strings.HasSuffix(method, "Draft")
	case strings.HasPrefix(method, "copyMessage"), strings.HasPrefix(method, "forwardMessage"),
		strings.HasPrefix(method, "editMessage"),
		method == "stopPoll", method == "stopMessageLiveLocation":
		return true
	}
	return false
}

// Key returns the limiter key of the chat: its id, or for an @username a
// stable negative key below -2⁶² (real chat ids are far smaller in size),
// the same for every spelling ("@Chan", "chan"). The zero ChatID has key 0.
func (id ChatID) Key() int64 {
	if id.Username == "" {
		return id.ID
	}
	name := strings.ToLower(strings.TrimPrefix(id.Username, "@"))
	// FNV-1a, 64 bit.
	h := uint64(14695981039346656037)
	for i := 0; i < len(name); i++ {
		h ^= uint64(name[i])
		h *= 1099511628211
	}
	return -(1 << 62) - int64(h>>2)
}

var chatIDType = reflect.TypeFor[ChatID]()

// chatFieldIndex caches, per params struct type, the index of its chat_id
// field, of type ChatID or int64 (-1 when there is none).
var chatFieldIndex sync.Map // reflect.Type → int

// chatKeyOf returns the limiter key of params' chat_id (a ChatID field
// tagged "chat_id", or a "chat_id" key of a map), 0 when there is none.
func chatKeyOf(params any) int64 {
	switch p := params.(type) {
	case nil:
		return 0
	case map[string]any:
		switch v := p["chat_id"].(type) {
		case ChatID:
			return v.Key()
		case int64:
			return v
		case int:
			return int64(v)
		case string:
			// A numeric string is the id itself, as Telegram reads it.
			if n, err := strconv.ParseInt(v, 10, 64); err == nil {
				return n
			}
			return ChatID{Username: v}.Key()
		}
		return 0
	}
	v := reflect.ValueOf(params)
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return 0
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return 0
	}
	t := v.Type()
	idx, ok := chatFieldIndex.Load(t)
	if !ok {
		i := -1
		for j := 0; j < t.NumField(); j++ {
			f := t.Field(j)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if f.IsExported() && name == "chat_id" && (f.Type == chatIDType || f.Type.Kind() == reflect.Int64) {
				i = j
				break
			}
		}
		idx, _ = chatFieldIndex.LoadOrStore(t, i)
	}
	i := idx.(int)
	if i < 0 {
		return 0
	}
	f := v.Field(i)
	if f.Kind() == reflect.Int64 {
		return f.Int()
	}
	// Read the fields rather than f.Interface(), which would allocate.
	return ChatID{ID: f.Field(0).Int(), Username: f.Field(1).String()}.Key()
}
