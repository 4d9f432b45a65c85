package botapitest

import (
	"bytes"
	"cmp"
	"container/heap"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Webhook numbers Telegram documents.
// Telegram docs: https://core.telegram.org/bots/api#setwebhook
const (
	defaultMaxConnections = 40
	maxMaxConnections     = 100
	maxSecretTokenLength  = 256
	// secretTokenHeader carries setWebhook's secret_token on each delivery.
	secretTokenHeader = "X-Telegram-Bot-Api-Secret-Token"
	// maxUpdatesLimit bounds getUpdates' limit.
	// Telegram docs: https://core.telegram.org/bots/api#getupdates
	maxUpdatesLimit = 100
	// maxLongPollTimeout caps getUpdates' timeout, in seconds
	// (LONG_POLL_MAX_TIMEOUT in tdlib/telegram-bot-api's Client.h).
	maxLongPollTimeout = 50
)

// Redelivery as Telegram's WebhookActor::on_update_error does it
// (tdlib/telegram-bot-api, telegram-bot-api/WebhookActor.cpp): the first
// failure of an update is retried at once, later ones after 2, 4, 8 ...
// seconds, up to a ceiling drawn between 60 and 120 s
// (WEBHOOK_MAX_RESEND_TIMEOUT in WebhookActor.h); a Retry-After in the
// webhook's answer, at most an hour (MAX_RETRY_AFTER), sets the wait
// instead. The delivery timeout is the fake's choice.
const (
	webhookMaxResend     = 60 * time.Second
	webhookMaxRetryAfter = 3600
	webhookTimeout       = time.Minute
	maxWebhookReplyBody  = 1 << 20
)

var secretTokenRE = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// defaultExcluded are the update kinds Telegram leaves out unless asked for.
var defaultExcluded = []string{"chat_member", "message_reaction", "message_reaction_count"}

// queueKinds numbers the webhook queues of update kinds as Telegram's
// Client.cpp does (the webhook_queue_id passed to add_update: the chat or
// user id plus kind << 33): messages queue per chat, a user's callback
// queries per user, and so on. Kinds not listed queue per chat.
var queueKinds = map[string]int64{
	"inline_query":         1,
	"chosen_inline_result": 2,
	"callback_query":       3,
	"shipping_query":       4,
	"pre_checkout_query":   4,
	"my_chat_member":       5,
	"chat_member":          6,
	"chat_join_request":    6,
	"message_reaction":     8,
	"purchased_paid_media": 12,
}

// webhookQueue is the webhook queue id of an update of kind about id (a
// chat or a user).
func webhookQueue(kind string, id int64) int64 { return id + queueKinds[kind]<<33 }

type pendingUpdate struct {
	id      int64
	kind    string
	queue   int64 // the webhook queue it goes in
	raw     json.RawMessage
	expires time.Time // it is dropped once the clock passes this
	removed bool      // delivered, confirmed or expired
}

// chatQueue is one webhook queue: its updates go out one at a time, in
// order, each retried until delivered before the next.
type chatQueue struct {
	id      int64
	items   []*pendingUpdate // oldest first
	busy    bool             // a delivery is in flight
	waiting bool             // backing off until wakeAt
	inReady bool
	wakeAt  time.Time
	delay   time.Duration // Telegram's delay_: the last backoff
	fails   int
}

type webhook struct {
	url      string
	secret   string
	maxConns int
	inflight int
}

// updates is the update store, shared by getUpdates and the webhook: a log
// in update_id order for getUpdates, and the same updates in per-chat
// queues for the webhook. Every step (enqueue, deliver, confirm) costs
// O(1) amortised per update.
type updates struct {
	log          []*pendingUpdate // log[logHead:] holds every pending update, and removed ones not yet trimmed
	logHead      int
	pending      int // updates not removed
	queues       map[int64]*chatQueue
	ready        []*chatQueue // queues whose first update can go now, oldest first
	readyHead    int
	waits        waitHeap                      // queues backing off
	expiring     map[time.Duration]expiryQueue // by lifetime, for expire
	lastUpdateID int64
	signal       chan struct{} // closed and replaced on every change
	pollGen      int
	allowed      []string // nil: Telegram's default
	hook         *webhook
	lastErrDate  int64
	lastErrMsg   string
	steps        int // queue entries the dispatcher looked at, for tests

	polled     bool      // getUpdates was called (WithPollThrottle)
	pollOffset int64     // the offset of the last getUpdates
	pollAt     time.Time // when it came
}

func (u *updates) init() {
	u.signal = make(chan struct{})
	u.lastUpdateID = 100000
	u.queues = map[int64]*chatQueue{}
}

func (u *updates) notify() {
	close(u.signal)
	u.signal = make(chan struct{})
}

func (u *updates) wants(kind string) bool {
	if u.allowed == nil {
		return !slices.Contains(defaultExcluded, kind)
	}
	return slices.Contains(u.allowed, kind)
}

// add adds an update of kind with payload, about the chat or user id (its
// webhook queue), and returns it, or nil when the bot's allowed_updates
// leave it out. Callers hold s.mu, and use state.enqueue, which also
// schedules its expiry.
func (u *updates) add(kind string, id int64, payload any) *pendingUpdate {
	if !u.wants(kind) {
		return nil
	}
	u.lastUpdateID++
	uid := u.lastUpdateID
	raw, err := json.Marshal(map[string]any{"update_id": uid, kind: payload})
	if err != nil {
		panic("botapitest: encoding an update: " + err.Error())
	}
	p := &pendingUpdate{id: uid, kind: kind, queue: webhookQueue(kind, id), raw: raw}
	u.log = append(u.log, p)
	u.pending++
	q := u.queues[p.queue]
	if q == nil {
		q = &chatQueue{id: p.queue}
		u.queues[p.queue] = q
	}
	q.items = append(q.items, p)
	u.markReady(q)
	u.notify()
	return p
}

// markReady lists q for delivery if a webhook is set and q's first update
// can go now.
func (u *updates) markReady(q *chatQueue) {
	if u.hook == nil || q.inReady || q.busy || q.waiting || len(q.items) == 0 {
		return
	}
	q.inReady = true
	u.ready = append(u.ready, q)
}

// popReady returns the next queue to deliver from, or nil.
func (u *updates) popReady() *chatQueue {
	for u.readyHead < len(u.ready) {
		q := u.ready[u.readyHead]
		u.ready[u.readyHead] = nil
		u.readyHead++
		q.inReady = false
		u.steps++
		q.trimFront()
		if u.queues[q.id] == q && !q.busy && !q.waiting && len(q.items) > 0 {
			return q
		}
	}
	u.ready, u.readyHead = u.ready[:0], 0
	return nil
}

// removeFront removes p, normally the first update of its queue, from the
// store.
func (u *updates) removeFront(p *pendingUpdate) {
	if !p.removed {
		p.removed = true
		u.pending--
	}
	if q := u.queues[p.queue]; q != nil {
		q.trimFront()
		if len(q.items) == 0 && !q.busy {
			delete(u.queues, q.id)
		}
	}
	u.trimLog()
}

// trimFront drops removed updates from the front of q, so its first update
// is always one still to deliver.
func (q *chatQueue) trimFront() {
	for len(q.items) > 0 && q.items[0].removed {
		q.items[0] = nil
		q.items = q.items[1:]
	}
}

// trimLog drops removed updates from the front of the log, and compacts it
// once most of it is gone, so its memory follows the pending updates.
func (u *updates) trimLog() {
	for u.logHead < len(u.log) && u.log[u.logHead].removed {
		u.log[u.logHead] = nil
		u.logHead++
	}
	if u.logHead > 64 && u.logHead > len(u.log)/2 {
		u.log = append([]*pendingUpdate(nil), u.log[u.logHead:]...)
		u.logHead = 0
	}
}

// confirm removes the updates getUpdates' offset confirms: those before
// offset, or for a negative offset all but the last -offset. The log's
// first entry is always pending (trimLog), and the first of its queue.
func (u *updates) confirm(offset int64) {
	for u.logHead < len(u.log) {
		p := u.log[u.logHead]
		if offset >= 0 && p.id >= offset || offset < 0 && int64(u.pending) <= -offset {
			return
		}
		u.removeFront(p)
	}
}

// waitHeap orders backing-off queues by wake time.
type waitHeap []*chatQueue

func (h waitHeap) Len() int           { return len(h) }
func (h waitHeap) Less(i, j int) bool { return h[i].wakeAt.Before(h[j].wakeAt) }
func (h waitHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *waitHeap) Push(x any)        { *h = append(*h, x.(*chatQueue)) }
func (h *waitHeap) Pop() any {
	old := *h
	q := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return q
}

// updateKinds are the update types Telegram's allowed_updates knows
// (Client::get_update_type_name).
var updateKinds = []string{
	"message", "edited_message", "channel_post", "edited_channel_post", "inline_query",
	"chosen_inline_result", "callback_query", "custom_event", "custom_query", "shipping_query",
	"pre_checkout_query", "poll", "poll_answer", "my_chat_member", "chat_member", "chat_join_request",
	"chat_boost", "removed_chat_boost", "message_reaction", "message_reaction_count",
	"business_connection", "business_message", "edited_business_message", "deleted_business_messages",
	"purchased_paid_media", "managed_bot", "guest_message",
}

// setAllowed applies allowed_updates as Client::get_allowed_update_types
// does: an empty or unparsable value, or anything but an array of strings,
// changes nothing; names are lowercased and unknown ones dropped; an array
// with no known name restores the default.
func setAllowed(u *updates, p params) {
	var raw []json.RawMessage
	if p.str("allowed_updates") == "" || !p.object("allowed_updates", &raw) {
		return
	}
	var kinds []string
	for _, r := range raw {
		var name string
		if json.Unmarshal(r, &name) != nil {
			return
		}
		name = strings.ToLower(name)
		if slices.Contains(updateKinds, name) && !slices.Contains(kinds, name) {
			kinds = append(kinds, name)
		}
	}
	u.allowed = kinds // nil when none is known: the default
}

// getUpdates serves long polling. It runs without s.mu held.
// Telegram docs: https://core.telegram.org/bots/api#getupdates
// Telegram's throttle of a getUpdates repeating the previous offset
// (Client::process_get_updates_query), applied with [WithPollThrottle].
const (
	repeatPollWindow    = 3 * time.Second        // a repeat within it waits at least
	repeatPollTimeout   = 3 * time.Second        // this long for updates
	repeatPollOneWindow = 500 * time.Millisecond // a repeat within it gets at most 1 update
)

func getUpdates(s *Server, c *call) (any, *apiError) {
	offset, hasOffset := c.p.int64("offset")
	// Client::process_get_updates_query clamps both.
	limit := c.p.clampedInt("limit", maxUpdatesLimit, 1, maxUpdatesLimit)
	timeout := time.Duration(c.p.clampedInt("timeout", 0, 0, maxLongPollTimeout)) * time.Second

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.st.hook != nil {
		return nil, errWebhookActive
	}
	setAllowed(&s.st.updates, c.p)
	if s.opts.pollDelay {
		now := s.now()
		u := &s.st.updates
		if u.polled && offset == u.pollOffset {
			if timeout < repeatPollTimeout && now.Before(u.pollAt.Add(repeatPollWindow)) {
				timeout = repeatPollTimeout
			}
			if now.Before(u.pollAt.Add(repeatPollOneWindow)) {
				limit = 1
			}
		}
		u.polled, u.pollOffset, u.pollAt = true, offset, now
	}
	s.st.pollGen++
	gen := s.st.pollGen
	s.st.notify() // an older poll ends with a conflict
	var timer <-chan time.Time
	if timeout > 0 {
		t, stop := s.clk.timer(timeout)
		defer stop()
		timer = t
	}
	for {
		s.st.expire(s.now())
		if hasOffset {
			s.st.confirm(offset)
		}
		out := make([]json.RawMessage, 0, min(limit, s.st.pending))
		for _, p := range s.st.log[s.st.logHead:] {
			if len(out) == limit {
				break
			}
			if !p.removed {
				out = append(out, p.raw)
			}
		}
		if len(out) > 0 || timer == nil {
			return out, nil
		}
		sig := s.st.signal
		s.mu.Unlock()
		select {
		case <-sig:
		case <-timer:
			timer = nil
		case <-c.ctx.Done():
			timer = nil
		case <-s.done:
			timer = nil
		}
		s.mu.Lock()
		if s.st.pollGen != gen {
			return nil, errPollConflict
		}
		if s.st.hook != nil {
			return nil, errWebhookActive
		}
	}
}

// setWebhook sets, changes or (with an empty url) removes the webhook.
// Telegram docs: https://core.telegram.org/bots/api#setwebhook
func setWebhook(s *Server, c *call) (any, *apiError) {
	raw := c.p.str("url")
	if raw == "" {
		return deleteWebhook(s, c)
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, badRequest("invalid webhook URL specified")
	}
	secret := c.p.str("secret_token")
	if len(secret) > maxSecretTokenLength {
		return nil, badRequest("secret token is too long")
	}
	if secret != "" && !secretTokenRE.MatchString(secret) {
		return nil, badRequest("secret token contains unallowed characters")
	}
	maxConns := min(max(c.p.intOr("max_connections", defaultMaxConnections), 1), maxMaxConnections)
	setAllowed(&s.st.updates, c.p)
	if c.p.bool("drop_pending_updates") {
		s.st.dropPending()
	}
	old := s.st.hook
	if old != nil && old.url == raw && old.secret == secret && old.maxConns == maxConns {
		return described{true, "Webhook is already set"}, nil
	}
	s.st.setHook(&webhook{url: raw, secret: secret, maxConns: maxConns})
	return described{true, "Webhook was set"}, nil
}

// setHook replaces the webhook (nil: none). Deliveries in flight to the
// old one no longer count; every queue starts over, oldest update first.
func (u *updates) setHook(h *webhook) {
	u.hook = h
	u.waits = nil
	clear(u.ready)
	u.ready, u.readyHead = u.ready[:0], 0
	qs := make([]*chatQueue, 0, len(u.queues))
	for id, q := range u.queues {
		q.busy, q.waiting, q.inReady, q.delay, q.fails = false, false, false, 0, 0
		if len(q.items) == 0 {
			delete(u.queues, id)
			continue
		}
		qs = append(qs, q)
	}
	slices.SortFunc(qs, func(a, b *chatQueue) int { return cmp.Compare(a.items[0].id, b.items[0].id) })
	for _, q := range qs {
		u.markReady(q)
	}
	u.notify()
}

// dropPending drops every pending update but those being delivered.
func (u *updates) dropPending() {
	for _, p := range u.log[u.logHead:] {
		if p.removed {
			continue
		}
		q := u.queues[p.queue]
		if q != nil && q.busy && q.items[0] == p {
			continue
		}
		p.removed = true
		u.pending--
	}
	for id, q := range u.queues {
		if q.busy {
			clear(q.items[1:])
			q.items = q.items[:1]
		} else {
			delete(u.queues, id)
		}
	}
	u.trimLog()
}

// deleteWebhook removes the webhook.
// Telegram docs: https://core.telegram.org/bots/api#deletewebhook
func deleteWebhook(s *Server, c *call) (any, *apiError) {
	if c.p.bool("drop_pending_updates") {
		s.st.dropPending()
	}
	if s.st.hook == nil {
		return described{true, "Webhook is already deleted"}, nil
	}
	s.st.setHook(nil)
	return described{true, "Webhook was deleted"}, nil
}

type webhookInfo struct {
	URL                  string   `json:"url"`
	HasCustomCertificate bool     `json:"has_custom_certificate"`
	PendingUpdateCount   int      `json:"pending_update_count"`
	LastErrorDate        int64    `json:"last_error_date,omitempty"`
	LastErrorMessage     string   `json:"last_error_message,omitempty"`
	MaxConnections       int      `json:"max_connections,omitempty"`
	AllowedUpdates       []string `json:"allowed_updates,omitempty"`
}

// getWebhookInfo reports the webhook, the pending count and the last error.
// Telegram docs: https://core.telegram.org/bots/api#getwebhookinfo
func getWebhookInfo(s *Server, _ *call) (any, *apiError) {
	s.st.expire(s.now())
	info := webhookInfo{PendingUpdateCount: s.st.pending}
	if h := s.st.hook; h != nil {
		info.URL = h.url
		info.MaxConnections = h.maxConns
		info.AllowedUpdates = s.st.allowed
		info.LastErrorDate = s.st.lastErrDate
		info.LastErrorMessage = s.st.lastErrMsg
	}
	return info, nil
}

type delivery struct {
	hook   *webhook
	url    string
	secret string
	queue  *chatQueue
	update *pendingUpdate
}

// dispatchWebhook starts deliveries while a webhook is set: the first
// update of each ready queue, oldest queue first, at most max_connections
// at once; it wakes backing-off queues when their time comes.
func (s *Server) dispatchWebhook() {
	defer s.wg.Done()
	for {
		s.mu.Lock()
		st := &s.st.updates
		now := s.now()
		st.expire(now)
		for len(st.waits) > 0 && !st.waits[0].wakeAt.After(now) {
			q := heap.Pop(&st.waits).(*chatQueue)
			if st.queues[q.id] == q && q.waiting {
				q.waiting = false
				st.markReady(q)
			}
		}
		var starts []delivery
		if h := st.hook; h != nil {
			for h.inflight < h.maxConns {
				q := st.popReady()
				if q == nil {
					break
				}
				q.busy = true
				h.inflight++
				starts = append(starts, delivery{hook: h, url: h.url, secret: h.secret, queue: q, update: q.items[0]})
			}
		}
		var wake time.Duration
		if len(st.waits) > 0 {
			wake = max(st.waits[0].wakeAt.Sub(now), 1)
		}
		sig := st.signal
		s.mu.Unlock()
		for _, d := range starts {
			s.wg.Add(1)
			go s.deliver(d)
		}
		var timer <-chan time.Time
		stop := func() {}
		if wake > 0 {
			timer, stop = s.clk.timer(wake)
		}
		select {
		case <-sig:
		case <-timer:
		case <-s.done:
			stop()
			return
		}
		stop()
	}
}

// deliver posts one update to the webhook, after the network's delay, and
// records the outcome.
func (s *Server) deliver(d delivery) {
	defer s.wg.Done()
	s.mu.Lock()
	delay := s.st.latency.forWebhook().draw(s.st.rng)
	s.mu.Unlock()
	if !s.sleep(s.base, delay) {
		return // the server is closing
	}
	ctx, cancel := s.withTimeout(s.base, webhookTimeout)
	defer cancel()
	msg, retryAfter := s.post(ctx, d)

	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.delivered(s, d, msg, retryAfter)
}

// delivered records a delivery's outcome: msg is "" on success, else
// Telegram's last_error_message. Callers hold s.mu.
func (u *updates) delivered(s *Server, d delivery, msg string, retryAfter int) {
	defer u.notify()
	current := u.hook == d.hook
	if msg == "" {
		u.removeFront(d.update)
	}
	if !current {
		return // setWebhook or deleteWebhook started the queues over
	}
	d.hook.inflight--
	q := d.queue
	q.busy = false
	if msg != "" && d.update.removed {
		// It expired during the delivery: not retried.
		q.trimFront()
		if len(q.items) == 0 {
			if u.queues[q.id] == q {
				delete(u.queues, q.id)
			}
			return
		}
	}
	if msg == "" {
		q.delay, q.fails = 0, 0
		if len(q.items) == 0 {
			if u.queues[q.id] == q {
				delete(u.queues, q.id)
			}
			return
		}
		u.markReady(q)
		return
	}
	u.lastErrDate = s.now().Unix()
	u.lastErrMsg = msg
	// WebhookActor::on_update_error: delay_ starts at 1 s; the first
	// failure waits only a Retry-After, later ones double delay_ up to
	// a ceiling drawn in [60 s, 120 s].
	if q.delay == 0 {
		q.delay = time.Second
	}
	wait := time.Duration(min(max(retryAfter, 0), webhookMaxRetryAfter)) * time.Second
	if retryAfter <= 0 && q.fails > 0 {
		ceiling := webhookMaxResend + time.Duration(s.st.rng.Int64N(int64(webhookMaxResend)+1))
		q.delay = min(ceiling, 2*q.delay)
		wait = q.delay
	}
	q.fails++
	if wait <= 0 {
		u.markReady(q)
		return
	}
	q.waiting = true
	q.wakeAt = s.now().Add(wait)
	heap.Push(&u.waits, q)
}

// post makes one delivery; it returns "" on a 2xx answer, else the error
// message Telegram would show in getWebhookInfo and the answer's
// Retry-After in seconds (0 for none).
func (s *Server) post(ctx context.Context, d delivery) (string, int) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.url, bytes.NewReader(d.update.raw))
	if err != nil {
		return "Failed to resolve host: Name or service not known", 0
	}
	req.Header.Set("Content-Type", "application/json")
	if d.secret != "" {
		req.Header.Set(secretTokenHeader, d.secret)
	}
	resp, err := (&http.Client{Transport: s.hookRT}).Do(req)
	if err != nil {
		switch {
		case errors.Is(err, syscall.ECONNREFUSED):
			return "Connection refused", 0
		case errors.Is(err, syscall.ECONNRESET):
			return "Connection reset by peer", 0
		case errors.Is(err, context.DeadlineExceeded), errors.Is(context.Cause(ctx), context.DeadlineExceeded):
			return "Read timeout expired", 0
		default:
			return "Connection error", 0
		}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxWebhookReplyBody))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		retryAfter, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
		return "Wrong response from the webhook: " + strconv.Itoa(resp.StatusCode) + " " + http.StatusText(resp.StatusCode), retryAfter
	}
	s.replyInResponse(body, resp.Header.Get("Content-Type"))
	return "", 0
}

// replyInResponse performs the method a webhook answered with, as Telegram
// does for a reply in the webhook's response body: a JSON or form body
// whose "method" names it. As in WebhookActor::on_connection_result, the
// name is lowercased and setWebhook, deleteWebhook, close, logOut and
// every get* method are ignored (their answer would go nowhere).
// Telegram docs: https://core.telegram.org/bots/api#making-requests-when-getting-updates
func (s *Server) replyInResponse(body []byte, contentType string) {
	parse, err := http.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	if err != nil {
		return
	}
	parse.Header.Set("Content-Type", contentType)
	p, _, perr := parseParams(parse)
	if perr != nil {
		return
	}
	method := strings.ToLower(p.str("method"))
	switch {
	case method == "", method == "setwebhook", method == "deletewebhook", method == "close", method == "logout",
		strings.HasPrefix(method, "get"):
		return
	}
	req, err := http.NewRequestWithContext(s.base, http.MethodPost, "/bot"+s.opts.token+"/"+url.PathEscape(method), bytes.NewReader(body))
	if err != nil {
		return
	}
	req.Header.Set("Content-Type", contentType)
	_, _ = serveInMemory(s.Handler(), req)
}
