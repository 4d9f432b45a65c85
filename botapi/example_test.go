package botapi_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/miniappkit/miniappkit/botapi"
)

// fakeTelegram stands in for api.telegram.org in these examples: it answers
// each method with a canned answer and, when show is set, prints the request
// Telegram would receive. Real code omits WithBaseURL (or points it at
// botapitest).
func fakeTelegram(show bool, answers map[string]string) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		method := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
		if show {
			printRequest(method, r)
		}
		answer, ok := answers[method]
		if !ok {
			answer = `{"ok":false,"error_code":404,"description":"Not Found"}`
		}
		status := 200
		if strings.Contains(answer, `"ok":false`) {
			fmt.Sscanf(answer[strings.Index(answer, `"error_code":`)+13:], "%d", &status)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, answer)
	}))
}

func printRequest(method string, r *http.Request) {
	ct, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct != "multipart/form-data" {
		body, _ := io.ReadAll(r.Body)
		fmt.Printf("%s %s\n", method, body)
		return
	}
	fmt.Println(method, "multipart:")
	mr := multipart.NewReader(r.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err != nil {
			return
		}
		b, _ := io.ReadAll(p)
		if p.FileName() != "" {
			fmt.Printf("  %s: file %q, %d bytes\n", p.FormName(), p.FileName(), len(b))
		} else {
			fmt.Printf("  %s: %s\n", p.FormName(), b)
		}
	}
}

