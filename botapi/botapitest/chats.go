package botapitest

import (
	"encoding/json"
	"strconv"
	"strings"
)

// member is a user's standing in a group, as the fake keeps it.
type member struct {
	status string // creator, administrator, member, restricted, left, kicked
	until  int64  // until_date of a restriction or a ban, 0 for ever
	title  string // an administrator's custom title
	perms  map[string]bool
}

// chatPermissionNames are ChatPermissions' fields.
// Telegram docs: https://core.telegram.org/bots/api#chatpermissions
var chatPermissionNames = []string{
	"can_send_messages", "can_send_audios", "can_send_documents", "can_send_photos", "can_send_videos",
	"can_send_video_notes", "can_send_voice_notes", "can_send_polls", "can_send_other_messages",
	"can_add_web_page_previews", "can_change_info", "can_invite_users", "can_pin_messages", "can_manage_topics",
}

// adminRightNames are ChatAdministratorRights' fields.
// Telegram docs: https://core.telegram.org/bots/api#chatadministratorrights
var adminRightNames = []string{
	"is_anonymous", "can_manage_chat", "can_delete_messages", "can_manage_video_chats", "can_restrict_members",
	"can_promote_members", "can_change_info", "can_invite_users", "can_post_stories", "can_edit_stories",
	"can_delete_stories",
}

// memberJSON renders u's ChatMember in c.
func (st *state) memberJSON(c *chat, u User) map[string]any {
	out := map[string]any{"user": u}
	m := st.memberOf(c, u.ID)
	out["status"] = m.status
	switch m.status {
	case "administrator":
		out["can_be_edited"] = u.ID != st.bot.ID
		for _, r := range adminRightNames {
			out[r] = r != "is_anonymous"
		}
		if m.title != "" {
			out["custom_title"] = m.title
		}
	case "creator":
		out["is_anonymous"] = false
	case "restricted":
		out["is_member"] = true
		out["until_date"] = m.until
		for _, p := range chatPermissionNames {
			out[p] = m.perms[p]
		}
	case "kicked":
		out["until_date"] = m.until
	}
	return out
}

// memberOf is u's standing in c: in a private chat both sides are
// members; in a group, the bot is an administrator and users who never
// wrote there have left.
func (st *state) memberOf(c *chat, userID int64) member {
	if c.Type == "private" {
		return member{status: "member"}
	}
	if m := c.members[userID]; m != nil {
		return *m
	}
	if userID == st.bot.ID {
		return member{status: "administrator"}
	}
	return member{status: "left"}
}

// setMember changes u's standing in group c and sends the chat_member
// update Telegram sends (left out by default, see allowed_updates).
func (st *state) setMember(c *chat, u User, m member, by User) {
	old := st.memberJSON(c, u)
	if c.members == nil {
		c.members = map[int64]*member{}
	}
	c.members[u.ID] = &m
	st.enqueue("chat_member", u.ID, map[string]any{
		"chat": c.Chat, "from": by, "date": st.s.now().Unix(),
		"old_chat_member": old, "new_chat_member": st.memberJSON(c, u),
	})
}

// groupAndUser reads chat_id (a group) and user_id for the member methods.
func (st *state) groupAndUser(p params) (*chat, User, *apiError) {
	c, err := st.resolveChat(p, "chat_id")
	if err != nil {
		return nil, User{}, err
	}
	id, ok := p.int64("user_id")
	if !ok {
		return nil, User{}, badRequest("invalid user_id specified")
	}
	if id == st.bot.ID {
		return c, st.bot, nil
	}
	u := st.users[id]
	if u == nil {
		return nil, User{}, errUserNotFound
	}
	return c, *u, nil
}

// getChatMember. Telegram docs: https://core.telegram.org/bots/api#getchatmember
func getChatMember(s *Server, c *call) (any, *apiError) {
	ch, u, err := s.st.groupAndUser(c.p)
	if err != nil {
		return nil, err
	}
	return s.st.memberJSON(ch, u), nil
}

// getChatAdministrators. Telegram docs: https://core.telegram.org/bots/api#getchatadministrators
func getChatAdministrators(s *Server, c *call) (any, *apiError) {
	ch, err := s.st.resolveChat(c.p, "chat_id")
	if err != nil {
		return nil, err
	}
	if ch.Type == "private" {
		return nil, badRequest("there are no administrators in the private chat")
	}
	out := []map[string]any{s.st.memberJSON(ch, s.st.bot)}
	for id, m := range ch.members {
		if u := s.st.users[id]; u != nil && (m.status == "administrator" || m.status == "creator") {
			out = append(out, s.st.memberJSON(ch, *u))
		}
	}
	return out, nil
}

