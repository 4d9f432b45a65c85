package broadcast

import (
	"container/heap"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"math/bits"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/miniappkit/miniappkit/botapi"
	"github.com/miniappkit/miniappkit/ratelimit"
)

// Outcome is how one send of a broadcast ended. Every send ends in exactly
// one outcome.
type Outcome uint8

const (
	// Delivered: Telegram accepted the message.
	Delivered Outcome = iota + 1
	// Permanent: Telegram refused the message for a reason that a resend
	// will not cure: 403 (the user blocked the bot or is deactivated, the
	// bot was kicked) or 400 (chat not found, bad parameters).
	Permanent
	// Migrated: the group became a supergroup (400 with
	// migrate_to_chat_id); the message was resent once to the new chat and
	// delivered there. [Result.MigratedTo] is the new id.
	Migrated
	// Unknown: the request may or may not have reached Telegram (a 5xx
	// answer, a proxy's 502 page, a connection reset after the request was
	// written, a timeout). It is never resent automatically, because a
	// resend may deliver the message twice.
	Unknown
)

// String returns the outcome's name.
func (o Outcome) String() string {
	switch o {
	case Delivered:
		return "delivered"
	case Permanent:
		return "permanent"
	case Migrated:
		return "migrated"
	case Unknown:
		return "unknown"
	}
	return "invalid"
}

// Result is the outcome of the send to one entry of the chat list.
type Result struct {
	// Index is the entry's position in the chat list.
	Index int
	// ChatID is the entry's chat.
	ChatID int64
	// Outcome is how the send ended.
	Outcome Outcome
	// MigratedTo is the supergroup's id when the chat had migrated (then
	// Outcome is Migrated, or the outcome of the resend).
	MigratedTo int64
	// Err is the send's error, for Permanent and Unknown.
	Err error
}

// Progress is a snapshot of a running broadcast, given to the progress
// callback after every finished send.
type Progress struct {
	// Total is the length of the chat list; Done counts the entries
	// finished, including those a resumed cursor skipped.
	Total, Done int
	// Delivered, Permanent, Migrated and Unknown count the entries
	// finished in this run, by outcome.
	Delivered, Permanent, Migrated, Unknown int
	// Elapsed is the time since the run started, on its clock.
	Elapsed time.Duration

	r *run
}

// Cursor returns where the broadcast stands, to save (it encodes to JSON)
// and give to [WithCursor] after a crash. It is valid only during the
// callback.
func (p Progress) Cursor() Cursor {
	if p.r == nil {
		return Cursor{}
	}
	p.r.mu.Lock()
	defer p.r.mu.Unlock()
	return p.r.cursor()
}

// Summary counts a finished (or cancelled) run's outcomes.
type Summary struct {
	// Total is the length of the chat list; Done counts the entries
	// finished, including those a resumed cursor skipped.
	Total, Done int
	// The sends finished in this run, by outcome.
	Delivered, Permanent, Migrated, Unknown int
	// Cursor is where the run stopped: give it to [WithCursor] to resume.
	Cursor Cursor
}

// Cursor is a resumable position in a chat list: every entry before Next
// is finished, and so are the entries in the runs of Done (each [from, to),
// sorted, at or after Next). Entries finish out of order (several sends
// are in flight, a chat listed twice is sent to one at a time, a chat
// answering 429 waits its retry_after), so Done holds the runs finished
// past the first unfinished entry: a handful, however long the wait. List
// is the fingerprint of the chat list the cursor belongs to; resuming
// another list with it fails with [ErrCursorMismatch]. It encodes to JSON
// as is.
type Cursor struct {
	Next int      `json:"next"`
	Done [][2]int `json:"done,omitempty"`
	List string   `json:"list,omitempty"`
}

// Fingerprint returns the fingerprint of a chat list that a [Cursor]
// carries: FNV-1a (64 bits) of the ids in order, in hex.
func Fingerprint(chats []int64) string {
	h := fnv.New64a()
	var b [8]byte
	for _, c := range chats {
		binary.LittleEndian.PutUint64(b[:], uint64(c))
		h.Write(b[:])
	}
	return strconv.FormatUint(h.Sum64(), 16)
}

// ErrCursorMismatch is returned by [Run] when the cursor given with
// [WithCursor] was made for another chat list.
var ErrCursorMismatch = errors.New("broadcast: the cursor belongs to another chat list")

// SendFunc sends the broadcast's message to one chat. It should use a
// botapi client configured with the same scheduler
// (botapi.WithLimiter(sched)) and pass ctx through: ctx carries the lane
// and the admission of the wait the broadcast already made (see
// ratelimit.Telegram.Admit), which allows the client exactly one request:
// a 429 or a failed connect comes back to the broadcast, which sends again
// when the scheduler allows. (With RetryPolicy.RetryUnsafe a send whose
// request may have landed, a 5xx or a reset, ends Unknown: its retry is
// refused, and the entry is not sent again.) Make one call per chat: a
// second call with ctx is refused as such a retry would be
// (ratelimit.ErrAdmissionUsed), which reads as "not sent", so the entry is
// sent again and the first call's message arrives twice. To send a photo
// with text, send one message (a caption, or sendMediaGroup).
type SendFunc func(ctx context.Context, chatID int64) error

