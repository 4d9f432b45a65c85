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
// order still be sold? (The handler then reserves the order, so a second
// pre-checkout of it is declined while the first is under way.)
func (s *shop) check(ctx context.Context, o payments.Order, q *botapi.PreCheckoutQuery) error {
	ord, err := s.orders.get(ctx, o.Ref)
	switch {
	case errors.Is(err, errOrderNotFound):
		return payments.Decline("This order is no longer available. Please start a new order.")
	case err != nil:
		return err // declined with the handler's generic message
	case ord.Status != statusPending:
		return payments.Decline("This order is already paid.")
	}
	return nil
}

// fulfil delivers a paid order. The payments handler runs it once per
// charge, however often Telegram delivers the successful_payment, in the
// ledger's transaction tx: the order's move to paid and its confirmation
// message (a row of the outbox) commit with the payment's move to
// fulfilled, or not at all. If it fails, the payment stays recorded and
// RetryPending retries it.
func (s *shop) fulfil(ctx context.Context, tx payments.Tx, p payments.Payment, o payments.Order) error {
	if o.Ref == "" {
		// The payload no longer verifies (a payload key was dropped while
		// the payment was in flight): the buyer paid, so record it for a
		// person to look at rather than fail forever.
		s.log.Error("paid order with unreadable payload", "charge", p.ChargeID, "user", p.UserID)
		return nil
	}
	changed, err := s.orders.markPaid(ctx, tx, o, p.ChargeID, s.now())
	if err != nil {
		return fmt.Errorf("fulfil charge %s: %w", p.ChargeID, err)
	}
	if !changed {
		return nil
	}
	prod, _ := productByID(o.Product)
	text := fmt.Sprintf("Thank you! %s %s is yours (⭐ %d, order %s).", prod.Emoji, prod.Title, p.Amount, o.Ref)
	if err := s.outbox.add(ctx, tx, p.ChargeID, kindPaid, p.UserID, text); err != nil {
		return err
	}
	s.log.Info("order fulfilled", "order", o.Ref, "user", p.UserID, "product", o.Product, "stars", p.Amount, "charge", p.ChargeID)
	s.outbox.notify() // early; the sender reads only what has committed
	return nil
}

// refunded revokes a refunded order, in the ledger's transaction, and
// queues a notice to the buyer.
func (s *shop) refunded(ctx context.Context, tx payments.Tx, p payments.Payment) error {
	o, err := s.orders.markRefunded(ctx, tx, p.ChargeID)
	if errors.Is(err, errOrderNotFound) {
		return nil // a payment with an unreadable payload: nothing was delivered
	}
	if err != nil {
		return err
	}
	text := fmt.Sprintf("Refunded: ⭐ %d for %s %s (order %s).", p.Amount, o.Emoji, o.Title, o.ID)
	if err := s.outbox.add(ctx, tx, p.ChargeID, kindRefunded, p.UserID, text); err != nil {
		return err
	}
	s.outbox.notify()
	return nil
}
