// Package botapi is a typed client of the Telegram Bot API, generated from
// the API's specification: one method per API method, one struct per type,
// one interface per union.
//
//	c := botapi.New(os.Getenv("TELEGRAM_BOT_TOKEN"))
//	m, err := c.SendMessage(ctx, &botapi.SendMessageParams{
//		ChatID: botapi.ChatID{ID: chatID},
//		Text:   "Hello",
//	})
//
// Methods without parameters take none ([Client.GetMe]); [Client.Call] calls
// any method by name, for methods newer than this package. A [Client] is
// safe for concurrent use; make one per bot and share it.
//
// A call goes: parameters → one JSON encode into a pooled buffer → the
// [Breaker]'s permission (when set) → [Limiter] wait (calls that post to a
// chat) → HTTP POST → one decode of the answer straight into the result →
// the typed result or a typed error.
// [DecodeAnswer] is that last step alone, for answers fetched elsewhere.
//
// # Authentication
//
// [New] takes the bot token from @BotFather. The token is part of every
// request URL (/bot<token>/<method>), and Go's *url.Error quotes that URL, so
// the client rewrites every error it returns: the token never appears in an
// error's text or chain, in a log line, or in a formatted [Client]. Only
// [Client.FileURL] returns it, because a download URL is made of it.
// [WithBaseURL] points the client at a local Bot API server or a fake such
// as botapitest; [WithTestEnvironment] at Telegram's test environment.
//
// # Errors
//
// An error answer is an *[Error] with Telegram's code, description,
// RetryAfter and MigrateToChatID. errors.Is matches it against a sentinel per
// code, so callers do not parse descriptions:
//
//	switch {
//	case errors.Is(err, botapi.ErrForbidden): // 403: blocked by the user
//	case errors.Is(err, botapi.ErrTooManyRequests): // 429: see Error.RetryAfter
//	case errors.Is(err, botapi.ErrServer): // 5xx
//	}
//
// The other sentinels are [ErrBadRequest] (400), [ErrUnauthorized] (401),
// [ErrNotFound] (404) and [ErrConflict] (409). An answer that is not Bot API
// JSON (a proxy's 502 page) is an *Error that also matches
// [ErrInvalidResponse]; a failure to get any answer matches [ErrNetwork] and
// wraps the redacted *url.Error and its cause (context.DeadlineExceeded,
// *net.OpError...). A canceled context returns an error matching ctx.Err().
// Bodies are read bounded: [MaxResponseSize], [MaxErrorBodySize].
//
// # Transport
//
// The client speaks HTTP through net/http. By default it sends through an
// [http.Transport] cloned from [http.DefaultTransport] and tuned for one
// host ([DefaultMaxIdleConnsPerHost] idle connections, HTTP/2 allowed,
// [DefaultTLSHandshakeTimeout], [DefaultResponseHeaderTimeout]), shared by
// every client made without [WithHTTPClient], which takes any other
// http.Client. Deadlines and cancellation come from the context of each
// call: every error of a call whose context ended matches ctx.Err() with
// errors.Is. [Client.Updates] gives each long poll its own deadline, the
// poll's timeout plus [PollMargin].
//
// # Retries
//
// Retries are on by default and set with [WithRetry] and a [RetryPolicy]:
// a 429 waits retry_after (up to MaxRetryAfter, the context cancelling the
// wait), then tries again; a 5xx answer or a connection error backs off
// exponentially with jitter ([DefaultBackoff]) for at most MaxAttempts
// attempts; 400, 401, 403, 404 and 409 are never retried. After a 5xx or a
// connection that broke after the request was sent, the first attempt may
// have been performed, so what a repeat does decides, per method family
// ([RetrySafe]):
//
//   - send*, copy*, forward*, create* and others that create or move
//     something are not repeated (a second sendMessage sends a second
//     message), unless RetryPolicy.RetryUnsafe is set;
//   - edit*, answer*, stopPoll, setGameScore, the approve/decline
//     methods, close, logOut and leaveChat are not repeated either: a
//     repeat of one that landed fails ("message is not modified", "query
//     is too old", 429, 401, 403), which would turn a success into a
//     failure, and their results cannot be made up; nor is
//     unpinChatMessage without message_id (a repeat unpins another one);
//   - delete* is repeated, and a repeat answered "message to delete not
//     found" is the success of the attempt that landed;
//   - get*, set*, pin* and the rest are repeated, and a repeat of a method
//     answering True that is answered "...not modified" (CHAT_NOT_MODIFIED)
//     is the success of the attempt that landed.
//
// Every method is retried after a 429 or a failure to connect, which prove
// Telegram did nothing. A call that uploads from an io.Reader is retried
// only if the reader is an io.Seeker, which is rewound.
//
// # Circuit breaking
//
// [WithBreaker] puts a [Breaker] (sony/gobreaker/v2's TwoStepCircuitBreaker
// fits as it is) before every attempt, ahead of the [Limiter] wait:
// network errors, 5xx answers and timeouts count as failures, 4xx and 429
// do not; while it is open, calls fail at once (without waiting for a
// slot) with an error matching [ErrCircuitOpen] and [ErrNetwork], and
// [Client.Updates] waits for it. There is none by default: see
// [WithBreaker] for the failure that decided it.
//
// # Rate limiting
//
// Telegram limits how fast a bot may post (about one message per second per
// chat, 20 per minute per group, 30 per second in all). [WithLimiter] plugs
// in a [Limiter], such as the ratelimit package's: the client waits on it
// before each call that posts to a chat ([PostsToChat]: send*, copy*,
// forward*, edits) and reports every 429 to it. The chat comes from the
// parameters' chat_id; an @username maps to a stable negative key
// ([ChatID.Key]). The lane (interactive or bulk) travels in the context.
//
// # Uploads
//
// An [InputFile] is a file_id ([FileID]), a URL ([FileFromURL]) or an upload
// ([Upload]). A call with an upload is sent as multipart/form-data, streamed
// from the io.Reader through a pipe, never buffered whole; uploads nested in
// other values (the media of sendMediaGroup, thumbnails) travel as
// "attach://<part>" references, which the client names. Calls without an
// upload are plain JSON; finding out costs a few cached lookups.
// [Client.DownloadFile] streams a file to an io.Writer.
//
// # Updates
//
// [Client.Updates] long-polls getUpdates as an iterator that tracks the
// offset, backs off on errors, stops with its context and neither loses nor
// repeats an update it yielded, even across restarts. One update that does
// not decode costs only itself, there and in the raw [Client.GetUpdates]:
// it comes as an *[UpdateDecodeError] holding its update_id and JSON, the
// rest of its batch is delivered. Bots that receive webhooks use the
// webhook package instead.
//
// # Helpers
//
// [Update.EffectiveChat], [Update.EffectiveUser] and
// [Update.EffectiveMessage] find the chat, user and message of any kind of
// update. [InlineKeyboard], [ReplyKeyboard] and their buttons
// ([CallbackButton], [WebAppButton]...) build markup; [StartAppLink] and
// [AppLink] build t.me links that open a Mini App, checking Telegram's
// limits on the start parameter; [EscapeHTML] and [EscapeMarkdownV2]
// (with [EscapeMarkdownV2Code] and [EscapeMarkdownV2URL]) escape text for
// the parse modes exactly as Telegram requires. The router package beside
// this one dispatches updates to handlers by command, callback data and
// kind.
//
// # Mini Apps
//
// [Client.SetWebAppMenuButton], [Client.AnswerWebAppQueryText] and
// [Client.PrepareTextMessage] wrap the calls a Mini App backend makes most.
//
// Telegram docs: https://core.telegram.org/bots/api
package botapi
