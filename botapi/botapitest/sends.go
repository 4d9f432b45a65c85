package botapitest

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
)

// sendObject serves the sends whose content is an object built from the
// parameters: sendLocation, sendVenue, sendContact, sendDice and sendPoll.
func sendObject(kind string) func(*Server, *call) (any, *apiError) {
	return func(s *Server, c *call) (any, *apiError) {
		ch, err := s.st.sendTo(c.p)
		if err != nil {
			return nil, err
		}
		content, err := objectContent(s, kind, c.p)
		if err != nil {
			return nil, err
		}
		m, err := s.st.postMessage(ch, c.p)
		if err != nil {
			return nil, err
		}
		switch kind {
		case "location":
			m.Location = content
		case "venue":
			m.Venue = content
			var v struct {
				Location json.RawMessage `json:"location"`
			}
			_ = json.Unmarshal(content, &v)
			m.Location = v.Location
		case "contact":
			m.Contact = content
		case "dice":
			m.Dice = content
		case "poll":
			m.Poll = content
		}
		s.st.recordSent(c.method, m, c.p)
		return *m, nil
	}
}

// diceEmoji and the largest value of each.
// Telegram docs: https://core.telegram.org/bots/api#senddice
var diceEmoji = map[string]int{"🎲": 6, "🎯": 6, "🎳": 6, "🏀": 5, "⚽": 5, "🎰": 64}

func objectContent(s *Server, kind string, p params) (json.RawMessage, *apiError) {
	coord := func(name string, limit float64) (float64, *apiError) {
		v, err := strconv.ParseFloat(strings.TrimSpace(p.str(name)), 64)
		if err != nil || v < -limit || v > limit {
			return 0, badRequest("wrong " + name + " specified")
		}
		return v, nil
	}
	var obj any
	switch kind {
	case "location", "venue":
		lat, err := coord("latitude", 90)
		if err != nil {
			return nil, err
		}
		lon, err := coord("longitude", 180)
		if err != nil {
			return nil, err
		}
		loc := map[string]any{"latitude": lat, "longitude": lon}
		if kind == "location" {
			if v, ok := p.int64("live_period"); ok {
				loc["live_period"] = v
			}
			obj = loc
			break
		}
		if p.str("title") == "" {
			return nil, errParamRequired("title")
		}
		if p.str("address") == "" {
			return nil, errParamRequired("address")
		}
		obj = map[string]any{"location": loc, "title": p.str("title"), "address": p.str("address")}
	case "contact":
		if p.str("phone_number") == "" {
			return nil, errParamRequired("phone_number")
		}
		if p.str("first_name") == "" {
			return nil, errParamRequired("first_name")
		}
		c := map[string]any{"phone_number": p.str("phone_number"), "first_name": p.str("first_name")}
		if v := p.str("last_name"); v != "" {
			c["last_name"] = v
		}
		obj = c
	case "dice":
		emoji := p.str("emoji")
		if emoji == "" {
			emoji = "🎲"
		}
		top, ok := diceEmoji[emoji]
		if !ok {
			return nil, badRequest("wrong emoji specified")
		}
		obj = map[string]any{"emoji": emoji, "value": 1 + s.st.rng.IntN(top)}
	case "poll":
		q := p.str("question")
		if strings.TrimSpace(q) == "" {
			return nil, badRequest("poll question must be non-empty")
		}
		var opts []json.RawMessage
		if !p.object("options", &opts) {
			return nil, badRequest("can't parse options JSON object")
		}
		if len(opts) < 2 || len(opts) > 12 {
			return nil, badRequest("poll must have 2-12 options")
		}
		var options []map[string]any
		for _, o := range opts {
			var text string
			if json.Unmarshal(o, &text) != nil {
				var io struct {
					Text string `json:"text"`
				}
				_ = json.Unmarshal(o, &io)
				text = io.Text
			}
			if strings.TrimSpace(text) == "" {
				return nil, badRequest("poll options must be non-empty")
			}
			options = append(options, map[string]any{"text": text, "voter_count": 0})
		}
		typ := p.str("type")
		if typ == "" {
			typ = "regular"
		}
		isAnonymous := !p.has("is_anonymous") || p.bool("is_anonymous")
		obj = map[string]any{"id": s.st.randomDigits(19), "question": q, "options": options, "total_voter_count": 0,
			"is_closed": p.bool("is_closed"), "is_anonymous": isAnonymous, "type": typ,
			"allows_multiple_answers": p.bool("allows_multiple_answers")}
	}
	b, err := json.Marshal(obj)
	if err != nil {
		panic("botapitest: encoding " + kind + ": " + err.Error())
	}
	return b, nil
}

