package initdata

import (
	"crypto/ed25519"
	"encoding/hex"
	"time"
)

// Telegram's rules, in one place. Telegram docs:
// https://core.telegram.org/bots/webapps#validating-data-received-via-the-mini-app
const (
	// MaxLength is the longest init data this package accepts, in bytes:
	// 8 KiB. Real init data is well under 2 KiB; anything longer is rejected
	// with [ErrMalformed] before any work is done.
	MaxLength = 8 << 10

	// DefaultMaxAge is how old auth_date may be before [Validate] reports
	// [ErrExpired], unless [WithMaxAge] says otherwise.
	DefaultMaxAge = 24 * time.Hour

	// MaxClockSkew is how far auth_date may lie in the future (clocks
	// differ) before it is rejected with [ErrAuthDateInvalid].
	MaxClockSkew = time.Minute

	// secretKeyConstant is the HMAC key that turns a bot token into the
	// secret key: secret_key = HMAC_SHA256(key "WebAppData", msg bot_token).
	secretKeyConstant = "WebAppData"

	// thirdPartySuffix follows the bot id on the first line of the
	// third-party data-check-string: "<bot_id>:WebAppData\n".
	thirdPartySuffix = ":WebAppData\n"
)

// Telegram's Ed25519 public keys for third-party validation ([ValidateThirdParty]),
// hex-encoded. Telegram docs:
// https://core.telegram.org/bots/webapps#validating-data-for-third-party-use
const (
	productionPublicKeyHex = "e7bf03a2fa4602af4580703d88dda5bb59f32ed8b02a56c187fe7d34caed242d"
	testPublicKeyHex       = "40055058a4ee38156a06562e52eece92a771bcd8346a8c4615cb7376eddf72ec"
)

var (
	// ProductionPublicKey is the key Telegram signs production init data
	// with (e7bf03a2…caed242d), for reference: the validators use their
	// own copy, so changing this slice changes nothing.
	ProductionPublicKey = mustPublicKey(productionPublicKeyHex)

	// TestPublicKey is the key of Telegram's test environment
	// (40055058…eddf72ec), for reference like [ProductionPublicKey].
	TestPublicKey = mustPublicKey(testPublicKeyHex)

	productionPublicKey = mustPublicKey(productionPublicKeyHex)
	testPublicKey       = mustPublicKey(testPublicKeyHex)
)

func mustPublicKey(h string) ed25519.PublicKey {
	k, err := hex.DecodeString(h)
	if err != nil || len(k) != ed25519.PublicKeySize {
		panic("initdata: bad built-in public key")
	}
	return k
}

// Field names of init data. Telegram docs:
// https://core.telegram.org/bots/webapps#webappinitdata
const (
	keyQueryID      = "query_id"
	keyUser         = "user"
	keyReceiver     = "receiver"
	keyChat         = "chat"
	keyChatType     = "chat_type"
	keyChatInstance = "chat_instance"
	keyStartParam   = "start_param"
	keyCanSendAfter = "can_send_after"
	keyAuthDate     = "auth_date"
	keyHash         = "hash"
	keySignature    = "signature"
)

