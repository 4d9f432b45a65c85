package botapi

import (
	"errors"
	"fmt"
)

// Limits of t.me links to Mini Apps.
//
// Telegram docs: https://core.telegram.org/bots/webapps#direct-link-mini-apps
const (
	// MaxStartAppParamLength is the longest startapp parameter: 512
	// characters of A-Z, a-z, 0-9, _ and -.
	MaxStartAppParamLength = 512
)

// ErrInvalidLink matches the errors of [StartAppLink] and [AppLink]: a
// bot username, app name or startapp parameter that Telegram would not
// accept.
var ErrInvalidLink = errors.New("botapi: invalid t.me link")

// StartAppLink returns the link that opens the bot's main Mini App,
// https://t.me/<bot>?startapp=<param>; the app reads param from its init
// data (start_param). An empty param gives https://t.me/<bot>?startapp,
// which opens the app without one. bot is the bot's username without "@"
// (5-32 of A-Z, a-z, 0-9 and _); param at most [MaxStartAppParamLength]
// characters of A-Z, a-z, 0-9, _ and - (encode anything else, e.g. with
// base64.RawURLEncoding). An error matches [ErrInvalidLink].
//
// Telegram docs: https://core.telegram.org/bots/webapps#launching-the-main-mini-app
func StartAppLink(bot, param string) (string, error) {
	if err := checkName("bot username", bot, 5, 32); err != nil {
		return "", err
	}
	return withStartApp("https://t.me/"+bot, param)
}

// AppLink returns the direct link to one of the bot's Mini Apps,
// https://t.me/<bot>/<app>?startapp=<param>, or without "?startapp=" when
// param is empty. app is the short name given to @BotFather (3-30 of A-Z,
// a-z, 0-9 and _); bot and param are as for [StartAppLink]. An error
// matches [ErrInvalidLink].
//
// Telegram docs: https://core.telegram.org/bots/webapps#direct-link-mini-apps
func AppLink(bot, app, param string) (string, error) {
	if err := checkName("bot username", bot, 5, 32); err != nil {
		return "", err
	}
	if err := checkName("app short name", app, 3, 30); err != nil {
		return "", err
	}
	link := "https://t.me/" + bot + "/" + app
	if param == "" {
		return link, nil
	}
	return withStartApp(link, param)
}

// withStartApp appends the startapp parameter to link, checked.
func withStartApp(link, param string) (string, error) {
	if param == "" {
		return link + "?startapp", nil
	}
	if len(param) > MaxStartAppParamLength {
		return "", fmt.Errorf("%w: startapp parameter is %d characters, more than %d", ErrInvalidLink, len(param), MaxStartAppParamLength)
	}
	for i := 0; i < len(param); i++ {
		if c := param[i]; !isWordByte(c) && c != '-' {
			return "", fmt.Errorf("%w: startapp parameter holds a character other than A-Z, a-z, 0-9, _ and - at byte %d", ErrInvalidLink, i)
		}
	}
	return link + "?startapp=" + param, nil
}

// checkName checks a username or app name: min-max of A-Z, a-z, 0-9, _.
func checkName(what, s string, minLen, maxLen int) error {
	if len(s) < minLen || len(s) > maxLen {
		return fmt.Errorf("%w: %s must be %d-%d characters", ErrInvalidLink, what, minLen, maxLen)
	}
	for i := 0; i < len(s); i++ {
		if !isWordByte(s[i]) {
			return fmt.Errorf("%w: %s holds a character other than A-Z, a-z, 0-9 and _", ErrInvalidLink, what)
		}
	}
	return nil
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}
