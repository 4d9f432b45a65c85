package botapitest

import (
	"bytes"
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"time"
)

// methodTable lists the methods the fake serves, keyed in lower case
// (Bot API method names are case-insensitive). Another Bot API method
// answers 400 "Bad Request: method not supported by the fake"; a name the
// Bot API does not have answers 404 "Not Found", as Telegram answers it.
func methodTable() map[string]methodFunc {
	l := func(fn func(*Server, *call) (any, *apiError)) methodFunc { return methodFunc{fn: fn, locked: true} }
	return map[string]methodFunc{
		// Updates and the bot.
		"getupdates":                      {fn: getUpdates},
		"setwebhook":                      l(setWebhook),
		"deletewebhook":                   l(deleteWebhook),
		"getwebhookinfo":                  l(getWebhookInfo),
		"getme":                           l(getMe),
		"logout":                          l(logOutOrClose),
		"close":                           l(logOutOrClose),
		"setmycommands":                   l(setMyCommands),
		"getmycommands":                   l(getMyCommands),
		"deletemycommands":                l(deleteMyCommands),
		"setmyname":                       l(botText("name", 64, true)),
		"getmyname":                       l(botText("name", 64, false)),
		"setmydescription":                l(botText("description", 512, true)),
		"getmydescription":                l(botText("description", 512, false)),
		"setmyshortdescription":           l(botText("short_description", 120, true)),
		"getmyshortdescription":           l(botText("short_description", 120, false)),
		"setmydefaultadministratorrights": l(defaultAdminRights),
		"getmydefaultadministratorrights": l(defaultAdminRights),
		"setchatmenubutton":               l(setChatMenuButton),
		"getchatmenubutton":               l(getChatMenuButton),
		// Sending.
		"sendmessage":     l(sendMessage),
		"sendphoto":       l(sendMedia("photo")),
		"senddocument":    l(sendMedia("document")),
		"sendvideo":       l(sendMedia("video")),
		"sendanimation":   l(sendMedia("animation")),
		"sendaudio":       l(sendMedia("audio")),
		"sendvoice":       l(sendMedia("voice")),
		"sendvideonote":   l(sendMedia("video_note")),
		"sendsticker":     l(sendMedia("sticker")),
		"sendmediagroup":  l(sendMediaGroup),
		"sendpaidmedia":   l(sendPaidMedia),
		"sendlocation":    l(sendObject("location")),
		"sendvenue":       l(sendObject("venue")),
		"sendcontact":     l(sendObject("contact")),
		"sendpoll":        l(sendObject("poll")),
		"senddice":        l(sendObject("dice")),
		"sendchataction":  l(sendChatAction),
		"forwardmessage":  l(forwardMessage),
		"forwardmessages": l(forwardOrCopyMany),
		"copymessage":     l(copyMessage),
		"copymessages":    l(forwardOrCopyMany),
		"getfile":         l(getFile),
		// Editing.
		"editmessagetext":         l(editMessageText),
		"editmessagecaption":      l(editMessageCaption),
		"editmessagemedia":        l(editMessageMedia),
		"editmessagereplymarkup":  l(editMessageReplyMarkup),
		"editmessagelivelocation": l(liveLocation),
		"stopmessagelivelocation": l(liveLocation),
		"stoppoll":                l(stopPoll),
		"deletemessage":           l(deleteMessage),
		"deletemessages":          l(deleteMessages),
		"setmessagereaction":      l(setMessageReaction),
		"pinchatmessage":          l(pin),
		"unpinchatmessage":        l(pin),
		"unpinallchatmessages":    l(pin),
		// Chats and members.
		"getchat":                          l(getChat),
		"getchatmember":                    l(getChatMember),
		"getchatadministrators":            l(getChatAdministrators),
		"getchatmembercount":               l(getChatMemberCount),
		"banchatmember":                    l(banChatMember),
		"unbanchatmember":                  l(unbanChatMember),
		"restrictchatmember":               l(restrictChatMember),
		"promotechatmember":                l(promoteChatMember),
		"setchatadministratorcustomtitle":  l(setChatAdministratorCustomTitle),
		"setchatpermissions":               l(setChatPermissions),
		"setchattitle":                     l(setChatText("title", 128)),
		"setchatdescription":               l(setChatText("description", 255)),
		"setchatphoto":                     l(setChatPhoto),
		"deletechatphoto":                  l(setChatPhoto),
		"leavechat":                        l(leaveChat),
		"exportchatinvitelink":             l(exportChatInviteLink),
		"createchatinvitelink":             l(inviteLinkMethod),
		"editchatinvitelink":               l(inviteLinkMethod),
		"revokechatinvitelink":             l(inviteLinkMethod),
		"createchatsubscriptioninvitelink": l(inviteLinkMethod),
		"editchatsubscriptioninvitelink":   l(inviteLinkMethod),
		"approvechatjoinrequest":           l(answerJoinRequest),
		"declinechatjoinrequest":           l(answerJoinRequest),
		"getuserprofilephotos":             l(getUserProfilePhotos),
		"setuseremojistatus":               l(setUserEmojiStatus),
		"getuserchatboosts":                l(getUserChatBoosts),
		// Queries and Mini Apps.
		"answercallbackquery":       l(answerCallbackQuery),
		"answerinlinequery":         l(answerInlineQuery),
		"answerwebappquery":         l(answerWebAppQuery),
		"savepreparedinlinemessage": l(savePreparedInlineMessage),
		// Payments, Stars and gifts.
		"sendinvoice":              l(sendInvoice),
		"createinvoicelink":        l(createInvoiceLink),
		"answershippingquery":      l(answerShippingQuery),
		"answerprecheckoutquery":   l(answerPreCheckoutQuery),
		"refundstarpayment":        l(refundStarPayment),
		"getstartransactions":      l(getStarTransactions),
		"getmystarbalance":         l(getMyStarBalance),
		"edituserstarsubscription": l(editUserStarSubscription),
		"getavailablegifts":        l(getAvailableGifts),
		"sendgift":                 l(sendGift),
	}
}

