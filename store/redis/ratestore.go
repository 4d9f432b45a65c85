package redis

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/miniappkit/miniappkit/ratelimit"
)

// RateStore is a ratelimit.Store on the server, so that schedulers in
// several processes (replicas) share Telegram's limits: give each one
// ratelimit.WithStore(db.RateStore()).
//
// Each key is one string, <prefix>rl:{rl}:<kind>:<id>, holding its
// theoretical arrival time (GCRA) in microseconds on the server's clock
// and expiring when it holds no more information. A decision over a send's
// cells (chat, group, bot-wide) is one Lua script that reads the server's
// clock (TIME) and checks, and for Take advances, every cell at once: the
// replicas' own clocks play no part, so a replica whose clock runs ahead
// takes no more slots than the others. The keys share the hash tag {rl},
// so the script is cluster-safe (all of them live on one shard, which the
// bot-wide key makes hot in any case). Intervals are rounded up to whole
// microseconds, so the store errs on the strict side.
//
// Reservations, not ask-and-retry: the scheduler reserves each send's
// slot (ratelimit.Store.Reserve, the same script) up to 25 ms before its
// time ([RateStore.ReserveAhead]). The script finds the next free slot at
// TIME, advances the cells to it and returns the wait, so a send costs
// one round trip and the queue of reserved slots on the server runs ahead
// of the clock: a waiter's wake-up and its round trip no longer fall
// between two slots. (Asked and retried, a replica learnt its wait, slept,
// asked again and took the slot late; with GCRA that time is never
// caught up. Three replicas at Telegram's speed on a busy machine: 1.63 ×
// n/30 s that way, 1.36 reserving; docs/benchmarks.md has the runs.)
// 25 ms covers several round trips and a busy
// machine's wake-up, and stays under one slot at Telegram's 30 per second
// (33 ms), so an interactive send waits at most about one slot more behind
// bulk sends already holding theirs; every replica uses the same value,
// so none reserves earlier than the others. A reserved slot counts
// whether it is used or not (there is no cancelling: later slots are
// already handed out); a replica that wakes too late for its slot gives
// it up (ratelimit.ErrSlotMissed) rather than crowd the sends after it.
// Batching slots per replica would save round trips but lose every slot a
// replica holds and cannot use in time; pipelining needs several
// waiters, which reservations already allow (the broadcast package's
// workers reserve one after another and wait apart).
//
// What stays in each process, and why that is safe: the interactive
// lane's priority (a replica's replies go before its own bulk sends not
// yet holding a slot; across replicas the store's atomic decision still
// keeps every limit), the turn queue of its bulk waiters (fairness among a
// process's own waiters; across replicas the slots go to whoever reserves
// first once within reach, never more than the limit), the flood evidence of 429s on several chats (a
// replica that sees enough pauses the bot-wide keys in the store, which
// pauses every replica; evidence split between replicas is counted per
// replica, so a bot-wide pause may come later, never wrongly). The
// lateness of a replica's own sends is watched by that replica, but the
// room it keeps for an overdue send is held in the bot-wide keys here, so
// every replica leaves it free.
//
// When the server cannot be reached, or answers that it cannot serve now
// (READONLY after a failover, LOADING, MASTERDOWN, CLUSTERDOWN, TRYAGAIN,
// BUSY), a RateStore fails closed by default:
// Wait returns ratelimit.ErrStore and nothing is sent. With
// [WithRateFallback](n) it instead decides locally on 1/n of every limit
// (n being the number of replicas): every interval times n. Over time the
// replicas together stay within the limits while the server is down (for
// every replica: one that alone has lost it sends its share beside the
// others' full use of the server), but not in every window: a share cannot
// know how many sends a window holds, so when n does not divide a limit
// the replicas may together pass it by up to n - 1 in one window (the
// bot-wide 30 per second: 32 with 4 replicas, 35 with 7; exactly 30 with
// 2, 3, 5, 6 or 10), and a chat's one per second cannot be split (two
// replicas may each send to one chat within a second; a 429 then blocks
// that chat, see ratelimit.Telegram.Backoff).
// Once two calls in a row have found the server out of reach, the
// decisions stay local for a second (by the scheduler's clock) before one
// call tries the server again, the others staying local until it answers:
// against a server that hangs, each decision would otherwise wait out the
// client's ReadTimeout (3 s by default) before deciding locally, and a
// broadcast would crawl at one send per ReadTimeout per worker. (Two, not
// one: a single failed call on a healthy server does not make a second of
// sends that the server, and so the other replicas, do not see.)
// A Block (a 429's retry_after) decided locally is written to the server
// by the first call that finds it answering again, so that no replica
// goes on sending to the blocked chat.
//
// A RateStore is safe for concurrent use.
type RateStore struct {
	db       *DB
	replicas int // 0: fail closed

	mu    sync.Mutex
	local *ratelimit.MemoryStore // the fallback's state
	// fails counts the calls in a row that found the server out of reach.
	fails atomic.Int64
	// held is set, with a fallback, while decisions stay local until
	// holdUntil (a time of the callers' clock, compared on its monotonic
	// reading when it has one, so a step of the wall clock does not
	// stretch a hold-down).
	held      atomic.Bool
	holdMu    sync.Mutex
	holdUntil time.Time
	// pending holds the Blocks decided locally (the server out of reach,
	// or held down), to be written to the server once it answers: else
	// the server, and every replica deciding there, would go on sending
	// to a chat Telegram blocked. hasPending says it is not empty.
	hasPending atomic.Bool
	pendMu     sync.Mutex
	pending    map[ratelimit.Key]pendingBlock
}

