package botapitest

import (
	"encoding/json"
	"errors"
)

// Errors of the user-side simulations.
var (
	// ErrUnknownMessage: the message or query to act on does not exist.
	ErrUnknownMessage = errors.New("botapitest: unknown message")
	// ErrUnknownChat: the group was not created on this server.
	ErrUnknownChat = errors.New("botapitest: unknown chat")
)

// startedUser returns user's state, creating a user who has started the
// bot when unknown, and marks their private chat started. Callers hold s.mu.
func (st *state) startedUser(user User) (*User, *chat) {
	if st.users[user.ID] == nil {
		st.addUser(user, true)
	}
	u := st.users[user.ID]
	ch := st.chats[u.ID]
	ch.started, ch.blocked = true, false
	return u, ch
}

// SendWebAppData makes user send data from the bot's Mini App opened from
// a keyboard button (Telegram.WebApp.sendData): the bot gets a message
// whose web_app_data carries data and the button's text. It returns the
// message's id. Telegram docs: https://core.telegram.org/bots/api#webappdata
func (s *Server) SendWebAppData(user User, data, buttonText string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ch := s.st.startedUser(user)
	m := s.st.newMessage(ch, u)
	m.WebAppData = &webAppData{Data: data, ButtonText: buttonText}
	s.st.enqueue("message", ch.ID, *m)
	return m.MessageID
}

// EditUserMessage makes user edit their message messageID in their private
// chat with the bot to text: the bot gets an edited_message update. It
// fails with [ErrUnknownMessage] when user has no such message there.
func (s *Server) EditUserMessage(user User, messageID int64, text string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.st.chats[user.ID]
	if ch == nil {
		return ErrUnknownUser
	}
	m := ch.msgs[messageID]
	if m == nil || m.From == nil || m.From.ID != user.ID {
		return ErrUnknownMessage
	}
	m.Text, m.Entities = text, findEntities(text)
	m.EditDate = s.now().Unix()
	s.st.enqueue("edited_message", ch.ID, *m)
	return nil
}

// SendUserPhoto makes user send a photo (its bytes) with a caption to the
// bot: the bot gets a message whose photo sizes carry file_ids that getFile
// serves and /file/bot<token>/ downloads. It returns the message's id.
func (s *Server) SendUserPhoto(user User, photo []byte, caption string) int64 {
	return s.userFile(user, "photo", "photo.jpg", photo, caption)
}

// SendUserDocument makes user send a document named name to the bot, as
// [Server.SendUserPhoto] does a photo.
func (s *Server) SendUserDocument(user User, name string, content []byte, caption string) int64 {
	return s.userFile(user, "document", name, content, caption)
}

func (s *Server) userFile(user User, kind, name string, content []byte, caption string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ch := s.st.startedUser(user)
	f := s.st.newFile(kind, name, "", int64(len(content)), append([]byte(nil), content...))
	m := s.st.newMessage(ch, u)
	m.Caption = caption
	s.st.attach(m, f)
	s.st.enqueue("message", ch.ID, *m)
	return m.MessageID
}

// inlineQuery is a query from [Server.SendInlineQuery].
type inlineQuery struct {
	user     User
	query    string
	answered bool
	results  json.RawMessage
}

// SendInlineQuery makes user type "@bot query" in a chat: the bot gets an
// inline_query update. It returns the query's id, for answerInlineQuery
// and [Server.InlineAnswer].
// Telegram docs: https://core.telegram.org/bots/api#inlinequery
func (s *Server) SendInlineQuery(user User, query string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, _ := s.st.startedUser(user)
	id := s.st.randomDigits(19)
	s.st.inlineQueries[id] = &inlineQuery{user: *u, query: query}
	s.st.enqueue("inline_query", u.ID, map[string]any{"id": id, "from": *u, "query": query, "offset": "", "chat_type": "sender"})
	return id
}

// InlineAnswer returns the results the bot answered inline query id with
// (answerInlineQuery's results, as JSON); ok is false until it answers.
func (s *Server) InlineAnswer(id string) (results json.RawMessage, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.st.inlineQueries[id]
	if q == nil || !q.answered {
		return nil, false
	}
	return append(json.RawMessage(nil), q.results...), true
}

// ChooseInlineResult makes the user of inline query id pick the result
// resultID: the bot gets a chosen_inline_result update (when its inline
// feedback is on, which the fake assumes).
// Telegram docs: https://core.telegram.org/bots/api#choseninlineresult
func (s *Server) ChooseInlineResult(id, resultID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.st.inlineQueries[id]
	if q == nil || !q.answered {
		return ErrUnknownMessage
	}
	s.st.enqueue("chosen_inline_result", q.user.ID, map[string]any{"result_id": resultID, "from": q.user, "query": q.query})
	delete(s.st.inlineQueries, id)
	return nil
}

// SendJoinRequest makes user ask to join group (through a link that
// needs approval): the bot gets a chat_join_request update and may
// approveChatJoinRequest or declineChatJoinRequest.
// Telegram docs: https://core.telegram.org/bots/api#chatjoinrequest
func (s *Server) SendJoinRequest(group Chat, user User) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.st.chats[group.ID]
	if ch == nil || ch.Type == "private" {
		return ErrUnknownChat
	}
	u, _ := s.st.startedUser(user)
	if ch.joinRequests == nil {
		ch.joinRequests = map[int64]bool{}
	}
	ch.joinRequests[u.ID] = true
	s.st.enqueue("chat_join_request", u.ID, map[string]any{
		"chat": ch.Chat, "from": *u, "user_chat_id": u.ID, "date": s.now().Unix(),
	})
	return nil
}

// JoinGroup makes user join group: the bot gets a chat_member update
// (left to member) when its allowed_updates include chat_member.
func (s *Server) JoinGroup(group Chat, user User) error { return s.memberMove(group, user, "member") }

// LeaveGroup makes user leave group: a chat_member update, member to left.
func (s *Server) LeaveGroup(group Chat, user User) error { return s.memberMove(group, user, "left") }

func (s *Server) memberMove(group Chat, user User, status string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.st.chats[group.ID]
	if ch == nil || ch.Type == "private" {
		return ErrUnknownChat
	}
	u, _ := s.st.startedUser(user)
	s.st.setMember(ch, *u, member{status: status}, *u)
	return nil
}
