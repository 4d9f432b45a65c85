package botapitest

// SendUserMessage makes from write text to the bot in their private chat
// and delivers the message update. A text starting with "/" carries a
// bot_command entity, as Telegram marks commands. Writing to the bot
// unblocks it, as a user restarting a blocked bot does. It returns the
// message's id; from must have been created with [Server.NewUser] or
// [Server.AddUser], or it is created now.
func (s *Server) SendUserMessage(from User, text string) int64 {
	s.mu.Lock()
	u := s.st.users[from.ID]
	s.mu.Unlock()
	if u == nil {
		from = s.AddUser(from)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u = s.st.users[from.ID]
	ch := s.st.chats[u.ID]
	ch.blocked = false
	ch.started = true
	return s.st.userMessage(ch, *u, text)
}

// SendGroupMessage makes from write text in the group chat and delivers
// the message update; it returns the message's id, or 0 if the group is
// unknown.
func (s *Server) SendGroupMessage(group Chat, from User, text string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.st.chats[group.ID]
	if ch == nil || ch.Type == "private" {
		return 0
	}
	return s.st.userMessage(ch, from, text)
}

func (st *state) userMessage(ch *chat, from User, text string) int64 {
	m := st.newMessage(ch, &from)
	m.Text, m.Entities = text, findEntities(text)
	st.enqueue("message", m.Chat.ID, *m)
	return m.MessageID
}

type callbackQuery struct {
	ID           string   `json:"id"`
	From         User     `json:"from"`
	Message      *message `json:"message,omitempty"`
	ChatInstance string   `json:"chat_instance"`
	Data         string   `json:"data,omitempty"`
}

// PressButton makes user press an inline button of the bot's most recent
// message in their private chat that has one whose text or callback_data
// is button, and delivers the callback_query update. It returns the
// callback query's id (see [Server.CallbackAnswer]), or [ErrNoButton] if
// no such callback button exists.
func (s *Server) PressButton(user User, button string) (queryID string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.st.users[user.ID]
	if u == nil {
		return "", ErrUnknownUser
	}
	ch := s.st.chats[u.ID]
	var found *message
	var data string
	for id := ch.lastID; id > ch.firstID && found == nil; id-- {
		m := ch.msgs[id]
		if m == nil || m.keyboard == nil {
			continue
		}
		for _, row := range m.keyboard.InlineKeyboard {
			for _, b := range row {
				if b.CallbackData != "" && (b.Text == button || b.CallbackData == button) {
					found, data = m, b.CallbackData
				}
			}
		}
	}
	if found == nil {
		return "", ErrNoButton
	}
	id := s.st.randomDigits(19)
	s.st.callbacks[id] = &callbackState{}
	msg := *found
	s.st.enqueue("callback_query", u.ID, callbackQuery{
		ID: id, From: *u, Message: &msg, ChatInstance: s.st.randomDigits(19), Data: data,
	})
	return id, nil
}

type chatMember struct {
	Status string `json:"status"`
	User   User   `json:"user"`
}

type chatMemberUpdated struct {
	Chat          Chat       `json:"chat"`
	From          User       `json:"from"`
	Date          int64      `json:"date"`
	OldChatMember chatMember `json:"old_chat_member"`
	NewChatMember chatMember `json:"new_chat_member"`
}

// BlockBot makes user block the bot: the bot gets a my_chat_member update
// (member to kicked), and every later send to the user fails with 403
// "Forbidden: bot was blocked by the user" until [Server.UnblockBot] or
// the user writes again.
func (s *Server) BlockBot(user User) { s.setBlocked(user, true) }

// UnblockBot makes user unblock the bot (restart it): my_chat_member
// kicked to member.
func (s *Server) UnblockBot(user User) { s.setBlocked(user, false) }

func (s *Server) setBlocked(user User, blocked bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.st.chats[user.ID]
	u := s.st.users[user.ID]
	if ch == nil || u == nil || ch.blocked == blocked {
		return
	}
	ch.blocked = blocked
	oldS, newS := "member", "kicked"
	if !blocked {
		oldS, newS = newS, oldS
	}
	s.st.enqueue("my_chat_member", ch.ID, chatMemberUpdated{
		Chat: ch.Chat, From: *u, Date: s.now().Unix(),
		OldChatMember: chatMember{Status: oldS, User: s.st.bot},
		NewChatMember: chatMember{Status: newS, User: s.st.bot},
	})
}
