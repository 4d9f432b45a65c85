package botapitest

import (
	"crypto/ed25519"
	"encoding/json"
	"net/url"

	"github.com/miniappkit/miniappkit/initdata"
)

// OpenMiniApp makes user open the bot's Mini App from the menu button of
// their private chat with the bot and returns the initData string the page
// would send to the bot's backend, as Telegram builds it: query_id, user
// (with allows_write_to_pm), chat_type "sender", chat_instance, auth_date
// from the server's clock, a signature made with the server's Ed25519 key
// ([Server.PublicKey], so initdata.ValidateThirdParty with
// initdata.WithPublicKey accepts it) and the hash made with the bot's
// token (so initdata.Validate accepts it). The query_id is valid for one
// answerWebAppQuery, whose result the user then posts in the chat. An
// unknown user is created.
// Telegram docs: https://core.telegram.org/bots/webapps#webappinitdata
func (s *Server) OpenMiniApp(user User) string {
	s.mu.Lock()
	u, ch := s.st.startedUser(user)
	wu := map[string]any{"id": u.ID, "first_name": u.FirstName, "allows_write_to_pm": ch.started && !ch.blocked}
	if u.LastName != "" {
		wu["last_name"] = u.LastName
	}
	if u.Username != "" {
		wu["username"] = u.Username
	}
	if u.LanguageCode != "" {
		wu["language_code"] = u.LanguageCode
	}
	if u.IsPremium {
		wu["is_premium"] = true
	}
	qid := "AAH" + s.st.randomID(24)
	s.st.webAppQs[qid] = u.ID
	instance := s.st.chatInstance(u.ID)
	now := s.now()
	s.mu.Unlock()

	uj, err := json.Marshal(wu)
	if err != nil {
		panic("botapitest: encoding a user: " + err.Error())
	}
	v := url.Values{}
	v.Set("query_id", qid)
	v.Set("user", string(uj))
	v.Set("chat_type", "sender")
	v.Set("chat_instance", instance)
	signed, err := url.ParseQuery(initdata.SignThirdParty(v, s.botID, s.key, now))
	if err != nil {
		panic("botapitest: reading signed init data: " + err.Error())
	}
	return initdata.Sign(signed, s.opts.token, now)
}

// PublicKey returns the Ed25519 public key the server signs init data's
// signature field with: Telegram signs with its own key, which the fake
// cannot; validate the fake's init data with
// initdata.ValidateThirdParty(data, botID, initdata.WithPublicKey(srv.PublicKey())).
// The key derives from [WithSeed], so it is the same on every run.
func (s *Server) PublicKey() ed25519.PublicKey {
	return append(ed25519.PublicKey(nil), s.key.Public().(ed25519.PublicKey)...)
}

// chatInstance is the chat_instance of the bot's chat with a user: a
// stable number per chat, as Telegram's is. Callers hold s.mu.
func (st *state) chatInstance(chatID int64) string {
	if v, ok := st.instances[chatID]; ok {
		return v
	}
	v := "-" + st.randomDigits(19)
	st.instances[chatID] = v
	return v
}
