package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Telegram is a scheduler for sends to Telegram: per chat, per group,
// bot-wide and the paid-broadcast ceiling, with lanes and 429 feedback. It
// satisfies botapi.Limiter, so botapi.WithLimiter(t) makes a client wait on
// it before every method that posts to a chat.
//
// Chat ids follow the Bot API: positive ids are private chats (the chat
// limit), negative ids are groups, supergroups and channels (the chat limit
// and the group limit), 0 is a call not tied to a chat (bot-wide limits
// only).
//
// A Telegram is safe for concurrent use by multiple goroutines. Use
// [NewTelegram]; the zero value is not usable.
//
// Telegram docs: https://core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this
type Telegram struct {
	store Store
	clock func() time.Time

	limits     [4]Limit // chat, group, global, paid
	cs         atomic.Pointer[cellSet]
	adaptMu    sync.Mutex
	margin     time.Duration // the configured margin, where calm brings it back
	maxMargin  time.Duration
	marginStep time.Duration
	raised     atomic.Int64 // unix ns of the last 429 or step down
	spare      int
	minRTT     atomic.Int64 // fastest send seen through Admit, ns; 0: none yet
	lateHolds  atomic.Int64 // bot-wide slots held for overdue sends (margin.go)

	admitMu sync.Mutex
	admits  map[int64]map[*admission]struct{} // sends in flight by chat, from Admit

	evidenceChats  int
	evidenceWithin time.Duration
	mu             sync.Mutex
	floods         []flood

	bulkTurn, paidTurn chan struct{} // FIFO turn at the bot-wide stage
	interactive        atomic.Int64  // interactive waiters at that stage

	backoffs, pauses atomic.Int64

	observer Observer     // nil: no observation (observe.go)
	waiting  atomic.Int64 // Waits in progress, counted with an observer
}

// cellSet is the scheduler's limits in GCRA form, with the margin
// applied; replaced as a whole when the margin adapts.
type cellSet struct {
	chat, group, global, paid Cell // templates; Key.ID is set per call
	zero                      [3][]Cell
	margin                    time.Duration
}

// newCellSet builds the cells of limits with every window stretched by
// margin, and spare sends of each bot-wide window left free.
func newCellSet(limits [4]Limit, margin time.Duration, spare int) *cellSet {
	cell := func(k Kind, l Limit) Cell {
		l.Window += margin
		if k == KindGlobal || k == KindPaid {
			l.N -= spare
		}
		g := l.cell()
		return Cell{Key: Key{Kind: k}, Interval: time.Duration(g.interval), Tolerance: time.Duration(g.tolerance)}
	}
	cs := &cellSet{
		chat:   cell(KindChat, limits[0]),
		group:  cell(KindGroup, limits[1]),
		global: cell(KindGlobal, limits[2]),
		paid:   cell(KindPaid, limits[3]),
		margin: margin,
	}
	for _, l := range []Lane{Interactive, Bulk, Paid} {
		var buf [4]Cell
		c, _ := cs.cells(&buf, 0, l)
		cs.zero[l] = append([]Cell(nil), c...)
	}
	return cs
}

// cellBufs holds the cell arrays of calls in progress: a slice handed to
// a Store (an interface) escapes, and a send should not allocate for it.
var cellBufs = sync.Pool{New: func() any { return new([4]Cell) }}

type flood struct {
	at   time.Time
	chat int64
}

// NewTelegram returns a scheduler with Telegram's published limits
// ([ChatLimit], [GroupLimit], [GlobalLimit], [PaidLimit]) unless options
// say otherwise. It fails when a limit is invalid.
func NewTelegram(opts ...Option) (*Telegram, error) {
	o := newOptions(opts)
	for _, l := range []Limit{o.chat, o.group, o.global, o.paid} {
		if err := l.valid(); err != nil {
			return nil, err
		}
	}
	if o.evidenceChats < 1 || o.evidenceWithin < 0 {
		return nil, fmt.Errorf("ratelimit: invalid flood evidence %d chats within %v", o.evidenceChats, o.evidenceWithin)
	}
	if o.margin < 0 || o.maxMargin < o.margin {
		return nil, fmt.Errorf("ratelimit: invalid margin %v (adapting up to %v)", o.margin, o.maxMargin)
	}
	for _, l := range []Limit{o.global, o.paid} {
		if o.spare < 0 || l.N-o.spare < max(l.Burst, 1) {
			return nil, fmt.Errorf("ratelimit: invalid spare %d for the limit %v", o.spare, l)
		}
	}
	if o.store == nil {
		o.store = NewMemoryStore()
	}
	s := &Telegram{
		store:          o.store,
		clock:          o.clock,
		limits:         [4]Limit{o.chat, o.group, o.global, o.paid},
		margin:         o.margin,
		maxMargin:      o.maxMargin,
		spare:          o.spare,
		marginStep:     marginStep,
		admits:         map[int64]map[*admission]struct{}{},
		evidenceChats:  o.evidenceChats,
		evidenceWithin: o.evidenceWithin,
		bulkTurn:       make(chan struct{}, 1),
		paidTurn:       make(chan struct{}, 1),
		observer:       o.observer,
	}
	s.cs.Store(newCellSet(s.limits, o.margin, o.spare))
	return s, nil
}