// Message returns a SendFunc that sends p to each chat with c, setting
// p.ChatID per chat and, in the paid lane, p.AllowPaidBroadcast. p is
// copied; the caller may reuse it.
func Message(c *botapi.Client, p botapi.SendMessageParams) SendFunc {
	return func(ctx context.Context, chatID int64) error {
		q := p
		q.ChatID = botapi.ChatID{ID: chatID}
		if lane, _ := ratelimit.LaneFromContext(ctx); lane == ratelimit.Paid {
			q.AllowPaidBroadcast = true
		}
		_, err := c.SendMessage(ctx, &q)
		return err
	}
}

// Option configures [Run].
type Option func(*options)

type options struct {
	concurrency int
	lane        ratelimit.Lane
	cursor      Cursor
	progress    func(Progress)
	result      func(Result)
	timeout     time.Duration
	clock       func() time.Time
	log         Log
	logID       string
	logSet      bool // WithLog was given, so log must not be nil
	lease       time.Duration
	observer    Observer
}

// DefaultConcurrency is how many sends are in flight at once unless
// [WithConcurrency] says otherwise: enough for 30 sends/s over a round
// trip of up to half a second.
const DefaultConcurrency = 16

// WithConcurrency sets how many sends are in flight at once (at least 1).
// The default is [DefaultConcurrency]; the paid lane (1000/s) needs about
// 1000 × the round trip, e.g. 200 for 200 ms.
func WithConcurrency(n int) Option { return func(o *options) { o.concurrency = max(n, 1) } }

// WithLane sets the lane of the sends: [ratelimit.Bulk] (the default) or
// [ratelimit.Paid] (allow_paid_broadcast, up to 1000/s, paid in Stars
// above the free limit). [Run] fails with any other lane (a broadcast in
// the interactive lane would take the slots of replies to users).
func WithLane(l ratelimit.Lane) Option { return func(o *options) { o.lane = l } }

// WithCursor resumes a broadcast: entries the cursor marks finished are
// skipped. The default is the start of the list.
func WithCursor(c Cursor) Option { return func(o *options) { o.cursor = c } }

// WithProgress sets a callback called after every finished send, from the
// goroutine that finished it, one call at a time. Keep it short.
func WithProgress(f func(Progress)) Option { return func(o *options) { o.progress = f } }

// WithResult sets a callback called with every send's result, one call at
// a time, before the progress callback of the same send.
func WithResult(f func(Result)) Option { return func(o *options) { o.result = f } }

// WithSendTimeout bounds one send once it has been admitted by the
// scheduler, retries of the botapi client included (a send that times out
// is Unknown). The default is two minutes; [Run] fails when d <= 0.
func WithSendTimeout(d time.Duration) Option { return func(o *options) { o.timeout = d } }

// WithClock sets the clock of [Progress.Elapsed] and of the decisions on
// when a chat is ready again; give the scheduler's clock (see
// ratelimit.WithClock). The default is time.Now; [Run] fails with nil.
func WithClock(now func() time.Time) Option { return func(o *options) { o.clock = now } }

// valid reports an option that cannot work, so that Run fails before it
// sends anything: a send timeout of 0 or less expires every send before
// its request (each entry would end Unknown, never to be sent); a nil Log
// would run the broadcast without the record that keeps a resumed run
// from sending an entry twice.
func (o *options) valid() error {
	if o.timeout <= 0 {
		return fmt.Errorf("broadcast: the send timeout must be positive, got %v", o.timeout)
	}
	if o.clock == nil {
		return errors.New("broadcast: no clock (WithClock(nil))")
	}
	if o.lane != ratelimit.Bulk && o.lane != ratelimit.Paid {
		return fmt.Errorf("broadcast: the lane must be bulk or paid, got %v", o.lane)
	}
	if o.logSet && o.log == nil {
		// Running without the log asked for would resend after a crash.
		return errors.New("broadcast: WithLog given a nil Log")
	}
	return nil
}

// ErrNoScheduler is returned by [Run] without a scheduler or a SendFunc.
var ErrNoScheduler = errors.New("broadcast: no scheduler")

