package webhook_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"time"

	"github.com/miniappkit/miniappkit/botapi"
	"github.com/miniappkit/miniappkit/webhook"
)

// deliver plays Telegram: it posts an update with the secret header.
func deliver(h http.Handler, secret, update string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/telegram", strings.NewReader(update))
	req.Header.Set(webhook.HeaderSecretToken, secret)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func ExampleNewHandler() {
	secret := "s3cr3t_token" // in production: webhook.NewSecretToken(), passed to Register too
	h, err := webhook.NewHandler(secret, webhook.UpdateHandlerFunc(func(ctx context.Context, u *botapi.Update) error {
		if u.Message == nil {
			return nil
		}
		// Answer in the webhook response: no request of our own.
		return webhook.SetReply(ctx, "sendMessage", &botapi.SendMessageParams{
			ChatID: botapi.ChatID{ID: u.Message.Chat.ID},
			Text:   "You said: " + u.Message.Text,
		})
	}))
	if err != nil {
		panic(err) // an empty or malformed secret, or a bad option
	}

	update := `{"update_id":1001,"message":{"message_id":1,"date":1700000000,"chat":{"id":42,"type":"private"},"text":"hi"}}`
	first := deliver(h, secret, update)
	fmt.Println(first.Code, first.Body.String())

	again := deliver(h, secret, update) // Telegram redelivers: processed once, no replayed reply
	fmt.Printf("%d %q\n", again.Code, again.Body.String())

	forged := deliver(h, "guess", update)
	fmt.Println(forged.Code)
	// Output:
	// 200 {"method":"sendMessage","chat_id":42,"text":"You said: hi"}
	// 200 ""
	// 401
}

func ExampleNewHandler_errorMeansRedelivery() {
	attempts := 0
	h, err := webhook.NewHandler("tok", webhook.UpdateHandlerFunc(func(ctx context.Context, u *botapi.Update) error {
		attempts++
		if attempts == 1 {
			return errors.New("database unavailable")
		}
		return nil
	}))
	if err != nil {
		panic(err)
	}
	fmt.Println(deliver(h, "tok", `{"update_id":7}`).Code) // 5xx: Telegram delivers again
	fmt.Println(deliver(h, "tok", `{"update_id":7}`).Code)
	fmt.Println(deliver(h, "tok", `{"update_id":7}`).Code, attempts)
	// Output:
	// 500
	// 200
	// 200 2
}

func ExampleNewStandard() {
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	now := time.Unix(1614265330, 0)
	v, err := webhook.NewStandard(secret, webhook.WithClock(func() time.Time { return now }))
	if err != nil {
		panic(err)
	}
	body := []byte(`{"test": 2432232314}`)
	h := http.Header{}
	h.Set("webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek")
	h.Set("webhook-timestamp", "1614265330")
	h.Set("webhook-signature", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
	fmt.Println(v.Verify(h, body))
	fmt.Println(webhook.StandardWebhookID(h))

	fmt.Println(errors.Is(v.Verify(h, []byte(`{"test": 1}`)), webhook.ErrNoMatchingSignature))
	late := time.Unix(1614265330+301, 0)
	v2, _ := webhook.NewStandard(secret, webhook.WithClock(func() time.Time { return late }))
	fmt.Println(errors.Is(v2.Verify(h, body), webhook.ErrTimestampTooOld))

	_, err = webhook.NewStandard("whsec_")
	fmt.Println(errors.Is(err, webhook.ErrBadSecret))
	// Output:
	// <nil>
	// msg_p5jXN8AQM9LWM0D4loKWxJek
	// true
	// true
	// true
}

func ExampleSigner() {
	signer, err := webhook.NewSigner("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	if err != nil {
		panic(err)
	}
	fmt.Println(signer.Sign("msg_p5jXN8AQM9LWM0D4loKWxJek", time.Unix(1614265330, 0), []byte(`{"test": 2432232314}`)))
	// Output:
	// v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=
}

func ExampleNewStripe() {
	now := time.Unix(1700000000, 0)
	v, err := webhook.NewStripe("whsec_test_secret", webhook.WithClock(func() time.Time { return now }))
	if err != nil {
		panic(err)
	}
	body := []byte(`{"id":"evt_test_webhook","object":"event"}`)
	h := http.Header{}
	h.Set("Stripe-Signature", webhook.SignStripe("whsec_test_secret", now, body))
	fmt.Println(h.Get("Stripe-Signature"))
	fmt.Println(v.Verify(h, body))
	// Output:
	// t=1700000000,v1=d95c6b7477fbd7e9f90b1b0ef5f9c7ac25abca5382460e0d988c2b2a5b71b990
	// <nil>
}

func ExampleVerifyMiddleware() {
	gh, err := webhook.NewGitHub("It's a Secret to Everybody")
	if err != nil {
		panic(err)
	}
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body) // the verified bytes, restored
		fmt.Fprintf(w, "got %s", b)
	})
	h := webhook.VerifyMiddleware(gh)(app)

	send := func(sig string) {
		req := httptest.NewRequest(http.MethodPost, "/github", strings.NewReader("Hello, World!"))
		req.Header.Set("X-Hub-Signature-256", sig)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		fmt.Println(rec.Code, strings.TrimSpace(rec.Body.String()))
	}
	send("sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17")
	send("sha256=0000000000000000000000000000000000000000000000000000000000000000")
	send("sha256=not-hex") // malformed: refused before the body is read
	// Output:
	// 200 got Hello, World!
	// 401 {"type":"about:blank","title":"Unauthorized","status":401}
	// 401 {"type":"about:blank","title":"Unauthorized","status":401}
}

