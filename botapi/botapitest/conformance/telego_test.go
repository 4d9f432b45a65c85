package conformance

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/miniappkit/miniappkit/botapi/botapitest"
	"github.com/mymmrac/telego"
	ta "github.com/mymmrac/telego/telegoapi"
	tu "github.com/mymmrac/telego/telegoutil"
	"github.com/stretchr/testify/require"
)

// newTelego returns a telego bot on srv, over its in-memory transport.
func newTelego(t *testing.T, srv *botapitest.Server, opts ...telego.BotOption) *telego.Bot {
	t.Helper()
	all := append([]telego.BotOption{telego.WithAPIServer(srv.URL()), telego.WithHTTPClient(srv.HTTPClient()), telego.WithDiscardLogger()}, opts...)
	bot, err := telego.NewBot(srv.Token(), all...)
	require.NoError(t, err, "telego accepts the fake's token")
	return bot
}

// pollTelego long-polls once from offset and returns the updates.
func pollTelego(t *testing.T, bot *telego.Bot, offset *int) []telego.Update {
	t.Helper()
	ups, err := bot.GetUpdates(t.Context(), &telego.GetUpdatesParams{Offset: *offset, Timeout: 5})
	require.NoError(t, err)
	if n := len(ups); n > 0 {
		*offset = ups[n-1].UpdateID + 1
	}
	return ups
}

func TestTelegoKeyboardEditCallback(t *testing.T) {
	srv := botapitest.NewServer(botapitest.WithoutListener())
	t.Cleanup(srv.Close)
	bot := newTelego(t, srv)
	ctx := t.Context()
	me, err := bot.GetMe(ctx)
	require.NoError(t, err)
	require.True(t, me.IsBot)
	ann := srv.NewUser("Ann")

	m, err := bot.SendMessage(ctx, &telego.SendMessageParams{
		ChatID: tu.ID(ann.ID), Text: "Pick one",
		ReplyMarkup: tu.InlineKeyboard(tu.InlineKeyboardRow(tu.InlineKeyboardButton("Tea").WithCallbackData("tea"))),
	})
	require.NoError(t, err)
	require.Equal(t, "tea", m.ReplyMarkup.InlineKeyboard[0][0].CallbackData)

	qid, err := srv.PressButton(ann, "Tea")
	require.NoError(t, err)
	offset := 0
	ups := pollTelego(t, bot, &offset)
	require.Len(t, ups, 1)
	require.Equal(t, "tea", ups[0].CallbackQuery.Data)
	require.Equal(t, qid, ups[0].CallbackQuery.ID)
	require.NoError(t, bot.AnswerCallbackQuery(ctx, &telego.AnswerCallbackQueryParams{CallbackQueryID: qid, Text: "Brewing"}))
	ans, ok := srv.CallbackAnswer(qid)
	require.True(t, ok)
	require.Equal(t, "Brewing", ans.Text)

	edited, err := bot.EditMessageText(ctx, &telego.EditMessageTextParams{ChatID: tu.ID(ann.ID), MessageID: m.MessageID, Text: "Tea it is"})
	require.NoError(t, err)
	require.Equal(t, "Tea it is", edited.Text)
	require.NotZero(t, edited.EditDate)
}

