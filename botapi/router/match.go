package router

import (
	"strings"

	"github.com/miniappkit/miniappkit/botapi"
)

// Matcher reports whether a route takes an update. It must not modify the
// update, and must be safe for concurrent use.
type Matcher func(u *botapi.Update) bool

// Command matches a message (update.message) that is the bot command name
// (without "/"; compared without regard to ASCII case), with or without a
// payload: "/start", "/start ref42", "/start@any_bot". To refuse commands
// addressed to other bots use [Router.Command] or [CommandFor].
func Command(name string) Matcher { return CommandFor(name, "") }

// CommandFor is [Command] for the bot named bot (a leading "@" is
// ignored): a command addressed to another bot ("/start@other_bot") does
// not match. An empty bot accepts any.
func CommandFor(name, bot string) Matcher {
	name = strings.TrimPrefix(name, "/")
	bot = strings.TrimPrefix(bot, "@")
	return func(u *botapi.Update) bool {
		if u.Message == nil {
			return false
		}
		cmd, to, _, ok := ParseCommand(u.Message.Text)
		return ok && strings.EqualFold(cmd, name) && (bot == "" || to == "" || strings.EqualFold(to, bot))
	}
}

// ParseCommand splits a message's text into a bot command: "/start@shop_bot
// ref42" is name "start", bot "shop_bot", payload "ref42". ok is false when
// text does not start with "/" followed by a name. The payload is the text
// after the first run of spaces (and line breaks) following the command,
// with trailing spaces removed; it is empty when there is none.
//
// Telegram docs: https://core.telegram.org/bots/features#commands
func ParseCommand(text string) (name, bot, payload string, ok bool) {
	if len(text) < 2 || text[0] != '/' {
		return "", "", "", false
	}
	head, rest := text[1:], ""
	if i := strings.IndexAny(head, " \t\n\r"); i >= 0 {
		head, rest = head[:i], head[i+1:]
	}
	name, bot, _ = strings.Cut(head, "@")
	if name == "" {
		return "", "", "", false
	}
	return name, bot, strings.TrimSpace(rest), true
}

// CommandPayload returns the payload of the command in u's message ("" if
// none, or if the message is not a command): the start parameter of a
// deep link's "/start <param>".
func CommandPayload(u *botapi.Update) string {
	if u == nil || u.Message == nil {
		return ""
	}
	_, _, payload, _ := ParseCommand(u.Message.Text)
	return payload
}

// CallbackPrefix matches a callback query whose data starts with prefix
// (an empty prefix matches every callback query with data, and game
// callbacks, which have none, too).
func CallbackPrefix(prefix string) Matcher {
	return func(u *botapi.Update) bool {
		return u.CallbackQuery != nil && strings.HasPrefix(u.CallbackQuery.Data, prefix)
	}
}

// WebAppData matches a message carrying data a Mini App sent with
// Telegram.WebApp.sendData (message.web_app_data).
func WebAppData() Matcher {
	return func(u *botapi.Update) bool { return u.Message != nil && u.Message.WebAppData != nil }
}

// PreCheckoutQuery matches a pre_checkout_query: the bot must answer it
// within 10 seconds.
func PreCheckoutQuery() Matcher {
	return func(u *botapi.Update) bool { return u.PreCheckoutQuery != nil }
}

// ShippingQuery matches a shipping_query (invoices with a flexible price).
func ShippingQuery() Matcher {
	return func(u *botapi.Update) bool { return u.ShippingQuery != nil }
}

// SuccessfulPayment matches a message reporting a successful payment
// (message.successful_payment).
func SuccessfulPayment() Matcher {
	return func(u *botapi.Update) bool { return u.Message != nil && u.Message.SuccessfulPayment != nil }
}

// Text matches a message whose text is exactly text.
func Text(text string) Matcher {
	return func(u *botapi.Update) bool { return u.Message != nil && u.Message.Text == text }
}

// TextPrefix matches a message whose text starts with prefix; an empty
// prefix matches every message with text.
func TextPrefix(prefix string) Matcher {
	return func(u *botapi.Update) bool {
		return u.Message != nil && u.Message.Text != "" && strings.HasPrefix(u.Message.Text, prefix)
	}
}

// ChatType matches an update whose effective chat
// ([botapi.Update.EffectiveChat]) is of one of the given types: "private",
// "group", "supergroup", "channel".
func ChatType(types ...string) Matcher {
	types = append([]string(nil), types...)
	return func(u *botapi.Update) bool {
		c := u.EffectiveChat()
		if c == nil {
			return false
		}
		for _, t := range types {
			if c.Type == t {
				return true
			}
		}
		return false
	}
}

// All matches when every one of ms matches (and when ms is empty), e.g.
// All(ChatType("private"), Command("start")).
func All(ms ...Matcher) Matcher {
	ms = append([]Matcher(nil), ms...)
	return func(u *botapi.Update) bool {
		for _, m := range ms {
			if !m(u) {
				return false
			}
		}
		return true
	}
}

// Any matches when at least one of ms matches.
func Any(ms ...Matcher) Matcher {
	ms = append([]Matcher(nil), ms...)
	return func(u *botapi.Update) bool {
		for _, m := range ms {
			if m(u) {
				return true
			}
		}
		return false
	}
}
