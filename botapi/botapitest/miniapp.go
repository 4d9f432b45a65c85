package botapitest

import (
	"encoding/json"
	"net/url"

	"github.com/miniappkit/miniappkit/initdata"
)

// OpenMiniApp makes user open the bot's Mini App (from the menu button of
// their private chat) and returns the initData string the page would send
// to the bot's backend: user, query_id, and auth_date from the server's
// clock ([WithClock]), signed with the bot's token by [initdata.Sign], so
// initdata.Validate accepts it. The query_id is valid for one
// answerWebAppQuery. An unknown user is created.
// Telegram docs: https://core.telegram.org/bots/webapps#webappinitdata
func (s *Server) OpenMiniApp(user User) string {
	s.mu.Lock()
	u := s.st.users[user.ID]
	s.mu.Unlock()
	if u == nil {
		user = s.AddUser(user)
	}
	s.mu.Lock()
	uj, err := json.Marshal(s.st.users[user.ID])
	qid := "AAH" + s.st.randomID(24)
	s.st.webAppQs[qid] = true
	now := s.now()
	s.mu.Unlock()

	if err != nil {
		panic("botapitest: encoding a user: " + err.Error())
	}
	v := url.Values{}
	v.Set("query_id", qid)
	v.Set("user", string(uj))
	return initdata.Sign(v, s.opts.token, now)
}
