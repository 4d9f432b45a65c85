package botapitest

import (
	"encoding/json"
)

// botText serves setMyName, setMyDescription, setMyShortDescription and
// their get* pairs, per language_code. Lengths are Telegram's.
// Telegram docs: https://core.telegram.org/bots/api#setmyname
func botText(field string, maxLen int, set bool) func(*Server, *call) (any, *apiError) {
	return func(s *Server, c *call) (any, *apiError) {
		key := field + "|" + c.p.str("language_code")
		if !set {
			return map[string]string{field: s.st.botTexts[key]}, nil
		}
		v := c.p.str(field)
		if textLength(v) > maxLen {
			return nil, badRequest("bot " + map[string]string{
				"name": "name", "description": "description", "short_description": "short description",
			}[field] + " is too long")
		}
		if v == "" {
			delete(s.st.botTexts, key)
		} else {
			s.st.botTexts[key] = v
		}
		return true, nil
	}
}

// defaultAdminRights serves setMyDefaultAdministratorRights and
// getMyDefaultAdministratorRights, for groups and (for_channels) channels.
// Telegram docs: https://core.telegram.org/bots/api#setmydefaultadministratorrights
func defaultAdminRights(s *Server, c *call) (any, *apiError) {
	key := "groups"
	if c.p.bool("for_channels") {
		key = "channels"
	}
	if c.method == "getmydefaultadministratorrights" {
		if r, ok := s.st.adminRights[key]; ok {
			return r, nil
		}
		rights := map[string]bool{}
		for _, n := range adminRightNames {
			rights[n] = false
		}
		return rights, nil
	}
	rights := map[string]bool{}
	if c.p.has("rights") && !c.p.object("rights", &rights) {
		return nil, badRequest("can't parse ChatAdministratorRights JSON object")
	}
	for _, n := range adminRightNames {
		if _, ok := rights[n]; !ok {
			rights[n] = false // every field, as Telegram answers them
		}
	}
	s.st.adminRights[key] = rights
	return true, nil
}

// logOutOrClose serves logOut and close: the fake answers true and stays
// up (Telegram then refuses the bot for 10 minutes on close, which tests
// do not want).
// Telegram docs: https://core.telegram.org/bots/api#logout
func logOutOrClose(_ *Server, _ *call) (any, *apiError) { return true, nil }

// answerInlineQuery answers a query from [Server.SendInlineQuery]; see
// [Server.InlineAnswer]. Telegram docs: https://core.telegram.org/bots/api#answerinlinequery
func answerInlineQuery(s *Server, c *call) (any, *apiError) {
	id := c.p.str("inline_query_id")
	var results []struct {
		Type string `json:"type"`
		ID   string `json:"id"`
	}
	if !c.p.object("results", &results) {
		return nil, badRequest("can't parse JSON encoded inline query results")
	}
	if len(results) > 50 {
		return nil, badRequest("RESULTS_TOO_MUCH")
	}
	seen := map[string]bool{}
	for _, r := range results {
		if r.ID == "" {
			return nil, badRequest("RESULT_ID_EMPTY")
		}
		if seen[r.ID] {
			return nil, badRequest("RESULT_ID_DUPLICATE")
		}
		seen[r.ID] = true
	}
	q := s.st.inlineQueries[id]
	if q == nil || q.answered {
		return nil, errQueryTooOld
	}
	q.answered = true
	q.results = json.RawMessage(c.p.str("results"))
	return true, nil
}

// availableGifts are the gifts the fake offers (ids, prices in Stars).
var availableGifts = []struct {
	ID    string
	Stars int64
	Emoji string
}{
	{"5170145012310081615", 15, "💝"},
	{"5170233102089322756", 15, "🧸"},
	{"5170250947678437525", 25, "🎁"},
	{"5168103777563050263", 25, "🌹"},
	{"5170144170496491616", 50, "🎂"},
	{"5170314324215857265", 50, "💐"},
	{"5170564780938756245", 50, "🚀"},
	{"6028601630662853006", 50, "🍾"},
	{"5168043875654172773", 100, "🏆"},
	{"5170690322832818290", 100, "💍"},
	{"5170521118301225164", 100, "💎"},
}

// getAvailableGifts. Telegram docs: https://core.telegram.org/bots/api#getavailablegifts
func getAvailableGifts(_ *Server, _ *call) (any, *apiError) {
	gifts := make([]map[string]any, len(availableGifts))
	for i, g := range availableGifts {
		gifts[i] = map[string]any{
			"id": g.ID, "star_count": g.Stars,
			"sticker": map[string]any{"file_id": "CAACAgIAAxkB" + g.ID, "file_unique_id": "AgAD" + g.ID,
				"type": "regular", "width": 512, "height": 512, "is_animated": false, "is_video": false, "emoji": g.Emoji},
		}
	}
	return map[string]any{"gifts": gifts}, nil
}

// sendGift pays for a gift from the bot's balance.
// Telegram docs: https://core.telegram.org/bots/api#sendgift
func sendGift(s *Server, c *call) (any, *apiError) {
	id := c.p.str("gift_id")
	var price int64 = -1
	for _, g := range availableGifts {
		if g.ID == id {
			price = g.Stars
		}
	}
	if price < 0 {
		return nil, badRequest("STARGIFT_INVALID")
	}
	var to int64
	if uid, ok := c.p.int64("user_id"); ok {
		if s.st.users[uid] == nil {
			return nil, errUserNotFound
		}
		to = uid
	} else {
		ch, err := s.st.resolveChat(c.p, "chat_id")
		if err != nil {
			return nil, err
		}
		to = ch.ID
	}
	if c.p.bool("pay_for_upgrade") {
		price += 25
	}
	if s.st.balance < price {
		return nil, badRequest("BALANCE_TOO_LOW")
	}
	s.st.balance -= price
	s.st.txns = append(s.st.txns, starTransaction{ID: s.st.randomID(24), Amount: price, Date: s.now().Unix(),
		Receiver: &transactionPartner{Type: "user", TransactionType: "gift_purchase", User: s.st.users[to]}})
	s.st.gifts = append(s.st.gifts, SentGift{To: to, GiftID: id, Stars: price, Text: c.p.str("text")})
	return true, nil
}

// SentGift is a gift the bot sent with sendGift.
type SentGift struct {
	To     int64  // the user or chat
	GiftID string // from getAvailableGifts
	Stars  int64  // what it cost the bot
	Text   string // the gift's text
}

// Gifts returns the gifts the bot sent, oldest first.
func (s *Server) Gifts() []SentGift {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]SentGift(nil), s.st.gifts...)
}

// getUserChatBoosts: no user of the fake boosts a chat.
// Telegram docs: https://core.telegram.org/bots/api#getuserchatboosts
func getUserChatBoosts(s *Server, c *call) (any, *apiError) {
	if _, err := s.st.resolveChat(c.p, "chat_id"); err != nil {
		return nil, err
	}
	id, _ := c.p.int64("user_id")
	if s.st.users[id] == nil {
		return nil, errUserNotFound
	}
	return map[string]any{"boosts": []any{}}, nil
}