// knownMethods is every Bot API method name, in lower case.
var knownMethods = func() map[string]bool {
	m := make(map[string]bool, len(apiMethods))
	for _, n := range apiMethods {
		m[strings.ToLower(n)] = true
	}
	return m
}()

// preparedMessageLifetime is how long a prepared inline message lives in
// the fake; Telegram does not publish its own figure.
const preparedMessageLifetime = 24 * time.Hour

// getMe answers the bot with every flag Telegram's getMe carries, false
// ones included (JsonUser with full info in Client.cpp).
// Telegram docs: https://core.telegram.org/bots/api#getme
func getMe(s *Server, _ *call) (any, *apiError) {
	b := s.st.botInfo
	out := map[string]any{
		"id": b.ID, "is_bot": true, "first_name": b.FirstName,
		"can_join_groups": b.CanJoinGroups, "can_read_all_group_messages": b.CanReadAllGroupMessages,
		"supports_inline_queries": b.SupportsInlineQueries, "supports_guest_queries": b.SupportsGuestQueries,
		"can_connect_to_business": b.CanConnectToBusiness, "has_main_web_app": b.HasMainWebApp,
		"has_topics_enabled": b.HasTopicsEnabled, "allows_users_to_create_topics": b.AllowsUsersToCreateTopics,
		"can_manage_bots": b.CanManageBots,
	}
	if b.LastName != "" {
		out["last_name"] = b.LastName
	}
	if b.Username != "" {
		out["username"] = b.Username
	}
	return out, nil
}

// parseMarkup reads reply_markup; only an inline keyboard stays on the message.
func parseMarkup(p params) (json.RawMessage, *inlineKeyboard, *apiError) {
	raw, ok := p["reply_markup"]
	if !ok {
		return nil, nil, nil
	}
	var probe map[string]json.RawMessage
	if json.Unmarshal([]byte(raw), &probe) != nil {
		return nil, nil, errMarkupBad
	}
	if _, ok := probe["inline_keyboard"]; !ok {
		return nil, nil, nil
	}
	var kb inlineKeyboard
	if json.Unmarshal([]byte(raw), &kb) != nil {
		return nil, nil, errMarkupBad
	}
	var fields struct {
		InlineKeyboard [][]map[string]json.RawMessage `json:"inline_keyboard"`
	}
	_ = json.Unmarshal([]byte(raw), &fields)
	for _, row := range fields.InlineKeyboard {
		for _, b := range row {
			if len(b) < 2 { // text and nothing to do
				return nil, nil, badRequest("text buttons are unallowed in the inline keyboard")
			}
		}
	}
	for _, row := range kb.InlineKeyboard {
		for _, b := range row {
			if len(b.CallbackData) > maxCallbackDataBytes {
				return nil, nil, badRequest("BUTTON_DATA_INVALID")
			}
		}
	}
	var buf bytes.Buffer
	if json.Compact(&buf, []byte(raw)) != nil {
		return nil, nil, errMarkupBad
	}
	return buf.Bytes(), &kb, nil
}