func ExampleIdempotency() {
	orders := 0
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		orders++
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"order":%d}`, orders)
	})
	mw, err := webhook.Idempotency(webhook.NewMemoryStore(1000), webhook.IdempotencyOptions{
		Required: true,
		Scope:    func(r *http.Request) string { return r.Header.Get("X-User-Id") }, // e.g. the initData user id
	})
	if err != nil {
		panic(err)
	}
	h := mw(app)

	send := func(key, body string) {
		req := httptest.NewRequest(http.MethodPost, "/orders", strings.NewReader(body))
		if key != "" {
			req.Header.Set("Idempotency-Key", key)
		}
		req.Header.Set("X-User-Id", "42")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		fmt.Println(rec.Code, rec.Header().Get("Content-Type"), rec.Header().Get("Idempotent-Replayed"), strings.TrimSpace(rec.Body.String()))
	}
	send(`"8e03978e-40d5-43e8-bc93-6894a57f9324"`, `{"item":"tea"}`)
	send(`"8e03978e-40d5-43e8-bc93-6894a57f9324"`, `{"item":"tea"}`)    // a retry: the stored answer
	send(`"8e03978e-40d5-43e8-bc93-6894a57f9324"`, `{"item":"coffee"}`) // the key reused: 422
	send("", `{"item":"tea"}`)
	// Output:
	// 201 application/json  {"order":1}
	// 201 application/json true {"order":1}
	// 422 application/problem+json  {"type":"about:blank","title":"Idempotency-Key reused","status":422,"detail":"This key was used for a different request."}
	// 400 application/problem+json  {"type":"about:blank","title":"Idempotency-Key is missing","status":400,"detail":"This operation requires an Idempotency-Key header."}
}

func ExampleCheckSecretToken() {
	fmt.Println(webhook.CheckSecretToken("AZaz09_-"))
	fmt.Println(webhook.CheckSecretToken("abc="))
	fmt.Println(webhook.CheckSecretToken(webhook.NewSecretToken()))
	// Output:
	// <nil>
	// webhook: invalid secret token
	// <nil>
}

func ExampleMemoryStore() {
	ctx := context.Background()
	s := webhook.NewMemoryStore(100_000)
	r, _ := s.Claim(ctx, "delivery-1", "worker-a", time.Minute, nil)
	fmt.Println(r.State)
	r, _ = s.Claim(ctx, "delivery-1", "worker-b", time.Minute, nil)
	fmt.Println(r.State)
	fmt.Println(s.Release(ctx, "delivery-1", "worker-b")) // not the owner
	fmt.Println(s.Complete(ctx, "delivery-1", "worker-a", 24*time.Hour, nil))
	r, _ = s.Claim(ctx, "delivery-1", "worker-b", time.Minute, nil)
	fmt.Println(r.State)
	// Output:
	// claimed
	// in flight
	// webhook: claim not owned
	// <nil>
	// done
}

func ExampleRegister() {
	// A stand-in for api.telegram.org that prints what it receives.
	tg := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		fmt.Println(r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:], strings.Replace(string(b), "s3cr3t_token", "<secret>", 1))
		io.WriteString(w, `{"ok":true,"result":true}`)
	}))
	defer tg.Close()
	client := botapi.New("123:ABC", botapi.WithBaseURL(tg.URL))

	err := webhook.Register(context.Background(), client, "https://bot.example.com/telegram", "s3cr3t_token",
		&webhook.RegisterOptions{AllowedUpdates: []string{"message"}, MaxConnections: 40})
	fmt.Println(err)
	err = webhook.Register(context.Background(), client, "https://bot.example.com/telegram", "not a token", nil)
	fmt.Println(errors.Is(err, webhook.ErrInvalidSecretToken))
	// Output:
	// setWebhook {"url":"https://bot.example.com/telegram","max_connections":40,"allowed_updates":["message"],"secret_token":"<secret>"}
	// <nil>
	// true
}

func ExampleWorker() {
	q := webhook.NewMemoryQueue(100) // in production a durable Queue (store/postgres, store/redis, store/sqlite)
	store := webhook.NewMemoryStore(1000)
	// The handler acknowledges once the raw update is queued...
	h, err := webhook.NewHandler("tok", nil, webhook.WithAsync(q), webhook.WithVolatileQueue())
	if err != nil {
		panic(err)
	}
	for _, id := range []string{"1", "2", "2", "3"} {
		deliver(h, "tok", `{"update_id":`+id+`}`)
	}
	// ...and a worker processes it, once per update_id; update 3 always fails.
	processed := 0
	w, err := webhook.NewWorker(q, webhook.UpdateHandlerFunc(func(ctx context.Context, u *botapi.Update) error {
		if u.UpdateID == 3 {
			return errors.New("bug")
		}
		processed++
		return nil
	}), webhook.WithStore(store), webhook.WithSecretNamespace("tok"),
		webhook.WithMaxAttempts(2), webhook.WithBackoff(func(int) time.Duration { return time.Millisecond }))
	if err != nil {
		panic(err)
	}
	done := make(chan error)
	go func() { done <- w.Run(context.Background(), 1) }()
	q.Close() // graceful shutdown: stop intake, let the worker drain the queue
	fmt.Println(<-done, processed, q.Len())
	// Update 3 is kept in the queue's dead state, to be re-driven once fixed.
	dead, _ := q.DeadLetters(context.Background(), 10)
	fmt.Println(len(dead), dead[0].ID, dead[0].Attempts, dead[0].Reason)
	// Output:
	// <nil> 2 0
	// 1 3 2 bug
}

// A handler whose side effect lives in the same database as the Store can
// make it conditional on still holding its claim: the claim's owner is a
// fencing token.
func ExampleClaimFromContext() {
	h, err := webhook.NewHandler("tok", webhook.UpdateHandlerFunc(func(ctx context.Context, u *botapi.Update) error {
		c, ok := webhook.ClaimFromContext(ctx)
		// e.g. UPDATE orders SET … WHERE id = $1 AND EXISTS (SELECT 1 FROM
		//      claims WHERE key = $2 AND owner = $3 AND state = 'in_flight')
		fmt.Println(ok, strings.HasSuffix(c.Key, ":update:5"), c.Owner != "")
		return nil
	}), webhook.WithNamespace("shopbot"))
	if err != nil {
		panic(err)
	}
	deliver(h, "tok", `{"update_id":5}`)
	// Output:
	// true true true
}

// Standard Webhooks deliveries carry a webhook-id that stays the same across
// retries: verify the signature, then claim the id in a Store so each event
// is processed once. Each request claims under an owner of its own; a retry
// that arrives while the first is still running gets 409 (with Retry-After)
// so the sender tries again later, and never a 200 for an event that may
// yet fail.
func Example_standardWebhooksOnce() {
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	now := time.Unix(1700000000, 0)
	v, _ := webhook.NewStandard(secret, webhook.WithClock(func() time.Time { return now }))
	store := webhook.NewMemoryStore(10_000)
	var requests atomic.Int64
	processed := 0
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := "payments:" + webhook.StandardWebhookID(r.Header)
		owner := fmt.Sprintf("req-%d", requests.Add(1)) // unique per request (and per process in production)
		res, err := store.Claim(r.Context(), key, owner, time.Minute, nil)
		switch {
		case err != nil:
			w.Header().Set("Retry-After", "1")
			http.Error(w, "try again", http.StatusServiceUnavailable)
			return
		case res.State == webhook.Done:
			w.WriteHeader(http.StatusOK) // a retry of a processed event
			return
		case res.State == webhook.InFlight:
			w.Header().Set("Retry-After", "1")
			http.Error(w, "in progress", http.StatusConflict) // not 200: the first may still fail
			return
		}
		if err := process(r); err != nil {
			_ = store.Release(context.WithoutCancel(r.Context()), key, owner) // let a retry run it
			http.Error(w, "failed", http.StatusInternalServerError)
			return
		}
		processed++
		_ = store.Complete(context.WithoutCancel(r.Context()), key, owner, 24*time.Hour, nil)
	})
	h := webhook.VerifyMiddleware(v)(app)

	signer, _ := webhook.NewSigner(secret)
	body := []byte(`{"type":"invoice.paid"}`)
	send := func() int {
		req := httptest.NewRequest(http.MethodPost, "/payments", strings.NewReader(string(body)))
		signer.SetHeaders(req.Header, "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", now, body)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	// A retry while the first delivery still runs (another owner holds it):
	_, _ = store.Claim(context.Background(), "payments:msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", "req-0", time.Minute, nil)
	fmt.Print(send(), " ")
	_ = store.Release(context.Background(), "payments:msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", "req-0") // it failed
	for range 2 {                                                                                // the sender retries the same event
		fmt.Print(send(), " ")
	}
	fmt.Println("processed:", processed)
	// Output:
	// 409 200 200 processed: 1
}

// process stands for the application's work on a verified event.
func process(*http.Request) error { return nil }
