package botapitest

import (
	"encoding/json"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/miniappkit/miniappkit/botapi"
)

// User is a Telegram user (or the bot itself): the Bot API's own type, so
// values move between the fake and the code under test unchanged.
type User = botapi.User

// Chat is a chat the bot can talk in: the Bot API's own type. A user's
// private chat has the user's id.
type Chat = botapi.Chat

// Request is one recorded call.
type Request struct {
	Method      string            // as the client spelled it
	HTTPMethod  string            // GET or POST
	ContentType string            // the request's Content-Type, if any
	Params      map[string]string // every parameter; JSON values other than strings keep their JSON text
	Files       []File            // uploaded files of a multipart request
	At          time.Time         // when it arrived, on the server's clock

	done  *bool    // the server has performed it (guarded by Server.mu)
	pairs []string // Params as name, value, ... while recorded (a map costs five times more)
}

// compact returns r as the server keeps it: Params folded into pairs.
func (r Request) compact() Request {
	r.pairs = make([]string, 0, 2*len(r.Params))
	for k, v := range r.Params {
		r.pairs = append(r.pairs, k, v)
	}
	r.Params = nil
	return r
}

// expand returns a recorded request with a Params map of its own.
func (r Request) expand() Request {
	r.Params = make(map[string]string, len(r.pairs)/2)
	for i := 0; i+1 < len(r.pairs); i += 2 {
		r.Params[r.pairs[i]] = r.pairs[i+1]
	}
	r.pairs = nil
	return r
}

// JSON decodes the parameter name, which holds JSON (an object such as
// reply_markup, in either a JSON body or a form field), into v.
func (r Request) JSON(name string, v any) error {
	return json.Unmarshal([]byte(r.Params[name]), v)
}

// SentMessage records one message the bot sent (send*, copyMessage,
// forwardMessage), with the time on the server's clock, so tests can check
// windows and duplicates.
type SentMessage struct {
	ChatID        int64     // the chat the message went to
	MessageID     int64     // its id in that chat
	Method        string    // lower case, e.g. "sendmessage"
	Text          string    // text or caption
	PaidBroadcast bool      // sent with allow_paid_broadcast
	At            time.Time // when it was sent, on the server's clock
}

// Stats counts what the server did.
type Stats struct {
	Requests              int           // calls received (with the right token)
	Sent                  int           // messages the bot sent
	TooManyRequests       int           // 429 answers from the limits model
	TooManyRequestsByChat map[int64]int // the same, per chat_id
}

// message is the fake's stored message, encoding as Telegram's Message.
type message struct {
	MessageID         int64              `json:"message_id"`
	From              *User              `json:"from,omitempty"`
	Date              int64              `json:"date"`
	Chat              Chat               `json:"chat"`
	ForwardOrigin     *forwardOrigin     `json:"forward_origin,omitempty"`
	EditDate          int64              `json:"edit_date,omitempty"`
	Text              string             `json:"text,omitempty"`
	Entities          []messageEntity    `json:"entities,omitempty"`
	Caption           string             `json:"caption,omitempty"`
	CaptionEntities   []messageEntity    `json:"caption_entities,omitempty"`
	Photo             []photoSize        `json:"photo,omitempty"`
	Document          *document          `json:"document,omitempty"`
	Video             *mediaFile         `json:"video,omitempty"`
	Animation         *mediaFile         `json:"animation,omitempty"`
	Audio             *mediaFile         `json:"audio,omitempty"`
	Voice             *mediaFile         `json:"voice,omitempty"`
	VideoNote         *mediaFile         `json:"video_note,omitempty"`
	Sticker           *mediaFile         `json:"sticker,omitempty"`
	Invoice           *invoiceInfo       `json:"invoice,omitempty"`
	SuccessfulPayment *successfulPayment `json:"successful_payment,omitempty"`
	RefundedPayment   *refundedPayment   `json:"refunded_payment,omitempty"`
	ViaBot            *User              `json:"via_bot,omitempty"`
	ReplyToMessage    *message           `json:"reply_to_message,omitempty"`
	MediaGroupID      string             `json:"media_group_id,omitempty"`
	Location          json.RawMessage    `json:"location,omitempty"`
	Venue             json.RawMessage    `json:"venue,omitempty"`
	Contact           json.RawMessage    `json:"contact,omitempty"`
	Dice              json.RawMessage    `json:"dice,omitempty"`
	Poll              json.RawMessage    `json:"poll,omitempty"`
	PaidMedia         json.RawMessage    `json:"paid_media,omitempty"`
	WebAppData        *webAppData        `json:"web_app_data,omitempty"`
	ReplyMarkup       json.RawMessage    `json:"reply_markup,omitempty"`

	keyboard  *inlineKeyboard   // ReplyMarkup, decoded
	reactions []json.RawMessage // the bot's reaction
}

