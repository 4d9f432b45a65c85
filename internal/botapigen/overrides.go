package botapigen

import (
	"regexp"
	"strings"
)

// This file is the reviewed override table: facts the spec does not encode
// (see the spec's README, "What the file does not encode"). Keep it small;
// each entry says why it exists.

// int64Re matches Integer fields that hold ids, dates, sizes, amounts,
// prices or counts: values that may exceed 32 bits (ids have up to 52
// significant bits; Star amounts and file sizes grow). Every other Integer
// (limits, offsets, durations, dimensions, positions, retry_after) is int.
var int64Re = regexp.MustCompile(`(^|_)(id|ids|date|size|amount|amounts|count|price|balance)$|^unix_time$`)

// int64Keys are further Integer fields that are int64 although their names
// do not say so: getUpdates.offset is an update_id (plus one), so that
// p.Offset = u.UpdateID + 1 needs no conversion.
var int64Keys = set("getUpdates.offset")

// multiTypes maps a field's alternative types (joined with "|") onto one Go
// type.
var multiTypes = map[string]string{
	"Integer|String":   "ChatID",    // chat_id, from_chat_id: a numeric id or @username
	"InputFile|String": "InputFile", // a file_id, an HTTP URL, or an upload
	"InlineKeyboardMarkup|ReplyKeyboardMarkup|ReplyKeyboardRemove|ForceReply": "ReplyMarkup",
	// sendMediaGroup.media: an array of one kind of InputMedia.
	"Array of InputMediaAudio|Array of InputMediaDocument|Array of InputMediaLivePhoto|Array of InputMediaPhoto|Array of InputMediaVideo": "[]InputMedia",
	// InputRichMessageMedia.media: not an InputMedia (voice notes are not
	// one, live photos and stickers are not allowed), so a union of its own.
	"InputMediaAnimation|InputMediaAudio|InputMediaDocument|InputMediaPhoto|InputMediaVideo|InputMediaVoiceNote": "InputRichMedia",
}

// namedUnions are unions the spec has no type for: it lists the members as
// one field's alternative types (multiTypes maps the list onto the name).
// Their members are told apart by their discriminator, like the spec's
// unions; the value is the union's doc comment.
var namedUnions = map[string]struct {
	members []string
	doc     string
}{
	"InputRichMedia": {
		members: []string{"InputMediaAnimation", "InputMediaAudio", "InputMediaDocument", "InputMediaPhoto", "InputMediaVideo", "InputMediaVoiceNote"},
		doc:     "is a media file embedded in a rich message ([InputRichMessageMedia].Media): the spec lists these types for that field and names no union.",
	},
}

// attachFields are String fields that take a file_id, a URL or
// "attach://<name>" of a file uploaded beside them (the spec says so only in
// prose): they are InputFile, so an upload can be nested.
var attachFields = set(
	"InputMediaAnimation.media", "InputMediaAnimation.thumbnail",
	"InputMediaAudio.media", "InputMediaAudio.thumbnail",
	"InputMediaDocument.media", "InputMediaDocument.thumbnail",
	"InputMediaLivePhoto.media", "InputMediaLivePhoto.photo",
	"InputMediaPhoto.media", "InputMediaSticker.media",
	"InputMediaVideo.media", "InputMediaVideo.thumbnail", "InputMediaVideo.cover",
	"InputPaidMediaLivePhoto.media", "InputPaidMediaLivePhoto.photo",
	"InputPaidMediaPhoto.media", "InputMediaVoiceNote.media",
	"InputPaidMediaVideo.media", "InputPaidMediaVideo.thumbnail", "InputPaidMediaVideo.cover",
	"InputProfilePhotoStatic.photo", "InputProfilePhotoAnimated.animation",
	"InputStoryContentPhoto.photo", "InputStoryContentVideo.video",
	"InputSticker.sticker",
)

// literalTrue are required fields of type True (flattened to Boolean in the
// spec): the struct has no field for them and encoding always emits true.
var literalTrue = set(
	"ForceReply.force_reply",
	"ReplyKeyboardRemove.remove_keyboard",
)

