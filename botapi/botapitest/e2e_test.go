package botapitest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/miniappkit/miniappkit/botapi"
	"github.com/stretchr/testify/require"
)

// TestEndToEndWithClient drives the fake with the real botapi client:
// the client sends and the fake records; the fake delivers updates to a
// webhook-less bot through getUpdates; a payment runs from Pay to
// successful_payment.
func TestEndToEndWithClient(t *testing.T) {
	srv := setup(t)
	bot := srv.Client()
	ctx := t.Context()
	ann := srv.NewUser("Ann")

	me, err := bot.GetMe(ctx)
	require.NoError(t, err)
	require.Equal(t, "test_bot", me.Username)

	m, err := bot.SendMessage(ctx, &botapi.SendMessageParams{ChatID: botapi.ChatID{ID: ann.ID}, Text: "Welcome"})
	require.NoError(t, err)
	require.Equal(t, int64(1), m.MessageID)
	reqs := srv.Requests("sendMessage")
	require.Len(t, reqs, 1)
	require.Equal(t, "Welcome", reqs[0].Params["text"])

	srv.SendUserMessage(ann, "/buy")
	ups, err := bot.GetUpdates(ctx, &botapi.GetUpdatesParams{})
	require.NoError(t, err)
	require.Len(t, ups, 1)
	require.Equal(t, "/buy", ups[0].Message.Text)
	offset := ups[0].UpdateID + 1

	link, err := bot.CreateInvoiceLink(ctx, &botapi.CreateInvoiceLinkParams{
		Title: "Coffee", Description: "A cup", Payload: "order-7", Currency: "XTR",
		Prices: []botapi.LabeledPrice{{Label: "Cup", Amount: 25}},
	})
	require.NoError(t, err)
	inv, ok := srv.InvoiceByLink(link)
	require.True(t, ok)

	var wg sync.WaitGroup
	wg.Go(func() { // the bot's side: answer the pre-checkout query
		ups, err := bot.GetUpdates(ctx, &botapi.GetUpdatesParams{Offset: offset, Timeout: 30})
		if err != nil || len(ups) != 1 || ups[0].PreCheckoutQuery == nil {
			t.Errorf("want one pre_checkout_query, got %v, %v", ups, err)
			return
		}
		offset = ups[0].UpdateID + 1
		if err := bot.AnswerPreCheckoutQuery(ctx, &botapi.AnswerPreCheckoutQueryParams{
			PreCheckoutQueryID: ups[0].PreCheckoutQuery.ID, OK: true}); err != nil {
			t.Error(err)
		}
	})
	pay, err := srv.Pay(t.Context(), ann, inv)
	wg.Wait()
	require.NoError(t, err)

	ups, err = bot.GetUpdates(ctx, &botapi.GetUpdatesParams{Offset: offset})
	require.NoError(t, err)
	require.Len(t, ups, 1)
	sp := ups[0].Message.SuccessfulPayment
	require.NotNil(t, sp)
	require.Equal(t, pay.TelegramPaymentChargeID, sp.TelegramPaymentChargeID)
	require.Equal(t, "order-7", sp.InvoicePayload)
	require.Equal(t, int64(25), sp.TotalAmount)

	require.NoError(t, bot.RefundStarPayment(ctx, &botapi.RefundStarPaymentParams{
		UserID: ann.ID, TelegramPaymentChargeID: pay.TelegramPaymentChargeID}))
	bal, err := bot.GetMyStarBalance(ctx)
	require.NoError(t, err)
	require.Zero(t, bal.Amount)
}

// TestClientErrors checks that the client's typed errors match the fake's
// answers, the way they match Telegram's.
func TestClientErrors(t *testing.T) {
	srv := setup(t)
	bot := srv.Client(botapi.WithRetry(botapi.RetryPolicy{MaxAttempts: 1}))
	ctx := t.Context()
	ann := srv.NewUser("Ann")
	sendTo := func(id int64) error {
		_, err := bot.SendMessage(ctx, &botapi.SendMessageParams{ChatID: botapi.ChatID{ID: id}, Text: "hi"})
		return err
	}
	tests := []struct {
		name    string
		arrange func()
		chat    int64
		want    error
	}{
		{"chat not found", func() {}, 99, botapi.ErrBadRequest},
		{"blocked", func() { srv.BlockBot(ann) }, ann.ID, botapi.ErrForbidden},
		{"flood", func() { srv.FailNext("sendMessage", 1, FaultTooManyRequests(3)) }, ann.ID, botapi.ErrTooManyRequests},
		{"server", func() { srv.FailNext("sendMessage", 1, FaultInternal()) }, ann.ID, botapi.ErrServer},
		{"proxy page", func() { srv.FailNext("sendMessage", 1, Fault{Kind: FaultBadGateway}) }, ann.ID, botapi.ErrInvalidResponse},
		{"dropped connection", func() { srv.FailNext("sendMessage", 1, Fault{Kind: FaultClose}) }, ann.ID, botapi.ErrNetwork},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv.UnblockBot(ann)
			tt.arrange()
			err := sendTo(tt.chat)
			require.ErrorIs(t, err, tt.want)
			var apiErr *botapi.Error
			if errors.As(err, &apiErr) && errors.Is(err, botapi.ErrTooManyRequests) {
				require.Equal(t, 3, int(apiErr.RetryAfter.Seconds()))
			}
		})
	}
	unauthorized := botapi.New("1:wrong", botapi.WithBaseURL(srv.URL()), botapi.WithHTTPClient(srv.HTTPClient()))
	_, err := unauthorized.GetMe(ctx)
	require.ErrorIs(t, err, botapi.ErrUnauthorized)
}

// TestClientInBubble runs client and fake in a testing/synctest bubble on
// the in-memory transport: the client's retry honours the fake's
// retry_after on the bubble's clock.
func TestClientInBubble(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := NewServer(WithoutListener(), WithRateLimits(1))
		defer srv.Close()
		bot := srv.Client()
		ann := srv.NewUser("Ann")
		ctx := context.Background()
		for range perChatBurst + 2 {
			_, err := bot.SendMessage(ctx, &botapi.SendMessageParams{ChatID: botapi.ChatID{ID: ann.ID}, Text: "hi"})
			require.NoError(t, err)
		}
		sent := srv.Sent()
		require.Len(t, sent, perChatBurst+2)
		require.Equal(t, 2, srv.Stats().TooManyRequests, "the two sends after the burst each met one 429 and retried")
		require.GreaterOrEqual(t, sent[perChatBurst+1].At.Sub(sent[0].At).Seconds(), 2.0)
	})
}