// webAppData is a Mini App's sendData, as a service message carries it.
type webAppData struct {
	Data       string `json:"data"`
	ButtonText string `json:"button_text"`
}

type forwardOrigin struct {
	Type       string `json:"type"`
	Date       int64  `json:"date"`
	SenderUser *User  `json:"sender_user,omitempty"`
	Chat       *Chat  `json:"chat,omitempty"`
	MessageID  int64  `json:"message_id,omitempty"`
}

type photoSize struct {
	FileID       string `json:"file_id"`
	FileUniqueID string `json:"file_unique_id"`
	Width        int    `json:"width"`
	Height       int    `json:"height"`
	FileSize     int64  `json:"file_size,omitempty"`
}

type document struct {
	FileID       string `json:"file_id"`
	FileUniqueID string `json:"file_unique_id"`
	FileName     string `json:"file_name,omitempty"`
	FileSize     int64  `json:"file_size,omitempty"`
}

// mediaFile is a Video, Animation, Audio, Voice, VideoNote or Sticker:
// the fields each carries.
type mediaFile struct {
	FileID       string `json:"file_id"`
	FileUniqueID string `json:"file_unique_id"`
	Type         string `json:"type,omitempty"`
	Width        int    `json:"width,omitempty"`
	Height       int    `json:"height,omitempty"`
	Length       int    `json:"length,omitempty"`
	Duration     int    `json:"duration,omitempty"`
	FileName     string `json:"file_name,omitempty"`
	MimeType     string `json:"mime_type,omitempty"`
	FileSize     int64  `json:"file_size,omitempty"`
}

type inlineKeyboard struct {
	InlineKeyboard [][]inlineButton `json:"inline_keyboard"`
}

type inlineButton struct {
	Text         string          `json:"text"`
	URL          string          `json:"url,omitempty"`
	CallbackData string          `json:"callback_data,omitempty"`
	WebApp       json.RawMessage `json:"web_app,omitempty"`
	Pay          bool            `json:"pay,omitempty"`
}

// chat is the fake's state of one chat.
type chat struct {
	Chat
	user    *User // the user of a private chat
	started bool  // the user of a private chat has started the bot
	blocked bool  // the user blocked the bot
	lastID  int64
	firstID int64 // ids up to it were forgotten (Memory.MessagesPerChat)
	msgs    map[int64]*message
	menu    json.RawMessage

	members      map[int64]*member // groups: standing of users who joined, wrote or were changed
	joinRequests map[int64]bool    // groups: users with a pending join request
	permissions  map[string]bool
	description  string
	hasPhoto     bool
	links        map[string]*inviteLink
	primaryLink  string
	pinned       []int64 // pinned message ids, oldest first
}