func TestTelegoLongPollUploadDownload(t *testing.T) {
	srv := botapitest.NewServer(botapitest.WithoutListener())
	t.Cleanup(srv.Close)
	bot := newTelego(t, srv)
	ctx := t.Context()
	ann := srv.NewUser("Ann")

	// A long poll ends when a message arrives.
	got := make(chan []telego.Update, 1)
	go func() {
		ups, _ := bot.GetUpdates(ctx, &telego.GetUpdatesParams{Timeout: 30})
		got <- ups
	}()
	for len(srv.Requests("getUpdates")) == 0 { // the poll is waiting
		time.Sleep(time.Millisecond)
	}
	srv.SendUserMessage(ann, "/start")
	select {
	case ups := <-got:
		require.Len(t, ups, 1)
		require.Equal(t, "/start", ups[0].Message.Text)
		require.Equal(t, "bot_command", ups[0].Message.Entities[0].Type)
	case <-time.After(10 * time.Second):
		t.Fatal("the long poll did not end with the update")
	}

	doc, err := bot.SendDocument(ctx, &telego.SendDocumentParams{ChatID: tu.ID(ann.ID),
		Document: tu.File(tu.NameReader(bytes.NewReader([]byte("report body")), "report.txt"))})
	require.NoError(t, err)
	require.Equal(t, "report.txt", doc.Document.FileName)
	f, err := bot.GetFile(ctx, &telego.GetFileParams{FileID: doc.Document.FileID})
	require.NoError(t, err)
	resp, err := srv.HTTPClient().Get(bot.FileDownloadURL(f.FilePath))
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, "report body", string(body))
}

func TestTelegoInvoicePay(t *testing.T) {
	srv := botapitest.NewServer(botapitest.WithoutListener())
	t.Cleanup(srv.Close)
	bot := newTelego(t, srv)
	ctx := t.Context()
	ann := srv.NewUser("Ann")
	inv, err := bot.SendInvoice(ctx, &telego.SendInvoiceParams{ChatID: tu.ID(ann.ID), Title: "Tea", Description: "A cup",
		Payload: "order-1", Currency: "XTR", Prices: []telego.LabeledPrice{{Label: "Tea", Amount: 5}}})
	require.NoError(t, err)
	require.Equal(t, 5, inv.Invoice.TotalAmount)

	var invoice botapitest.Invoice
	for _, i := range srv.Invoices() {
		if i.MessageID == int64(inv.MessageID) {
			invoice = i
		}
	}
	paid := make(chan error, 1)
	go func() { _, err := srv.Pay(t.Context(), ann, invoice); paid <- err }()
	offset := 0
	var pc *telego.PreCheckoutQuery
	for pc == nil {
		for _, u := range pollTelego(t, bot, &offset) {
			pc = u.PreCheckoutQuery
		}
	}
	require.Equal(t, "order-1", pc.InvoicePayload)
	require.NoError(t, bot.AnswerPreCheckoutQuery(ctx, &telego.AnswerPreCheckoutQueryParams{PreCheckoutQueryID: pc.ID, Ok: true}))
	require.NoError(t, <-paid)
	ups := pollTelego(t, bot, &offset)
	require.Len(t, ups, 1)
	require.Equal(t, "order-1", ups[0].Message.SuccessfulPayment.InvoicePayload)
	require.Equal(t, 5, ups[0].Message.SuccessfulPayment.TotalAmount)
}

// TestTelego429RetryAfter: telego's RetryCaller waits the retry_after the
// fake sends and the send then goes through.
func TestTelego429RetryAfter(t *testing.T) {
	srv := botapitest.NewServer(botapitest.WithoutListener(), botapitest.WithRateLimits(10))
	t.Cleanup(srv.Close)
	bot := newTelego(t, srv, telego.WithAPICaller(&ta.RetryCaller{
		Caller: ta.HTTPCaller{Client: srv.HTTPClient()}, MaxAttempts: 3, ExponentBase: 2,
		StartDelay: time.Millisecond, MaxDelay: 2 * time.Second, RateLimit: ta.RetryRateLimitWait,
	}))
	ann := srv.NewUser("Ann")
	for i := range 5 {
		_, err := bot.SendMessage(t.Context(), &telego.SendMessageParams{ChatID: tu.ID(ann.ID), Text: "m" + strconv.Itoa(i)})
		require.NoError(t, err)
	}
	st := srv.Stats()
	require.Equal(t, 5, st.Sent)
	require.Positive(t, st.TooManyRequests, "the burst met the limit")

	// Without retries, telego reports the 429 with its retry_after.
	plain := newTelego(t, srv)
	bob := srv.NewUser("Bob")
	var err error
	for i := 0; i < 5 && err == nil; i++ {
		_, err = plain.SendMessage(t.Context(), &telego.SendMessageParams{ChatID: tu.ID(bob.ID), Text: "x"})
	}
	var apiErr *ta.Error
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, 429, apiErr.ErrorCode)
	require.Equal(t, 1, apiErr.Parameters.RetryAfter)
}