// stopPoll. Telegram docs: https://core.telegram.org/bots/api#stoppoll
func stopPoll(s *Server, c *call) (any, *apiError) {
	ch, err := s.st.resolveChat(c.p, "chat_id")
	if err != nil {
		return nil, err
	}
	id, _ := c.p.int64("message_id")
	m := ch.msgs[id]
	if m == nil || m.Poll == nil {
		return nil, badRequest("message with poll to stop not found")
	}
	var poll map[string]any
	_ = json.Unmarshal(m.Poll, &poll)
	if poll["is_closed"] == true {
		return nil, badRequest("poll has already been closed")
	}
	poll["is_closed"] = true
	m.Poll, _ = json.Marshal(poll)
	return m.Poll, nil
}

// sendMediaGroup sends an album: 2-10 photos, videos, documents or audios
// sharing a media_group_id. Telegram docs: https://core.telegram.org/bots/api#sendmediagroup
func sendMediaGroup(s *Server, c *call) (any, *apiError) {
	ch, err := s.st.sendTo(c.p)
	if err != nil {
		return nil, err
	}
	var media []struct {
		Type      string `json:"type"`
		Media     string `json:"media"`
		Caption   string `json:"caption"`
		ParseMode string `json:"parse_mode"`
	}
	if !c.p.object("media", &media) {
		return nil, badRequest("can't parse media JSON object")
	}
	if len(media) < 2 || len(media) > 10 {
		return nil, badRequest("wrong number of media specified: must be 2-10")
	}
	files := make([]*storedFile, len(media))
	texts := make([]string, len(media))
	ents := make([][]messageEntity, len(media))
	for i, md := range media {
		if !slices.Contains([]string{"photo", "video", "document", "audio"}, md.Type) {
			return nil, badRequest("MEDIA_GROUPED_INVALID")
		}
		f, err := s.st.inputFile(c, md.Media, md.Type)
		if err != nil {
			return nil, err
		}
		files[i] = f
		texts[i], ents[i], err = formatted(params{"caption": md.Caption, "parse_mode": md.ParseMode}, "caption", "parse_mode", "caption_entities")
		if err != nil {
			return nil, err
		}
	}
	group := s.st.randomDigits(18)
	var out []message
	for i, f := range files {
		m, err := s.st.postMessage(ch, c.p)
		if err != nil {
			if len(out) == 0 {
				return nil, err
			}
			break // Telegram sends an album as far as the limits allow
		}
		m.MediaGroupID = group
		m.Caption, m.CaptionEntities = texts[i], ents[i]
		s.st.attach(m, f)
		s.st.recordSent(c.method, m, c.p)
		out = append(out, *m)
	}
	return out, nil
}

// sendPaidMedia. Telegram docs: https://core.telegram.org/bots/api#sendpaidmedia
func sendPaidMedia(s *Server, c *call) (any, *apiError) {
	ch, err := s.st.sendTo(c.p)
	if err != nil {
		return nil, err
	}
	stars, _ := c.p.int64("star_count")
	if stars < 1 || stars > 10000 {
		return nil, badRequest("STARS_AMOUNT_INVALID")
	}
	var media []struct {
		Type  string `json:"type"`
		Media string `json:"media"`
	}
	if !c.p.object("media", &media) || len(media) == 0 || len(media) > 10 {
		return nil, badRequest("can't parse media JSON object")
	}
	for _, md := range media {
		if _, err := s.st.inputFile(c, md.Media, md.Type); err != nil {
			return nil, err
		}
	}
	caption, ents, err := captionOf(c.p)
	if err != nil {
		return nil, err
	}
	m, err := s.st.postMessage(ch, c.p)
	if err != nil {
		return nil, err
	}
	m.Caption, m.CaptionEntities = caption, ents
	preview := make([]map[string]any, len(media))
	for i := range preview {
		preview[i] = map[string]any{"type": "preview"}
	}
	m.PaidMedia, _ = json.Marshal(map[string]any{"star_count": stars, "paid_media": preview})
	s.st.recordSent(c.method, m, c.p)
	return *m, nil
}

