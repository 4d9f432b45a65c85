package benchmarks

// Bot API client benchmarks: miniappkit/botapi against go-telegram/bot and
// telego, on the same httptest server in the same run, with a bare net/http +
// encoding/json round trip beside them as the floor.
//
//	cd benchmarks
//	go test -run '^$' -bench 'SendMessage|DecodeUpdates' -benchmem -count 5            # telego with its default JSON library (goccy/go-json fork)
//	go test -tags stdjson -run '^$' -bench 'SendMessage|DecodeUpdates' -benchmem -count 5  # telego with encoding/json

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	tgbot "github.com/go-telegram/bot"
	tgmodels "github.com/go-telegram/bot/models"
	"github.com/miniappkit/miniappkit/botapi"
	"github.com/mymmrac/telego"
	ta "github.com/mymmrac/telego/telegoapi"
)

// benchToken has the shape telego insists on (digits:35 characters).
const benchToken = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0"

// sendMessageAnswer is a real-shaped answer to sendMessage with an inline
// keyboard (~600 bytes).
const sendMessageAnswer = `{"ok":true,"result":{"message_id":5821,"from":{"id":7000000001,"is_bot":true,"first_name":"Shop Bot","username":"myshopbot"},` +
	`"chat":{"id":100007919,"first_name":"Ben","last_name":"Okafor","username":"ben_okafor","type":"private"},"date":1763880123,` +
	`"text":"Your cart: 2 items, 9.80 EUR. Pay now or keep shopping.","entities":[{"offset":11,"length":7,"type":"bold"}],` +
	`"reply_markup":{"inline_keyboard":[[{"text":"Pay 9.80 EUR","callback_data":"pay:cart:8812"},{"text":"Edit cart","callback_data":"edit:cart:8812"}],` +
	`[{"text":"Open shop","web_app":{"url":"https://shop.example/app"}}]]}}}`

const (
	benchChatID = 100007919
	benchText   = "Your cart: 2 items, 9.80 EUR. Pay now or keep shopping."
)

// newSendServer answers every request with sendMessageAnswer after reading
// the whole request body, as Telegram would.
func newSendServer(b *testing.B) *httptest.Server {
	b.Helper()
	answer := []byte(sendMessageAnswer)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.Copy(io.Discard, r.Body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(answer)
	}))
	b.Cleanup(srv.Close)
	return srv
}

func BenchmarkSendMessage(b *testing.B) {
	srv := newSendServer(b)
	ctx := context.Background()

	b.Run("bare-net-http", func(b *testing.B) {
		hc := &http.Client{}
		url := srv.URL + "/bot" + benchToken + "/sendMessage"
		b.ReportAllocs()
		for b.Loop() {
			p := &botapi.SendMessageParams{
				ChatID: botapi.ChatID{ID: benchChatID},
				Text:   benchText,
				ReplyMarkup: &botapi.InlineKeyboardMarkup{InlineKeyboard: [][]botapi.InlineKeyboardButton{
					{{Text: "Pay 9.80 EUR", CallbackData: "pay:cart:8812"}, {Text: "Edit cart", CallbackData: "edit:cart:8812"}},
					{{Text: "Open shop", WebApp: &botapi.WebAppInfo{URL: "https://shop.example/app"}}},
				}},
			}
			body, err := json.Marshal(p)
			if err != nil {
				b.Fatal(err)
			}
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
			if err != nil {
				b.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			resp, err := hc.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			data, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				b.Fatal(err)
			}
			var env struct {
				OK     bool            `json:"ok"`
				Result *botapi.Message `json:"result"`
			}
			if err := json.Unmarshal(data, &env); err != nil || !env.OK || env.Result.MessageID != 5821 {
				b.Fatal("bad answer", err)
			}
		}
	})

	b.Run("miniappkit", func(b *testing.B) {
		c := botapi.New(benchToken, botapi.WithBaseURL(srv.URL))
		b.ReportAllocs()
		for b.Loop() {
			m, err := c.SendMessage(ctx, &botapi.SendMessageParams{
				ChatID: botapi.ChatID{ID: benchChatID},
				Text:   benchText,
				ReplyMarkup: &botapi.InlineKeyboardMarkup{InlineKeyboard: [][]botapi.InlineKeyboardButton{
					{{Text: "Pay 9.80 EUR", CallbackData: "pay:cart:8812"}, {Text: "Edit cart", CallbackData: "edit:cart:8812"}},
					{{Text: "Open shop", WebApp: &botapi.WebAppInfo{URL: "https://shop.example/app"}}},
				}},
			})
			if err != nil || m.MessageID != 5821 {
				b.Fatal(err)
			}
		}
	})

	b.Run("go-telegram-bot", func(b *testing.B) {
		bot, err := tgbot.New(benchToken, tgbot.WithServerURL(srv.URL), tgbot.WithSkipGetMe())
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			m, err := bot.SendMessage(ctx, &tgbot.SendMessageParams{
				ChatID: int64(benchChatID),
				Text:   benchText,
				ReplyMarkup: &tgmodels.InlineKeyboardMarkup{InlineKeyboard: [][]tgmodels.InlineKeyboardButton{
					{{Text: "Pay 9.80 EUR", CallbackData: "pay:cart:8812"}, {Text: "Edit cart", CallbackData: "edit:cart:8812"}},
					{{Text: "Open shop", WebApp: &tgmodels.WebAppInfo{URL: "https://shop.example/app"}}},
				}},
			})
			if err != nil || m.ID != 5821 {
				b.Fatal(err)
			}
		}
	})

	telegoSend := func(b *testing.B, bot *telego.Bot) {
		b.ReportAllocs()
		for b.Loop() {
			m, err := bot.SendMessage(ctx, &telego.SendMessageParams{
				ChatID: telego.ChatID{ID: benchChatID},
				Text:   benchText,
				ReplyMarkup: &telego.InlineKeyboardMarkup{InlineKeyboard: [][]telego.InlineKeyboardButton{
					{{Text: "Pay 9.80 EUR", CallbackData: "pay:cart:8812"}, {Text: "Edit cart", CallbackData: "edit:cart:8812"}},
					{{Text: "Open shop", WebApp: &telego.WebAppInfo{URL: "https://shop.example/app"}}},
				}},
			})
			if err != nil || m.MessageID != 5821 {
				b.Fatal(err)
			}
		}
	}
	// telego's default transport is fasthttp; it also offers net/http.
	b.Run("telego-fasthttp", func(b *testing.B) {
		bot, err := telego.NewBot(benchToken, telego.WithAPIServer(srv.URL), telego.WithDiscardLogger())
		if err != nil {
			b.Fatal(err)
		}
		telegoSend(b, bot)
	})
	b.Run("telego-net-http", func(b *testing.B) {
		bot, err := telego.NewBot(benchToken, telego.WithAPIServer(srv.URL), telego.WithDiscardLogger(),
			telego.WithHTTPClient(&http.Client{}))
		if err != nil {
			b.Fatal(err)
		}
		telegoSend(b, bot)
	})
}