// state is everything the fake remembers; guarded by Server.mu.
type state struct {
	s          *Server
	rng        *rand.Rand
	bot        User // as messages show it
	botInfo    User // as getMe shows it
	latency    latencies
	users      map[int64]*User
	chats      map[int64]*chat
	nextUserID int64
	nextGroup  int64

	requests []Request     // a ring once it holds mem.Requests
	reqHead  int           // the oldest request's index once the ring is full
	sent     []SentMessage // a ring once it holds mem.Sent
	sentHead int
	calls    chan struct{} // closed and replaced when a call is performed or a message sent
	msgOrder []msgRef      // every stored message, oldest first, from msgHead
	msgHead  int
	mem      Memory
	stats    Stats

	files     fileStore
	faults    []*faultRule
	nextFault int
	limits    *limits

	updates
	callbacks     map[string]*callbackState
	webAppQs      map[string]int64 // query_id to the user who opened the Mini App
	prepared      int
	commands      map[string]json.RawMessage
	emojiStatus   map[int64]string
	botTexts      map[string]string
	adminRights   map[string]map[string]bool
	inlineQueries map[string]*inlineQuery
	gifts         []SentGift
	instances     map[int64]string // chat_instance per chat
	defaultMenu   json.RawMessage
	payments
}

func (st *state) init(s *Server, o options) {
	st.s = s
	st.rng = newRand(o.seed)
	st.botInfo = User{FirstName: "Test Bot", Username: o.botUsername, CanJoinGroups: true, SupportsInlineQueries: true, HasMainWebApp: true}
	if o.botUser != nil {
		st.botInfo = *o.botUser
	}
	st.botInfo.ID, st.botInfo.IsBot = s.botID, true
	// In messages the bot is what Telegram's JsonUser without full info
	// shows: id, is_bot, first_name, username.
	st.bot = User{ID: s.botID, IsBot: true, FirstName: st.botInfo.FirstName, LastName: st.botInfo.LastName, Username: st.botInfo.Username}
	st.latency = o.latency
	st.mem = o.memory.withDefaults()
	st.calls = make(chan struct{})
	st.users = map[int64]*User{}
	st.files = newFileStore(maxKeptFiles, maxKeptFileBytes)
	st.chats = map[int64]*chat{}
	st.nextUserID = 1000
	st.stats.TooManyRequestsByChat = map[int64]int{}
	if o.limitScale > 0 {
		st.limits = newLimits(o.limitScale)
	}
	st.updates.init()
	st.callbacks = map[string]*callbackState{}
	st.webAppQs = map[string]int64{}
	st.commands = map[string]json.RawMessage{}
	st.emojiStatus = map[int64]string{}
	st.botTexts = map[string]string{}
	st.adminRights = map[string]map[string]bool{}
	st.inlineQueries = map[string]*inlineQuery{}
	st.instances = map[int64]string{}
	st.payments.init()
}

func (st *state) record(r Request) {
	r = r.compact()
	st.stats.Requests++
	if len(st.requests) < st.mem.Requests {
		st.requests = append(st.requests, r)
		return
	}
	st.requests[st.reqHead] = r
	st.reqHead = (st.reqHead + 1) % len(st.requests)
}

// notifyCalls wakes [Server.WaitFor] and [Server.WaitSent].
func (st *state) notifyCalls() {
	close(st.calls)
	st.calls = make(chan struct{})
}

// MaxRecordedRequests is the default of [Memory].Requests.
const MaxRecordedRequests = 50_000

// Memory bounds what a [Server] keeps, so that one running for long (as an
// example app's backend) stays flat; beyond each bound the oldest entries
// are forgotten and [Stats] still counts everything. A zero field takes
// its default.
type Memory struct {
	// MessagesPerChat is how many messages each chat keeps for
	// [Server.Messages], edits, replies and forwards (default 1000).
	MessagesPerChat int
	// Messages is how many messages all chats keep together (default
	// 10 000, about 0.75 KB each).
	Messages int
	// Requests is how many calls [Server.Requests] and [Server.WaitFor]
	// keep (default [MaxRecordedRequests], a few hundred bytes each
	// for a sendMessage).
	Requests int
	// Sent is how many records [Server.Sent] keeps (default 100 000,
	// about 0.14 KB each).
	Sent int
}

func (m Memory) withDefaults() Memory {
	if m.MessagesPerChat <= 0 {
		m.MessagesPerChat = 1000
	}
	if m.Messages <= 0 {
		m.Messages = 10_000
	}
	if m.Requests <= 0 {
		m.Requests = MaxRecordedRequests
	}
	if m.Sent <= 0 {
		m.Sent = 100_000
	}
	return m
}

