package botapitest

import "time"

// MaxUpdateAge is how long the server keeps an update the bot has not
// taken (by getUpdates or its webhook), on the server's clock: Telegram
// keeps one "not longer than 24 hours". Queries a user waits on expire
// sooner, as in Telegram's server: an inline_query after 30 s, a
// callback_query, shipping_query or pre_checkout_query after 150 s, a
// chosen_inline_result after 10 minutes. An expired update is gone from
// getUpdates, the webhook's queue and getWebhookInfo's
// pending_update_count.
// Telegram docs: https://core.telegram.org/bots/api#getupdates
const MaxUpdateAge = 24 * time.Hour

// updateLifetimes are the kinds of update Telegram's server keeps for less
// than [MaxUpdateAge]: the timeout Client::add_update passes to its queue
// for each (tdlib/telegram-bot-api, telegram-bot-api/Client.cpp:
// add_new_inline_query 30 s, add_new_chosen_inline_result 600 s,
// add_new_callback_query, add_new_shipping_query and
// add_new_pre_checkout_query 150 s). Messages, member changes, join
// requests, reactions and polls keep the 24 hours.
var updateLifetimes = map[string]time.Duration{
	"inline_query":         30 * time.Second,
	"chosen_inline_result": 600 * time.Second,
	"callback_query":       150 * time.Second,
	"shipping_query":       150 * time.Second,
	"pre_checkout_query":   150 * time.Second,
}

// updateLifetime is how long an update of kind is kept.
func updateLifetime(kind string) time.Duration {
	if d, ok := updateLifetimes[kind]; ok {
		return d
	}
	return MaxUpdateAge
}

// expiryQueue holds the updates of one lifetime in the order they were
// queued, so that they also expire in that order: the expiry of each
// update costs O(1) amortised.
type expiryQueue []*pendingUpdate

// enqueue adds an update of kind with payload, about the chat or user id,
// and returns its update_id (0 when allowed_updates leave it out); it
// expires one lifetime of its kind after now, on the server's clock.
// Callers hold s.mu.
func (st *state) enqueue(kind string, id int64, payload any) int64 {
	now := st.s.now()
	st.expire(now)
	p := st.updates.add(kind, id, payload)
	if p == nil {
		return 0
	}
	life := updateLifetime(kind)
	p.expires = now.Add(life)
	if st.expiring == nil {
		st.expiring = map[time.Duration]expiryQueue{}
	}
	st.expiring[life] = append(st.expiring[life], p)
	return p.id
}

// expire drops the updates older than their lifetime at now, as Telegram's
// queue drops an event once its expiry has passed (td/db/TQueue.cpp): an
// update is kept while now is at most its lifetime after it was queued.
// An update whose webhook delivery is in flight finishes it; if that
// delivery fails, it is not retried. Callers hold s.mu.
func (u *updates) expire(now time.Time) {
	dropped := false
	for life, q := range u.expiring {
		n := 0
		for n < len(q) && (q[n].removed || now.After(q[n].expires)) {
			if p := q[n]; !p.removed {
				u.drop(p)
				dropped = true
			}
			q[n] = nil
			n++
		}
		if n == 0 {
			continue
		}
		if n == len(q) {
			delete(u.expiring, life)
		} else {
			u.expiring[life] = q[n:]
		}
	}
	if dropped {
		u.trimLog()
	}
}

// drop removes the pending update p wherever it is in its webhook queue.
// Callers trim the log.
func (u *updates) drop(p *pendingUpdate) {
	p.removed = true
	u.pending--
	if q := u.queues[p.queue]; q != nil && !q.busy {
		q.trimFront()
		if len(q.items) == 0 {
			delete(u.queues, q.id)
		}
	}
}
