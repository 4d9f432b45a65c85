package botapi

// EffectiveMessage returns the message an update is about, whatever its
// kind: message, edited_message, channel_post, edited_channel_post,
// business_message, edited_business_message, guest_message, or the message
// a callback query's button is attached to (when it is still accessible).
// It returns nil for other updates, and for a nil u.
func (u *Update) EffectiveMessage() *Message {
	if u == nil {
		return nil
	}
	for _, m := range [...]*Message{u.Message, u.EditedMessage, u.ChannelPost, u.EditedChannelPost,
		u.BusinessMessage, u.EditedBusinessMessage, u.GuestMessage} {
		if m != nil {
			return m
		}
	}
	if q := u.CallbackQuery; q != nil {
		if m, ok := q.Message.(*Message); ok {
			return m
		}
	}
	return nil
}

// EffectiveChat returns the chat an update happened in: the chat of its
// message (see [Update.EffectiveMessage], an inaccessible callback message
// included), or of a chat member change, join request, reaction, boost or
// deleted business messages. It returns nil for updates that have no chat
// (inline queries, payments' queries, polls...), and for a nil u.
func (u *Update) EffectiveChat() *Chat {
	if u == nil {
		return nil
	}
	if m := u.EffectiveMessage(); m != nil {
		return &m.Chat
	}
	switch {
	case u.CallbackQuery != nil:
		if m, ok := u.CallbackQuery.Message.(*InaccessibleMessage); ok {
			return &m.Chat
		}
	case u.MyChatMember != nil:
		return &u.MyChatMember.Chat
	case u.ChatMember != nil:
		return &u.ChatMember.Chat
	case u.ChatJoinRequest != nil:
		return &u.ChatJoinRequest.Chat
	case u.MessageReaction != nil:
		return &u.MessageReaction.Chat
	case u.MessageReactionCount != nil:
		return &u.MessageReactionCount.Chat
	case u.ChatBoost != nil:
		return &u.ChatBoost.Chat
	case u.RemovedChatBoost != nil:
		return &u.RemovedChatBoost.Chat
	case u.DeletedBusinessMessages != nil:
		return &u.DeletedBusinessMessages.Chat
	}
	return nil
}

// EffectiveUser returns the user who caused an update: the sender of its
// message, the user who pressed a button, asked an inline query, chose a
// result, is paying or shipping, answered a poll, changed a chat member,
// asked to join, reacted, bought paid media, connected a business account,
// owns a managed bot, or whose subscription changed. It returns nil when
// there is none (a channel post, an anonymous reaction or poll answer, a
// poll update, boosts), and for a nil u.
func (u *Update) EffectiveUser() *User {
	if u == nil {
		return nil
	}
	switch {
	case u.CallbackQuery != nil:
		return &u.CallbackQuery.From
	case u.InlineQuery != nil:
		return &u.InlineQuery.From
	case u.ChosenInlineResult != nil:
		return &u.ChosenInlineResult.From
	case u.ShippingQuery != nil:
		return &u.ShippingQuery.From
	case u.PreCheckoutQuery != nil:
		return &u.PreCheckoutQuery.From
	case u.PollAnswer != nil:
		return u.PollAnswer.User
	case u.MyChatMember != nil:
		return &u.MyChatMember.From
	case u.ChatMember != nil:
		return &u.ChatMember.From
	case u.ChatJoinRequest != nil:
		return &u.ChatJoinRequest.From
	case u.MessageReaction != nil:
		return u.MessageReaction.User
	case u.PurchasedPaidMedia != nil:
		return &u.PurchasedPaidMedia.From
	case u.BusinessConnection != nil:
		return &u.BusinessConnection.User
	case u.ManagedBot != nil:
		return &u.ManagedBot.User
	case u.Subscription != nil:
		return &u.Subscription.User
	}
	if m := u.EffectiveMessage(); m != nil {
		return m.From
	}
	return nil
}
