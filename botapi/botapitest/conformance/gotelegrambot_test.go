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

	tgbot "github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"
	"github.com/miniappkit/miniappkit/botapi/botapitest"
	"github.com/stretchr/testify/require"
)

// newTGBot returns a go-telegram/bot client on srv, over its in-memory
// transport, handing each update to handle one at a time.
func newTGBot(t *testing.T, srv *botapitest.Server, handle func(ctx context.Context, b *tgbot.Bot, u *models.Update), opts ...tgbot.Option) *tgbot.Bot {
	t.Helper()
	all := append([]tgbot.Option{
		tgbot.WithServerURL(srv.URL()), tgbot.WithHTTPClient(2*time.Second, srv.HTTPClient()),
		tgbot.WithDefaultHandler(handle), tgbot.WithNotAsyncHandlers(), tgbot.WithWorkers(1),
		tgbot.WithErrorsHandler(func(error) {}),
	}, opts...)
	b, err := tgbot.New(srv.Token(), all...)
	require.NoError(t, err, "go-telegram/bot's getMe at start")
	return b
}

// TestGoTelegramBotPollingFlow: long polling through Start, a keyboard, the
// callback, an edit, an upload with getFile, and an invoice paid with Pay.
func TestGoTelegramBotPollingFlow(t *testing.T) {
	srv := botapitest.NewServer(botapitest.WithoutListener())
	t.Cleanup(srv.Close)
	ann := srv.NewUser("Ann")
	updates := make(chan *models.Update, 16)
	b := newTGBot(t, srv, func(_ context.Context, _ *tgbot.Bot, u *models.Update) { updates <- u })
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { b.Start(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	next := func() *models.Update {
		t.Helper()
		select {
		case u := <-updates:
			return u
		case <-time.After(10 * time.Second):
			t.Fatal("no update")
			return nil
		}
	}

	srv.SendUserMessage(ann, "/menu")
	require.Equal(t, "/menu", next().Message.Text)
	m, err := b.SendMessage(ctx, &tgbot.SendMessageParams{ChatID: ann.ID, Text: "Pick",
		ReplyMarkup: &models.InlineKeyboardMarkup{InlineKeyboard: [][]models.InlineKeyboardButton{{{Text: "Coffee", CallbackData: "coffee"}}}}})
	require.NoError(t, err)
	qid, err := srv.PressButton(ann, "coffee")
	require.NoError(t, err)
	cb := next().CallbackQuery
	require.Equal(t, "coffee", cb.Data)
	ok, err := b.AnswerCallbackQuery(ctx, &tgbot.AnswerCallbackQueryParams{CallbackQueryID: qid})
	require.NoError(t, err)
	require.True(t, ok)
	edited, err := b.EditMessageText(ctx, &tgbot.EditMessageTextParams{ChatID: ann.ID, MessageID: m.ID, Text: "Coffee it is"})
	require.NoError(t, err)
	require.Equal(t, "Coffee it is", edited.Text)

	doc, err := b.SendDocument(ctx, &tgbot.SendDocumentParams{ChatID: ann.ID, Document: &models.InputFileUpload{Filename: "a.csv", Data: bytes.NewReader([]byte("a,b\n1,2\n"))}})
	require.NoError(t, err)
	f, err := b.GetFile(ctx, &tgbot.GetFileParams{FileID: doc.Document.FileID})
	require.NoError(t, err)
	resp, err := srv.HTTPClient().Get(b.FileDownloadLink(f))
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, "a,b\n1,2\n", string(body))

	inv, err := b.SendInvoice(ctx, &tgbot.SendInvoiceParams{ChatID: ann.ID, Title: "Coffee", Description: "A cup", Payload: "order-2",
		Currency: "XTR", Prices: []models.LabeledPrice{{Label: "Coffee", Amount: 7}}})
	require.NoError(t, err)
	var invoice botapitest.Invoice
	for _, i := range srv.Invoices() {
		if i.MessageID == int64(inv.ID) {
			invoice = i
		}
	}
	paid := make(chan error, 1)
	go func() { _, err := srv.Pay(t.Context(), ann, invoice); paid <- err }()
	pc := next().PreCheckoutQuery
	require.Equal(t, "order-2", pc.InvoicePayload)
	ok, err = b.AnswerPreCheckoutQuery(ctx, &tgbot.AnswerPreCheckoutQueryParams{PreCheckoutQueryID: pc.ID, OK: true})
	require.NoError(t, err)
	require.True(t, ok)
	require.NoError(t, <-paid)
	sp := next().Message.SuccessfulPayment
	require.Equal(t, "order-2", sp.InvoicePayload)
	require.Equal(t, 7, sp.TotalAmount)
}

// TestGoTelegramBotWebhook: go-telegram/bot's webhook handler, with its
// secret token check, gets one chat's updates in order.
func TestGoTelegramBotWebhook(t *testing.T) {
	const secret = "hook-secret_1"
	var mu sync.Mutex
	var texts []string
	var handler tgbot.HandlerFunc = func(_ context.Context, _ *tgbot.Bot, u *models.Update) {
		mu.Lock()
		texts = append(texts, u.Message.Text)
		mu.Unlock()
	}
	var hookBot *tgbot.Bot
	srv := botapitest.NewServer(botapitest.WithoutListener(),
		botapitest.WithLatency(botapitest.Latency{Base: 2 * time.Millisecond, Jitter: 2 * time.Millisecond}),
		botapitest.WithWebhookTransport(botapitest.HandlerTransport(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hookBot.WebhookHandler()(w, r) }))))
	t.Cleanup(srv.Close)
	hookBot = newTGBot(t, srv, handler, tgbot.WithWebhookSecretToken(secret))
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { hookBot.StartWebhook(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })

	ok, err := hookBot.SetWebhook(ctx, &tgbot.SetWebhookParams{URL: "https://bot.example/hook", SecretToken: secret})
	require.NoError(t, err)
	require.True(t, ok)
	ann := srv.NewUser("Ann")
	var want []string
	for i := range 20 {
		want = append(want, "w"+strconv.Itoa(i))
		srv.SendUserMessage(ann, want[i])
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		mu.Lock()
		n := len(texts)
		mu.Unlock()
		if n == len(want) {
			break
		}
		require.True(t, time.Now().Before(deadline), "webhook deliveries: %d of %d", n, len(want))
		time.Sleep(5 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, want, texts)
}