// sendTo finds the chat a send targets (chat_id).
func (st *state) sendTo(p params) (*chat, *apiError) { return st.resolveChat(p, "chat_id") }

// postMessage makes the bot's new message in c, with p's reply_markup, once
// the method's own parameters are valid: it checks the markup, then admits
// the send (see admit).
func (st *state) postMessage(c *chat, p params) (*message, *apiError) {
	raw, kb, err := parseMarkup(p)
	if err != nil {
		return nil, err
	}
	reply, err := replyTo(c, p)
	if err != nil {
		return nil, err
	}
	if err := st.admit(c, p); err != nil {
		return nil, err
	}
	bot := st.bot
	m := st.newMessage(c, &bot)
	m.ReplyMarkup, m.keyboard = raw, kb
	if reply != nil {
		r := *reply
		r.ReplyToMessage = nil // Telegram nests one level only
		m.ReplyToMessage = &r
	}
	return m, nil
}

// replyTo finds the message a send replies to, from reply_parameters or
// the older reply_to_message_id, as Client::get_reply_parameters reads
// them: nil for none, or for a missing message with
// allow_sending_without_reply. Replies in another chat are not modelled.
func replyTo(c *chat, p params) (*message, *apiError) {
	var rp struct {
		MessageID                int64 `json:"message_id"`
		AllowSendingWithoutReply bool  `json:"allow_sending_without_reply"`
	}
	switch {
	case p.has("reply_parameters"):
		v := p.str("reply_parameters")
		if v == "" {
			return nil, nil
		}
		if !p.object("reply_parameters", &rp) {
			return nil, badRequest("can't parse reply parameters JSON object")
		}
	default:
		rp.MessageID, _ = p.int64("reply_to_message_id")
		rp.AllowSendingWithoutReply = p.bool("allow_sending_without_reply")
	}
	if rp.MessageID <= 0 {
		return nil, nil
	}
	if m := c.msgs[rp.MessageID]; m != nil {
		return m, nil
	}
	if rp.AllowSendingWithoutReply {
		return nil, nil
	}
	return nil, errReplyNotFound
}

// messageText reads text, parse_mode and entities as sendMessage and
// editMessageText do: the text parsed, then not empty once trimmed and at
// most maxTextLength UTF-16 units.
func messageText(p params) (string, []messageEntity, *apiError) {
	text, ents, err := formatted(p, "text", "parse_mode", "entities")
	if err != nil {
		return "", nil, err
	}
	if err := checkText(text); err != nil {
		return "", nil, err
	}
	return text, ents, nil
}

func checkText(text string) *apiError {
	if strings.TrimSpace(text) == "" {
		return errTextEmpty
	}
	if textLength(text) > maxTextLength {
		return errTextTooLong
	}
	return nil
}

// admit runs the checks a send makes once its parameters are valid: the
// bot's right to write to c, then the flood limits.
func (st *state) admit(c *chat, p params) *apiError {
	if err := c.writable(); err != nil {
		return err
	}
	return st.admitSend(c, p)
}

// sendMessage. Telegram docs: https://core.telegram.org/bots/api#sendmessage
func sendMessage(s *Server, c *call) (any, *apiError) {
	ch, err := s.st.sendTo(c.p)
	if err != nil {
		return nil, err
	}
	text, ents, err := messageText(c.p)
	if err != nil {
		return nil, err
	}
	m, err := s.st.postMessage(ch, c.p)
	if err != nil {
		return nil, err
	}
	m.Text, m.Entities = text, ents
	s.st.recordSent(c.method, m, c.p)
	return *m, nil
}