// pendingBlock is a Block the server has not seen.
type pendingBlock struct {
	cell  ratelimit.Cell
	until time.Time
}

var _ ratelimit.RemoteStore = (*RateStore)(nil)

// A RateOption configures [DB.RateStore].
type RateOption func(*RateStore)

// WithRateFallback makes a [RateStore] decide locally on 1/replicas of
// each limit while the server cannot be reached, instead of failing
// closed (the default). replicas < 1 keeps the default.
func WithRateFallback(replicas int) RateOption {
	return func(s *RateStore) { s.replicas = max(replicas, 0) }
}

// RateStore returns the ratelimit.Store on the server, for
// ratelimit.WithStore.
func (db *DB) RateStore(opts ...RateOption) *RateStore {
	s := &RateStore{db: db}
	for _, opt := range opts {
		if opt != nil {
			opt(s)
		}
	}
	return s
}

// rateHoldDown is how long a RateStore with a fallback decides locally,
// without asking the server, after rateHoldAfter calls in a row found it
// out of reach.
const (
	rateHoldDown  = time.Second
	rateHoldAfter = 2
)

// heldDown reports whether a decision at now is to be made locally
// without asking the server: within rateHoldDown of the last outage. Past
// it, the first caller asks the server (the others stay local for another
// rateHoldDown unless it answers).
func (s *RateStore) heldDown(now time.Time) bool {
	if !s.held.Load() {
		return false
	}
	s.holdMu.Lock()
	defer s.holdMu.Unlock()
	if !s.held.Load() {
		return false
	}
	if now.Before(s.holdUntil) {
		return true
	}
	s.holdUntil = now.Add(rateHoldDown) // this call asks the server
	return false
}

// failed counts a call at now that found the server out of reach, and
// starts a hold-down when it is the rateHoldAfter-th in a row.
func (s *RateStore) failed(now time.Time) {
	if s.fails.Add(1) >= rateHoldAfter {
		s.holdMu.Lock()
		s.holdUntil = now.Add(rateHoldDown)
		s.held.Store(true)
		s.holdMu.Unlock()
	}
}

// localBlock is Block decided on the local share; the server gets it
// once it answers (see flush).
func (s *RateStore) localBlock(ctx context.Context, cell ratelimit.Cell, until time.Time) error {
	s.remember(cell, until)
	return s.localStore().Block(ctx, s.share(cell), until)
}

// remember keeps a Block for the server.
func (s *RateStore) remember(cell ratelimit.Cell, until time.Time) {
	s.pendMu.Lock()
	defer s.pendMu.Unlock()
	if s.pending == nil {
		s.pending = map[ratelimit.Key]pendingBlock{}
	}
	if b, ok := s.pending[cell.Key]; !ok || until.After(b.until) {
		s.pending[cell.Key] = pendingBlock{cell: cell, until: until}
	}
	s.hasPending.Store(true)
}

// flush writes to the server the Blocks decided locally, once a call
// found it answering again; those that fail are kept for the next.
func (s *RateStore) flush(ctx context.Context) {
	if !s.hasPending.Load() {
		return
	}
	s.pendMu.Lock()
	p := s.pending
	s.pending = nil
	s.hasPending.Store(false)
	s.pendMu.Unlock()
	for _, b := range p {
		rel := micro(time.Until(b.until))
		if rel <= 0 {
			continue
		}
		if err := blockScript.Run(ctx, s.db.c, []string{s.rateKey(b.cell.Key)}, rel, micro(b.cell.Tolerance)).Err(); err != nil {
			s.remember(b.cell, b.until)
		}
	}
}