// TestGoTelegramBotErrors: the 429 with its retry_after, honoured by
// waiting it, 403 after the user blocks the bot, and entities.
func TestGoTelegramBotErrors(t *testing.T) {
	srv := botapitest.NewServer(botapitest.WithoutListener(), botapitest.WithRateLimits(10))
	t.Cleanup(srv.Close)
	b := newTGBot(t, srv, func(context.Context, *tgbot.Bot, *models.Update) {})
	ctx := t.Context()
	ann := srv.NewUser("Ann")

	var tooMany *tgbot.TooManyRequestsError
	sent := 0
	for sent < 5 {
		_, err := b.SendMessage(ctx, &tgbot.SendMessageParams{ChatID: ann.ID, Text: "m" + strconv.Itoa(sent)})
		if errors.As(err, &tooMany) {
			require.Equal(t, 1, tooMany.RetryAfter)
			time.Sleep(time.Duration(tooMany.RetryAfter) * time.Second)
			continue
		}
		require.NoError(t, err)
		sent++
	}
	require.NotNil(t, tooMany, "the burst met the limit")
	require.Equal(t, 5, srv.Stats().Sent)

	m, err := b.SendMessage(ctx, &tgbot.SendMessageParams{ChatID: srv.NewUser("Bob").ID, Text: "<i>hi</i>", ParseMode: models.ParseModeHTML})
	require.NoError(t, err)
	require.Equal(t, "hi", m.Text)
	require.Equal(t, []models.MessageEntity{{Type: "italic", Offset: 0, Length: 2}}, m.Entities)

	carl := srv.NewUser("Carl")
	srv.BlockBot(carl)
	_, err = b.SendMessage(ctx, &tgbot.SendMessageParams{ChatID: carl.ID, Text: "hello?"})
	require.ErrorIs(t, err, tgbot.ErrorForbidden)
	require.ErrorContains(t, err, "bot was blocked by the user")
}
