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
	"strings"
	"testing"
	"time"

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

// reportCPU adds a cpu-ns/op metric: the process CPU time per iteration
// since start (see processCPU).
func reportCPU(b *testing.B, start time.Duration) {
	if b.N > 0 {
		b.ReportMetric(float64(processCPU()-start)/float64(b.N), "cpu-ns/op")
	}
}

// BenchmarkSendMessage is a sendMessage round trip with an inline keyboard
// through a loopback httptest server.
func BenchmarkSendMessage(b *testing.B) {
	srv := newSendServer(b)
	benchSendMessage(b, srv.URL, nil)
}

// BenchmarkSendMessageInMemory is the same call through an in-memory
// transport: only the clients' own work (encode, request, decode), where
// differences between them are not drowned by the loopback network. fasthttp
// cannot use an http.RoundTripper, so telego runs on net/http here.
func BenchmarkSendMessageInMemory(b *testing.B) {
	benchSendMessage(b, "http://telegram.invalid", memTransport(sendMessageAnswer))
}

// benchSendMessage runs the sendMessage benchmark of each library against
// baseURL, over transport (nil: net/http's default).
func benchSendMessage(b *testing.B, baseURL string, transport http.RoundTripper) {
	ctx := context.Background()
	newHC := func() *http.Client { return &http.Client{Transport: transport} }

	b.Run("bare-net-http", func(b *testing.B) {
		hc := newHC()
		url := baseURL + "/bot" + benchToken + "/sendMessage"
		b.ReportAllocs()
		defer reportCPU(b, processCPU())
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

	// The default row is what botapi.New gives: net/http's Transport (a
	// tuned clone of http.DefaultTransport), called without an
	// http.Client in between. In memory, the memory transport in an
	// http.Client.
	b.Run("miniappkit", func(b *testing.B) {
		opts := []botapi.Option{botapi.WithBaseURL(baseURL)}
		if transport != nil {
			opts = append(opts, botapi.WithHTTPClient(newHC()))
		}
		benchMiniappkitSend(b, botapi.New(benchToken, opts...))
	})

	// The same through an http.Client of the caller's (WithHTTPClient).
	b.Run("miniappkit-http-client", func(b *testing.B) {
		benchMiniappkitSend(b, botapi.New(benchToken, botapi.WithBaseURL(baseURL), botapi.WithHTTPClient(newHC())))
	})

	b.Run("go-telegram-bot", func(b *testing.B) {
		bot, err := tgbot.New(benchToken, tgbot.WithServerURL(baseURL), tgbot.WithSkipGetMe(),
			tgbot.WithHTTPClient(time.Minute, newHC()))
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		defer reportCPU(b, processCPU())
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
		defer reportCPU(b, processCPU())
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
		if transport != nil {
			b.Skip("fasthttp has no http.RoundTripper")
		}
		bot, err := telego.NewBot(benchToken, telego.WithAPIServer(baseURL), telego.WithDiscardLogger())
		if err != nil {
			b.Fatal(err)
		}
		telegoSend(b, bot)
	})
	b.Run("telego-net-http", func(b *testing.B) {
		bot, err := telego.NewBot(benchToken, telego.WithAPIServer(baseURL), telego.WithDiscardLogger(),
			telego.WithHTTPClient(newHC()))
		if err != nil {
			b.Fatal(err)
		}
		telegoSend(b, bot)
	})
}

// updatesFixture is the getUpdates answer of botapi's own tests: 100
// updates of many kinds (messages with entities, replies and media,
// callback queries, edits, inline queries, chat member changes, payments,
// reactions, channel posts with forward origins...), about 60 KB.
const updatesFixture = "../botapi/testdata/updates100.json"

func loadUpdates(tb testing.TB) []byte {
	tb.Helper()
	data, err := os.ReadFile(updatesFixture)
	if err != nil {
		tb.Fatal(err)
	}
	return data
}

// memTransport answers every request with body, in memory: the decode
// benchmark measures decoding, not sockets.
type memTransport string

func (m memTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		io.Copy(io.Discard, r.Body)
		r.Body.Close()
	}
	return &http.Response{
		StatusCode:    http.StatusOK,
		Header:        http.Header{"Content-Type": {"application/json"}},
		Body:          io.NopCloser(strings.NewReader(string(m))),
		ContentLength: int64(len(m)),
		Request:       r,
	}, nil
}

// BenchmarkDecodeUpdates decodes the same getUpdates answer with each
// library. miniappkit and telego make a whole GetUpdates call through an
// in-memory transport (request building included); go-telegram/bot has no
// public getUpdates, so only its decoding steps run (raw_request.go), which
// favours it.
func BenchmarkDecodeUpdates(b *testing.B) {
	data := loadUpdates(b)
	ctx := context.Background()

	b.Run("miniappkit", func(b *testing.B) {
		c := botapi.New(benchToken, botapi.WithHTTPClient(&http.Client{Transport: memTransport(string(data))}))
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		defer reportCPU(b, processCPU())
		for b.Loop() {
			ups, err := c.GetUpdates(ctx, &botapi.GetUpdatesParams{Limit: 100})
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
		defer reportCPU(b, processCPU())
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
		bot, err := telego.NewBot(benchToken, telego.WithDiscardLogger(),
			telego.WithHTTPClient(&http.Client{Transport: memTransport(string(data))}))
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		defer reportCPU(b, processCPU())
		for b.Loop() {
			ups, err := bot.GetUpdates(ctx, &telego.GetUpdatesParams{Limit: 100})
			if err != nil || len(ups) != 100 {
				b.Fatal(len(ups), err)
			}
		}
	})
}

// TestDecodeUpdatesFixture checks the three libraries read the fixture alike,
// so the benchmark compares like with like.
func TestDecodeUpdatesFixture(t *testing.T) {
	data := loadUpdates(t)
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

// benchMiniappkitSend is the miniappkit sendMessage loop, over whichever
// client (and so transport) c was built with.
func benchMiniappkitSend(b *testing.B, c *botapi.Client) {
	ctx := context.Background()
	b.ReportAllocs()
	defer reportCPU(b, processCPU())
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
}