// sendMedia serves sendPhoto, sendDocument, sendVideo, sendAnimation,
// sendAudio, sendVoice, sendVideoNote and sendSticker: the file is a
// file_id the server issued, an HTTP URL, or an upload (multipart,
// directly or by attach://<name>); an unknown file_id fails as Telegram
// fails it.
// Telegram docs: https://core.telegram.org/bots/api#sending-files
func sendMedia(kind string) func(*Server, *call) (any, *apiError) {
	return func(s *Server, c *call) (any, *apiError) {
		ch, err := s.st.sendTo(c.p)
		if err != nil {
			return nil, err
		}
		ref := c.p.str(kind)
		if ref == "" {
			return nil, badRequest("there is no " + kind + " in the request")
		}
		caption, entities, err := captionOf(c.p)
		if err != nil {
			return nil, err
		}
		f, err := s.st.inputFile(c, ref, kind)
		if err != nil {
			return nil, err
		}
		m, err := s.st.postMessage(ch, c.p)
		if err != nil {
			return nil, err
		}
		m.Caption, m.CaptionEntities = caption, entities
		s.st.attach(m, f)
		s.st.recordSent(c.method, m, c.p)
		return *m, nil
	}
}

// captionOf reads caption and parse_mode: the caption stripped of its
// markup, with its entities.
func captionOf(p params) (string, []messageEntity, *apiError) {
	caption, entities, err := formatted(p, "caption", "parse_mode", "caption_entities")
	if err != nil {
		return "", nil, err
	}
	if textLength(caption) > maxCaptionLength {
		return "", nil, errCaptionTooLong
	}
	return caption, entities, nil
}

// attach puts file f on m as the field of its kind. Callers hold s.mu.
func (st *state) attach(m *message, f *storedFile) {
	mf := &mediaFile{FileID: f.id, FileUniqueID: f.unique, FileName: f.name, MimeType: f.mime, FileSize: f.size}
	switch f.kind {
	case "photo":
		if f.thumb == nil {
			f.thumb = st.newFile("photo", "", "", int64(len(f.data)), f.data)
		}
		m.Photo = []photoSize{
			{FileID: f.thumb.id, FileUniqueID: f.thumb.unique, Width: 90, Height: 90, FileSize: f.thumb.size},
			{FileID: f.id, FileUniqueID: f.unique, Width: 800, Height: 800, FileSize: f.size},
		}
	case "document":
		m.Document = &document{FileID: f.id, FileUniqueID: f.unique, FileName: f.name, FileSize: f.size}
	case "video":
		mf.Width, mf.Height, mf.Duration = 640, 360, 1
		m.Video = mf
	case "animation":
		mf.Width, mf.Height, mf.Duration = 320, 240, 1
		m.Animation = mf
	case "audio":
		mf.Duration = 1
		m.Audio = mf
	case "voice":
		mf.Duration = 1
		m.Voice = mf
	case "video_note":
		mf.Length, mf.Duration = 240, 1
		m.VideoNote = mf
	case "sticker":
		mf.Width, mf.Height, mf.Type = 512, 512, "regular"
		m.Sticker = mf
	}
}

// chatActions are the actions sendChatAction accepts.
// Telegram docs: https://core.telegram.org/bots/api#sendchataction
var chatActions = []string{
	"typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
	"upload_document", "choose_sticker", "find_location", "record_video_note", "upload_video_note",
}

// sendChatAction. Telegram docs: https://core.telegram.org/bots/api#sendchataction
func sendChatAction(s *Server, c *call) (any, *apiError) {
	ch, err := s.st.sendTo(c.p)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(chatActions, c.p.str("action")) {
		return nil, badRequest("wrong parameter action in request")
	}
	if err := ch.writable(); err != nil {
		return nil, err
	}
	return true, nil
}

// sourceMessage finds from_chat_id/message_id for forward and copy.
func (st *state) sourceMessage(p params, what string) (*message, *apiError) {
	from, err := st.resolveChat(p, "from_chat_id")
	if err != nil {
		return nil, err
	}
	id, ok := p.int64("message_id")
	if !ok {
		return nil, badRequest("message identifier is not specified")
	}
	m := from.msgs[id]
	if m == nil {
		return nil, badRequest("message to " + what + " not found")
	}
	return m, nil
}

