package botapi

// The four members of ReplyMarkup. Telegram tells them apart by their keys
// (inline_keyboard, keyboard, remove_keyboard, force_reply), so they need no
// discriminator.

func (*InlineKeyboardMarkup) replyMarkup() {}
func (*ReplyKeyboardMarkup) replyMarkup()  {}
func (*ReplyKeyboardRemove) replyMarkup()  {}
func (*ForceReply) replyMarkup()           {}