// getChatMemberCount. Telegram docs: https://core.telegram.org/bots/api#getchatmembercount
func getChatMemberCount(s *Server, c *call) (any, *apiError) {
	ch, err := s.st.resolveChat(c.p, "chat_id")
	if err != nil {
		return nil, err
	}
	if ch.Type == "private" {
		return 2, nil
	}
	n := 1 // the bot
	for _, m := range ch.members {
		if m.status != "left" && m.status != "kicked" {
			n++
		}
	}
	return n, nil
}

var errPrivateMember = badRequest("chat member status can't be changed in private chats")

// changeMember is the shape of ban, unban, restrict and promote: a group,
// a user other than the bot, then change.
func changeMember(change func(s *Server, c *call, ch *chat, u User) (any, *apiError)) func(*Server, *call) (any, *apiError) {
	return func(s *Server, c *call) (any, *apiError) {
		ch, u, err := s.st.groupAndUser(c.p)
		if err != nil {
			return nil, err
		}
		if ch.Type == "private" {
			return nil, errPrivateMember
		}
		if u.ID == s.st.bot.ID {
			return nil, badRequest("can't restrict self")
		}
		return change(s, c, ch, u)
	}
}

// banChatMember. Telegram docs: https://core.telegram.org/bots/api#banchatmember
var banChatMember = changeMember(func(s *Server, c *call, ch *chat, u User) (any, *apiError) {
	until, _ := c.p.int64("until_date")
	s.st.setMember(ch, u, member{status: "kicked", until: until}, s.st.bot)
	return true, nil
})

// unbanChatMember. Telegram docs: https://core.telegram.org/bots/api#unbanchatmember
var unbanChatMember = changeMember(func(s *Server, c *call, ch *chat, u User) (any, *apiError) {
	// A member who is not banned stays (only_if_banned or not: the fake
	// does not model removing a member by unbanning).
	if s.st.memberOf(ch, u.ID).status == "kicked" {
		s.st.setMember(ch, u, member{status: "left"}, s.st.bot)
	}
	return true, nil
})

// restrictChatMember. Telegram docs: https://core.telegram.org/bots/api#restrictchatmember
var restrictChatMember = changeMember(func(s *Server, c *call, ch *chat, u User) (any, *apiError) {
	perms := map[string]bool{}
	if !c.p.object("permissions", &perms) {
		return nil, badRequest("can't parse chat permissions JSON object")
	}
	until, _ := c.p.int64("until_date")
	s.st.setMember(ch, u, member{status: "restricted", until: until, perms: perms}, s.st.bot)
	return true, nil
})

// promoteChatMember. Telegram docs: https://core.telegram.org/bots/api#promotechatmember
var promoteChatMember = changeMember(func(s *Server, c *call, ch *chat, u User) (any, *apiError) {
	any := false
	for _, r := range adminRightNames {
		any = any || c.p.bool(r)
	}
	status := "member"
	if any {
		status = "administrator"
	}
	s.st.setMember(ch, u, member{status: status}, s.st.bot)
	return true, nil
})

// setChatAdministratorCustomTitle. Telegram docs: https://core.telegram.org/bots/api#setchatadministratorcustomtitle
func setChatAdministratorCustomTitle(s *Server, c *call) (any, *apiError) {
	ch, u, err := s.st.groupAndUser(c.p)
	if err != nil {
		return nil, err
	}
	m := ch.members[u.ID]
	if m == nil || m.status != "administrator" {
		return nil, badRequest("user is not an administrator")
	}
	title := c.p.str("custom_title")
	if textLength(title) > 16 {
		return nil, badRequest("ADMIN_RANK_INVALID")
	}
	m.title = title
	return true, nil
}

// setChatPermissions. Telegram docs: https://core.telegram.org/bots/api#setchatpermissions
func setChatPermissions(s *Server, c *call) (any, *apiError) {
	ch, err := s.st.resolveChat(c.p, "chat_id")
	if err != nil {
		return nil, err
	}
	if ch.Type == "private" {
		return nil, badRequest("method is available only for supergroups")
	}
	var perms map[string]bool
	if !c.p.object("permissions", &perms) {
		return nil, badRequest("can't parse chat permissions JSON object")
	}
	ch.permissions = perms
	return true, nil
}