// forwardMessage. Telegram docs: https://core.telegram.org/bots/api#forwardmessage
func forwardMessage(s *Server, c *call) (any, *apiError) {
	ch, err := s.st.sendTo(c.p)
	if err != nil {
		return nil, err
	}
	src, err := s.st.sourceMessage(c.p, "forward")
	if err != nil {
		return nil, err
	}
	if err := s.st.admit(ch, c.p); err != nil {
		return nil, err
	}
	bot := s.st.bot
	m := s.st.newMessage(ch, &bot)
	copyContent(m, src)
	origin := &forwardOrigin{Type: "user", Date: src.Date, SenderUser: src.From}
	if src.Chat.Type == "channel" {
		from := src.Chat
		origin = &forwardOrigin{Type: "channel", Date: src.Date, Chat: &from, MessageID: src.MessageID}
	}
	m.ForwardOrigin = origin
	s.st.recordSent(c.method, m, c.p)
	return *m, nil
}

func copyContent(dst, src *message) {
	dst.Text, dst.Entities, dst.Caption, dst.CaptionEntities = src.Text, src.Entities, src.Caption, src.CaptionEntities
	dst.Photo, dst.Document, dst.Video, dst.Animation = src.Photo, src.Document, src.Video, src.Animation
	dst.Audio, dst.Voice, dst.VideoNote, dst.Sticker = src.Audio, src.Voice, src.VideoNote, src.Sticker
	dst.Location, dst.Venue, dst.Contact, dst.Dice, dst.Poll = src.Location, src.Venue, src.Contact, src.Dice, src.Poll
}

// copyMessage. Telegram docs: https://core.telegram.org/bots/api#copymessage
func copyMessage(s *Server, c *call) (any, *apiError) {
	ch, err := s.st.sendTo(c.p)
	if err != nil {
		return nil, err
	}
	src, err := s.st.sourceMessage(c.p, "copy")
	if err != nil {
		return nil, err
	}
	if src.Invoice != nil || src.SuccessfulPayment != nil || src.RefundedPayment != nil {
		return nil, badRequest("message can't be copied")
	}
	var caption string
	var ents []messageEntity
	if c.p.has("caption") {
		if caption, ents, err = captionOf(c.p); err != nil {
			return nil, err
		}
	}
	m, err := s.st.postMessage(ch, c.p)
	if err != nil {
		return nil, err
	}
	copyContent(m, src)
	if c.p.has("caption") {
		m.Caption, m.CaptionEntities = caption, ents
	}
	s.st.recordSent(c.method, m, c.p)
	return map[string]int64{"message_id": m.MessageID}, nil
}

// editable finds the bot's message chat_id/message_id for an edit.
func (st *state) editable(p params) (*message, *apiError) {
	if p.has("inline_message_id") {
		return nil, badRequest("MESSAGE_ID_INVALID")
	}
	ch, err := st.resolveChat(p, "chat_id")
	if err != nil {
		return nil, err
	}
	id, ok := p.int64("message_id")
	if !ok {
		return nil, badRequest("message identifier is not specified")
	}
	if id <= 0 {
		return nil, errMessageIDBad
	}
	m := ch.msgs[id]
	if m == nil {
		return nil, badRequest("message to edit not found")
	}
	if m.From == nil || m.From.ID != st.bot.ID {
		return nil, badRequest("message can't be edited")
	}
	return m, nil
}

// editMessageText. Telegram docs: https://core.telegram.org/bots/api#editmessagetext
func editMessageText(s *Server, c *call) (any, *apiError) {
	m, err := s.st.editable(c.p)
	if err != nil {
		return nil, err
	}
	text, ents, err := messageText(c.p)
	if err != nil {
		return nil, err
	}
	if m.Text == "" {
		return nil, badRequest("there is no text in the message to edit")
	}
	raw, kb, err := parseMarkup(c.p)
	if err != nil {
		return nil, err
	}
	if text == m.Text && slices.Equal(ents, m.Entities) && bytes.Equal(raw, m.ReplyMarkup) {
		return nil, errNotModified
	}
	m.Text, m.Entities = text, ents
	m.ReplyMarkup, m.keyboard = raw, kb
	m.EditDate = s.now().Unix()
	return *m, nil
}