// Run sends to every chat in chats, as fast as sched allows and never
// faster, with several sends in flight, and returns when every entry is
// finished or ctx ends.
//
// Each entry ends in exactly one [Outcome], reported to the [WithResult]
// callback. A 429 and a failed connect are not outcomes (nothing was
// delivered): the entry goes back to the scheduling, to be sent again once
// its chat's wait is over, and the worker moves on to other chats. Nor is
// a call the client's circuit breaker refused (botapi.ErrCircuitOpen):
// the run pauses for botapi.BreakerPollInterval, then sends the entry. A chat
// listed more than once gets its sends one at a time, so its entries never
// hold up the others.
//
// A panic in a callback or the SendFunc stops the run as a cancel does;
// once the sends in flight have finished (and been recorded) and the lease
// is given back, Run panics with the same value, on the caller's
// goroutine.
//
// When ctx ends, waits stop at once and no new request starts; requests
// already made (which may have reached Telegram) run to their end, so
// their outcome is known, and Run returns ctx.Err() with the Summary and
// its Cursor: resuming from it sends every unfinished entry (those that
// got a 429 included) once and no finished one again.
//
// A send Telegram refuses with 401 or 404 (a wrong or revoked token) or
// that the client refuses for its configuration (botapi.ErrConfig) proves
// the bot cannot send at all: Run stops as it does on a cancel, the entry
// unfinished, and returns an error wrapping the send's (errors.Is(err,
// botapi.ErrUnauthorized)), so that a run resumed once the bot is fixed
// sends the rest.
//
// With [WithLog], the run holds its broadcast id for as long as it runs
// (see [Log]): Run fails at once, sending nothing, with [ErrRunning]
// while another run holds it, and stops as it does on a cancel, returning
// an error matching [ErrLeaseLost], when another run has taken it over.
func Run(ctx context.Context, sched *ratelimit.Telegram, chats []int64, send SendFunc, opts ...Option) (Summary, error) {
	if sched == nil || send == nil {
		return Summary{}, ErrNoScheduler
	}
	o := options{concurrency: DefaultConcurrency, lane: ratelimit.Bulk, timeout: 2 * time.Minute, clock: time.Now, lease: DefaultLease}
	for _, opt := range opts {
		opt(&o)
	}
	if err := o.valid(); err != nil {
		return Summary{Total: len(chats)}, err
	}
	fp := Fingerprint(chats)
	if o.cursor.List != "" && o.cursor.List != fp {
		return Summary{Total: len(chats)}, ErrCursorMismatch
	}
	var (
		logged []LogEntry
		token  string
	)
	if o.log != nil {
		if o.lease < minLease {
			return Summary{Total: len(chats)}, fmt.Errorf("broadcast: the lease must be at least %v, got %v", minLease, o.lease)
		}
		token = newRunToken()
		var err error
		if logged, err = o.log.Open(ctx, o.logID, fp, token, o.lease); err != nil {
			if !errors.Is(err, ErrRunning) && !errors.Is(err, ErrCursorMismatch) {
				// The engine may have taken the lease and lost the reply
				// (a reset after the commit): give it back, fenced by this
				// run's token, so the next run need not wait out a lease
				// held by a run that never started.
				releaseLease(ctx, o, token)
			}
			return Summary{Total: len(chats)}, fmt.Errorf("broadcast: opening the log: %w", err)
		}
	}
	// The workers stop when ctx ends or the run loses its lease.
	wctx, lose := context.WithCancelCause(ctx)
	defer lose(nil)
	r := newRun(chats, o, logged)
	r.sched, r.send, r.list, r.token, r.lose = sched, send, fp, token, lose
	stopRenewing := r.keepLease(ctx)
	func() {
		defer r.recoverPanic()
		for _, e := range logged {
			if e.Outcome == 0 && e.Index >= 0 && e.Index < len(chats) {
				// In flight when the last run stopped: never resent.
				r.logFinish(ctx, e.Index, Unknown)
				r.report(Result{Index: e.Index, ChatID: chats[e.Index], Outcome: Unknown, Err: ErrInterrupted})
			}
		}
	}()
	var wg sync.WaitGroup
	for range o.concurrency {
		wg.Go(func() {
			defer r.recoverPanic()
			r.work(wctx)
		})
	}
	wg.Wait()
	if o.log != nil {
		r.writeLeft(ctx)
	}
	stopRenewing()
	if o.log != nil {
		releaseLease(ctx, o, token)
	}
	if r.panicked {
		panic(r.panicValue) // a callback's or the SendFunc's, now that the run is over
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	s := Summary{
		Total: len(chats), Done: r.doneCount,
		Delivered: r.counts[Delivered], Permanent: r.counts[Permanent],
		Migrated: r.counts[Migrated], Unknown: r.counts[Unknown],
		Cursor: r.cursor(),
	}
	if err := ctx.Err(); err != nil {
		return s, err
	}
	if err := context.Cause(wctx); err != nil {
		return s, err // the lease was lost, or the bot cannot send
	}
	return s, nil
}

// releaseLease gives run token's lease back, even if ctx has ended, for
// at most the lease: by then it has expired anyway, and an engine that
// does not answer must not keep Run from returning.
func releaseLease(ctx context.Context, o options, token string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), o.lease)
	defer cancel()
	_ = o.log.Release(ctx, o.logID, token)
}

// keepLease renews the run's lease on its broadcast id every third of the
// lease (sooner after a failed renewal), from its own goroutine, until
// the returned stop is called: after the workers are done, so that sends
// still in flight when ctx ended can record their outcomes. When the log
// says the lease is lost (another run took the id), the workers stop.
func (r *run) keepLease(ctx context.Context) (stop func()) {
	if r.o.log == nil {
		return func() {}
	}
	ctx = context.WithoutCancel(ctx)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		every := r.o.lease / 3
		t := time.NewTimer(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			rctx, cancel := context.WithTimeout(ctx, every)
			err := r.o.log.Renew(rctx, r.o.logID, r.token, r.o.lease)
			cancel()
			if errors.Is(err, ErrLeaseLost) {
				r.lose(fmt.Errorf("broadcast: renewing the lease: %w", err))
				return
			}
			if err != nil {
				t.Reset(every / 4) // the engine failed: try again soon
			} else {
				t.Reset(every)
			}
		}
	})
	return func() { close(done); wg.Wait() }
}