// up ends a hold-down and the count of failures: the server answered.
func (s *RateStore) up() {
	if s.fails.Load() != 0 {
		s.fails.Store(0)
	}
	if s.held.Load() {
		s.holdMu.Lock()
		s.held.Store(false)
		s.holdMu.Unlock()
	}
}

// rateAhead is how far ahead of its time a scheduler reserves a send's
// slot on the server: several round trips and a busy machine's wake-up,
// less than one slot at Telegram's 30 per second (33 ms), so that an
// interactive send waits at most about one slot more behind bulk sends
// already holding theirs.
const rateAhead = 25 * time.Millisecond

// ReserveAhead implements ratelimit.RemoteStore: a scheduler reserves
// bulk and paid sends' slots up to 25 ms ahead, so that each send costs one
// round trip and no slot waits for a waiter's wake-up and its call.
func (s *RateStore) ReserveAhead() time.Duration { return rateAhead }

// rateKey is the key of k.
func (s *RateStore) rateKey(k ratelimit.Key) string {
	return s.db.prefix + "rl:{rl}:" + k.Kind.String() + ":" + strconv.FormatInt(k.ID, 10)
}

// The server's clock in microseconds, read inside a script.
const luaNowMicro = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
`

// rateScript: KEYS the cells' keys; ARGV[1] "take", "peek" or
// "reserve", ARGV[2] how many cells must conform now (ready), ARGV[3] the
// longest wait a reservation may have (µs), then per cell its interval and
// tolerance in µs. Returns {ok, wait µs, cell index (0-based)}: every cell
// conforms (and, for take, was advanced; for reserve, was advanced at now
// + wait), or the longest wait and its cell (among the ready cells when
// one of them does not conform). Take is reserve with every cell ready
// and no wait.
var rateScript = redis.NewScript(luaNowMicro + `
local ready, maxw = tonumber(ARGV[2]), tonumber(ARGV[3])
local ok, wait, cell = 1, 0, 0
local tats = {}
for i = 1, #KEYS do
	local tol = tonumber(ARGV[3+2*i])
	local tat = tonumber(redis.call('GET', KEYS[i]) or '0')
	if tat < now then tat = now end
	tats[i] = tat
	local w = tat - tol - now
	if w > 0 and (ok == 1 or w > wait) then
		ok, wait, cell = 0, w, i - 1
	end
	if i == ready and ok == 0 then
		return {0, string.format('%.0f', wait), cell}
	end
end
if ARGV[1] == 'peek' or (ok == 0 and wait > maxw) then
	return {ok, string.format('%.0f', wait), cell}
end
local at = now + wait
for i = 1, #KEYS do
	local tat = tats[i]
	if tat < at then tat = at end
	tat = tat + tonumber(ARGV[2+2*i])
	redis.call('SET', KEYS[i], string.format('%.0f', tat), 'PX', math.floor((tat - now) / 1000) + 1)