// cells fills buf with the cells a send to chatID in lane must pass, chat
// cells first, and returns them with the number of chat cells.
func (s *cellSet) cells(buf *[4]Cell, chatID int64, lane Lane) ([]Cell, int) {
	n := 0
	if chatID != 0 {
		buf[n] = s.chat
		buf[n].Key.ID = chatID
		n++
		if chatID < 0 {
			buf[n] = s.group
			buf[n].Key.ID = chatID
			n++
		}
	}
	nChat := n
	if lane != Paid {
		buf[n] = s.global
		n++
	}
	buf[n] = s.paid
	n++
	return buf[:n], nChat
}

func (s *Telegram) cellsFor(buf *[4]Cell, chatID int64, lane Lane) ([]Cell, int) {
	cs := s.cs.Load()
	if lane > Paid {
		lane = Bulk
	}
	if chatID == 0 {
		return cs.zero[lane], 0
	}
	return cs.cells(buf, chatID, lane)
}

func laneOf(ctx context.Context) Lane {
	l, _ := LaneFromContext(ctx)
	return l
}

// Wait blocks until a send to chatID is allowed by every limit, in the
// lane ctx carries ([Interactive] when none), and counts it. It returns
// ctx.Err() at once when ctx has ended or ends while waiting, and
// [ErrLimitExceeded] as soon as a wait would pass ctx's deadline; nothing
// is reserved before the send is allowed, so a failed wait holds nothing.
// A context from [WithAdmission] skips one wait.
//
// Waiters for one chat never delay sends to other chats: a waiter queues
// for the bot-wide slots only once its own chat's limits allow it to send.
// Bulk and paid waiters then take turns in arrival order; interactive
// waiters take the next bot-wide slot before any bulk waiter. No goroutine
// is started per waiter.
func (s *Telegram) Wait(ctx context.Context, chatID int64) (err error) {
	if s.observer != nil {
		defer s.observeWait(ctx, chatID, s.enterWait(), &err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if ok, err := admitted(ctx, chatID); ok || err != nil {
		return err
	}
	lane := laneOf(ctx)
	buf := cellBufs.Get().(*[4]Cell)
	defer cellBufs.Put(buf)
	cells, nChat := s.cellsFor(buf, chatID, lane)
	for {
		if nChat > 0 {
			v, err := s.store.Peek(ctx, s.clock(), cells[:nChat])
			if err != nil {
				return fmt.Errorf("%w: %w", ErrStore, err)
			}
			if !v.OK {
				if err := s.sleep(ctx, v.Wait); err != nil {
					return err
				}
				continue
			}
		}
		done, err := s.take(ctx, lane, cells, nChat)
		if done || err != nil {
			return err
		}
	}
}

// take waits for the bot-wide cells, in lane's turn, and takes every cell
// at once. It returns false without error when a chat cell stopped
// conforming meanwhile (another send to the chat, or a Backoff).
func (s *Telegram) take(ctx context.Context, lane Lane, cells []Cell, nChat int) (bool, error) {
	switch lane {
	case Interactive:
		s.interactive.Add(1)
		defer s.interactive.Add(-1)
	default:
		turn := s.bulkTurn
		if lane == Paid {
			turn = s.paidTurn
		}
		select {
		case turn <- struct{}{}:
		case <-ctx.Done():
			return false, ctx.Err()
		}
		defer func() { <-turn }()
	}
	for {
		if lane == Bulk && s.interactive.Load() > 0 {
			// Leave the next slot to the interactive waiters.
			if err := s.sleep(ctx, s.cs.Load().global.Interval); err != nil {
				return false, err
			}
			continue
		}
		now := s.clock()
		s.calm(now)
		v, err := s.store.Take(ctx, now, cells)
		if err != nil {
			return false, fmt.Errorf("%w: %w", ErrStore, err)
		}
		if v.OK {
			return true, nil
		}
		if v.Cell < nChat {
			return false, nil
		}
		if err := s.sleep(ctx, v.Wait); err != nil {
			return false, err
		}
	}
}

// sleep waits d or until ctx ends. It fails at once with
// [ErrLimitExceeded] when ctx's deadline comes before d has passed.
func (s *Telegram) sleep(ctx context.Context, d time.Duration) error {
	if dl, ok := ctx.Deadline(); ok && dl.Sub(s.clock()) < d {
		return ErrLimitExceeded
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Allow reports whether a send to chatID in lane is allowed now by every
// limit, and if so counts it. It never waits.
func (s *Telegram) Allow(chatID int64, lane Lane) bool {
	return s.AllowAt(chatID, lane, s.clock())
}

// AllowAt is Allow at time t. Lanes have no priority here: AllowAt is the
// explicit-time decision that Wait repeats.
func (s *Telegram) AllowAt(chatID int64, lane Lane, t time.Time) bool {
	if chatID == 0 { // no per-call cells: no allocation
		v, err := s.store.Take(context.Background(), t, s.cs.Load().zero[min(lane, Paid)])
		return err == nil && v.OK
	}
	buf := cellBufs.Get().(*[4]Cell)
	defer cellBufs.Put(buf)
	cells, _ := s.cellsFor(buf, chatID, lane)
	v, err := s.store.Take(context.Background(), t, cells)
	return err == nil && v.OK
}

// DelayAt returns how long after t a send to chatID in lane would be
// allowed, counting nothing.
func (s *Telegram) DelayAt(chatID int64, lane Lane, t time.Time) time.Duration {
	buf := cellBufs.Get().(*[4]Cell)
	defer cellBufs.Put(buf)
	cells, _ := s.cellsFor(buf, chatID, lane)
	v, err := s.store.Peek(context.Background(), t, cells)
	if err != nil || v.OK {
		return 0
	}
	return v.Wait
}

// ChatDelayAt returns how long after t chatID's own limits (and any
// Backoff on it) allow a send, ignoring the bot-wide ones; 0 means now. A
// dispatcher uses it to work on other chats meanwhile.
func (s *Telegram) ChatDelayAt(chatID int64, t time.Time) time.Duration {
	if chatID == 0 {
		return 0
	}
	buf := cellBufs.Get().(*[4]Cell)
	defer cellBufs.Put(buf)
	cells, nChat := s.cs.Load().cells(buf, chatID, Bulk)
	v, err := s.store.Peek(context.Background(), t, cells[:nChat])
	if err != nil || v.OK {
		return 0
	}
	return v.Wait
}

// ErrStore wraps a failure of the [Store].
var ErrStore = errors.New("ratelimit: store failed")

// Backoff reports Telegram's 429 for chatID with its retry_after: no send
// to chatID is allowed before now + retryAfter, while other chats keep
// going. chatID 0 (a call not tied to a chat) pauses the whole bot for
// retryAfter, and so do 429s on several chats at once (see
// [WithFloodEvidence]). A retryAfter below one second counts as one second.
//
// Telegram docs: https://core.telegram.org/bots/api#responseparameters
func (s *Telegram) Backoff(chatID int64, retryAfter time.Duration) {
	s.BackoffAt(chatID, retryAfter, s.clock())
}

// BackoffAt is Backoff at time t. It reports whether it paused the whole
// bot.
func (s *Telegram) BackoffAt(chatID int64, retryAfter time.Duration, t time.Time) bool {
	s.backoffs.Add(1)
	s.cancelAdmitted(chatID)
	cs := s.adapt()
	retryAfter = max(retryAfter, time.Second)
	until := t.Add(retryAfter)
	ctx := context.Background()
	if chatID != 0 {
		c := cs.chat
		c.Key.ID = chatID
		_ = s.store.Block(ctx, c, until) // Backoff has no error to return; a failing store fails the next Wait
		if !s.evidence(chatID, t) {
			s.observeBackoff(chatID, retryAfter, false)
			return false
		}
	}
	s.pauses.Add(1)
	_ = s.store.Block(ctx, cs.global, until)
	_ = s.store.Block(ctx, cs.paid, until)
	s.observeBackoff(chatID, retryAfter, true)
	return true
}

// evidence records a 429 on chat at t and reports whether enough distinct
// chats reported one within the evidence window.
func (s *Telegram) evidence(chat int64, t time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	keep := s.floods[:0]
	for _, f := range s.floods {
		if t.Sub(f.at) <= s.evidenceWithin && f.chat != chat {
			keep = append(keep, f)
		}
	}
	s.floods = append(keep, flood{at: t, chat: chat})
	if len(s.floods) >= s.evidenceChats {
		s.floods = s.floods[:0]
		return true
	}
	return false
}

// Stats counts what a Telegram has been told.
type Stats struct {
	// Backoffs is the number of Backoff calls (429s reported).
	Backoffs int64
	// Pauses is how many of them paused the whole bot.
	Pauses int64
	// Margin is the safety margin every window is stretched by now.
	Margin time.Duration
	// LateHolds is how many bot-wide slots were held for sends through
	// [Telegram.Admit] that were overdue (see [WithMargin]).
	LateHolds int64
}

// Stats returns the counters so far.
func (s *Telegram) Stats() Stats {
	return Stats{Backoffs: s.backoffs.Load(), Pauses: s.pauses.Load(), Margin: s.cs.Load().margin, LateHolds: s.lateHolds.Load()}
}
