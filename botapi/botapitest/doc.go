// Package botapitest is a fake Telegram Bot API server for tests and local
// runs: an in-process server that answers the way Telegram answers, keeps
// the state a Mini App backend touches, enforces Telegram's flood limits on
// request, injects faults, delivers updates, and records every call. It is
// to the Bot API what net/http/httptest is to HTTP.
//
// A test of your own bot, in ten lines:
//
//	func TestStart(t *testing.T) {
//		srv := botapitest.NewServer()
//		t.Cleanup(srv.Close)
//		ann := srv.NewUser("Ann")
//		srv.SendUserMessage(ann, "/start")
//
//		mybot.HandlePending(t.Context(), srv.Client()) // your code: getUpdates, then reply
//
//		sent := srv.Sent()
//		require.Equal(t, "Welcome, Ann!", sent[0].Text)
//	}
//
// # Server
//
// [NewServer] starts a server on a loopback port; [Server.URL] and
// [Server.Token] are what a client needs, [Server.Client] is a
// *botapi.Client already pointed at it, and [Server.Close] stops it and
// every goroutine it started. With [WithoutListener] there is no socket:
// the server is reached through [Server.Transport], so client and fake can
// run inside a testing/synctest bubble.
//
// # One clock
//
// The server reads one clock for every timestamp and every wait: long
// polls, latency, webhook delivery, backoff and timeout, the payment
// deadline and the limits. By default that is the time package (real
// time, or the bubble's fake time inside testing/synctest, where the
// bubble's clock then drives everything). [WithVirtualClock] puts the
// server on a [VirtualClock] that moves only when the test calls
// [VirtualClock.Advance]: no path of the server sleeps real time.
// [WithClock] sets the clock of timestamps and deadline checks only, and
// leaves the waits on the time package.
//
// # Latency
//
// [WithLatency] gives every answer, and every webhook delivery, a delay
// drawn from a [Latency]: a fixed delay, a uniform jitter around it, and a
// fraction of slow outliers ("40 ms ± 20 ms, 1 % at 500 ms"), for every
// method or per method, from the seeded source, on the server's clock. The
// request reaches the server after half the delay (it is then recorded,
// checked against the limits and performed) and the answer comes back
// after the other half, so concurrent calls overlap and may be performed
// in another order than they were made, as on a real network.
//
// # Protocol
//
// Methods are served at /bot<token>/<method> (and at
// /bot<token>/test/<method>, the test environment's path), by GET or POST,
// with parameters in the query string, a JSON body, an
// application/x-www-form-urlencoded body or a multipart/form-data body
// (uploads are kept up to 20 MB for getFile). A body over 50 MB, of any
// type, is answered 413 "Request Entity Too Large" (at once when its
// Content-Length says so). A JSON body that does not parse counts as the
// parameters read before the error, as Telegram's HttpReader reads it. Method names are case-insensitive. Answers are
// Telegram's envelope, {"ok":true,"result":...} or
// {"ok":false,"error_code":...,"description":...,"parameters":{...}}, with
// the HTTP status equal to error_code and a Retry-After header on 429. A
// wrong token answers 401 "Unauthorized" (404 "Not Found" when it is not
// shaped like a token); see "Implemented methods" for methods the fake
// does not serve. [DefaultToken] has the shape of a real token.
//
// Descriptions are Telegram's: "Bad Request: chat not found", "Bad Request:
// chat_id is empty", "Bad Request: message text is empty", "Bad Request:
// message is too long", "Forbidden: bot was blocked by the user", "Too Many
// Requests: retry after N", "Conflict: can't use getUpdates method while
// webhook is active; use deleteWebhook to delete the webhook first", "Bad
// Request: message to edit not found", "Bad Request: message is not
// modified: ...", "Bad Request: MESSAGE_ID_INVALID", "Bad Request:
// STARS_INVOICE_INVALID", "Bad Request: CHARGE_ALREADY_REFUNDED", "Bad
// Request: secret token contains unallowed characters", ... A few rarer
// answers (invoice title and description length, an unknown charge, a
// wrong subscription period, a charge that names no subscription or an
// expired one) are the fake's rendering in Telegram's style, not strings
// seen from Telegram. The Telegram server's source
// (tdlib/telegram-bot-api, Client.cpp) is cited beside each error it
// words.
//
// # Implemented methods
//
// The fake serves these methods (docs/botapitest.md gives the count):
//
//   - Updates and the bot: getUpdates, setWebhook, deleteWebhook,
//     getWebhookInfo, getMe, logOut, close, setMyCommands, getMyCommands,
//     deleteMyCommands, setMyName, getMyName, setMyDescription,
//     getMyDescription, setMyShortDescription, getMyShortDescription,
//     setMyDefaultAdministratorRights, getMyDefaultAdministratorRights,
//     setChatMenuButton, getChatMenuButton.
//   - Sending: sendMessage, sendPhoto, sendDocument, sendVideo,
//     sendAnimation, sendAudio, sendVoice, sendVideoNote, sendSticker,
//     sendMediaGroup, sendPaidMedia, sendLocation, sendVenue, sendContact,
//     sendPoll, sendDice, sendChatAction, forwardMessage, forwardMessages,
//     copyMessage, copyMessages, getFile.
//   - Editing: editMessageText, editMessageCaption, editMessageMedia,
//     editMessageReplyMarkup, editMessageLiveLocation,
//     stopMessageLiveLocation, stopPoll, deleteMessage, deleteMessages,
//     setMessageReaction, pinChatMessage, unpinChatMessage,
//     unpinAllChatMessages.
//   - Chats and members: getChat, getChatMember, getChatAdministrators,
//     getChatMemberCount, banChatMember, unbanChatMember,
//     restrictChatMember, promoteChatMember,
//     setChatAdministratorCustomTitle, setChatPermissions, setChatTitle,
//     setChatDescription, setChatPhoto, deleteChatPhoto, leaveChat,
//     exportChatInviteLink, createChatInviteLink, editChatInviteLink,
//     revokeChatInviteLink, createChatSubscriptionInviteLink,
//     editChatSubscriptionInviteLink, approveChatJoinRequest,
//     declineChatJoinRequest, getUserProfilePhotos, setUserEmojiStatus,
//     getUserChatBoosts.
//   - Queries and Mini Apps: answerCallbackQuery, answerInlineQuery,
//     answerWebAppQuery, savePreparedInlineMessage.
//   - Payments, Stars and gifts: sendInvoice, createInvoiceLink,
//     answerShippingQuery, answerPreCheckoutQuery, refundStarPayment,
//     getStarTransactions, getMyStarBalance, editUserStarSubscription,
//     getAvailableGifts, sendGift.
//
// Message ids count up per chat; only inline keyboards stay on a message.
// parse_mode HTML, MarkdownV2 and Markdown are parsed as Telegram parses
// them, into the text and its entities, with Telegram's "can't parse
// entities: ..." errors. As Telegram does, the server adds the entities it
// finds in the plain text (bot_command, mention, hashtag, cashtag, url, email, with
// TDLib's rules and UTF-16 offsets) to those of parse_mode or *_entities,
// in what the bot sends and in what simulated users write;
// reply_parameters adds reply_to_message. getFile
// serves downloads at /file/bot<token>/<file_path> of what was uploaded
// or sent by a user (up to 20 MB a file; the last 10 000 files and 64 MiB
// are kept); a file_id the server did not issue fails with "Bad Request:
// wrong file identifier/HTTP URL specified". answerWebAppQuery posts the
// result in the user's chat, via the bot. createInvoiceLink returns
// https://t.me/$... links.
//
// Everything else (sticker sets, games, business accounts, forum topics,
// stories, checklists, inline_message_id edits, ...) answers 400 "Bad
// Request: method not supported by the fake", a description no Telegram
// answer has, so a test fails loudly instead of passing against behaviour
// the fake does not have; a name the Bot API does not know answers 404
// "Not Found", as Telegram answers a typo.
//
// # Users
//
// [Server.NewUser] and [Server.NewGroup] create users (who have started the
// bot) and supergroups; [Server.NewUnstartedUser] creates a user who has
// not (the bot's sends get 403 "Forbidden: bot can't initiate conversation
// with a user" until they write). As a user: [Server.SendUserMessage] and
// [Server.SendGroupMessage] write to the bot, [Server.EditUserMessage]
// edits (edited_message), [Server.SendUserPhoto] and
// [Server.SendUserDocument] send files getFile serves,
// [Server.SendWebAppData] sends a Mini App's sendData (web_app_data),
// [Server.PressButton] presses an inline button (callback_query; see
// [Server.CallbackAnswer] for the bot's answer), [Server.SendInlineQuery]
// and [Server.ChooseInlineResult] use inline mode (see
// [Server.InlineAnswer]), [Server.SendJoinRequest], [Server.JoinGroup] and
// [Server.LeaveGroup] make chat_join_request and chat_member updates,
// [Server.OpenMiniApp] returns the initData a Mini App page would send
// (hash and Ed25519 signature, see [Server.PublicKey]), [Server.Pay] pays
// an invoice, [Server.SetSubscriptionCanceled] turns a subscription's
// renewal off or on, and [Server.BlockBot] and [Server.UnblockBot] block
// and unblock the bot (my_chat_member; later sends get 403).
//
// # Payments
//
// [Server.Pay] runs Telegram's flow: a pre_checkout_query update, then an
// ok answerPreCheckoutQuery within [PreCheckoutDeadline] (10 s on the
// server's clock) completes it with a successful_payment message (charge
// id, payload, XTR, total, and subscription_expiration_date, is_recurring
// and is_first_recurring for a subscription link); a negative answer fails
// it with a [*DeclinedError], a late one or none with
// [ErrPreCheckoutTimeout]. Stars payments add to getMyStarBalance and
// getStarTransactions; refundStarPayment takes them back, adds the refund
// transaction (same id) and sends a refunded_payment message. Pay names
// the invoice by its link ([Server.InvoiceByLink]) or its sendInvoice
// message ([Server.Invoices]). For a flexible invoice (is_flexible, not in
// Stars) a shipping_query with a test address comes first: the user takes
// the first option of an ok answerShippingQuery, whose prices are added to
// the pre_checkout_query's and the payment's total (shipping_option_id set
// in both); a negative answer fails Pay with a [*DeclinedError], none
// within [ShippingDeadline] with [ErrShippingTimeout]. Pay takes a context,
// as every wait does: one that ends while Pay waits returns its error
// (wrapped) at once and withdraws the query, as a user who closes the
// payment form leaves it, so the bot's late answer is "query is too old".
//
// Paying a subscription link starts a [Subscription], named by the first
// payment's charge id; [Server.Subscription] shows its state.
// [Server.RenewSubscription] makes a period come due: the user pays again
// (a successful_payment with a new charge id, is_recurring and the next
// subscription_expiration_date, no pre_checkout_query), or, if renewal is
// off, the subscription expires with no payment. editUserStarSubscription
// with is_canceled=true turns renewal off and keeps the user from turning
// it back on; is_canceled=false lifts that, and the user re-enables
// renewal with [Server.SetSubscriptionCanceled], as Telegram documents it.
//
// # Updates and webhooks
//
// Updates queue until the bot takes them with getUpdates or a webhook set
// with setWebhook receives them, for at most [MaxUpdateAge] (24 hours) on
// the server's clock; as in Telegram's server an inline_query is kept 30 s,
// a callback, shipping or pre-checkout query 150 s, a chosen_inline_result
// 10 minutes. An older update is dropped from getUpdates, the webhook's
// queue (a failed one is not retried) and pending_update_count. Telegram stretches a getUpdates that
// repeats the previous offset within 3 s to a 3 s long poll; the fake does
// so only with [WithPollThrottle], so that tests that poll in a loop stay
// fast. As in Telegram's server (WebhookActor.cpp
// in tdlib/telegram-bot-api), the webhook keeps one queue per chat (per
// user for callback and pre-checkout queries, as Client.cpp numbers them):
// a chat's updates are delivered one at a time, in order, and a failed one
// is retried before the chat's next; chats proceed in parallel, at most
// max_connections (default 40) deliveries at once. Deliveries POST the
// update as JSON with the X-Telegram-Bot-Api-Secret-Token header when a
// secret_token was set. A non-2xx answer or a connection error is recorded
// as last_error_date and last_error_message ("Wrong response from the
// webhook: 500 Internal Server Error", "Connection refused", ...) and the
// update is retried at once, then after 2 s, 4 s, 8 s ... up to a ceiling
// between 60 and 120 s, or after the answer's Retry-After. A method in the
// webhook's 2xx answer body (JSON or form) is performed, as Telegram does,
// except setWebhook, deleteWebhook, close, logOut and get* methods, which
// Telegram ignores there. Draining a backlog costs O(1) per update. Unlike
// Telegram, plain http:// URLs (loopback test servers) are accepted;
// [WithWebhookTransport] with [HandlerTransport] delivers to an
// http.Handler in memory.
//
// # Limits
//
// [WithRateLimits] enforces Telegram's published flood limits on messages
// the bot sends (send*, copyMessage, forwardMessage): 1 message per second
// per chat, 20 per minute per group (chats with a negative id, which count
// against the per-chat limit too), 30 per second for the whole bot, or
// 1000 per second for sends with allow_paid_broadcast. Like Telegram, and
// unlike a strict sliding window, the model allows short bursts: each
// limit is a token bucket (GCRA) that takes 3 messages back to back to a
// chat, 20 to a group, 30 (1000 paid) bot-wide, and then refills at the
// limit's rate, so a sender that keeps the rates but whose sends arrive a
// little early or late (jitter) meets no 429. Telegram publishes no burst
// sizes: these are the fake's. A refused send is not performed and answers
// 429 "Too Many Requests: retry after N" with parameters.retry_after N and
// a Retry-After header, N being the whole seconds (rounded up, at least 1)
// until the send would fit, as Telegram words it (tdlib/telegram-bot-api,
// Query::set_retry_after_error). A scale factor speeds every limit up for
// fast tests.
// [Server.Stats] counts the 429s, in total and per chat; [Server.Sent]
// lists every message sent with its time.
//
// # Faults and recording
//
// [Server.FailNext] and [Server.AddFault] make calls fail: with any
// Telegram error ([FaultBlocked], [FaultChatNotFound], [FaultMigrated],
// [FaultTooManyRequests], [FaultInternal]), a proxy's 502 HTML page, a
// hang until the client gives up, a dropped connection, or a dropped
// connection after the call was performed (a resend then duplicates). Rules
// select by method and chat, for the next N calls or with a probability
// drawn from a seeded source ([WithSeed]). A [FaultDelay] rule delays only
// the calls it selects, on top of [WithLatency].
// [Server.Requests] returns the calls with their decoded parameters and
// uploaded files; [Server.Messages] shows a chat as it stands, after edits
// and deletions, in the Bot API's own Message type. [Server.WaitFor] and
// [Server.WaitSent] wait for a call or for n sent messages, so tests need
// not poll.
//
// # Memory
//
// A server keeps bounded history, so one that runs for long stays flat
// ([WithMemory], [Memory]): by default the last 1000 messages of each chat
// and 10 000 in all, the last [MaxRecordedRequests] calls, the last 100 000
// sent records, the last 10 000 files (64 MiB); [Stats] counts everything.
// With these defaults a fake that a bot sends a million text messages to
// holds about 40 MB, the same after 100 000 sends as after 1 000 000.
//
// A Server is safe for concurrent use.
package botapitest