end
return {1, string.format('%.0f', wait), cell}
`)

// blockScript: KEYS[1]; ARGV until (µs after now on the server's clock)
// and tolerance µs. Raises the TAT to at least now + until + tolerance.
var blockScript = redis.NewScript(luaNowMicro + `
local tat = now + tonumber(ARGV[1]) + tonumber(ARGV[2])
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
if cur > tat then tat = cur end
redis.call('SET', KEYS[1], string.format('%.0f', tat), 'PX', math.floor((tat - now) / 1000) + 1)
return 1
`)

// micro rounds d up to whole microseconds.
func micro(d time.Duration) int64 { return int64((d + time.Microsecond - 1) / time.Microsecond) }

// Peek implements ratelimit.Store; now is ignored: the server's clock
// decides.
func (s *RateStore) Peek(ctx context.Context, now time.Time, cells []ratelimit.Cell) (ratelimit.Verdict, error) {
	return s.run(ctx, "peek", now, cells, 0, 0)
}

// Take implements ratelimit.Store; now is ignored: the server's clock
// decides.
func (s *RateStore) Take(ctx context.Context, now time.Time, cells []ratelimit.Cell) (ratelimit.Verdict, error) {
	return s.run(ctx, "take", now, cells, len(cells), 0)
}

// Reserve implements ratelimit.Store; now is ignored: the slot is found
// and the wait measured on the server's clock, in the same script, so one
// round trip reserves a send and the replicas' clocks play no part.
func (s *RateStore) Reserve(ctx context.Context, now time.Time, cells []ratelimit.Cell, ready int, maxWait time.Duration) (ratelimit.Verdict, error) {
	return s.run(ctx, "reserve", now, cells, ready, maxWait)
}

func (s *RateStore) run(ctx context.Context, op string, now time.Time, cells []ratelimit.Cell, ready int, maxWait time.Duration) (ratelimit.Verdict, error) {
	if s.db.err != nil {
		return ratelimit.Verdict{}, s.db.err
	}
	if s.replicas > 0 && s.heldDown(now) {
		if err := ctx.Err(); err != nil {
			return ratelimit.Verdict{}, wrap("rate "+op, err)
		}
		return s.localRun(op, now, cells, ready, maxWait)
	}
	var kb [4]string
	var ab [11]any
	keys, args := kb[:0], append(ab[:0], op, ready, int64(maxWait/time.Microsecond))
	for _, c := range cells {
		keys = append(keys, s.rateKey(c.Key))
		args = append(args, micro(c.Interval), micro(c.Tolerance))
	}
	res, err := rateScript.Run(ctx, s.db.c, keys, args...).Slice()
	if err != nil {
		if s.fallback(ctx, err) {
			s.failed(now)
			return s.localRun(op, now, cells, ready, maxWait)
		}
		return ratelimit.Verdict{}, wrap("rate "+op, err)
	}
	s.up()
	s.flush(ctx)
	if len(res) != 3 {
		return ratelimit.Verdict{}, fmt.Errorf("redis: rate %s: unexpected reply %v", op, res)
	}
	ok, _ := res[0].(int64)
	ws, _ := res[1].(string)
	w, err := strconv.ParseInt(ws, 10, 64)
	if err != nil {
		return ratelimit.Verdict{}, fmt.Errorf("redis: rate %s: unexpected wait %q", op, ws)
	}
	cell, _ := res[2].(int64)
	if ok == 1 {
		return ratelimit.Verdict{OK: true, Wait: time.Duration(w) * time.Microsecond}, nil
	}
	return ratelimit.Verdict{Wait: time.Duration(w) * time.Microsecond, Cell: int(cell)}, nil
}

// Block implements ratelimit.Store. until is taken relative to the
// process's clock (until - time.Now()) and applied on the server's.
func (s *RateStore) Block(ctx context.Context, cell ratelimit.Cell, until time.Time) error {
	if s.db.err != nil {
		return s.db.err
	}
	now := time.Now()
	if s.replicas > 0 && s.heldDown(now) {
		if err := ctx.Err(); err != nil {
			return wrap("rate block", err)
		}
		return s.localBlock(ctx, cell, until)
	}
	rel := max(micro(until.Sub(now)), 0)
	err := blockScript.Run(ctx, s.db.c, []string{s.rateKey(cell.Key)}, rel, micro(cell.Tolerance)).Err()
	if err != nil {
		if s.fallback(ctx, err) {
			s.failed(now)
			return s.localBlock(ctx, cell, until)
		}
		return wrap("rate block", err)
	}
	s.up()
	s.flush(ctx)
	return nil
}

// fallback reports whether err is the server being out of reach (not a
// cancelled ctx) and the store is to decide locally.
func (s *RateStore) fallback(ctx context.Context, err error) bool {
	if s.replicas < 1 || ctx.Err() != nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var rerr redis.Error
	if !errors.As(err, &rerr) {
		return true // no reply: the connection failed
	}
	// A reply is an outage only when it says the server cannot serve
	// now: a replica after a failover, a server loading its data, a
	// cluster without quorum or mid-resharding, a script running long.
	code, _, _ := strings.Cut(rerr.Error(), " ")
	switch code {
	case "READONLY", "LOADING", "MASTERDOWN", "CLUSTERDOWN", "TRYAGAIN", "BUSY":
		return true
	}
	return false
}

func (s *RateStore) localStore() *ratelimit.MemoryStore {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.local == nil {
		s.local = ratelimit.NewMemoryStore()
	}
	return s.local
}

// share is cell at 1/replicas of its limit: replicas times the interval,
// the same burst.
func (s *RateStore) share(c ratelimit.Cell) ratelimit.Cell {
	n := time.Duration(s.replicas)
	c.Interval *= n
	c.Tolerance *= n
	return c
}

// localRun decides on the local share while the server is out of reach.
func (s *RateStore) localRun(op string, now time.Time, cells []ratelimit.Cell, ready int, maxWait time.Duration) (ratelimit.Verdict, error) {
	var buf [4]ratelimit.Cell
	local := buf[:0]
	for _, c := range cells {
		local = append(local, s.share(c))
	}
	switch op {
	case "take":
		return s.localStore().Take(context.Background(), now, local)
	case "reserve":
		return s.localStore().Reserve(context.Background(), now, local, ready, maxWait)
	}
	return s.localStore().Peek(context.Background(), now, local)
}
