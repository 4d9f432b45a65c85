package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/miniappkit/miniappkit/botapi"
	"github.com/miniappkit/miniappkit/botapi/botapitest"
)

// TestDegradedWhileTelegramIsDown: Telegram answers sendMessage with a
// proxy's 502 page. The confirmation of a paid order fails, the breaker
// opens, /healthz answers degraded naming Telegram, and the shop keeps
// serving its catalogue and the user's orders. When Telegram is back, the
// queued confirmation goes out, once.
func TestDegradedWhileTelegramIsDown(t *testing.T) {
	b := newBreaker()
	e := setupWith(t, []botapi.Option{botapi.WithBreaker(b)}, func(s *shop) { s.telegramDown = b.open })
	ada := e.fake.OpenMiniApp(e.user)
	healthz := func() health {
		var h health
		require.Equal(t, 200, e.call(t, "GET", "/healthz", "", "", &h))
		return h
	}
	require.Equal(t, health{Status: "ok"}, healthz())

	outage := e.fake.AddFault(botapitest.FaultRule{Method: "sendMessage", Fault: botapitest.Fault{Kind: botapitest.FaultBadGateway}})
	var created createOrderResponse
	require.Equal(t, 201, e.call(t, "POST", "/api/orders", ada, `{"product_id":"stickers"}`, &created, "Idempotency-Key", newKey()))
	inv, ok := e.fake.InvoiceByLink(created.InvoiceLink)
	require.True(t, ok)
	paid := make(chan error, 1)
	go func() { _, err := e.fake.Pay(t.Context(), e.user, inv); paid <- err }()
	e.handleUpdatesUntil(t, func(u *botapi.Update) bool { return u.Message != nil && u.Message.SuccessfulPayment != nil })
	require.NoError(t, <-paid)

	require.Eventually(t, func() bool { return healthz() == health{Status: "degraded", Telegram: "unreachable"} },
		30*time.Second, 50*time.Millisecond, "the breaker opens after the failed sends")
	reached := len(e.fake.Requests("sendMessage"))

	// Degraded, not down: the catalogue and the user's orders are served.
	var products []product
	require.Equal(t, 200, e.call(t, "GET", "/api/products", ada, "", &products))
	require.Equal(t, catalog, products)
	var orders []order
	require.Equal(t, 200, e.call(t, "GET", "/api/orders", ada, "", &orders))
	require.Len(t, orders, 1)
	require.Equal(t, statusPaid, orders[0].Status)
	require.Empty(t, e.fake.Sent())

	// Telegram comes back: within a cooldown or two the breaker lets a
	// probe through, the confirmation is sent once and /healthz is ok.
	outage()
	sent, err := e.fake.WaitSent(t.Context(), 1)
	require.NoError(t, err)
	require.Contains(t, sent[0].Text, "Sticker pack is yours")
	require.Eventually(t, func() bool { return healthz().Status == "ok" }, 10*time.Second, 50*time.Millisecond)
	time.Sleep(2 * outboxPoll) // a duplicate would go out in the next round
	require.Len(t, e.fake.Sent(), 1, "sent once")
	t.Logf("sendMessage calls that reached Telegram while it failed, until the breaker opened: %d", reached)
	require.LessOrEqual(t, reached, breakerTrip+2, "the breaker stops the calls")
}