// setChatText serves setChatTitle and setChatDescription.
func setChatText(field string, maxLen int) func(*Server, *call) (any, *apiError) {
	return func(s *Server, c *call) (any, *apiError) {
		ch, err := s.st.resolveChat(c.p, "chat_id")
		if err != nil {
			return nil, err
		}
		if ch.Type == "private" {
			return nil, badRequest("chat " + field + " can't be changed in private chats")
		}
		v := c.p.str(field)
		if field == "title" && strings.TrimSpace(v) == "" {
			return nil, badRequest("chat title can't be empty")
		}
		if textLength(v) > maxLen {
			return nil, badRequest("chat " + field + " is too long")
		}
		if field == "title" {
			if v == ch.Title {
				return nil, badRequest("chat title is not modified")
			}
			ch.Title = v
		} else {
			if v == ch.description {
				return nil, badRequest("chat description is not modified")
			}
			ch.description = v
		}
		return true, nil
	}
}

// setChatPhoto and deleteChatPhoto. Telegram docs: https://core.telegram.org/bots/api#setchatphoto
func setChatPhoto(s *Server, c *call) (any, *apiError) {
	ch, err := s.st.resolveChat(c.p, "chat_id")
	if err != nil {
		return nil, err
	}
	if ch.Type == "private" {
		return nil, badRequest("chat photo can't be changed in private chats")
	}
	if c.method == "deletechatphoto" {
		if !ch.hasPhoto {
			return nil, badRequest("CHAT_NOT_MODIFIED")
		}
		ch.hasPhoto = false
		return true, nil
	}
	if len(c.files) == 0 {
		return nil, badRequest("there is no photo in the request")
	}
	ch.hasPhoto = true
	return true, nil
}

// leaveChat. Telegram docs: https://core.telegram.org/bots/api#leavechat
func leaveChat(s *Server, c *call) (any, *apiError) {
	ch, err := s.st.resolveChat(c.p, "chat_id")
	if err != nil {
		return nil, err
	}
	if ch.Type == "private" {
		return nil, badRequest("chat member status can't be changed in private chats")
	}
	if ch.members == nil {
		ch.members = map[int64]*member{}
	}
	ch.members[s.st.bot.ID] = &member{status: "left"}
	return true, nil
}

// inviteLink is a ChatInviteLink.
type inviteLink struct {
	InviteLink              string `json:"invite_link"`
	Creator                 User   `json:"creator"`
	CreatesJoinRequest      bool   `json:"creates_join_request"`
	IsPrimary               bool   `json:"is_primary"`
	IsRevoked               bool   `json:"is_revoked"`
	Name                    string `json:"name,omitempty"`
	ExpireDate              int64  `json:"expire_date,omitempty"`
	MemberLimit             int    `json:"member_limit,omitempty"`
	SubscriptionPeriod      int64  `json:"subscription_period,omitempty"`
	SubscriptionPrice       int    `json:"subscription_price,omitempty"`
	PendingJoinRequestCount int    `json:"pending_join_request_count,omitempty"`
}

// inviteLinkMethod serves createChatInviteLink, editChatInviteLink,
// revokeChatInviteLink, createChatSubscriptionInviteLink and
// editChatSubscriptionInviteLink.
// Telegram docs: https://core.telegram.org/bots/api#createchatinvitelink
func inviteLinkMethod(s *Server, c *call) (any, *apiError) {
	ch, err := s.st.resolveChat(c.p, "chat_id")
	if err != nil {
		return nil, err
	}
	if ch.Type == "private" {
		return nil, badRequest("can't invite members to a private chat")
	}
	if ch.links == nil {
		ch.links = map[string]*inviteLink{}
	}
	var l *inviteLink
	switch c.method {
	case "createchatinvitelink", "createchatsubscriptioninvitelink":
		l = &inviteLink{InviteLink: "https://t.me/+" + s.st.randomID(16), Creator: s.st.bot}
		ch.links[l.InviteLink] = l
	default:
		l = ch.links[c.p.str("invite_link")]
		if l == nil {
			return nil, badRequest("INVITE_HASH_EXPIRED")
		}
	}
	if c.method == "revokechatinvitelink" {
		l.IsRevoked = true
		return *l, nil
	}
	if c.p.has("name") {
		if textLength(c.p.str("name")) > 32 {
			return nil, badRequest("invite link name is too long")
		}
		l.Name = c.p.str("name")
	}
	if v, ok := c.p.int64("expire_date"); ok {
		l.ExpireDate = v
	}
	if v, ok := c.p.int64("member_limit"); ok {
		if v < 0 || v > 99999 {
			return nil, badRequest("wrong member limit specified")
		}
		l.MemberLimit = int(v)
	}
	if c.p.has("creates_join_request") {
		l.CreatesJoinRequest = c.p.bool("creates_join_request")
		if l.CreatesJoinRequest && l.MemberLimit > 0 {
			return nil, badRequest("member limit can't be specified for links requiring administrator approval")
		}
	}
	if v, ok := c.p.int64("subscription_period"); ok {
		if v != int64(SubscriptionPeriod.Seconds()) {
			return nil, badRequest("SUBSCRIPTION_PERIOD_INVALID")
		}
		l.SubscriptionPeriod = v
	}
	if v, ok := c.p.int64("subscription_price"); ok {
		l.SubscriptionPrice = int(v)
	}
	return *l, nil
}