func Example() {
	srv := fakeTelegram(true, map[string]string{
		"sendMessage": `{"ok":true,"result":{"message_id":17,"date":1700000000,"chat":{"id":42,"type":"private"},"text":"Hello"}}`,
	})
	defer srv.Close()

	c := botapi.New("123456:ABC-DEF", botapi.WithBaseURL(srv.URL))
	m, err := c.SendMessage(context.Background(), &botapi.SendMessageParams{
		ChatID: botapi.ChatID{ID: 42},
		Text:   "Hello",
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("sent message", m.MessageID, "to chat", m.Chat.ID)
	// Output:
	// sendMessage {"chat_id":42,"text":"Hello"}
	// sent message 17 to chat 42
}

func ExampleClient_SendMessage_inlineKeyboard() {
	srv := fakeTelegram(true, map[string]string{
		"sendMessage": `{"ok":true,"result":{"message_id":18,"date":1700000000,"chat":{"id":-1001234567890,"type":"supergroup"}}}`,
	})
	defer srv.Close()

	c := botapi.New("123456:ABC-DEF", botapi.WithBaseURL(srv.URL))
	_, err := c.SendMessage(context.Background(), &botapi.SendMessageParams{
		ChatID: botapi.ChatID{Username: "@myshopchannel"},
		Text:   "New arrivals",
		ReplyMarkup: &botapi.InlineKeyboardMarkup{InlineKeyboard: [][]botapi.InlineKeyboardButton{{
			{Text: "Open shop", URL: "https://t.me/myshopbot/app"},
			{Text: "Mute", CallbackData: "mute"},
		}}},
	})
	if err != nil {
		log.Fatal(err)
	}
	// Output:
	// sendMessage {"chat_id":"@myshopchannel","text":"New arrivals","reply_markup":{"inline_keyboard":[[{"text":"Open shop","url":"https://t.me/myshopbot/app"},{"text":"Mute","callback_data":"mute"}]]}}
}

func ExampleError() {
	srv := fakeTelegram(false, map[string]string{
		"sendMessage": `{"ok":false,"error_code":403,"description":"Forbidden: bot was blocked by the user"}`,
	})
	defer srv.Close()

	c := botapi.New("123456:ABC-DEF", botapi.WithBaseURL(srv.URL))
	_, err := c.SendMessage(context.Background(), &botapi.SendMessageParams{ChatID: botapi.ChatID{ID: 42}, Text: "Hi"})

	var apiErr *botapi.Error
	switch {
	case errors.Is(err, botapi.ErrForbidden):
		fmt.Println("user 42 blocked the bot: stop messaging them")
	case errors.As(err, &apiErr) && apiErr.MigrateToChatID != 0:
		fmt.Println("group moved to", apiErr.MigrateToChatID)
	}
	fmt.Println(err)
	// Output:
	// user 42 blocked the bot: stop messaging them
	// botapi: sendMessage: 403 Forbidden: bot was blocked by the user
}

func ExampleRetryPolicy() {
	// Wait at most 10 s on a 429, try each call at most 3 times, and never
	// repeat a send whose fate is unknown (the default).
	c := botapi.New("123456:ABC-DEF", botapi.WithRetry(botapi.RetryPolicy{
		MaxAttempts:   3,
		MaxRetryAfter: 10 * time.Second,
	}))
	fmt.Println(c)
	fmt.Println("sendMessage safe to repeat:", botapi.RetrySafe("sendMessage"))
	fmt.Println("editMessageText safe to repeat:", botapi.RetrySafe("editMessageText"))
	fmt.Println("deleteMessage safe to repeat:", botapi.RetrySafe("deleteMessage"))
	// Output:
	// botapi.Client{https://api.telegram.org/bot<redacted>}
	// sendMessage safe to repeat: false
	// editMessageText safe to repeat: false
	// deleteMessage safe to repeat: true
}

// printLimiter is a toy Limiter that shows when the client consults it; use
// the ratelimit package's in real code.
type printLimiter struct{}

func (printLimiter) Wait(ctx context.Context, chatID int64) error {
	fmt.Println("limiter: wait for chat", chatID)
	return nil
}

func (printLimiter) Backoff(chatID int64, retryAfter time.Duration) {
	fmt.Println("limiter: chat", chatID, "must pause", retryAfter)
}

func ExampleWithLimiter() {
	srv := fakeTelegram(false, map[string]string{
		"sendMessage":         `{"ok":true,"result":{"message_id":1,"date":0,"chat":{"id":42,"type":"private"}}}`,
		"answerCallbackQuery": `{"ok":true,"result":true}`,
	})
	defer srv.Close()

	c := botapi.New("123456:ABC-DEF", botapi.WithBaseURL(srv.URL), botapi.WithLimiter(printLimiter{}))
	ctx := context.Background()
	if _, err := c.SendMessage(ctx, &botapi.SendMessageParams{ChatID: botapi.ChatID{ID: 42}, Text: "Hi"}); err != nil {
		log.Fatal(err)
	}
	// Answering a button tap posts nothing to the chat: no wait.
	if err := c.AnswerCallbackQuery(ctx, &botapi.AnswerCallbackQueryParams{CallbackQueryID: "1"}); err != nil {
		log.Fatal(err)
	}
	fmt.Println("done")
	// Output:
	// limiter: wait for chat 42
	// done
}

func ExampleUpload() {
	srv := fakeTelegram(true, map[string]string{
		"sendMediaGroup": `{"ok":true,"result":[]}`,
	})
	defer srv.Close()

	c := botapi.New("123456:ABC-DEF", botapi.WithBaseURL(srv.URL))
	// Any io.Reader works (an *os.File, a network stream); it is streamed,
	// not buffered.
	receipt := strings.NewReader("%PDF-1.7 receipt")
	_, err := c.SendMediaGroup(context.Background(), &botapi.SendMediaGroupParams{
		ChatID: botapi.ChatID{ID: 42},
		Media: []botapi.InputMedia{
			&botapi.InputMediaDocument{Media: botapi.Upload("receipt.pdf", receipt)},
			&botapi.InputMediaDocument{Media: botapi.FileID("BQACAgIAAxkBAAIB")},
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	// Output:
	// sendMediaGroup multipart:
	//   chat_id: 42
	//   media: [{"type":"document","media":"attach://file0"},{"type":"document","media":"BQACAgIAAxkBAAIB"}]
	//   file0: file "receipt.pdf", 16 bytes
}

func ExampleClient_DownloadFile() {
	mux := http.NewServeMux()
	mux.HandleFunc("/bot123456:ABC-DEF/getFile", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"ok":true,"result":{"file_id":"BQAC","file_unique_id":"u","file_path":"documents/file_3.txt"}}`)
	})
	mux.HandleFunc("/file/bot123456:ABC-DEF/documents/file_3.txt", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "order #1001: 2 coffees")
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	c := botapi.New("123456:ABC-DEF", botapi.WithBaseURL(srv.URL))
	var buf bytes.Buffer
	n, err := c.DownloadFile(context.Background(), "BQAC", &buf)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(n, "bytes:", buf.String())
	// Output:
	// 22 bytes: order #1001: 2 coffees
}

func ExampleClient_Updates() {
	srv := fakeTelegram(false, map[string]string{
		"getUpdates": `{"ok":true,"result":[` +
			`{"update_id":501,"message":{"message_id":1,"date":0,"chat":{"id":42,"type":"private"},"text":"/start"}},` +
			`{"update_id":502,"callback_query":{"id":"7","from":{"id":42,"is_bot":false,"first_name":"Ann"},"chat_instance":"c","data":"buy"}}]}`,
	})
	defer srv.Close()
	c := botapi.New("123456:ABC-DEF", botapi.WithBaseURL(srv.URL))

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for u, err := range c.Updates(ctx, &botapi.UpdatesOptions{AllowedUpdates: []string{"message", "callback_query"}}) {
		if err != nil {
			log.Print(err) // the iterator backs off and polls again
			continue
		}
		switch {
		case u.Message != nil:
			fmt.Println(u.UpdateID, "message:", u.Message.Text)
		case u.CallbackQuery != nil:
			fmt.Println(u.UpdateID, "button:", u.CallbackQuery.Data)
			cancel() // a real bot runs until shutdown
		}
	}
	// Output:
	// 501 message: /start
	// 502 button: buy
}

func ExampleClient_SetWebAppMenuButton() {
	srv := fakeTelegram(true, map[string]string{"setChatMenuButton": `{"ok":true,"result":true}`})
	defer srv.Close()

	c := botapi.New("123456:ABC-DEF", botapi.WithBaseURL(srv.URL))
	// chatID 0: the default button of every private chat.
	if err := c.SetWebAppMenuButton(context.Background(), 0, "Open shop", "https://shop.example/app"); err != nil {
		log.Fatal(err)
	}
	// Output:
	// setChatMenuButton {"menu_button":{"type":"web_app","text":"Open shop","web_app":{"url":"https://shop.example/app"}}}
}

func ExampleClient_AnswerWebAppQueryText() {
	srv := fakeTelegram(true, map[string]string{"answerWebAppQuery": `{"ok":true,"result":{"inline_message_id":"AgAAAJ0"}}`})
	defer srv.Close()

	c := botapi.New("123456:ABC-DEF", botapi.WithBaseURL(srv.URL))
	// queryID comes from the Mini App's validated init data (query_id).
	sent, err := c.AnswerWebAppQueryText(context.Background(), "AAHdF6IQAAAAAN0XohDhrOrc", "Order", "I ordered 2 coffees")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("inline message", sent.InlineMessageID)
	// Output:
	// answerWebAppQuery {"web_app_query_id":"AAHdF6IQAAAAAN0XohDhrOrc","result":{"type":"article","id":"1","title":"Order","input_message_content":{"message_text":"I ordered 2 coffees"}}}
	// inline message AgAAAJ0
}

func ExampleClient_PrepareTextMessage() {
	srv := fakeTelegram(false, map[string]string{
		"savePreparedInlineMessage": `{"ok":true,"result":{"id":"Ab12","expiration_date":1700086400}}`,
	})
	defer srv.Close()

	c := botapi.New("123456:ABC-DEF", botapi.WithBaseURL(srv.URL))
	prep, err := c.PrepareTextMessage(context.Background(), 42, "Invite", "Join my team in the game!")
	if err != nil {
		log.Fatal(err)
	}
	// Hand prep.ID to the Mini App, which calls Telegram.WebApp.shareMessage(id).
	fmt.Println("prepared", prep.ID, "until", time.Unix(prep.ExpirationDate, 0).UTC().Format(time.DateTime))
	// Output:
	// prepared Ab12 until 2023-11-15 22:13:20
}

func ExampleClient_Call() {
	srv := fakeTelegram(true, map[string]string{"sendBrandNewThing": `{"ok":true,"result":{"thing_id":5}}`})
	defer srv.Close()

	c := botapi.New("123456:ABC-DEF", botapi.WithBaseURL(srv.URL))
	// A method newer than this package: parameters and result are yours.
	var res struct {
		ThingID int `json:"thing_id"`
	}
	err := c.Call(context.Background(), "sendBrandNewThing", map[string]any{"chat_id": 42, "thing": "x"}, &res)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("thing", res.ThingID)
	// Output:
	// sendBrandNewThing {"chat_id":42,"thing":"x"}
	// thing 5
}