// msgRef names a stored message.
type msgRef struct{ chat, id int64 }

// NewUser creates a user who has started the bot (so the bot may write to
// them) and returns it. Ids count up from 1001.
func (s *Server) NewUser(firstName string) User {
	return s.AddUser(User{FirstName: firstName})
}

// NewUnstartedUser creates a user who has never started the bot: the bot
// cannot write to them (403 "Forbidden: bot can't initiate conversation
// with a user") until they write to it ([Server.SendUserMessage]), as
// Telegram lets a bot write only to users who started it.
func (s *Server) NewUnstartedUser(firstName string) User {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.addUser(User{FirstName: firstName}, false)
}

// AddUser adds u as a user who has started the bot. A zero ID gets the
// next free one; IsBot is cleared. Adding an existing id replaces that user.
func (s *Server) AddUser(u User) User {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.addUser(u, true)
}

// addUser adds or replaces u. Callers hold s.mu.
func (st *state) addUser(u User, started bool) User {
	s := st.s
	if u.ID == 0 {
		s.st.nextUserID++
		u.ID = s.st.nextUserID
	}
	u.IsBot = false
	uc := u
	s.st.users[u.ID] = &uc
	c := s.st.chats[u.ID]
	if c == nil {
		c = &chat{msgs: map[int64]*message{}}
		s.st.chats[u.ID] = c
	}
	c.Chat = Chat{ID: u.ID, Type: "private", FirstName: u.FirstName, LastName: u.LastName, Username: u.Username}
	c.user = &uc
	c.started = started
	return u
}

// NewGroup creates a supergroup the bot is a member of and returns it.
// Its id is -100 followed by ten digits, as Telegram's supergroup ids are.
func (s *Server) NewGroup(title string) Chat {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.nextGroup++
	ch := Chat{ID: -1001000000000 - s.st.nextGroup, Type: "supergroup", Title: title}
	s.st.chats[ch.ID] = &chat{Chat: ch, msgs: map[int64]*message{}}
	return ch
}

// Bot returns the bot's own user, as getMe answers it.
func (s *Server) Bot() User {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.botInfo
}

// Requests returns copies of the recorded calls of method
// (case-insensitive), oldest first; "" returns every call. Calls with a
// wrong token are not recorded, and only the last [Memory].Requests
// calls are kept.
func (s *Server) Requests(method string) []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Request
	n := len(s.st.requests)
	for i := range n {
		r := s.st.requests[(s.st.reqHead+i)%n]
		if method == "" || strings.EqualFold(r.Method, method) {
			r = r.expand()
			r.Files = slices.Clone(r.Files)
			out = append(out, r)
		}
	}
	return out
}

// Sent returns the messages the bot sent, oldest first: every one, up to
// [Memory].Sent (then the last ones; [Stats].Sent counts all).
func (s *Server) Sent() []SentMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.sentLocked()
}

func (st *state) sentLocked() []SentMessage {
	out := make([]SentMessage, 0, len(st.sent))
	out = append(out, st.sent[st.sentHead:]...)
	return append(out, st.sent[:st.sentHead]...)
}

// Stats returns the server's counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.st.stats
	st.TooManyRequestsByChat = make(map[int64]int, len(s.st.stats.TooManyRequestsByChat))
	for k, v := range s.st.stats.TooManyRequestsByChat {
		st.TooManyRequestsByChat[k] = v
	}
	return st
}

// resolveChat finds the chat a chat_id parameter names. Callers hold s.mu.
func (st *state) resolveChat(p params, name string) (*chat, *apiError) {
	v, ok := p[name]
	if !ok || strings.TrimSpace(v) == "" {
		if name == "chat_id" {
			return nil, errChatIDEmpty
		}
		return nil, badRequest(name + " is empty")
	}
	if strings.HasPrefix(v, "@") {
		for _, c := range st.chats {
			if c.Username != "" && strings.EqualFold("@"+c.Username, v) {
				return c, nil
			}
		}
		return nil, errChatNotFound
	}
	id, ok := p.int64(name)
	if !ok {
		return nil, errChatNotFound
	}
	c := st.chats[id]
	if c == nil {
		return nil, errChatNotFound
	}
	return c, nil
}