// loadUpdates reads the getUpdates answer: 100 updates of many kinds
// (messages with entities and replies, photos, callback queries, edits,
// inline queries, chat member changes, pre-checkout queries, Mini App data,
// reactions, channel posts with forward origins, payments), about 57 KB.
func loadUpdates(b *testing.B) []byte {
	b.Helper()
	data, err := os.ReadFile("testdata/botapi_getupdates_100.json")
	if err != nil {
		b.Fatal(err)
	}
	return data
}

// BenchmarkDecodeUpdates decodes the same getUpdates answer the way each
// library decodes an answer (see each library's source, cited below), with
// no network in the way.
func BenchmarkDecodeUpdates(b *testing.B) {
	data := loadUpdates(b)

	b.Run("miniappkit", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			ups, err := botapi.DecodeAnswer[[]botapi.Update]("getUpdates", data)
			if err != nil || len(ups) != 100 {
				b.Fatal(len(ups), err)
			}
		}
	})

	b.Run("go-telegram-bot", func(b *testing.B) {
		// raw_request.go: the envelope into a json.RawMessage, then the
		// result into []*models.Update, both with encoding/json.
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			var r struct {
				OK          bool            `json:"ok"`
				Result      json.RawMessage `json:"result,omitempty"`
				Description string          `json:"description,omitempty"`
				ErrorCode   int             `json:"error_code,omitempty"`
			}
			if err := json.Unmarshal(data, &r); err != nil {
				b.Fatal(err)
			}
			var ups []*tgmodels.Update
			if err := json.Unmarshal(r.Result, &ups); err != nil || len(ups) != 100 {
				b.Fatal(err)
			}
		}
	})

	b.Run("telego-"+telegoJSONName, func(b *testing.B) {
		// telegoapi/caller.go: the envelope into ta.Response, then
		// bot.go performRequest: the result into []Update, both with
		// telego's JSON library (chosen by build tag).
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			var r ta.Response
			if err := telegoUnmarshal(data, &r); err != nil {
				b.Fatal(err)
			}
			var ups []telego.Update
			vs := []any{&ups}
			if err := telegoUnmarshal(r.Result, &vs[0]); err != nil || len(ups) != 100 {
				b.Fatal(err)
			}
		}
	})
}

// TestDecodeUpdatesFixture checks the three libraries read the fixture alike,
// so the benchmark compares like with like.
func TestDecodeUpdatesFixture(t *testing.T) {
	data, err := os.ReadFile("testdata/botapi_getupdates_100.json")
	if err != nil {
		t.Fatal(err)
	}
	ups, err := botapi.DecodeAnswer[[]botapi.Update]("getUpdates", data)
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		Result []*tgmodels.Update `json:"result"`
	}
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatal(err)
	}
	var tr ta.Response
	if err := telegoUnmarshal(data, &tr); err != nil {
		t.Fatal(err)
	}
	var tups []telego.Update
	if err := telegoUnmarshal(tr.Result, &tups); err != nil {
		t.Fatal(err)
	}
	if len(ups) != 100 || len(r.Result) != 100 || len(tups) != 100 {
		t.Fatalf("decoded %d, %d, %d updates", len(ups), len(r.Result), len(tups))
	}
	kinds := 0
	for i, u := range ups {
		if u.UpdateID != r.Result[i].ID || u.UpdateID != int64(tups[i].UpdateID) {
			t.Fatalf("update %d: ids differ", i)
		}
		if u.Message != nil && u.Message.Text != "" && u.Message.Text != r.Result[i].Message.Text {
			t.Fatalf("update %d: texts differ", i)
		}
		if u.ChatMember != nil || u.MessageReaction != nil || u.CallbackQuery != nil {
			kinds++
		}
	}
	if kinds == 0 {
		t.Fatal("fixture lacks union-bearing updates")
	}
}