// meaningfulZero are the optional fields whose zero value (false, 0, "")
// differs from leaving them out, each with the words of its description that
// say so. They are pointers, so "not set" (nil, left out) and "set to the
// zero value" (sent) can both be said. The list is not picked by hand: it is
// what ScanMeaningfulZero (zeroscan.go) finds in the descriptions, by these
// rules (TestMeaningfulZeroScan fails when the two differ):
//   - the description tells the caller to send the zero value for an effect:
//     "pass False", "pass an empty string", "May be empty", "pass 0";
//   - Telegram's default is not the zero value: a Boolean that "defaults to
//     True" or "to the value of" another field, an Integer that "defaults to"
//     a non-zero number where 0 is accepted (not "1-100");
//   - a String whose omission keeps the current value ("If not specified,
//     the original caption is kept") and whose range admits "" ("0-1024
//     characters"), so "" clears it.
//
// Required fields are always sent and need no entry:
// KeyboardButtonRequestChat.chat_is_channel ("pass False to request a group
// or a supergroup chat") is one. Bot API 10.3 dropped "If omitted, defaults
// to the value of can_pin_messages" from ChatAdministratorRights and
// ChatMemberAdministrator.can_manage_tags, so they are plain bools again.
var meaningfulZero = map[string]string{
	"ChatPermissions.can_edit_tag":                          "If omitted, defaults to the value of can_pin_messages",
	"ChatPermissions.can_manage_topics":                     "If omitted defaults to the value of can_pin_messages",
	"ChatPermissions.can_react_to_messages":                 "If omitted, defaults to the value of can_send_messages",
	"InlineKeyboardButton.switch_inline_query":              "May be empty, in which case just the bot's username will be inserted",
	"InlineKeyboardButton.switch_inline_query_current_chat": "May be empty, in which case only the bot's username will be inserted",
	"KeyboardButtonRequestChat.chat_has_username":           "pass False to request a chat without a username",
	"KeyboardButtonRequestChat.chat_is_forum":               "pass False to request a non-forum chat",
	"KeyboardButtonRequestUsers.user_is_bot":                "pass False to request regular users",
	"KeyboardButtonRequestUsers.user_is_premium":            "pass False to request non-premium users",
	"RichMessageButton.switch_inline_query":                 "May be empty, in which case just the bot's username will be inserted",
	"RichMessageButton.switch_inline_query_current_chat":    "May be empty, in which case only the bot's username will be inserted",
	"answerInlineQuery.cache_time":                          "Defaults to 300 (0 disables caching)",
	"answerInlineQuery.next_offset":                         "Pass an empty string if there are no more results or if you don't support pagination",
	"copyMessage.caption":                                   "If not specified, the original caption is kept (\"\" removes it)",
	"editForumTopic.icon_custom_emoji_id":                   "Pass an empty string to remove the icon",
	"promoteChatMember.can_restrict_members":                "defaults to True for promotions of channel administrators",
	"sendMessageDraft.text":                                 "Pass an empty text to show a \"Thinking...\" placeholder",
	"sendPoll.allows_revoting":                              "defaults to False for quizzes and to True for regular polls",
	"sendPoll.is_anonymous":                                 "defaults to True",
	"setCustomEmojiStickerSetThumbnail.custom_emoji_id":     "pass an empty string to drop the thumbnail and use the first sticker as the thumbnail",
	"setMyDescription.description":                          "Pass an empty string to remove the dedicated description for the given language",
	"setMyName.name":                                        "Pass an empty string to remove the dedicated name for the given language",
	"setMyShortDescription.short_description":               "Pass an empty string to remove the dedicated short description for the given language",
	"setUserEmojiStatus.emoji_status_custom_emoji_id":       "Pass an empty string to remove the status",
	"upgradeGift.star_count":                                "If gift.prepaid_upgrade_star_count > 0, then pass 0",
}

// zeroSameAsOmitted are fields the scan finds whose zero value nonetheless
// means the same as leaving them out; they stay plain values.
var zeroSameAsOmitted = map[string]string{
	// "Pass an empty string for payments in Telegram Stars": the parameter
	// is optional, and an empty token is the Stars case, which may as well
	// leave it out (package payments does); absent and empty are the same.
	"sendInvoice.provider_token":                "absent and empty both mean a Telegram Stars invoice",
	"createInvoiceLink.provider_token":          "absent and empty both mean a Telegram Stars invoice",
	"InputInvoiceMessageContent.provider_token": "absent and empty both mean a Telegram Stars invoice",
}