// run is one broadcast's shared state.
type run struct {
	o     options
	sched *ratelimit.Telegram
	send  SendFunc
	chats []int64
	list  string
	start time.Time
	token string                  // the run's token in the log
	lose  context.CancelCauseFunc // stops the workers: the lease lost, or the bot cannot send

	// cb is held (a token in it) while the callbacks run: one call at a
	// time, outside mu. A channel rather than a mutex, so that a worker
	// waiting for it is durably blocked in a testing/synctest bubble and a
	// callback may wait on the bubble's clock.
	cb chan struct{}

	mu        sync.Mutex
	next      int             // next entry of the list to consider
	busy      map[int64][]int // chats taken by an entry (in flight or in later) → their deferred entries
	later     laterHeap       // entries whose chat is not ready yet, by time
	due       dueHeap         // entries whose chat is ready, most work left first
	fresh     int             // an entry taken from the list but not handed out, or -1
	left      map[int64]int   // chats listed more than once → entries not finished
	moved     map[int]int64   // entries whose group migrated → the supergroup
	wake      chan struct{}   // closed when later gets an entry
	openUntil time.Time       // a circuit breaker refused a send, or the bot is paused: no entry is handed out before
	turn      chan struct{}   // the turn to pick an entry and wait
	low       int             // every entry before low is finished
	hi        int             // entries at or after hi are not finished, as far as the cursor given knew
	done      []uint64        // bit i: entry i is finished
	doneCount int
	counts    [Unknown + 1]int
	unwritten map[int]Outcome // entries whose Finish failed → the outcome (0: not sent) to write again

	panicked   bool // a callback or the SendFunc panicked: Run panics with panicValue when the run is over
	panicValue any
}

// errPanicked stops the workers when a callback or the SendFunc panicked.
var errPanicked = errors.New("broadcast: a callback or the SendFunc panicked")

// recoverPanic, deferred by the goroutines that call the callbacks and the
// SendFunc, keeps the first panic and stops the run: Run panics with it,
// on its caller's goroutine where it can be recovered, once the sends in
// flight have finished and been recorded and the lease is given back.
func (r *run) recoverPanic() {
	p := recover()
	if p == nil {
		return
	}
	r.mu.Lock()
	if !r.panicked {
		r.panicked, r.panicValue = true, p
	}
	r.mu.Unlock()
	r.lose(errPanicked)
}

func newRun(chats []int64, o options, logged []LogEntry) *run {
	r := &run{o: o, chats: chats, busy: map[int64][]int{}, moved: map[int]int64{}, unwritten: map[int]Outcome{}, done: make([]uint64, (len(chats)+63)/64), start: o.clock(), wake: make(chan struct{}), turn: make(chan struct{}, 1), cb: make(chan struct{}, 1)}
	c := o.cursor
	r.low = min(max(c.Next, 0), len(chats))
	for i := range r.low {
		r.setDone(i)
	}
	for _, span := range c.Done {
		for i := max(span[0], r.low); i < min(span[1], len(chats)); i++ {
			r.setDone(i)
			r.hi = max(r.hi, i+1)
		}
	}
	for _, e := range logged {
		if e.Index >= 0 && e.Index < len(chats) {
			r.setDone(e.Index) // finished, or reported Unknown by Run
			r.hi = max(r.hi, e.Index+1)
		}
	}
	r.doneCount = 0
	for _, w := range r.done {
		r.doneCount += bits.OnesCount64(w)
	}
	r.advance()
	r.next = r.low
	r.fresh = -1
	// Count the chats listed more than once: a chat with many entries left
	// is the broadcast's critical path (one send per second at most), so
	// its entries go first whenever its chat is ready.
	var ids []int64
	for i := r.low; i < len(chats); i++ {
		if !r.isDone(i) {
			ids = append(ids, chats[i])
		}
	}
	slices.Sort(ids)
	r.left = map[int64]int{}
	for j := 0; j < len(ids); {
		k := j + 1
		for k < len(ids) && ids[k] == ids[j] {
			k++
		}
		if k-j > 1 {
			r.left[ids[j]] = k - j
		}
		j = k
	}
	return r
}

func (r *run) isDone(i int) bool { return r.done[i/64]&(1<<(i%64)) != 0 }
func (r *run) setDone(i int)     { r.done[i/64] |= 1 << (i % 64) }

// work left for chat c: its entries not finished. Callers hold mu.
func (r *run) workLeft(c int64) int {
	if n, ok := r.left[c]; ok {
		return n
	}
	return 1
}

// advance moves low past finished entries. Callers hold mu.
func (r *run) advance() {
	for r.low < len(r.chats) && r.isDone(r.low) {
		r.low++
	}
}

