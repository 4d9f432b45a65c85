package crashtest

import (
	"encoding/json"
	"testing"
)

func TestUpdateRequest(t *testing.T) {
	req, err := UpdateRequest("http://127.0.0.1:1", 42)
	if err != nil {
		t.Fatal(err)
	}
	if req.Method != "POST" || req.URL.String() != "http://127.0.0.1:1/" ||
		req.Header.Get("X-Telegram-Bot-Api-Secret-Token") != UpdateSecret || req.Header.Get("Content-Type") != "application/json" {
		t.Errorf("request %s %s, headers %v", req.Method, req.URL, req.Header)
	}
	var u struct {
		UpdateID int64 `json:"update_id"`
		Message  struct {
			MessageID int64 `json:"message_id"`
		} `json:"message"`
	}
	if err := json.NewDecoder(req.Body).Decode(&u); err != nil || u.UpdateID != 42 || u.Message.MessageID != 42 {
		t.Errorf("body: %+v, %v; want update and message 42", u, err)
	}
	if env := UpdateEnv(); len(env) != 1 || env[0] != "CRASHAPP_SECRET="+UpdateSecret {
		t.Errorf("UpdateEnv() = %q", env)
	}
}

func TestEnoughKills(t *testing.T) {
	for _, c := range []struct {
		kills, want int
		async, ok   bool
	}{
		{20, 20, false, true}, {19, 20, false, false}, {21, 20, false, false},
		{20, 20, true, true}, {18, 20, true, true}, {17, 20, true, false},
	} {
		if got := EnoughKills(c.kills, c.want, c.async); got != c.ok {
			t.Errorf("EnoughKills(%d, %d, %v) = %v, want %v", c.kills, c.want, c.async, got, c.ok)
		}
	}
}
