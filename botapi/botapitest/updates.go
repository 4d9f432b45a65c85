package botapitest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
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
)

// Redelivery: the fake's choice, as Telegram does not publish its own.
const (
	webhookFirstBackoff = time.Second
	webhookMaxBackoff   = time.Minute
	webhookTimeout      = time.Minute
	maxWebhookReplyBody = 1 << 20
)

var secretTokenRE = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// defaultExcluded are the update kinds Telegram leaves out unless asked for.
var defaultExcluded = []string{"chat_member", "message_reaction", "message_reaction_count"}

type pendingUpdate struct {
	id       int64
	kind     string
	raw      json.RawMessage
	inflight bool
	attempts int
}

type webhook struct {
	url      string
	secret   string
	maxConns int
	inflight int
	gen      int
}

// updates is the update queue, shared by getUpdates and the webhook.
type updates struct {
	queue        []*pendingUpdate
	lastUpdateID int64
	signal       chan struct{} // closed and replaced on every change
	pollGen      int
	allowed      []string // nil: Telegram's default
	hook         *webhook
	hookGen      int
	lastErrDate  int64
	lastErrMsg   string
}

func (u *updates) init() {
	u.signal = make(chan struct{})
	u.lastUpdateID = 100000
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

// enqueue adds an update of kind with payload and returns its update_id,
// or 0 when the bot's allowed_updates leave it out. Callers hold s.mu.
func (u *updates) enqueue(kind string, payload any) int64 {
	if !u.wants(kind) {
		return 0
	}
	u.lastUpdateID++
	id := u.lastUpdateID
	raw, err := json.Marshal(map[string]any{"update_id": id, kind: payload})
	if err != nil {
		panic("botapitest: encoding an update: " + err.Error())
	}
	u.queue = append(u.queue, &pendingUpdate{id: id, kind: kind, raw: raw})
	u.notify()
	return id
}

func (u *updates) confirm(offset int64) {
	if offset < 0 {
		keep := int(-offset)
		if keep < len(u.queue) {
			u.queue = u.queue[len(u.queue)-keep:]
		}
		return
	}
	i := 0
	for i < len(u.queue) && u.queue[i].id < offset {
		i++
	}
	u.queue = u.queue[i:]
}

func (u *updates) remove(id int64) {
	for i, p := range u.queue {
		if p.id == id {
			u.queue = append(u.queue[:i:i], u.queue[i+1:]...)
			return
		}
	}
}

func setAllowed(u *updates, p params) *apiError {
	if !p.has("allowed_updates") {
		return nil
	}
	var kinds []string
	if !p.object("allowed_updates", &kinds) {
		return badRequest("can't parse allowed updates")
	}
	if len(kinds) == 0 {
		u.allowed = nil
	} else {
		u.allowed = kinds
	}
	return nil
}

// getUpdates serves long polling. It runs without s.mu held.
// Telegram docs: https://core.telegram.org/bots/api#getupdates
func getUpdates(s *Server, c *call) (any, *apiError) {
	offset, hasOffset := c.p.int64("offset")
	limit := c.p.intOr("limit", maxUpdatesLimit)
	if limit <= 0 {
		limit = maxUpdatesLimit
	}
	limit = min(limit, maxUpdatesLimit)
	timeout := time.Duration(max(c.p.intOr("timeout", 0), 0)) * time.Second

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.st.hook != nil {
		return nil, errWebhookActive
	}
	if err := setAllowed(&s.st.updates, c.p); err != nil {
		return nil, err
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
		if hasOffset {
			s.st.confirm(offset)
		}
		out := make([]json.RawMessage, 0, min(limit, len(s.st.queue)))
		for _, p := range s.st.queue {
			if len(out) == limit {
				break
			}
			out = append(out, p.raw)
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
	if err := setAllowed(&s.st.updates, c.p); err != nil {
		return nil, err
	}
	if c.p.bool("drop_pending_updates") {
		s.st.dropPending()
	}
	old := s.st.hook
	if old != nil && old.url == raw && old.secret == secret && old.maxConns == maxConns {
		return described{true, "Webhook is already set"}, nil
	}
	s.st.hookGen++
	s.st.hook = &webhook{url: raw, secret: secret, maxConns: maxConns, gen: s.st.hookGen}
	for _, p := range s.st.queue {
		p.inflight = false
	}
	s.st.notify()
	return described{true, "Webhook was set"}, nil
}

func (u *updates) dropPending() {
	kept := u.queue[:0]
	for _, p := range u.queue {
		if p.inflight {
			kept = append(kept, p)
		}
	}
	u.queue = kept
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
	s.st.hook = nil
	for _, p := range s.st.queue {
		p.inflight = false
	}
	s.st.notify()
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
	info := webhookInfo{PendingUpdateCount: len(s.st.queue)}
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
	hook    webhook
	update  *pendingUpdate
	attempt int
}

// dispatchWebhook starts deliveries while a webhook is set, at most
// max_connections at once, oldest update first.
func (s *Server) dispatchWebhook() {
	defer s.wg.Done()
	for {
		s.mu.Lock()
		var starts []delivery
		if h := s.st.hook; h != nil {
			for _, p := range s.st.queue {
				if h.inflight >= h.maxConns {
					break
				}
				if p.inflight {
					continue
				}
				p.inflight = true
				p.attempts++
				h.inflight++
				starts = append(starts, delivery{hook: *h, update: p, attempt: p.attempts})
			}
		}
		sig := s.st.signal
		s.mu.Unlock()
		for _, d := range starts {
			s.wg.Add(1)
			go s.deliver(d)
		}
		select {
		case <-sig:
		case <-s.done:
			return
		}
	}
}

// deliver posts one update to the webhook. On failure it records Telegram's
// last_error_message, waits the backoff, and frees the update for another try.
func (s *Server) deliver(d delivery) {
	defer s.wg.Done()
	s.mu.Lock()
	delay := s.st.latency.forWebhook().draw(s.st.rng)
	s.mu.Unlock()
	if !s.sleep(s.base, delay) {
		s.mu.Lock()
		s.release(d)
		s.mu.Unlock()
		return
	}
	ctx, cancel := s.withTimeout(s.base, webhookTimeout)
	defer cancel()
	msg := s.post(ctx, d)

	s.mu.Lock()
	if msg == "" {
		s.st.remove(d.update.id)
	} else {
		s.st.lastErrDate = s.now().Unix()
		s.st.lastErrMsg = msg
	}
	s.mu.Unlock()

	if msg != "" {
		backoff := min(webhookFirstBackoff<<min(d.attempt-1, 10), webhookMaxBackoff)
		s.sleep(s.base, backoff)
	}

	s.mu.Lock()
	s.release(d)
	s.mu.Unlock()
}

// release frees a delivery's update and connection. Callers hold s.mu.
func (s *Server) release(d delivery) {
	// Free the update only for the webhook it was sent to: setWebhook and
	// deleteWebhook have freed it already, and a newer webhook may be
	// delivering it right now.
	if h := s.st.hook; h != nil && h.gen == d.hook.gen {
		h.inflight--
		d.update.inflight = false
	}
	s.st.notify()
}

// withTimeout is context.WithTimeout on the server's clock.
func (s *Server) withTimeout(parent context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(parent)
	t, stop := s.clk.timer(d)
	go func() {
		select {
		case <-t:
			cancel(context.DeadlineExceeded)
		case <-ctx.Done():
		}
	}()
	return ctx, func() { stop(); cancel(context.Canceled) }
}

// post makes one delivery; it returns "" on a 2xx answer, else the error
// message Telegram would show in getWebhookInfo.
func (s *Server) post(ctx context.Context, d delivery) string {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.hook.url, bytes.NewReader(d.update.raw))
	if err != nil {
		return "Failed to resolve host: Name or service not known"
	}
	req.Header.Set("Content-Type", "application/json")
	if d.hook.secret != "" {
		req.Header.Set(secretTokenHeader, d.hook.secret)
	}
	resp, err := (&http.Client{Transport: s.hookRT}).Do(req)
	if err != nil {
		switch {
		case errors.Is(err, syscall.ECONNREFUSED):
			return "Connection refused"
		case errors.Is(err, syscall.ECONNRESET):
			return "Connection reset by peer"
		case errors.Is(err, context.DeadlineExceeded), errors.Is(context.Cause(ctx), context.DeadlineExceeded):
			return "Read timeout expired"
		default:
			return "Connection error"
		}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxWebhookReplyBody))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return "Wrong response from the webhook: " + strconv.Itoa(resp.StatusCode) + " " + http.StatusText(resp.StatusCode)
	}
	s.replyInResponse(body)
	return ""
}

// replyInResponse performs the method a webhook answered with, as Telegram
// does for a reply in the webhook's response body.
// Telegram docs: https://core.telegram.org/bots/api#making-requests-when-getting-updates
func (s *Server) replyInResponse(body []byte) {
	var probe struct {
		Method string `json:"method"`
	}
	if json.Unmarshal(body, &probe) != nil || probe.Method == "" {
		return
	}
	req, err := http.NewRequestWithContext(s.base, http.MethodPost, "/bot"+s.opts.token+"/"+url.PathEscape(probe.Method), bytes.NewReader(body))
	if err != nil {
		return
	}
	req.Header.Set("Content-Type", "application/json")
	_, _ = serveInMemory(s.Handler(), req)
}