// cursor snapshots the position: the runs of finished entries past low,
// skipping a word of the bitset at a time where it can. Callers hold mu.
func (r *run) cursor() Cursor {
	c := Cursor{Next: r.low, List: r.list}
	end := max(r.next, r.hi)
	for i := r.low; i < end; {
		if !r.isDone(i) {
			if r.done[i/64]>>(i%64) == 0 {
				i += 64 - i%64
			} else {
				i++
			}
			continue
		}
		j := i + 1
		for j < end && r.isDone(j) {
			if j%64 == 0 && j+64 <= end && r.done[j/64] == ^uint64(0) {
				j += 64
			} else {
				j++
			}
		}
		c.Done = append(c.Done, [2]int{i, j})
		i = j
	}
	return c
}

// target is the chat entry i is sent to: its own, or the supergroup it
// migrated to. Callers hold mu.
func (r *run) target(i int) int64 {
	if to, ok := r.moved[i]; ok {
		return to
	}
	return r.chats[i]
}

// schedule makes entry i, whose chat it now holds, the next to take:
// at once if its chat is ready at now, else through later. Callers hold mu.
func (r *run) schedule(i int, now time.Time) bool {
	if d := r.sched.ChatDelayAt(r.target(i), now); d > 0 {
		heap.Push(&r.later, laterEntry{at: now.Add(d), i: i})
		close(r.wake)
		r.wake = make(chan struct{})
		return false
	}
	return true
}

// take hands out the next entry to send: of the entries whose chat is
// ready, the one whose chat has the most entries left, in list order among
// equals. When there is none yet it returns how long to wait (or, with a
// negative wait, a channel that says when to look again); when the run is
// over for this worker, ok is false and wake nil.
func (r *run) take(now time.Time) (i int, ok bool, wait time.Duration, wake <-chan struct{}) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if now.Before(r.openUntil) {
		return 0, false, r.openUntil.Sub(now), r.wake
	}
	for len(r.later) > 0 && !r.later[0].at.After(now) {
		e := heap.Pop(&r.later).(laterEntry)
		heap.Push(&r.due, dueEntry{left: r.workLeft(r.chats[e.i]), i: e.i})
	}
	for r.fresh < 0 && r.next < len(r.chats) {
		i := r.next
		r.next++
		if r.isDone(i) {
			continue // finished in an earlier run
		}
		c := r.chats[i]
		if q, ok := r.busy[c]; ok {
			r.busy[c] = append(q, i)
			continue
		}
		r.busy[c] = nil
		if r.schedule(i, now) {
			r.fresh = i
		}
	}
	if len(r.due) > 0 && (r.fresh < 0 || r.due[0].left >= r.workLeft(r.chats[r.fresh])) {
		return heap.Pop(&r.due).(dueEntry).i, true, 0, nil
	}
	if r.fresh >= 0 {
		i, r.fresh = r.fresh, -1
		return i, true, 0, nil
	}
	if len(r.later) > 0 {
		return 0, false, r.later[0].at.Sub(now), r.wake
	}
	if len(r.busy) > 0 { // sends in flight may defer more entries
		return 0, false, -1, r.wake
	}
	return 0, false, 0, nil
}

// release passes entry i's chat on to its next entry, if any. Callers
// hold mu.
func (r *run) release(i int) {
	c := r.chats[i]
	if q := r.busy[c]; len(q) > 0 {
		r.busy[c] = q[1:]
		if r.schedule(q[0], r.o.clock()) {
			heap.Push(&r.later, laterEntry{at: r.o.clock(), i: q[0]})
			close(r.wake)
			r.wake = make(chan struct{})
		}
	} else {
		delete(r.busy, c)
		if len(r.busy) == 0 {
			close(r.wake) // let idle workers see the end
			r.wake = make(chan struct{})
		}
	}
}

// finish records i's result, passes i's chat on, and reports the result
// to the callbacks, outside mu.
func (r *run) finish(res Result) {
	r.cb <- struct{}{}
	defer func() { <-r.cb }()
	r.mu.Lock()
	c := r.chats[res.Index]
	if n, ok := r.left[c]; ok {
		if n <= 1 {
			delete(r.left, c)
		} else {
			r.left[c] = n - 1
		}
	}
	r.release(res.Index)
	delete(r.moved, res.Index)
	r.setDone(res.Index)
	r.advance()
	r.doneCount++
	r.counts[res.Outcome]++
	p := Progress{
		Total: len(r.chats), Done: r.doneCount,
		Delivered: r.counts[Delivered], Permanent: r.counts[Permanent],
		Migrated: r.counts[Migrated], Unknown: r.counts[Unknown],
		Elapsed: r.o.clock().Sub(r.start), r: r,
	}
	r.mu.Unlock()
	if r.o.result != nil {
		r.o.result(res)
	}
	if r.o.progress != nil {
		r.o.progress(p)
	}
}