// editMessageReplyMarkup. Telegram docs: https://core.telegram.org/bots/api#editmessagereplymarkup
func editMessageReplyMarkup(s *Server, c *call) (any, *apiError) {
	m, err := s.st.editable(c.p)
	if err != nil {
		return nil, err
	}
	raw, kb, err := parseMarkup(c.p)
	if err != nil {
		return nil, err
	}
	if bytes.Equal(raw, m.ReplyMarkup) {
		return nil, errNotModified
	}
	m.ReplyMarkup, m.keyboard = raw, kb
	m.EditDate = s.now().Unix()
	return *m, nil
}

// deleteMessage. Telegram docs: https://core.telegram.org/bots/api#deletemessage
func deleteMessage(s *Server, c *call) (any, *apiError) {
	ch, err := s.st.resolveChat(c.p, "chat_id")
	if err != nil {
		return nil, err
	}
	id, ok := c.p.int64("message_id")
	if !ok {
		return nil, badRequest("message identifier is not specified")
	}
	if ch.msgs[id] == nil {
		return nil, badRequest("message to delete not found")
	}
	delete(ch.msgs, id)
	return true, nil
}

// CallbackAnswer is the bot's answer to a pressed button (answerCallbackQuery).
type CallbackAnswer struct {
	Answered  bool   // the bot called answerCallbackQuery for the press
	Text      string // the notification text, "" for none
	ShowAlert bool   // show_alert: an alert instead of a toast
	URL       string // the url the client opens (a game or a t.me link)
}

type callbackState struct {
	answer CallbackAnswer
}

// answerCallbackQuery. Telegram docs: https://core.telegram.org/bots/api#answercallbackquery
func answerCallbackQuery(s *Server, c *call) (any, *apiError) {
	cb := s.st.callbacks[c.p.str("callback_query_id")]
	if cb == nil || cb.answer.Answered {
		return nil, errQueryTooOld
	}
	text := c.p.str("text")
	if textLength(text) > maxCallbackAnswerLength {
		return nil, badRequest("MESSAGE_TOO_LONG")
	}
	cb.answer = CallbackAnswer{Answered: true, Text: text, ShowAlert: c.p.bool("show_alert"), URL: c.p.str("url")}
	return true, nil
}

// CallbackAnswer returns the bot's answer to the callback query id (from
// [Server.PressButton]); ok is false for an unknown id.
func (s *Server) CallbackAnswer(queryID string) (answer CallbackAnswer, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cb := s.st.callbacks[queryID]
	if cb == nil {
		return CallbackAnswer{}, false
	}
	return cb.answer, true
}

// inlineResult checks that result holds an InlineQueryResult object.
func inlineResult(p params) *apiError {
	var r struct {
		Type string `json:"type"`
		ID   string `json:"id"`
	}
	if !p.object("result", &r) || r.Type == "" {
		return badRequest("can't parse inline query result")
	}
	if r.ID == "" {
		return badRequest("RESULT_ID_EMPTY")
	}
	return nil
}

// answerWebAppQuery. Telegram docs: https://core.telegram.org/bots/api#answerwebappquery
func answerWebAppQuery(s *Server, c *call) (any, *apiError) {
	id := c.p.str("web_app_query_id")
	if err := inlineResult(c.p); err != nil {
		return nil, err
	}
	uid, ok := s.st.webAppQs[id]
	if !ok {
		// Telegram's QUERY_ID_INVALID, as Client::fail_query_with_error words it.
		return nil, errQueryTooOld
	}
	delete(s.st.webAppQs, id)
	// Telegram posts the result in the chat the Mini App was opened from,
	// on the user's behalf, via the bot.
	if u, ch := s.st.users[uid], s.st.chats[uid]; u != nil && ch != nil {
		var r struct {
			Content struct {
				Text string `json:"message_text"`
			} `json:"input_message_content"`
		}
		_ = c.p.object("result", &r)
		m := s.st.newMessage(ch, u)
		bot := s.st.bot
		m.ViaBot = &bot
		m.Text = r.Content.Text
		s.st.enqueue("message", ch.ID, *m)
	}
	return map[string]string{"inline_message_id": s.st.randomID(27)}, nil
}

// savePreparedInlineMessage. Telegram docs: https://core.telegram.org/bots/api#savepreparedinlinemessage
func savePreparedInlineMessage(s *Server, c *call) (any, *apiError) {
	uid, _ := c.p.int64("user_id")
	if s.st.users[uid] == nil {
		return nil, errUserNotFound
	}
	if err := inlineResult(c.p); err != nil {
		return nil, err
	}
	s.st.prepared++
	return map[string]any{
		"id":              s.st.randomID(16),
		"expiration_date": s.now().Add(preparedMessageLifetime).Unix(),
	}, nil
}

