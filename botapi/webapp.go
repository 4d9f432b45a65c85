package botapi

import (
	"context"
)

// SetWebAppMenuButton makes the menu button of a private chat open a Mini
// App: the button shows text and opens webAppURL (an https URL). chatID 0
// sets the default button of every private chat that has no button of its
// own. It calls setChatMenuButton with a [MenuButtonWebApp].
//
// Telegram docs: https://core.telegram.org/bots/api#setchatmenubutton
func (c *Client) SetWebAppMenuButton(ctx context.Context, chatID int64, text, webAppURL string) error {
	return c.SetChatMenuButton(ctx, &SetChatMenuButtonParams{
		ChatID:     chatID,
		MenuButton: &MenuButtonWebApp{Text: text, WebApp: WebAppInfo{URL: webAppURL}},
	})
}

// AnswerWebAppQueryText answers the query of a Mini App opened from a
// keyboard button or the attachment menu by sending text, on the user's
// behalf, to the chat the query came from; title names the result. The query
// id is WebAppInitData.query_id (initdata's QueryID). It calls
// answerWebAppQuery with an [InlineQueryResultArticle]; call
// [Client.AnswerWebAppQuery] for any other kind of result.
//
// Telegram docs: https://core.telegram.org/bots/api#answerwebappquery
func (c *Client) AnswerWebAppQueryText(ctx context.Context, queryID, title, text string) (*SentWebAppMessage, error) {
	return c.AnswerWebAppQuery(ctx, &AnswerWebAppQueryParams{
		WebAppQueryID: queryID,
		Result:        textArticle(title, text),
	})
}

// PrepareTextMessage stores a text message that the Mini App of user userID
// can let the user share, to any kind of chat, by calling
// Telegram.WebApp.shareMessage with the returned PreparedInlineMessage.ID
// (before its ExpirationDate). It calls savePreparedInlineMessage with an
// [InlineQueryResultArticle]; call [Client.SavePreparedInlineMessage] to
// share other results or limit the chat types.
//
// Telegram docs: https://core.telegram.org/bots/api#savepreparedinlinemessage
func (c *Client) PrepareTextMessage(ctx context.Context, userID int64, title, text string) (*PreparedInlineMessage, error) {
	return c.SavePreparedInlineMessage(ctx, &SavePreparedInlineMessageParams{
		UserID:            userID,
		Result:            textArticle(title, text),
		AllowUserChats:    true,
		AllowBotChats:     true,
		AllowGroupChats:   true,
		AllowChannelChats: true,
	})
}

// textArticle is an article result whose message is text. Its id only has to
// be unique among the results of one answer, and these answers have one.
func textArticle(title, text string) *InlineQueryResultArticle {
	return &InlineQueryResultArticle{
		ID:                  "1",
		Title:               title,
		InputMessageContent: &InputTextMessageContent{MessageText: text},
	}
}
