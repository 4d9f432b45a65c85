// Package router dispatches Telegram updates to handlers, as
// [net/http.ServeMux] dispatches requests: a [Router] holds routes, each a
// [Matcher] and a [Handler], and is itself a Handler.
//
//	r := router.New(router.WithBotUsername("shop_bot"))
//	r.HandleFunc(router.Command("start"), start) // "/start", "/start ref42", "/start@shop_bot"
//	r.HandleFunc(router.CallbackPrefix("pay:"), pay)
//	r.HandleFunc(router.PreCheckoutQuery(), approve)
//	r.HandleFunc(router.SuccessfulPayment(), fulfil)
//	r.Use(logUpdates)
//	r.Fallback(router.HandlerFunc(ignore))
//
// # Why a package of its own
//
// The router is beside botapi rather than in it because it is a consumer of
// updates, like the webhook package, not part of the client: a bot that
// only sends (a broadcaster, a payments backend driven by webhooks) never
// needs it, and botapi's API stays the Bot API's. It imports botapi only,
// and satisfies webhook.UpdateHandler by shape (a HandleUpdate method),
// without importing webhook: give a *Router to webhook.NewHandler, or call
// HandleUpdate for each update of [botapi.Client.Updates].
//
// # Matching
//
// Routes are tried in the order they were added; the first whose Matcher
// reports true handles the update, and no other. (ServeMux picks the most
// specific pattern instead; matchers are functions, which have no
// specificity, so order decides, as in a switch.) An update no route
// matches goes to the fallback, which by default does nothing and returns
// nil: the update counts as handled.
//
// Commands follow Telegram's rules: a message whose text starts with "/"
// and the command's name, which ends at a space or at "@"; "/start@bot" is
// for the bot named bot only ([WithBotUsername]); the text after the first
// run of spaces is the payload ([ParseCommand]), e.g. a deep link's start
// parameter.
//
// # Middleware
//
// [Router.Use] adds a [Middleware], func(Handler) Handler, around every
// route and the fallback, the first added outermost, as chi's do.
//
// Telegram docs: https://core.telegram.org/bots/features#commands
package router