// editMessageCaption. Telegram docs: https://core.telegram.org/bots/api#editmessagecaption
func editMessageCaption(s *Server, c *call) (any, *apiError) {
	m, err := s.st.editable(c.p)
	if err != nil {
		return nil, err
	}
	if m.Text != "" {
		return nil, badRequest("there is no caption in the message to edit")
	}
	caption, ents, err := captionOf(c.p)
	if err != nil {
		return nil, err
	}
	raw, kb, err := parseMarkup(c.p)
	if err != nil {
		return nil, err
	}
	if caption == m.Caption && slices.Equal(ents, m.CaptionEntities) && string(raw) == string(m.ReplyMarkup) {
		return nil, errNotModified
	}
	m.Caption, m.CaptionEntities = caption, ents
	m.ReplyMarkup, m.keyboard = raw, kb
	m.EditDate = s.now().Unix()
	return *m, nil
}

// editMessageMedia. Telegram docs: https://core.telegram.org/bots/api#editmessagemedia
func editMessageMedia(s *Server, c *call) (any, *apiError) {
	m, err := s.st.editable(c.p)
	if err != nil {
		return nil, err
	}
	if m.Text != "" {
		return nil, badRequest("there is no media in the message to edit")
	}
	var md struct {
		Type      string `json:"type"`
		Media     string `json:"media"`
		Caption   string `json:"caption"`
		ParseMode string `json:"parse_mode"`
	}
	if !c.p.object("media", &md) || md.Type == "" {
		return nil, badRequest("can't parse InputMedia JSON object")
	}
	f, err := s.st.inputFile(c, md.Media, md.Type)
	if err != nil {
		return nil, err
	}
	caption, ents, err := formatted(params{"caption": md.Caption, "parse_mode": md.ParseMode}, "caption", "parse_mode", "caption_entities")
	if err != nil {
		return nil, err
	}
	raw, kb, err := parseMarkup(c.p)
	if err != nil {
		return nil, err
	}
	m.Photo, m.Document, m.Video, m.Animation, m.Audio = nil, nil, nil, nil, nil
	s.st.attach(m, f)
	m.Caption, m.CaptionEntities = caption, ents
	m.ReplyMarkup, m.keyboard = raw, kb
	m.EditDate = s.now().Unix()
	return *m, nil
}

// liveLocation serves editMessageLiveLocation and stopMessageLiveLocation.
// Telegram docs: https://core.telegram.org/bots/api#editmessagelivelocation
func liveLocation(s *Server, c *call) (any, *apiError) {
	m, err := s.st.editable(c.p)
	if err != nil {
		return nil, err
	}
	var loc map[string]any
	if m.Location == nil || json.Unmarshal(m.Location, &loc) != nil || loc["live_period"] == nil {
		return nil, badRequest("message can't be edited")
	}
	if c.method == "stopmessagelivelocation" {
		delete(loc, "live_period")
	} else {
		content, err := objectContent(s, "location", c.p)
		if err != nil {
			return nil, err
		}
		var next map[string]any
		_ = json.Unmarshal(content, &next)
		next["live_period"] = loc["live_period"]
		loc = next
	}
	m.Location, _ = json.Marshal(loc)
	m.EditDate = s.now().Unix()
	return *m, nil
}

// messageIDs reads message_ids: 1-100 ids, as Client::get_message_ids.
func messageIDs(p params) ([]int64, *apiError) {
	var ids []int64
	if !p.object("message_ids", &ids) {
		return nil, badRequest("can't parse message identifiers JSON object")
	}
	if len(ids) == 0 {
		return nil, badRequest("message identifiers are not specified")
	}
	if len(ids) > 100 {
		return nil, badRequest("too many message identifiers specified")
	}
	return ids, nil
}