// emptyListMeaningful are optional arrays where an empty list differs from
// leaving the field out: allowed_updates=[] asks for every default update kind,
// while omitting it keeps the previous setting. They are tagged omitzero, so a
// nil slice is omitted and a non-nil empty slice is sent as [].
var emptyListMeaningful = set(
	"getUpdates.allowed_updates",
	"setWebhook.allowed_updates",
)

// messageOrTrue are methods returning Message or Boolean: they edit a message
// and return it, or answer True for inline messages (inline_message_id).
// The generated method returns (*Message, error) with a nil Message for True.
var messageOrTrue = set(
	"editMessageText", "editMessageCaption", "editMessageMedia",
	"editMessageLiveLocation", "stopMessageLiveLocation",
	"editMessageReplyMarkup", "setGameScore",
)

// pointerResults are methods returning an array that the generated method
// returns as []*T pointing into one backing array, decoded in place into a
// slice pre-sized from the named parameter (or the default when it is unset):
// getUpdates answers up to limit updates (1-100, default 100), and this keeps
// its decoding to one allocation for the array instead of growing and copying it.
var pointerResults = map[string]struct {
	param string
	def   int
}{
	"getUpdates": {"limit", 100},
}

// methodNotes are lines added to a generated method's doc comment (before
// its func line) for behaviour the client adds by hand and the spec cannot
// say: getUpdates decodes its batch update by update when one fails
// (botapi/client.go, updateBatch), so a bad update costs only itself.
// Generation fails when a key names no method.
var methodNotes = map[string][]string{
	"getUpdates": {
		"When some updates of the batch do not decode (a field that does not fit",
		"its Go type, or a kind this package does not know), it returns the",
		"updates that did and an errors.Join of one *[UpdateDecodeError] per bad",
		"update, in batch order; the next offset must move past those too (see",
		"[UpdateDecodeError]).",
	},
}

// Wire decoding. A struct with union-typed fields decodes through a generated
// wire type (the struct plus a box per union field). A struct field whose type
// needs a wire type is decoded inline through that wire type ("shadowed") only
// on the hot path of getUpdates: every field of Update, and every field
// holding a Message. Elsewhere it decodes through the nested type's own
// UnmarshalJSON, which costs one nested json.Unmarshal when the field is
// present instead of making every wire type larger.
var (
	shadowAllFieldsOf = set("Update")
	shadowEverywhere  = set("Message")
)

// inlineUnions are date-dispatched unions decoded inline, without a nested
// json.Unmarshal, through the wire type of the member whose fields include
// the other member's: a MaybeInaccessibleMessage is read as a Message and
// becomes an InaccessibleMessage (chat, message_id, date) when its date is 0.
var inlineUnions = map[string]string{"MaybeInaccessibleMessage": "Message"}

// dateDispatch are unions told apart by an integer field equal to 0, not by a
// discriminator: MaybeInaccessibleMessage is InaccessibleMessage when its
// date is 0.
var dateDispatch = map[string][2]string{
	"MaybeInaccessibleMessage": {"InaccessibleMessage", "Message"},
}

// presenceUnions are unions without a discriminator field whose members are
// told apart by which required fields are present.
var presenceUnions = map[string][]string{
	"ReplyMarkup": {"InlineKeyboardMarkup", "ReplyKeyboardMarkup", "ReplyKeyboardRemove", "ForceReply"},
}

// presenceKeys are the keys that tell members of presenceUnions (and members
// of the spec's discriminator-less unions) apart, when a member's required
// fields would not (ReplyKeyboardRemove and ForceReply have only literal-true
// fields).
var presenceKeys = map[string]string{
	"ReplyKeyboardRemove": "remove_keyboard",
	"ForceReply":          "force_reply",
}

func set(xs ...string) map[string]bool {
	m := make(map[string]bool, len(xs))
	for _, x := range xs {
		m[x] = true
	}
	return m
}

func isInt64Field(name string) bool {
	return int64Re.MatchString(name) || strings.HasSuffix(name, "_date")
}
