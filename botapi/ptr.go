package botapi

// Ptr returns a pointer to v. Optional parameters whose zero value means
// something to Telegram (false, 0 or "" that differs from leaving the field
// out) are pointers in this package: nil leaves the field out, Ptr(false),
// Ptr(0) or Ptr("") sends the zero value. For example,
// EditForumTopicParams.IconCustomEmojiID = Ptr("") removes a topic's icon,
// and KeyboardButtonRequestUsers.UserIsBot = Ptr(false) asks for users who
// are not bots. Which fields these are is found by scanning the spec's
// descriptions (internal/botapigen, meaningfulZero); each says so in its
// doc comment.
func Ptr[T any](v T) *T { return &v }