// deleteMessages deletes what it finds of up to 100 messages; missing ones
// are skipped (Client::process_delete_messages_query allows them).
// Telegram docs: https://core.telegram.org/bots/api#deletemessages
func deleteMessages(s *Server, c *call) (any, *apiError) {
	ch, err := s.st.resolveChat(c.p, "chat_id")
	if err != nil {
		return nil, err
	}
	ids, err := messageIDs(c.p)
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		delete(ch.msgs, id)
	}
	return true, nil
}

// forwardOrCopyMany serves forwardMessages and copyMessages: the messages
// found, in id order; none found is "message to forward not found".
// Telegram docs: https://core.telegram.org/bots/api#forwardmessages
func forwardOrCopyMany(s *Server, c *call) (any, *apiError) {
	ch, err := s.st.sendTo(c.p)
	if err != nil {
		return nil, err
	}
	from, err := s.st.resolveChat(c.p, "from_chat_id")
	if err != nil {
		return nil, err
	}
	ids, err := messageIDs(c.p)
	if err != nil {
		return nil, err
	}
	slices.Sort(ids)
	var out []map[string]int64
	for _, id := range ids {
		src := from.msgs[id]
		if src == nil {
			continue
		}
		if err := s.st.admit(ch, c.p); err != nil {
			if len(out) == 0 {
				return nil, err
			}
			break
		}
		bot := s.st.bot
		m := s.st.newMessage(ch, &bot)
		copyContent(m, src)
		if c.method == "forwardmessages" {
			m.ForwardOrigin = &forwardOrigin{Type: "user", Date: src.Date, SenderUser: src.From}
		}
		s.st.recordSent(c.method, m, c.p)
		out = append(out, map[string]int64{"message_id": m.MessageID})
	}
	if len(out) == 0 {
		return nil, badRequest("message to forward not found")
	}
	return out, nil
}

// setMessageReaction. Telegram docs: https://core.telegram.org/bots/api#setmessagereaction
func setMessageReaction(s *Server, c *call) (any, *apiError) {
	ch, err := s.st.resolveChat(c.p, "chat_id")
	if err != nil {
		return nil, err
	}
	id, _ := c.p.int64("message_id")
	m := ch.msgs[id]
	if m == nil {
		return nil, badRequest("message to react not found")
	}
	var reactions []json.RawMessage
	if c.p.has("reaction") && !c.p.object("reaction", &reactions) {
		return nil, badRequest("can't parse reaction types JSON object")
	}
	if len(reactions) > 1 {
		return nil, badRequest("REACTIONS_TOO_MANY")
	}
	m.reactions = reactions
	return true, nil
}

// pin serves pinChatMessage, unpinChatMessage and unpinAllChatMessages.
// Telegram docs: https://core.telegram.org/bots/api#pinchatmessage
func pin(s *Server, c *call) (any, *apiError) {
	ch, err := s.st.resolveChat(c.p, "chat_id")
	if err != nil {
		return nil, err
	}
	switch c.method {
	case "unpinallchatmessages":
		ch.pinned = nil
		return true, nil
	case "unpinchatmessage":
		id, ok := c.p.int64("message_id")
		if !ok {
			if len(ch.pinned) == 0 {
				return nil, badRequest("message to unpin not found")
			}
			ch.pinned = ch.pinned[:len(ch.pinned)-1]
			return true, nil
		}
		i := slices.Index(ch.pinned, id)
		if i < 0 {
			return nil, badRequest("message to unpin not found")
		}
		ch.pinned = slices.Delete(ch.pinned, i, i+1)
		return true, nil
	}
	id, _ := c.p.int64("message_id")
	if ch.msgs[id] == nil {
		return nil, badRequest("message to pin not found")
	}
	if !slices.Contains(ch.pinned, id) {
		ch.pinned = append(ch.pinned, id)
	}
	return true, nil
}

// Pinned returns the ids of the messages pinned in chat, oldest first.
func (s *Server) Pinned(chatID int64) []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ch := s.st.chats[chatID]; ch != nil {
		return slices.Clone(ch.pinned)
	}
	return nil
}