// report counts the outcome of an entry already marked finished (an entry
// the log held in flight) and reports it to the callbacks.
func (r *run) report(res Result) {
	r.cb <- struct{}{}
	defer func() { <-r.cb }()
	r.mu.Lock()
	r.counts[res.Outcome]++
	p := Progress{
		Total: len(r.chats), Done: r.doneCount,
		Delivered: r.counts[Delivered], Permanent: r.counts[Permanent],
		Migrated: r.counts[Migrated], Unknown: r.counts[Unknown],
		Elapsed: r.o.clock().Sub(r.start), r: r,
	}
	r.mu.Unlock()
	if r.o.result != nil {
		r.o.result(res)
	}
	if r.o.progress != nil {
		r.o.progress(p)
	}
}

// logFinish records entry i's outcome in the log, if any (0: not sent).
// A failure leaves the entry in flight there, and is repeated before Run
// returns (writeLeft), unless the entry was marked again meanwhile; if
// that fails too, a resumed run reports the entry Unknown, and never
// sends it twice.
func (r *run) logFinish(ctx context.Context, i int, o Outcome) {
	if r.o.log == nil {
		return
	}
	err := r.o.log.Finish(context.WithoutCancel(ctx), r.o.logID, r.token, i, o)
	if err != nil && !errors.Is(err, ErrLeaseLost) {
		r.mu.Lock()
		r.unwritten[i] = o
		r.mu.Unlock()
	}
}

// writeLeft repeats, once the workers are done, each Finish that failed
// for an entry this run did not mark again since: otherwise an entry not
// sent (a chat still in its 429's retry_after when the run was cancelled)
// stays in flight in the log, and the resumed run reports it Unknown and
// never sends it; and an entry whose outcome this run reported stays in
// flight, and the next run reports it again, Unknown. It stops at the
// first failure (the engine still failing: those entries are left for a
// resumed run to report Unknown), each try bounded by a third of the
// lease.
func (r *run) writeLeft(ctx context.Context) {
	r.mu.Lock()
	left := maps.Clone(r.unwritten)
	r.mu.Unlock()
	for _, i := range slices.Sorted(maps.Keys(left)) {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.o.lease/3)
		err := r.o.log.Finish(fctx, r.o.logID, r.token, i, left[i])
		cancel()
		if err != nil {
			return
		}
	}
}

func (r *run) work(ctx context.Context) {
	for ctx.Err() == nil {
		// One worker at a time picks an entry and waits for the scheduler,
		// so the entry is chosen when a slot is near: an entry whose chat
		// just became ready (a chat listed many times, a group) goes next
		// instead of queueing behind entries picked long ago.
		select {
		case r.turn <- struct{}{}:
		case <-ctx.Done():
			return
		}
		i, ok, wait, wake := r.take(r.o.clock())
		if !ok {
			<-r.turn
			if wake == nil {
				return
			}
			if err := pause(ctx, wait, wake); err != nil {
				return
			}
			continue
		}
		r.mu.Lock()
		chat := r.target(i)
		r.mu.Unlock()
		waitStart := r.obsNow()
		slot, admitted, err := r.admit(ctx, chat)
		<-r.turn
		if err == nil && admitted {
			// The slot is reserved: wait for it without the turn, so the
			// next worker reserves the next slot meanwhile.
			if err = slot.Wait(ctx); errors.Is(err, ratelimit.ErrSlotMissed) {
				admitted, err = false, nil // woke too late: the entry goes round again
			}
		}
		if err != nil {
			r.postpone(i, 0) // ctx ended: i stays unfinished
			return
		}
		if !admitted {
			r.postpone(i, 0)
			r.pauseBot()
			continue
		}
		sendStart := r.obsNow()
		res, ok := r.deliver(ctx, i, chat)
		if ok {
			r.finish(res)
		}
		r.observeSend(ctx, res, ok, waitStart, sendStart)
	}
}

// maxTurnWait bounds how long the worker holding the turn waits for the
// scheduler: longer means the chat was blocked meanwhile, or the whole bot
// is paused, and the turn goes round again.
const maxTurnWait = time.Second

// admit waits for the scheduler to reserve a send to entry i's chat (see
// ratelimit.Telegram.Reserve) and returns its slot. It
// reports false when that took too long (the entry is to be postponed),
// and an error when ctx ended.
func (r *run) admit(ctx context.Context, chat int64) (ratelimit.Slot, bool, error) {
	wctx, cancel := context.WithTimeout(ratelimit.WithLane(ctx, r.o.lane), maxTurnWait)
	defer cancel()
	slot, err := r.sched.Reserve(wctx, chat)
	if ctx.Err() != nil {
		return slot, false, ctx.Err()
	}
	if err != nil && !errors.Is(err, ratelimit.ErrLimitExceeded) && !errors.Is(err, context.DeadlineExceeded) {
		// The store failed: try again in a while, without spinning.
		if perr := pause(ctx, maxTurnWait, nil); perr != nil {
			return slot, false, perr
		}
	}
	return slot, err == nil, nil
}

// pauseOpen pauses the run for [botapi.BreakerPollInterval] after a
// circuit breaker refused a send: while the circuit is open every send
// would be refused, so the workers wait instead of spending entries, and
// then one of them asks again.
func (r *run) pauseOpen() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.openUntil = r.o.clock().Add(botapi.BreakerPollInterval)
}

