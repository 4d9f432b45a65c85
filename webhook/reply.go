package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
)

// SetReply makes the webhook answer Telegram's delivery with a Bot API
// method call, so the bot acts without a request of its own (one round
// trip saved). ctx must be the context [NewHandler] passed to
// [UpdateHandler.HandleUpdate]; method is the method's name (for example
// "sendMessage") and params a value that encodes to a JSON object of its
// parameters (for example a *botapi.SendMessageParams), or nil. A later call
// replaces an earlier one.
//
// The reply is sent only if the handler returns nil, and only on that
// delivery: a duplicate is answered with an empty body, never a replay.
// Telegram does not report whether the call succeeded or what it returned,
// and a call that uploads a file cannot be sent this way; use the client for
// those. SetReply returns [ErrNoReply] outside a synchronous delivery (with
// [WithAsync] the answer has already been sent).
//
// Telegram docs: https://core.telegram.org/bots/api#making-requests-when-getting-updates
func SetReply(ctx context.Context, method string, params any) error {
	slot, ok := ctx.Value(replyKey{}).(*replySlot)
	if !ok {
		return ErrNoReply
	}
	if method == "" {
		return errors.New("webhook: SetReply with an empty method")
	}
	slot.method, slot.params = method, params
	return nil
}

type replyKey struct{}

type replySlot struct {
	method string
	params any
}

// encode returns the reply body {"method":"…", …params}, or nil for none.
// A params value that does not encode to a JSON object is dropped with a
// log line: the update itself was processed.
func (s *replySlot) encode(log *slog.Logger, updateID int64) []byte {
	if s.method == "" {
		return nil
	}
	m, _ := json.Marshal(s.method)
	out := append([]byte(`{"method":`), m...)
	if s.params == nil {
		return append(out, '}')
	}
	p, err := json.Marshal(s.params)
	p = bytes.TrimSpace(p)
	if err != nil || len(p) < 2 || p[0] != '{' {
		log.Error("webhook: reply dropped: params do not encode to a JSON object", "update_id", updateID, "method", s.method)
		return nil
	}
	if len(p) == 2 { // {}
		return append(out, '}')
	}
	out = append(out, ',')
	return append(out, p[1:]...)
}