var defaultMenuButton = json.RawMessage(`{"type":"default"}`)

// setChatMenuButton. Telegram docs: https://core.telegram.org/bots/api#setchatmenubutton
func setChatMenuButton(s *Server, c *call) (any, *apiError) {
	var target *chat
	if c.p.has("chat_id") {
		ch, err := s.st.resolveChat(c.p, "chat_id")
		if err != nil {
			return nil, err
		}
		target = ch
	}
	button := defaultMenuButton
	if c.p.has("menu_button") {
		var b struct {
			Type   string `json:"type"`
			Text   string `json:"text"`
			WebApp *struct {
				URL string `json:"url"`
			} `json:"web_app"`
		}
		if !c.p.object("menu_button", &b) {
			return nil, badRequest("can't parse menu button")
		}
		switch b.Type {
		case "default", "commands":
		case "web_app":
			if b.Text == "" || b.WebApp == nil || !strings.HasPrefix(b.WebApp.URL, "https://") {
				return nil, badRequest("BUTTON_URL_INVALID")
			}
		default:
			return nil, badRequest("unsupported menu button type")
		}
		var buf bytes.Buffer
		_ = json.Compact(&buf, []byte(c.p.str("menu_button")))
		button = buf.Bytes()
	}
	if target != nil {
		target.menu = button
	} else {
		s.st.defaultMenu = button
	}
	return true, nil
}

// getChatMenuButton. Telegram docs: https://core.telegram.org/bots/api#getchatmenubutton
func getChatMenuButton(s *Server, c *call) (any, *apiError) {
	if c.p.has("chat_id") {
		ch, err := s.st.resolveChat(c.p, "chat_id")
		if err != nil {
			return nil, err
		}
		if ch.menu != nil {
			return ch.menu, nil
		}
	}
	if s.st.defaultMenu != nil {
		return s.st.defaultMenu, nil
	}
	return defaultMenuButton, nil
}

// MenuButton returns the menu button set for chatID (0: the default one)
// as its JSON, {"type":"default"} when none was set.
func (s *Server) MenuButton(chatID int64) json.RawMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ch := s.st.chats[chatID]; ch != nil && ch.menu != nil {
		return append(json.RawMessage(nil), ch.menu...)
	}
	if s.st.defaultMenu != nil {
		return append(json.RawMessage(nil), s.st.defaultMenu...)
	}
	return append(json.RawMessage(nil), defaultMenuButton...)
}

var commandRE = regexp.MustCompile(`^[a-z0-9_]{1,32}$`)

// Telegram docs: https://core.telegram.org/bots/api#botcommand
const maxCommandDescription = 256

func commandsKey(p params) string { return p.str("scope") + "|" + p.str("language_code") }

// setMyCommands. Telegram docs: https://core.telegram.org/bots/api#setmycommands
func setMyCommands(s *Server, c *call) (any, *apiError) {
	var cmds []struct {
		Command     string `json:"command"`
		Description string `json:"description"`
	}
	if !c.p.object("commands", &cmds) {
		return nil, badRequest("can't parse commands JSON object")
	}
	for _, cmd := range cmds {
		if !commandRE.MatchString(cmd.Command) {
			return nil, badRequest("BOT_COMMAND_INVALID")
		}
		if n := textLength(cmd.Description); n == 0 || n > maxCommandDescription {
			return nil, badRequest("BOT_COMMAND_DESCRIPTION_INVALID")
		}
	}
	b, _ := json.Marshal(cmds)
	s.st.commands[commandsKey(c.p)] = b
	return true, nil
}

// getMyCommands. Telegram docs: https://core.telegram.org/bots/api#getmycommands
func getMyCommands(s *Server, c *call) (any, *apiError) {
	if b, ok := s.st.commands[commandsKey(c.p)]; ok {
		return b, nil
	}
	return json.RawMessage("[]"), nil
}

// deleteMyCommands. Telegram docs: https://core.telegram.org/bots/api#deletemycommands
func deleteMyCommands(s *Server, c *call) (any, *apiError) {
	delete(s.st.commands, commandsKey(c.p))
	return true, nil
}