// pauseBot pauses the run while the whole bot is paused (a bot-wide 429)
// longer than a turn's wait: every chat is blocked alike, so the workers
// wait for the pause instead of taking entry after entry, each a store
// call, to put them all back for its end.
func (r *run) pauseBot() {
	now := r.o.clock()
	d := r.sched.DelayAt(0, r.o.lane, now) // the bot-wide limits only
	if d <= maxTurnWait {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if until := now.Add(d); until.After(r.openUntil) {
		r.openUntil = until
	}
}

// postpone puts entry i, whose chat it still holds, back for later: no
// sooner than after at least, and when the scheduler allows.
func (r *run) postpone(i int, atLeast time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.o.clock()
	// DelayAt sees a bot-wide pause too; never retry in no time at all.
	d := max(r.sched.DelayAt(r.target(i), r.o.lane, now), atLeast, time.Millisecond)
	heap.Push(&r.later, laterEntry{at: now.Add(d), i: i})
	close(r.wake)
	r.wake = make(chan struct{})
}

// pause waits d (forever if negative), until wake is closed, or ctx ends.
func pause(ctx context.Context, d time.Duration, wake <-chan struct{}) error {
	var tc <-chan time.Time
	if d >= 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		tc = t.C
	}
	select {
	case <-tc:
	case <-wake:
	case <-ctx.Done():
		return ctx.Err()
	}
	return nil
}

type dueEntry struct {
	left int // entries left for the chat
	i    int
}

// dueHeap orders ready entries by work left (most first), then position.
type dueHeap []dueEntry

func (h dueHeap) Len() int { return len(h) }
func (h dueHeap) Less(a, b int) bool {
	if h[a].left != h[b].left {
		return h[a].left > h[b].left
	}
	return h[a].i < h[b].i
}
func (h dueHeap) Swap(a, b int) { h[a], h[b] = h[b], h[a] }
func (h *dueHeap) Push(x any)   { *h = append(*h, x.(dueEntry)) }
func (h *dueHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}

type laterEntry struct {
	at time.Time
	i  int
}

// laterHeap is a min-heap of entries by time, then list position.
type laterHeap []laterEntry

func (h laterHeap) Len() int { return len(h) }
func (h laterHeap) Less(a, b int) bool {
	if !h[a].at.Equal(h[b].at) {
		return h[a].at.Before(h[b].at)
	}
	return h[a].i < h[b].i
}
func (h laterHeap) Swap(a, b int) { h[a], h[b] = h[b], h[a] }
func (h *laterHeap) Push(x any)   { *h = append(*h, x.(laterEntry)) }
func (h *laterHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}

// retryConnect is how long an entry whose connect failed waits before
// its next attempt.
const retryConnect = 500 * time.Millisecond