// InitData is the typed content of a Mini App's init data
// (Telegram.WebApp.initData). The zero value is empty init data.
//
// Telegram docs: https://core.telegram.org/bots/webapps#webappinitdata
type InitData struct {
	// QueryID identifies the Mini App session, for answerWebAppQuery.
	QueryID string `json:"query_id,omitempty"`
	// User is the user who opened the Mini App; nil when absent.
	User *User `json:"user,omitempty"`
	// Receiver is the chat partner in a private chat where the Mini App was
	// opened from the attachment menu; nil when absent.
	Receiver *User `json:"receiver,omitempty"`
	// Chat is the group, supergroup or channel where the Mini App was opened
	// from the attachment menu; nil when absent.
	Chat *Chat `json:"chat,omitempty"`
	// ChatType is the type of the chat the Mini App was opened from:
	// "sender", "private", "group", "supergroup" or "channel".
	ChatType string `json:"chat_type,omitempty"`
	// ChatInstance is the global identifier of the chat the Mini App was
	// opened from, exactly as sent. It is often a (possibly negative) 64-bit
	// number; keep it as a string or parse it with strconv.ParseInt, never
	// as a float.
	ChatInstance string `json:"chat_instance,omitempty"`
	// StartParam is the startattach or startapp parameter of the link.
	StartParam string `json:"start_param,omitempty"`
	// CanSendAfter is how long after opening a message can be sent with
	// answerWebAppQuery (sent in seconds); 0 when absent.
	CanSendAfter time.Duration `json:"can_send_after,omitempty"`
	// AuthDate is when the Mini App was opened (sent as Unix seconds); the
	// zero time when absent.
	AuthDate time.Time `json:"auth_date"`
	// Hash is the hex HMAC-SHA-256 of the other fields (see [Validate]).
	Hash string `json:"hash,omitempty"`
	// Signature is the base64url Ed25519 signature of the fields but hash
	// (Bot API 8.0, see [ValidateThirdParty]).
	Signature string `json:"signature,omitempty"`
	// Extra holds every field this package does not know, decoded, by key;
	// nil when there is none. Unknown fields are part of the signed data,
	// so they are as trustworthy as the others once validated.
	Extra map[string]string `json:"extra,omitempty"`
}

// User is a Telegram user as Mini Apps see it (WebAppUser).
//
// Telegram docs: https://core.telegram.org/bots/webapps#webappuser
type User struct {
	// ID identifies the user (at most 52 significant bits, per Telegram).
	ID int64 `json:"id"`
	// IsBot is true for a bot (only in receiver).
	IsBot bool `json:"is_bot,omitempty"`
	// FirstName is the user's first name.
	FirstName string `json:"first_name"`
	// LastName is the user's last name, if any.
	LastName string `json:"last_name,omitempty"`
	// Username is the user's username, if any.
	Username string `json:"username,omitempty"`
	// LanguageCode is the IETF language tag of the user's language.
	LanguageCode string `json:"language_code,omitempty"`
	// IsPremium is true for Telegram Premium users.
	IsPremium bool `json:"is_premium,omitempty"`
	// AddedToAttachmentMenu is true if the user added the bot to the
	// attachment menu.
	AddedToAttachmentMenu bool `json:"added_to_attachment_menu,omitempty"`
	// AllowsWriteToPM is true if the user allowed the bot to message them.
	AllowsWriteToPM bool `json:"allows_write_to_pm,omitempty"`
	// PhotoURL is the URL of the user's profile photo (.jpeg or .svg).
	PhotoURL string `json:"photo_url,omitempty"`
}

// Chat is a chat as Mini Apps see it (WebAppChat).
//
// Telegram docs: https://core.telegram.org/bots/webapps#webappchat
type Chat struct {
	// ID identifies the chat (negative for groups and channels).
	ID int64 `json:"id"`
	// Type is "group", "supergroup" or "channel".
	Type string `json:"type"`
	// Title is the chat's title.
	Title string `json:"title"`
	// Username is the chat's username, if any.
	Username string `json:"username,omitempty"`
	// PhotoURL is the URL of the chat's photo (.jpeg or .svg).
	PhotoURL string `json:"photo_url,omitempty"`
}

// UserID returns the id of the user who opened the Mini App, and false
// when the init data names no user (opened from an inline button or a
// group chat's attachment menu, for instance), so handlers need not
// dereference a nil [InitData.User]. See [WithRequireUser] to reject such
// requests in [Middleware].
func (d InitData) UserID() (int64, bool) {
	if d.User == nil {
		return 0, false
	}
	return d.User.ID, true
}

// ChatID returns the id of the chat the Mini App was opened from, and
// false when the init data carries no chat object.
func (d InitData) ChatID() (int64, bool) {
	if d.Chat == nil {
		return 0, false
	}
	return d.Chat.ID, true
}
