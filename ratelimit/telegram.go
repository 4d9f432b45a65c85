package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"math"
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
	missed           atomic.Int64  // slots lost to a late wake-up (Slot.Wait)
	reserveAhead     time.Duration // the store's RemoteStore.ReserveAhead, or 0

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
	if rs, ok := o.store.(RemoteStore); ok {
		s.reserveAhead = max(rs.ReserveAhead(), 0)
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
// [ErrLimitExceeded] as soon as a wait would pass ctx's deadline. The
// send's slot is reserved in the [Store] once it is near (see
// [Telegram.Reserve]): a wait that fails on its deadline holds nothing,
// one cancelled in its last stretch leaves its slot counted. A context
// from [WithAdmission] skips one wait.
//
// Waiters for one chat never delay sends to other chats: a waiter queues
// for the bot-wide slots only once its own chat's limits allow it to send.
// Bulk and paid waiters then take turns in arrival order; interactive
// waiters take the next bot-wide slot before any bulk waiter not yet
// holding one. No goroutine is started per waiter.
func (s *Telegram) Wait(ctx context.Context, chatID int64) (err error) {
	if s.observer != nil {
		defer s.observeWait(ctx, chatID, s.enterWait(), &err)
	}
	for {
		slot, err := s.reserveSend(ctx, chatID)
		if err != nil {
			return err
		}
		if err := slot.Wait(ctx); !errors.Is(err, ErrSlotMissed) {
			return err
		}
	}
}

// Reserve is Wait without its last sleep: it waits until the send to
// chatID is near, reserves its slot in the [Store] and returns it; the
// caller waits for it with [Slot.Wait], then sends. The send counts
// whether it is made or not. A caller that has other work meanwhile (the
// broadcast package picks its next entry) reserves instead of waiting, so
// that the next send's reservation need not wait for this one's slot.
// Errors are Wait's; a context from [WithAdmission] gives a slot that has
// come.
//
// A bulk or paid send is reserved no further ahead than its store's
// [RemoteStore.ReserveAhead] (0 for a [MemoryStore]: a slot is taken when
// it comes): far enough that the reservation reaches the store before the
// slot comes, near enough that an interactive send waits at most one
// bot-wide slot plus that behind bulk sends already holding theirs.
func (s *Telegram) Reserve(ctx context.Context, chatID int64) (_ Slot, err error) {
	if s.observer != nil {
		defer s.observeWait(ctx, chatID, s.enterWait(), &err)
	}
	return s.reserveSend(ctx, chatID)
}

// A Slot is the time of one send reserved with [Telegram.Reserve]. The
// zero Slot has come (Delay 0, Wait returns at once). A Slot is a value:
// copy it freely, wait for it once.
type Slot struct {
	at     time.Time     // on the scheduler's clock
	late   time.Duration // how far after at the send may still go
	clock  func() time.Time
	missed *atomic.Int64 // the scheduler's count of missed slots
}

// ErrSlotMissed is returned by [Slot.Wait] when the caller woke too late
// for its slot: the slot counted, and the send must be reserved again.
var ErrSlotMissed = errors.New("ratelimit: woke too late for the reserved slot")

// Delay returns how long until the slot, on the scheduler's clock; 0 once
// it has come.
func (sl Slot) Delay() time.Duration {
	if sl.clock == nil {
		return 0
	}
	return max(sl.at.Sub(sl.clock()), 0)
}

// Wait sleeps until the slot. It returns ctx.Err() when ctx has ended
// (whether the slot has come or not) or ends first, and [ErrSlotMissed]
// when it wakes more than half a bot-wide interval after the slot (a busy
// machine): the sends reserved after it may go on time, and sending now
// would crowd them closer than the limit allows. Its slot is then lost, as
// a slot taken late is lost to a waiter that does not reserve; the send is
// to be reserved again.
func (sl Slot) Wait(ctx context.Context) error {
	if err := ctx.Err(); err != nil || sl.clock == nil {
		return err
	}
	if err := pauseFor(ctx, sl.at.Sub(sl.clock())); err != nil {
		return err
	}
	if sl.clock().Sub(sl.at) > sl.late {
		if sl.missed != nil {
			sl.missed.Add(1)
		}
		return ErrSlotMissed
	}
	return nil
}

func (s *Telegram) reserveSend(ctx context.Context, chatID int64) (Slot, error) {
	if err := ctx.Err(); err != nil {
		return Slot{}, err
	}
	if ok, err := admitted(ctx, chatID); ok || err != nil {
		return Slot{}, err
	}
	lane := laneOf(ctx)
	buf := cellBufs.Get().(*[4]Cell)
	defer cellBufs.Put(buf)
	cells, nChat := s.cellsFor(buf, chatID, lane)
	for {
		v, err := s.reserve(ctx, lane, cells, nChat)
		if err != nil {
			return Slot{}, err
		}
		if v.OK {
			bw := cells[len(cells)-1] // the paid cell, or the global one before it
			if lane != Paid {
				bw = cells[len(cells)-2]
			}
			return Slot{at: s.clock().Add(v.Wait), late: bw.Interval / 2, clock: s.clock, missed: &s.missed}, nil
		}
		// Its chat is not ready: wait outside the bot-wide turn.
		if err := s.sleep(ctx, v.Wait); err != nil {
			return Slot{}, err
		}
	}
}

// reserve waits for the bot-wide cells, in lane's turn, and reserves every
// cell at once. It returns a verdict that is not OK when a chat cell does
// not conform (another send to the chat, or a Backoff), with its wait.
func (s *Telegram) reserve(ctx context.Context, lane Lane, cells []Cell, nChat int) (Verdict, error) {
	ahead := time.Duration(math.MaxInt64)
	switch lane {
	case Interactive:
		s.interactive.Add(1)
		defer s.interactive.Add(-1)
	default:
		ahead = s.reserveAhead
		turn := s.bulkTurn
		if lane == Paid {
			turn = s.paidTurn
		}
		select {
		case turn <- struct{}{}:
		case <-ctx.Done():
			return Verdict{}, ctx.Err()
		}
		defer func() { <-turn }()
	}
	for {
		if lane == Bulk && s.interactive.Load() > 0 {
			// Leave the next slot to the interactive waiters.
			if err := s.sleep(ctx, s.cs.Load().global.Interval); err != nil {
				return Verdict{}, err
			}
			continue
		}
		now := s.clock()
		s.calm(now)
		maxWait := ahead
		if dl, ok := ctx.Deadline(); ok {
			maxWait = min(maxWait, dl.Sub(now))
		}
		v, err := s.store.Reserve(ctx, now, cells, nChat, max(maxWait, 0))
		if err != nil {
			return Verdict{}, fmt.Errorf("%w: %w", ErrStore, err)
		}
		if v.OK || v.Cell < nChat {
			return v, nil
		}
		// The bot-wide slot is further than ahead: come back when it is
		// within reach (or fail now if that is past the deadline).
		if dl, ok := ctx.Deadline(); ok && dl.Sub(now) < v.Wait {
			return Verdict{}, ErrLimitExceeded
		}
		if err := s.sleep(ctx, v.Wait-ahead); err != nil {
			return Verdict{}, err
		}
	}
}

// sleep waits d or until ctx ends. It fails at once with
// [ErrLimitExceeded] when ctx's deadline comes before d has passed.
func (s *Telegram) sleep(ctx context.Context, d time.Duration) error {
	if dl, ok := ctx.Deadline(); ok && dl.Sub(s.clock()) < d {
		return ErrLimitExceeded
	}
	return pauseFor(ctx, d)
}

// pauseFor waits d or until ctx ends.
func pauseFor(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
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
	// Missed is how many reserved slots were lost because their waiter
	// woke too late for them (see [Slot.Wait]).
	Missed int64
}

// Stats returns the counters so far.
func (s *Telegram) Stats() Stats {
	return Stats{Backoffs: s.backoffs.Load(), Pauses: s.pauses.Load(), Margin: s.cs.Load().margin, LateHolds: s.lateHolds.Load(), Missed: s.missed.Load()}
}