// writable checks that the bot may post to c.
func (c *chat) writable() *apiError {
	if c.blocked {
		return errBlocked
	}
	if c.user != nil && !c.started {
		return errCantInitiate
	}
	return nil
}

// newMessage stores a message in c with the next id, forgetting the
// oldest beyond the [Memory] bounds. Callers hold s.mu.
func (st *state) newMessage(c *chat, from *User) *message {
	c.lastID++
	m := &message{MessageID: c.lastID, From: from, Date: st.s.now().Unix(), Chat: c.Chat}
	c.msgs[m.MessageID] = m
	for len(c.msgs) > st.mem.MessagesPerChat && c.firstID < c.lastID {
		c.firstID++
		delete(c.msgs, c.firstID)
	}
	st.msgOrder = append(st.msgOrder, msgRef{c.ID, m.MessageID})
	for len(st.msgOrder)-st.msgHead > st.mem.Messages {
		old := st.msgOrder[st.msgHead]
		st.msgHead++
		if oc := st.chats[old.chat]; oc != nil {
			delete(oc.msgs, old.id)
		}
	}
	if st.msgHead > 1024 && st.msgHead > len(st.msgOrder)/2 {
		st.msgOrder = append([]msgRef(nil), st.msgOrder[st.msgHead:]...)
		st.msgHead = 0
	}
	return m
}

// admitSend applies the limits model to a message to c. Callers hold s.mu.
func (st *state) admitSend(c *chat, p params) *apiError {
	if st.limits == nil {
		return nil
	}
	retry, ok := st.limits.admit(c.ID, p.bool("allow_paid_broadcast"), st.s.now())
	if ok {
		return nil
	}
	st.stats.TooManyRequests++
	st.stats.TooManyRequestsByChat[c.ID]++
	return tooManyRequests(retry)
}

// recordSent notes a message the bot sent. Callers hold s.mu.
func (st *state) recordSent(method string, m *message, p params) {
	text := m.Text
	if text == "" {
		text = m.Caption
	}
	rec := SentMessage{
		ChatID: m.Chat.ID, MessageID: m.MessageID, Method: method, Text: text,
		PaidBroadcast: p.bool("allow_paid_broadcast"), At: st.s.now(),
	}
	if len(st.sent) < st.mem.Sent {
		st.sent = append(st.sent, rec)
	} else {
		st.sent[st.sentHead] = rec
		st.sentHead = (st.sentHead + 1) % len(st.sent)
	}
	st.stats.Sent++
	st.notifyCalls()
}

// randomID makes an opaque id of n characters from the seeded source.
func (st *state) randomID(n int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[st.rng.IntN(len(alphabet))]
	}
	return string(b)
}

// randomDigits makes a decimal id of n digits (query ids are numbers).
func (st *state) randomDigits(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('0' + st.rng.IntN(10))
	}
	if b[0] == '0' {
		b[0] = '1'
	}
	return string(b)
}

// Messages returns the messages now in chat chatID, as the Bot API's
// Message values, oldest first: what the chat shows after edits and
// deletions, the bot's messages and the users' alike. It is nil for an
// unknown chat.
func (s *Server) Messages(chatID int64) []botapi.Message {
	s.mu.Lock()
	ch := s.st.chats[chatID]
	var msgs []message
	if ch != nil {
		for id := ch.firstID + 1; id <= ch.lastID; id++ {
			if m := ch.msgs[id]; m != nil {
				msgs = append(msgs, *m)
			}
		}
	}
	s.mu.Unlock()
	var out []botapi.Message
	for _, m := range msgs {
		b, err := json.Marshal(m)
		if err != nil {
			panic("botapitest: encoding a message: " + err.Error())
		}
		var bm botapi.Message
		if err := json.Unmarshal(b, &bm); err != nil {
			panic("botapitest: decoding a message: " + err.Error())
		}
		out = append(out, bm)
	}
	return out
}
