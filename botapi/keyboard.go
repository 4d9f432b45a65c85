package botapi

// Keyboard builders: the markup of the common buttons without the struct
// literals. Each returns a new value; none keeps or shares its arguments'
// slices.
//
//	markup := botapi.InlineKeyboard(
//		botapi.InlineRow(botapi.CallbackButton("Pay", "pay:42"), botapi.CallbackButton("Cancel", "cancel:42")),
//		botapi.InlineRow(botapi.WebAppButton("Open shop", "https://shop.example/app")),
//	)

// InlineKeyboard returns an inline keyboard of the given rows (see
// [InlineRow]).
//
// Telegram docs: https://core.telegram.org/bots/api#inlinekeyboardmarkup
func InlineKeyboard(rows ...[]InlineKeyboardButton) *InlineKeyboardMarkup {
	m := &InlineKeyboardMarkup{InlineKeyboard: make([][]InlineKeyboardButton, 0, len(rows))}
	for _, r := range rows {
		m.InlineKeyboard = append(m.InlineKeyboard, append([]InlineKeyboardButton(nil), r...))
	}
	return m
}

// InlineRow returns one row of an inline keyboard.
func InlineRow(buttons ...InlineKeyboardButton) []InlineKeyboardButton {
	return append([]InlineKeyboardButton(nil), buttons...)
}

// CallbackButton returns an inline button that sends data, 1-64 bytes, to
// the bot in a callback query when pressed. (Telegram rejects other
// lengths when the keyboard is sent; route the query with the router
// package's CallbackPrefix.)
func CallbackButton(text, data string) InlineKeyboardButton {
	return InlineKeyboardButton{Text: text, CallbackData: data}
}

// URLButton returns an inline button that opens url (http, https, tg).
func URLButton(text, url string) InlineKeyboardButton {
	return InlineKeyboardButton{Text: text, URL: url}
}

// WebAppButton returns an inline button that opens the Mini App at url
// (https) with the user's init data. Such buttons work in private chats
// only; in groups use a [URLButton] with a [StartAppLink].
func WebAppButton(text, url string) InlineKeyboardButton {
	return InlineKeyboardButton{Text: text, WebApp: &WebAppInfo{URL: url}}
}

// ReplyKeyboard returns a resized custom keyboard of the given rows (see
// [KeyboardRow]); set its other fields (OneTimeKeyboard, IsPersistent,
// InputFieldPlaceholder...) on the result.
//
// Telegram docs: https://core.telegram.org/bots/api#replykeyboardmarkup
func ReplyKeyboard(rows ...[]KeyboardButton) *ReplyKeyboardMarkup {
	m := &ReplyKeyboardMarkup{Keyboard: make([][]KeyboardButton, 0, len(rows)), ResizeKeyboard: true}
	for _, r := range rows {
		m.Keyboard = append(m.Keyboard, append([]KeyboardButton(nil), r...))
	}
	return m
}

// KeyboardRow returns one row of a custom keyboard.
func KeyboardRow(buttons ...KeyboardButton) []KeyboardButton {
	return append([]KeyboardButton(nil), buttons...)
}

// TextButton returns a custom keyboard button that sends its text as a
// message when pressed.
func TextButton(text string) KeyboardButton { return KeyboardButton{Text: text} }

// ContactButton returns a custom keyboard button that sends the user's
// phone number as a contact (private chats only).
func ContactButton(text string) KeyboardButton {
	return KeyboardButton{Text: text, RequestContact: true}
}

// LocationButton returns a custom keyboard button that sends the user's
// location (private chats only).
func LocationButton(text string) KeyboardButton {
	return KeyboardButton{Text: text, RequestLocation: true}
}

// WebAppKeyboardButton returns a custom keyboard button that opens the
// Mini App at url; the app can send data back with
// Telegram.WebApp.sendData, which arrives as a message's web_app_data
// (private chats only).
func WebAppKeyboardButton(text, url string) KeyboardButton {
	return KeyboardButton{Text: text, WebApp: &WebAppInfo{URL: url}}
}

// RemoveKeyboard returns the markup that removes the custom keyboard (it
// encodes as {"remove_keyboard":true}).
func RemoveKeyboard() *ReplyKeyboardRemove { return &ReplyKeyboardRemove{} }
