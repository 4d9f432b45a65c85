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

// meaningfulZero are optional fields whose zero value differs from leaving
// them out (Telegram's default is not the zero value, or "" has a meaning):
// they are pointers, so "not set" and "set to zero" can both be said.
var meaningfulZero = set(
	"sendPoll.is_anonymous",                                 // defaults to True
	"sendPoll.allows_revoting",                              // defaults to True for regular polls
	"promoteChatMember.can_restrict_members",                // defaults to True for channel administrators
	"answerInlineQuery.cache_time",                          // defaults to 300; 0 disables caching
	"ChatPermissions.can_react_to_messages",                 // defaults to can_send_messages
	"ChatPermissions.can_edit_tag",                          // defaults to can_pin_messages
	"ChatPermissions.can_manage_topics",                     // defaults to can_pin_messages
	"ChatAdministratorRights.can_manage_tags",               // defaults to can_pin_messages
	"InlineKeyboardButton.switch_inline_query",              // "" inserts only the bot's username
	"InlineKeyboardButton.switch_inline_query_current_chat", // likewise
)

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
