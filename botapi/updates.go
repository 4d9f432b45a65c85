package botapi

import (
	"context"
	"encoding/json"
	"errors"
	"iter"
	"log/slog"
	"time"
)

// Long-polling defaults.
const (
	// DefaultPollTimeout is the long-poll timeout of [Client.Updates]:
	// Telegram holds each getUpdates open this long when there is nothing
	// to deliver.
	DefaultPollTimeout = 30 * time.Second
	// MaxPollTimeout is the longest long poll Telegram's server holds: a
	// longer getUpdates timeout is cut to it.
	MaxPollTimeout = 50 * time.Second
	// PollMargin is added to the long-poll timeout to make the deadline of
	// each getUpdates of [Client.Updates]: the time an answer may take on
	// top of the wait. A connection that died without a word (a NAT
	// dropping it, a peer gone) is noticed when it passes, not when TCP
	// gives up minutes later.
	PollMargin = 10 * time.Second
	// confirmTimeout bounds the call that confirms the last yielded update
	// when [Client.Updates] stops.
	confirmTimeout = 5 * time.Second
)

// UpdatesOptions configures [Client.Updates], which copies it. The zero
// value (and nil) long polls for up to 100 updates at a time, with the
// allowed update kinds of the previous call.
type UpdatesOptions struct {
	// Offset is the update_id to start from. 0 means the oldest update
	// Telegram has not seen confirmed.
	Offset int64
	// Limit is the number of updates fetched per getUpdates, 1-100.
	// 0 means 100.
	Limit int
	// Timeout is the long-poll timeout, in whole seconds (a fraction of a
	// second is rounded up to 1 s, so that polling never spins). 0 means
	// DefaultPollTimeout; a negative value polls without waiting (short
	// polling, for tests); a value over MaxPollTimeout is cut to it. Each
	// getUpdates must end within Timeout + [PollMargin], or it fails with
	// an error matching context.DeadlineExceeded and is polled again. An
	// http.Client given to [WithHTTPClient] must have a longer Timeout, or
	// none.
	Timeout time.Duration
	// AllowedUpdates lists the update kinds to receive ("message",
	// "callback_query", ...). nil keeps the previous setting; an empty,
	// non-nil list means every kind except chat_member,
	// message_reaction and message_reaction_count.
	AllowedUpdates []string
	// Backoff returns the wait after the n-th consecutive failed getUpdates
	// (on top of the client's own retries). nil means [DefaultBackoff].
	Backoff func(n int) time.Duration
}