// exportChatInviteLink. Telegram docs: https://core.telegram.org/bots/api#exportchatinvitelink
func exportChatInviteLink(s *Server, c *call) (any, *apiError) {
	ch, err := s.st.resolveChat(c.p, "chat_id")
	if err != nil {
		return nil, err
	}
	if ch.Type == "private" {
		return nil, badRequest("can't invite members to a private chat")
	}
	ch.primaryLink = "https://t.me/+" + s.st.randomID(16)
	return ch.primaryLink, nil
}

// answerJoinRequest serves approveChatJoinRequest and declineChatJoinRequest.
// Telegram docs: https://core.telegram.org/bots/api#approvechatjoinrequest
func answerJoinRequest(s *Server, c *call) (any, *apiError) {
	ch, u, err := s.st.groupAndUser(c.p)
	if err != nil {
		return nil, err
	}
	if !ch.joinRequests[u.ID] {
		// Telegram's answer when the user has no pending request.
		return nil, badRequest("HIDE_REQUESTER_MISSING")
	}
	delete(ch.joinRequests, u.ID)
	if c.method == "approvechatjoinrequest" {
		s.st.setMember(ch, u, member{status: "member"}, s.st.bot)
	}
	return true, nil
}

// getUserProfilePhotos. Telegram docs: https://core.telegram.org/bots/api#getuserprofilephotos
func getUserProfilePhotos(s *Server, c *call) (any, *apiError) {
	id, _ := c.p.int64("user_id")
	if s.st.users[id] == nil {
		return nil, errUserNotFound
	}
	return map[string]any{"total_count": 0, "photos": [][]photoSize{}}, nil
}

// setUserEmojiStatus. Telegram docs: https://core.telegram.org/bots/api#setuseremojistatus
func setUserEmojiStatus(s *Server, c *call) (any, *apiError) {
	id, _ := c.p.int64("user_id")
	u := s.st.users[id]
	if u == nil {
		return nil, errUserNotFound
	}
	if v := c.p.str("emoji_status_custom_emoji_id"); v != "" {
		if _, err := strconv.ParseInt(v, 10, 64); err != nil {
			return nil, badRequest("invalid custom emoji identifier specified")
		}
	}
	s.st.emojiStatus[id] = c.p.str("emoji_status_custom_emoji_id")
	return true, nil
}

// EmojiStatus returns the custom emoji id the bot set as user's emoji
// status with setUserEmojiStatus ("" for none).
func (s *Server) EmojiStatus(user User) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.emojiStatus[user.ID]
}

// chatFullInfo is the ChatFullInfo getChat answers.
type chatFullInfo struct {
	Chat
	AccentColorID     int             `json:"accent_color_id"`
	MaxReactionCount  int             `json:"max_reaction_count"`
	Description       string          `json:"description,omitempty"`
	InviteLink        string          `json:"invite_link,omitempty"`
	Permissions       map[string]bool `json:"permissions,omitempty"`
	PinnedMessage     *message        `json:"pinned_message,omitempty"`
	AcceptedGiftTypes json.RawMessage `json:"accepted_gift_types"`
}

// getChat. Telegram docs: https://core.telegram.org/bots/api#getchat
func getChat(s *Server, c *call) (any, *apiError) {
	ch, err := s.st.resolveChat(c.p, "chat_id")
	if err != nil {
		return nil, err
	}
	info := chatFullInfo{Chat: ch.Chat, MaxReactionCount: 11, Description: ch.description, InviteLink: ch.primaryLink,
		Permissions:       ch.permissions,
		AcceptedGiftTypes: json.RawMessage(`{"unlimited_gifts":true,"limited_gifts":true,"unique_gifts":true,"premium_subscription":true,"gifts_from_channels":true}`)}
	if n := len(ch.pinned); n > 0 {
		if m := ch.msgs[ch.pinned[n-1]]; m != nil {
			pm := *m
			pm.ReplyToMessage = nil
			info.PinnedMessage = &pm
		}
	}
	return info, nil
}
