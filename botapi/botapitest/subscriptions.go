package botapitest

import (
	"time"
)

// Subscription is a Telegram Stars subscription, started by paying an
// invoice link made with subscription_period. Telegram names it by the
// telegram_payment_charge_id of its first payment: the id
// editUserStarSubscription takes. Get one with [Server.Subscription].
//
// Telegram docs: https://core.telegram.org/bots/api#edituserstarsubscription
type Subscription struct {
	ChargeID string  // telegram_payment_charge_id of the first payment
	User     User    // the subscriber
	Invoice  Invoice // the subscription's invoice
	// Expiration is the end of the period paid for.
	Expiration time.Time
	// Canceled means renewal is off: the bot passed is_canceled=true, or
	// the user turned it off. The subscription stays active until
	// Expiration; [Server.RenewSubscription] then ends it.
	Canceled bool
	// CanceledByBot means the bot canceled it and has not since passed
	// is_canceled=false, so the user cannot re-enable it.
	CanceledByBot bool
	// Expired means the subscription ended: a period came due while it was
	// canceled. Nothing can change it any more.
	Expired bool
	// Renewals counts the renewal payments after the first one.
	Renewals int
}

// editUserStarSubscription. is_canceled=true turns renewal off and marks
// the subscription canceled by the bot; is_canceled=false lifts the bot's
// cancellation so the user may re-enable renewal (it does not re-enable it
// itself). The subscription is named by its first payment's charge id.
// Telegram docs: https://core.telegram.org/bots/api#edituserstarsubscription
// and https://core.telegram.org/method/payments.botCancelStarsSubscription
func editUserStarSubscription(s *Server, c *call) (any, *apiError) {
	if !c.p.has("is_canceled") {
		return nil, badRequest("parameter \"is_canceled\" is required")
	}
	uid, _ := c.p.int64("user_id")
	if s.st.users[uid] == nil {
		return nil, errUserNotFound
	}
	id := c.p.str("telegram_payment_charge_id")
	ch := s.st.charges[id]
	if ch == nil || ch.user.ID != uid {
		return nil, badRequest("CHARGE_NOT_FOUND")
	}
	sub := s.st.subs[id]
	if sub == nil {
		return nil, badRequest("SUBSCRIPTION_NOT_FOUND")
	}
	if sub.Expired {
		return nil, badRequest("SUBSCRIPTION_EXPIRED")
	}
	if c.p.bool("is_canceled") {
		sub.Canceled, sub.CanceledByBot = true, true
	} else {
		sub.CanceledByBot = false
	}
	return true, nil
}

// Subscription returns the subscription whose first payment has the
// telegram_payment_charge_id chargeID, as it stands.
func (s *Server) Subscription(chargeID string) (Subscription, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sub := s.st.subs[chargeID]
	if sub == nil {
		return Subscription{}, false
	}
	c := *sub
	c.Invoice = sub.Invoice.clone()
	return c, true
}

// SetSubscriptionCanceled turns the renewal of the user's subscription
// chargeID off (canceled true) or back on, as the user does in Telegram's
// settings. Turning it on fails with [ErrCanceledByBot] while the bot's
// cancellation stands, with [ErrSubscriptionExpired] once the subscription
// ended, and with [ErrUnknownSubscription] when user has no subscription
// named chargeID.
func (s *Server) SetSubscriptionCanceled(user User, chargeID string, canceled bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	sub := s.st.subs[chargeID]
	switch {
	case sub == nil || sub.User.ID != user.ID:
		return ErrUnknownSubscription
	case sub.Expired:
		return ErrSubscriptionExpired
	case !canceled && sub.CanceledByBot:
		return ErrCanceledByBot
	}
	sub.Canceled = canceled
	return nil
}

// RenewSubscription makes the current period of the subscription chargeID
// come due now, whatever the server's clock says. If renewal is on, the
// user pays again, as Telegram charges a subscription: the bot gets a
// successful_payment message with a new telegram_payment_charge_id,
// is_recurring, no is_first_recurring and a subscription_expiration_date
// one [SubscriptionPeriod] after the previous one; the Stars go to the
// bot's balance and a transaction to getStarTransactions. The fake sends
// no pre_checkout_query for a renewal. The renewal's charge id can be
// refunded but does not name the subscription: editUserStarSubscription
// and the other helpers still take the first payment's.
//
// If renewal is off (see [Subscription.Canceled]) the subscription expires
// instead: nothing is charged and RenewSubscription returns
// [ErrSubscriptionCanceled]. It returns [ErrSubscriptionExpired] for a
// subscription that already ended and [ErrUnknownSubscription] for an
// unknown chargeID.
func (s *Server) RenewSubscription(chargeID string) (Payment, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sub := s.st.subs[chargeID]
	switch {
	case sub == nil:
		return Payment{}, ErrUnknownSubscription
	case sub.Expired:
		return Payment{}, ErrSubscriptionExpired
	case sub.Canceled:
		sub.Expired = true
		return Payment{}, ErrSubscriptionCanceled
	}
	inv := s.st.byLink[sub.Invoice.Link]
	sub.Expiration = sub.Expiration.Add(inv.SubscriptionPeriod)
	sub.Renewals++
	return s.st.chargeUser(sub.User, inv, sub.Expiration, false, chosenShipping{}), nil
}