// deliver makes the one request the scheduler admitted for entry i to
// chat. It returns the entry's result, or false when nothing was
// delivered (a 429, a failed connect, a group that migrated): the entry
// is then back in the scheduling, and the worker moves on.
func (r *run) deliver(ctx context.Context, i int, chat int64) (Result, bool) {
	res := Result{Index: i, ChatID: r.chats[i]}
	if chat != res.ChatID {
		res.MigratedTo = chat
	}
	if r.o.log != nil {
		if err := r.o.log.Start(ctx, r.o.logID, r.token, i); err != nil {
			// Nothing is sent unless the log knows it: try later, or,
			// when another run holds the id now, stop.
			if errors.Is(err, ErrLeaseLost) {
				r.lose(fmt.Errorf("broadcast: marking an entry in flight: %w", err))
			} else {
				// The mark may have been written all the same (a
				// driver reports the context's end even after its
				// statement committed): nothing was sent, so take it
				// back, or a resumed run would report the entry
				// Unknown and never send it.
				r.logFinish(ctx, i, 0)
			}
			r.postpone(i, retryConnect)
			return res, false
		}
		// Marked again: this attempt's Finish settles the entry.
		r.mu.Lock()
		delete(r.unwritten, i)
		r.mu.Unlock()
	}
	if ctx.Err() != nil {
		// ctx ended while the slot came or the log marked the entry (a
		// client may finish its command and report success though ctx
		// ended meanwhile): no new request starts after a cancel, and the
		// mark is taken back, as nothing was sent.
		res.Err = ctx.Err()
		r.logFinish(ctx, i, 0)
		r.postpone(i, 0)
		return res, false
	}
	sctx, release := r.sched.Admit(ratelimit.WithLane(ctx, r.o.lane), chat)
	sctx, cancel := context.WithTimeout(sctx, r.o.timeout)
	err := r.sendAdmitted(sctx, chat, cancel, release)
	var apiErr *botapi.Error
	answered := errors.As(err, &apiErr)
	// A breaker's refusal of a retry after an attempt that may have
	// landed (RetryPolicy.RetryUnsafe) is no proof: it ends Unknown.
	open := errors.Is(err, botapi.ErrCircuitOpen) && botapi.NotApplied(err)
	unsent := neverLeft(err, answered)
	if unsent {
		// Nothing left the process: the scheduler learns no round trip
		// from it (a refusal in 100 µs would make every real send look
		// overdue) and holds no room for its late arrival.
		ratelimit.NotSent(sctx)
	}
	cancel()
	release()
	res.Err = err // for the observer when the entry is postponed
	switch {
	case err == nil:
		res.Outcome = Delivered
		if res.MigratedTo != 0 {
			res.Outcome = Migrated
		}
	case answered && apiErr.Code >= 400 && apiErr.Code <= 499 && !botapi.NotApplied(err):
		// Telegram refused a retry whose earlier attempt may have landed
		// (a client with RetryPolicy.RetryUnsafe and without the
		// scheduler's limiter): the refusal says nothing of that attempt.
		res.Outcome, res.Err = Unknown, err
	case errors.As(err, &apiErr) && apiErr.Code == http.StatusTooManyRequests:
		// Not performed; the client told the scheduler, which holds the
		// chat until the retry_after is over.
		r.logFinish(ctx, i, 0)
		r.postpone(i, 0)
		return res, false
	case open:
		// The client's circuit breaker refused the call: nothing left.
		// The whole run pauses (no entry is marked, no attempt spent) and
		// this entry goes back for when the breaker may allow again.
		r.logFinish(ctx, i, 0)
		r.pauseOpen()
		r.postpone(i, botapi.BreakerPollInterval)
		return res, false
	case errors.Is(err, botapi.ErrConfig) || errors.As(err, &apiErr) && !errors.Is(err, botapi.ErrInvalidResponse) &&
		(apiErr.Code == http.StatusUnauthorized || apiErr.Code == http.StatusNotFound):
		// The bot cannot send at all (a wrong or revoked token, a client
		// built with an invalid option): nothing was sent, and every
		// other send would be refused the same way. The run stops with
		// the error; the entry stays unfinished, for a resumed run.
		// Before the unsent case: botapi.NotApplied holds for
		// ErrConfig too, and every retry would fail the same way.
		r.logFinish(ctx, i, 0)
		r.postpone(i, 0)
		r.lose(fmt.Errorf("broadcast: the bot cannot send: %w", err))
		return res, false
	case unsent:
		// The request never left (a failed connect or TLS handshake),
		// or the client's retry after one was refused by the admission
		// (ratelimit.ErrAdmissionUsed). A refused retry after an
		// attempt that may have landed (RetryPolicy.RetryUnsafe after a
		// reset or a 5xx) is not unsent (botapi.NotApplied), and ends
		// Unknown below.
		r.logFinish(ctx, i, 0)
		r.postpone(i, retryConnect)
		return res, false
	case errors.As(err, &apiErr) && apiErr.Code == http.StatusBadRequest && apiErr.MigrateToChatID != 0 && res.MigratedTo == 0:
		r.logFinish(ctx, i, 0)
		r.mu.Lock()
		r.moved[i] = apiErr.MigrateToChatID
		r.mu.Unlock()
		r.postpone(i, 0)
		return res, false
	case errors.As(err, &apiErr) && !errors.Is(err, botapi.ErrInvalidResponse) &&
		(apiErr.Code == http.StatusBadRequest || apiErr.Code == http.StatusForbidden):
		res.Outcome, res.Err = Permanent, err
	default:
		res.Outcome, res.Err = Unknown, err
	}
	r.logFinish(ctx, i, res.Outcome)
	return res, true
}

// neverLeft reports whether err, no answer from Telegram (answered
// false), proves the request never left: what a botapi client knows never
// left (botapi.NotApplied: a failed DNS lookup, connect or TLS handshake,
// a breaker's refusal, a client built with an invalid option, a retry
// refused by the admission, each only when no earlier attempt of the call
// may have landed), or a failed DNS lookup or connect from another
// SendFunc. A botapi network error is left to NotApplied: a retry that
// failed to connect after an attempt that may have landed (a client
// without the scheduler's limiter, with RetryPolicy.RetryUnsafe) is not
// proof. Nor is a bare ratelimit.ErrAdmissionUsed from another SendFunc:
// it says a request was made.
func neverLeft(err error, answered bool) bool {
	if err == nil || answered {
		return false
	}
	return botapi.NotApplied(err) || !errors.Is(err, botapi.ErrNetwork) && notSent(err)
}

// sendAdmitted calls the SendFunc; if it panics, the admission is
// released (or the scheduler would hold bot-wide room for the send as
// long as it lives) and the panic goes on.
func (r *run) sendAdmitted(sctx context.Context, chat int64, cancel, release context.CancelFunc) error {
	defer func() {
		if p := recover(); p != nil {
			cancel()
			release()
			panic(p)
		}
	}()
	return r.send(sctx, chat)
}

// notSent reports whether err proves the request never left: a failed
// DNS lookup or connect.
func notSent(err error) bool {
	var dnsErr *net.DNSError
	var opErr *net.OpError
	return errors.As(err, &dnsErr) || errors.As(err, &opErr) && opErr.Op == "dial"
}