// Updates long-polls getUpdates and yields each update once, in order.
//
// Offsets: the iterator asks for the updates after the last one it yielded,
// which tells Telegram the earlier ones are handled. An update counts as
// yielded when the loop body returns for it, including by break; an update
// whose body panics is not confirmed and comes again. When the loop stops
// (break, return, or ctx ending), the iterator confirms the updates it
// yielded with one short getUpdates call (at most 5 s, even after ctx has
// ended), so the next poller neither repeats them nor loses the ones it did
// not yield.
//
// Errors: a failed getUpdates (after the client's retries) is yielded as
// (nil, err); the iterator then waits Backoff and polls again, unless the
// body breaks. An update of a batch that does not decode (a field that
// does not fit its Go type) or whose kind this package does not know is
// yielded in its place as (nil, *[UpdateDecodeError]), which carries its
// update_id and raw JSON; it counts as yielded, and the rest of the batch
// follows. A batch that moves the offset nowhere (no update_id could be
// read) is followed by the Backoff wait of a failed poll. [ErrUnauthorized] and [ErrNotFound] (a bad token) end the
// iteration after being yielded; [ErrConflict] (a webhook is set, or another
// poller runs) does not. When ctx ends, the iteration ends without an error.
//
// Only one poller per bot may run: Telegram answers a second with 409.
//
//	for u, err := range c.Updates(ctx, nil) {
//		if err != nil {
//			log.Print(err)
//			continue
//		}
//		handle(u)
//	}
//
// Telegram docs: https://core.telegram.org/bots/api#getupdates
func (c *Client) Updates(ctx context.Context, opts *UpdatesOptions) iter.Seq2[*Update, error] {
	var o UpdatesOptions
	if opts != nil {
		o = *opts
		o.AllowedUpdates = append([]string(nil), opts.AllowedUpdates...)
		if opts.AllowedUpdates != nil && o.AllowedUpdates == nil {
			o.AllowedUpdates = []string{}
		}
	}
	if o.Limit <= 0 || o.Limit > 100 {
		o.Limit = 100
	}
	switch {
	case o.Timeout == 0:
		o.Timeout = DefaultPollTimeout
	case o.Timeout < 0:
		o.Timeout = 0
	case o.Timeout < time.Second:
		o.Timeout = time.Second
	case o.Timeout > MaxPollTimeout:
		o.Timeout = MaxPollTimeout
	}
	if o.Backoff == nil {
		o.Backoff = DefaultBackoff
	}
	return func(yield func(*Update, error) bool) {
		p := &poller{c: c, next: o.Offset, seen: o.Offset}
		defer p.confirm(ctx)
		failures := 0
		open := false // the breaker refused the last poll
		for {
			if ctx.Err() != nil {
				return
			}
			params := &GetUpdatesParams{
				Offset:         p.next,
				Limit:          o.Limit,
				Timeout:        int(o.Timeout / time.Second),
				AllowedUpdates: o.AllowedUpdates,
			}
			batch := &updateBatch{wire: make([]updateWire, 0, o.Limit)}
			pctx, cancel := context.WithTimeout(ctx, o.Timeout+PollMargin)
			err := c.do(pctx, "getUpdates", params, batch)
			cancel()
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				if errors.Is(err, ErrCircuitOpen) {
					// Wait for the breaker: yield the first refusal, then ask
					// again every BreakerPollInterval, quietly.
					if !open && !yield(nil, err) {
						return
					}
					open = true
					if sleepCtx(ctx, BreakerPollInterval) != nil {
						return
					}
					continue
				}
				open = false
				failures++
				if !yield(nil, err) {
					return
				}
				if errors.Is(err, ErrUnauthorized) || errors.Is(err, ErrNotFound) {
					return
				}
				if sleepCtx(ctx, o.Backoff(failures)) != nil {
					return
				}
				continue
			}
			open = false
			p.seen = p.next // Telegram has now seen this offset
			before := p.next
			for _, it := range batch.items {
				id := it.id()
				if id != 0 && id < p.next {
					continue // never yield an update twice
				}
				if ctx.Err() != nil {
					return // the rest is not confirmed: it comes again
				}
				var more bool
				if it.err != nil {
					more = yield(nil, it.err)
				} else {
					more = yield(it.u, nil)
				}
				if id != 0 { // 0: an update_id that could not be read
					p.next = max(p.next, id+1)
				}
				if !more {
					return
				}
			}
			if len(batch.items) == 0 || p.next != before {
				failures = 0
				continue
			}
			// Updates came, but none gave an update_id past the offset:
			// the same batch would come again at once. Wait as after a
			// failed poll.
			failures++
			if sleepCtx(ctx, o.Backoff(failures)) != nil {
				return
			}
		}
	}
}

// poller tracks the offsets of one Updates iteration.
type poller struct {
	c    *Client
	next int64 // the offset to ask for: one past the last yielded update
	seen int64 // the last offset Telegram received
}

// confirm tells Telegram the yielded updates are handled, if the last
// getUpdates did not already. It asks for at most one update without waiting;
// the update it may return is not confirmed, so it is not lost.
func (p *poller) confirm(ctx context.Context) {
	if p.next == p.seen {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), confirmTimeout)
	defer cancel()
	var batch []json.RawMessage // not looked at: only the offset matters
	err := p.c.do(ctx, "getUpdates", &GetUpdatesParams{Offset: p.next, Limit: 1}, &batch)
	if err != nil {
		p.c.log.LogAttrs(ctx, slog.LevelWarn, "botapi: could not confirm the last updates; they will be delivered again",
			slog.Int64("offset", p.next), slog.String("error", err.Error()))
		return
	}
	p.seen = p.next
}
