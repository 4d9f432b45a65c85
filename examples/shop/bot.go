package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/miniappkit/miniappkit/botapi"
	"github.com/miniappkit/miniappkit/botapi/router"
	"github.com/miniappkit/miniappkit/payments"
)

// HandleUpdate handles one Telegram update, from the webhook or the long
// poller, through the shop's router: /start, and everything else to the
// payment flow (pre_checkout_query, successful_payment, refunded_payment),
// which ignores what is not a payment. An error means "deliver it again".
func (s *shop) HandleUpdate(ctx context.Context, u *botapi.Update) error {
	return s.updates.HandleUpdate(ctx, u)
}

// newRouter returns the shop's update router. The payments handler is a
// router.Handler by shape, so it is the fallback as it is.
func (s *shop) newRouter() *router.Router {
	r := router.New()
	r.HandleCommand("start", func(ctx context.Context, u *botapi.Update) error {
		if u.Message.From == nil {
			return nil
		}
		return s.welcome(ctx, u.Message.Chat.ID)
	})
	r.Fallback(s.payments)
	return r
}

// welcome answers /start with a button that opens the shop.
func (s *shop) welcome(ctx context.Context, chatID int64) error {
	_, err := s.bot.SendMessage(ctx, &botapi.SendMessageParams{
		ChatID: botapi.ChatID{ID: chatID},
		Text:   "Welcome to Star Shop! Digital goods for Telegram Stars.",
		ReplyMarkup: &botapi.InlineKeyboardMarkup{InlineKeyboard: [][]botapi.InlineKeyboardButton{{
			{Text: "Open the shop", WebApp: &botapi.WebAppInfo{URL: s.appURL}},
		}}},
	})
	return err
}

// check is asked at pre-checkout, after the payments handler has verified
// the payload's signature, expiry, buyer, currency and amount: can this
// order still be sold?
func (s *shop) check(ctx context.Context, o payments.Order, q *botapi.PreCheckoutQuery) error {
	ord, ok := s.orders.get(o.Ref)
	switch {
	case !ok:
		return payments.Decline("This order is no longer available. Please start a new order.")
	case ord.Status == statusPaid:
		return payments.Decline("This order is already paid.")
	}
	return nil
}

// fulfil delivers a paid order. The payments handler runs it once per
// charge, however often Telegram delivers the successful_payment; if it
// fails, the payment stays recorded and is retried.
func (s *shop) fulfil(ctx context.Context, _ payments.Tx, p payments.Payment, o payments.Order) error {
	if o.Ref == "" {
		// The payload no longer verifies (a payload key was dropped while
		// the payment was in flight): the buyer paid, so record it for a
		// person to look at rather than fail forever.
		s.log.Error("paid order with unreadable payload", "charge", p.ChargeID, "user", p.UserID)
		return nil
	}
	ord, changed, err := s.orders.markPaid(o.Ref, p.ChargeID, s.now())
	if errors.Is(err, errOrderNotFound) {
		// The order was dropped (too many unpaid orders) but was paid all the
		// same: rebuild it from the signed payload.
		prod, ok := productByID(o.Product)
		if !ok {
			return fmt.Errorf("fulfil charge %s: unknown product %q", p.ChargeID, o.Product)
		}
		ord, changed, err = s.orders.restorePaid(o.Ref, p.UserID, prod, p.ChargeID, s.now())
	}
	if err != nil {
		return err
	}
	if !changed {
		return nil
	}
	s.log.Info("order fulfilled", "order", ord.ID, "user", p.UserID, "product", ord.ProductID, "stars", p.Amount)
	// The confirmation goes through the rate-limited client. It is a
	// courtesy: the order is already delivered, so a failure (the user
	// blocked the bot) is logged, not retried.
	if _, err := s.bot.SendMessage(ctx, &botapi.SendMessageParams{
		ChatID: botapi.ChatID{ID: p.UserID},
		Text:   fmt.Sprintf("Thank you! %s %s is yours (⭐ %d, order %s).", ord.Emoji, ord.Title, p.Amount, ord.ID),
	}); err != nil {
		s.log.Warn("confirmation message not sent", "order", ord.ID, "user", p.UserID, "err", err)
	}
	return nil
}