func TestTelegoBlockedAndEntities(t *testing.T) {
	srv := botapitest.NewServer(botapitest.WithoutListener())
	t.Cleanup(srv.Close)
	bot := newTelego(t, srv)
	ctx := t.Context()
	ann := srv.NewUser("Ann")

	m, err := bot.SendMessage(ctx, &telego.SendMessageParams{ChatID: tu.ID(ann.ID), Text: "<b>Hi</b> <a href=\"https://example.com\">there</a>", ParseMode: telego.ModeHTML})
	require.NoError(t, err)
	require.Equal(t, "Hi there", m.Text)
	require.Equal(t, []telego.MessageEntity{{Type: "bold", Offset: 0, Length: 2}, {Type: "text_link", Offset: 3, Length: 5, URL: "https://example.com/"}}, m.Entities)
	m, err = bot.SendMessage(ctx, &telego.SendMessageParams{ChatID: tu.ID(ann.ID), Text: "*bold* _it_ \\.", ParseMode: telego.ModeMarkdownV2})
	require.NoError(t, err)
	require.Equal(t, "bold it .", m.Text)
	require.Len(t, m.Entities, 2)
	_, err = bot.SendMessage(ctx, &telego.SendMessageParams{ChatID: tu.ID(ann.ID), Text: "1.5", ParseMode: telego.ModeMarkdownV2})
	var apiErr *ta.Error
	require.ErrorAs(t, err, &apiErr)
	require.Contains(t, apiErr.Description, "can't parse entities")

	srv.BlockBot(ann)
	_, err = bot.SendMessage(ctx, &telego.SendMessageParams{ChatID: tu.ID(ann.ID), Text: "still there?"})
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, 403, apiErr.ErrorCode)
	require.Equal(t, "Forbidden: bot was blocked by the user", apiErr.Description)
}

// TestTelegoWebhookOrder: a webhook with a secret token delivers one chat's
// updates in order through telego's webhook handler, while the fake's
// latency makes deliveries overlap.
func TestTelegoWebhookOrder(t *testing.T) {
	const secret = "s3cret"
	var mu sync.Mutex
	var texts []string
	var wrongSecret int
	hook := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Telegram-Bot-Api-Secret-Token") != secret {
			mu.Lock()
			wrongSecret++
			mu.Unlock()
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var u telego.Update
		if err := jsonDecode(r.Body, &u); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		mu.Lock()
		texts = append(texts, u.Message.Text)
		mu.Unlock()
	})
	srv := botapitest.NewServer(botapitest.WithoutListener(), botapitest.WithWebhookTransport(botapitest.HandlerTransport(hook)),
		botapitest.WithLatency(botapitest.Latency{Base: 2 * time.Millisecond, Jitter: 2 * time.Millisecond}))
	t.Cleanup(srv.Close)
	bot := newTelego(t, srv)
	require.NoError(t, bot.SetWebhook(t.Context(), &telego.SetWebhookParams{URL: "https://bot.example/hook", SecretToken: secret}))
	ann := srv.NewUser("Ann")
	var want []string
	for i := range 20 {
		want = append(want, "m"+strconv.Itoa(i))
		srv.SendUserMessage(ann, want[i])
	}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	for {
		info, err := bot.GetWebhookInfo(ctx)
		require.NoError(t, err)
		if info.PendingUpdateCount == 0 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatal(errors.New("the webhook did not drain"))
		case <-time.After(5 * time.Millisecond):
		}
	}
	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, want, texts)
	require.Zero(t, wrongSecret)
}
