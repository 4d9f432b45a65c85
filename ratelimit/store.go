package ratelimit

import (
	"context"
	"math"
	"time"
)

// Kind says which limit a [Key] belongs to.
type Kind uint8

// The kinds of keys the [Telegram] scheduler uses.
const (
	KindChat   Kind = iota + 1 // per chat: ID is the chat id
	KindGroup                  // per group, supergroup or channel: ID is the chat id
	KindGlobal                 // bot-wide, free lanes: ID is 0
	KindPaid                   // bot-wide, the allow_paid_broadcast ceiling: ID is 0
)

// String returns the kind's name ("chat", "group", "global", "paid").
func (k Kind) String() string {
	switch k {
	case KindChat:
		return "chat"
	case KindGroup:
		return "group"
	case KindGlobal:
		return "global"
	case KindPaid:
		return "paid"
	}
	return "unknown"
}

// A Key names one limited resource in a [Store].
type Key struct {
	Kind Kind
	ID   int64
}

// A Cell is one limit applied to one key, in GCRA form: an event conforms
// when the key's theoretical arrival time (TAT) minus Tolerance is not
// after now, and a conforming event moves the TAT to max(TAT, now) +
// Interval. An absent key conforms.
type Cell struct {
	Key       Key
	Interval  time.Duration
	Tolerance time.Duration
}

// A Verdict is a Store's answer for a set of cells.
type Verdict struct {
	// OK is true when every cell conforms (and, for Take, was advanced).
	OK bool
	// Wait is, when OK is false, the longest wait among the cells that do
	// not conform: nothing conforms before it. When Reserve reports OK, it
	// is the wait until the reserved time.
	Wait time.Duration
	// Cell is the index of the cell that needs that wait.
	Cell int
}

// A Store holds the limits' state, one TAT per key, so that several
// schedulers (in one process or several) can share limits: give them the
// same Store. Keys whose TAT is not after now hold no information and may
// be dropped (a Redis implementation sets the key to expire at its TAT).
//
// Implementations must be safe for concurrent use, apply Take, Reserve
// and Block atomically across all the cells given, and not keep the cells slice
// after returning (the scheduler reuses it). The main module ships
// [MemoryStore]; store/redis has RateStore, which decides on the server's
// clock, so replicas' clocks play no part. There is none on Postgres or
// SQLite on purpose: every send updates the bot-wide key, so a SQL store
// would serialize every replica's sends on one hot row lock and write
// its WAL 30 to 1000 times a second; Redis does the same in memory, in
// one script per decision.
//
// The now a Store is given is the scheduler's clock; a Store shared by
// processes should ignore it and use its own engine's time, as RateStore
// does.
type Store interface {
	// Peek reports whether every cell conforms at now, changing nothing.
	Peek(ctx context.Context, now time.Time, cells []Cell) (Verdict, error)
	// Take advances every cell if all of them conform at now; otherwise it
	// changes nothing. Either way it reports the verdict.
	Take(ctx context.Context, now time.Time, cells []Cell) (Verdict, error)
	// Reserve takes the slot of one send ahead of time. When cells[:ready]
	// conform at now, it finds t, the earliest time at or after now when
	// every cell conforms; if t is at most maxWait after now, it advances
	// every cell as Take would at t and reports OK with Wait = t - now: the
	// send is to be made at t, and counts whether it is made or not.
	// Otherwise it changes nothing and reports the longest wait and its
	// cell: among cells[:ready] when one of them does not conform at now
	// (its wait is spent outside the reservation, holding no slot of the
	// others), else among all. Take is Reserve with ready = len(cells)
	// and maxWait 0.
	//
	// A waiter that reserves needs one call per send, where one that
	// takes needs a call to learn its wait and another once it is over,
	// and loses the time its wake-up and that call take: with GCRA
	// nothing catches up a slot taken late.
	Reserve(ctx context.Context, now time.Time, cells []Cell, ready int, maxWait time.Duration) (Verdict, error)
	// Block makes cell's key conform no earlier than until (it raises the
	// TAT to at least until + cell.Tolerance).
	Block(ctx context.Context, cell Cell, until time.Time) error
}

// A RemoteStore is a [Store] whose every call is a round trip to a
// server, store/redis's RateStore for one. A [Telegram] on it reserves
// the slots of bulk and paid sends up to ReserveAhead before their time
// (see [Telegram.Reserve]), so that a reservation reaches the store
// before its slot comes: a waiter that learns its wait, sleeps and then
// takes its slot loses, for every slot, the time its wake-up and that
// last call take, since with GCRA a slot taken late is never caught up.
// The same ReserveAhead for every replica keeps them on an equal footing.
// A Store that answers in no time (a [MemoryStore]) has no such method,
// and a slot is then taken when it comes.
type RemoteStore interface {
	Store
	// ReserveAhead returns how far ahead of its time a send's slot may
	// be reserved: more than a call's round trip plus a waiter's
	// wake-up, little enough that an interactive send, which waits
	// behind the bulk sends already holding slots, is not delayed much.
	ReserveAhead() time.Duration
}

// MemoryStore is the in-memory [Store]: one map under one lock (the
// bot-wide cells are touched by every send, so more locks would not help),
// swept of expired keys every second of its clock and shrunk when most of
// its keys have expired.
//
// A MemoryStore is safe for concurrent use. Its zero value is ready to use;
// its epoch is the first time it is given.
type MemoryStore struct {
	s      shard[Key]
	fixed  [KindPaid + 1]int64 // the bot-wide cells (ID 0), off the map
	epoch  time.Time
	hasEpc bool
}

// tat returns k's TAT. Callers hold m.s.mu.
func (m *MemoryStore) tat(k Key) int64 {
	if k.ID == 0 && k.Kind >= KindGlobal && k.Kind <= KindPaid {
		return m.fixed[k.Kind]
	}
	return m.s.get(k)
}

// setTAT stores k's TAT. Callers hold m.s.mu.
func (m *MemoryStore) setTAT(k Key, tat, now int64) {
	if k.ID == 0 && k.Kind >= KindGlobal && k.Kind <= KindPaid {
		m.fixed[k.Kind] = tat
		return
	}
	m.s.set(k, tat, now)
}

// NewMemoryStore returns an empty in-memory store.
func NewMemoryStore() *MemoryStore { return &MemoryStore{} }

// ns converts t to nanoseconds since the store's epoch. Callers hold s.mu.
func (m *MemoryStore) ns(t time.Time) int64 {
	if !m.hasEpc {
		m.epoch, m.hasEpc = t, true
		for i := range m.fixed {
			m.fixed[i] = math.MinInt64
		}
	}
	return int64(t.Sub(m.epoch))
}

func (m *MemoryStore) judge(now int64, cells []Cell) Verdict {
	v := Verdict{OK: true}
	for i, c := range cells {
		g := gcra{interval: int64(c.Interval), tolerance: int64(c.Tolerance)}
		if w := g.peek(m.tat(c.Key), now); w > 0 && (v.OK || time.Duration(w) > v.Wait) {
			v = Verdict{Wait: time.Duration(w), Cell: i}
		}
	}
	return v
}

// Peek implements [Store]. It never fails.
func (m *MemoryStore) Peek(_ context.Context, now time.Time, cells []Cell) (Verdict, error) {
	m.s.mu.Lock()
	defer m.s.mu.Unlock()
	return m.judge(m.ns(now), cells), nil
}

// Take implements [Store]. It never fails.
func (m *MemoryStore) Take(_ context.Context, now time.Time, cells []Cell) (Verdict, error) {
	m.s.mu.Lock()
	defer m.s.mu.Unlock()
	n := m.ns(now)
	m.s.maybeSweep(n)
	v := m.judge(n, cells)
	if v.OK {
		for _, c := range cells {
			m.setTAT(c.Key, max(m.tat(c.Key), n)+int64(c.Interval), n)
		}
	}
	return v, nil
}

// Reserve implements [Store]. It never fails.
func (m *MemoryStore) Reserve(_ context.Context, now time.Time, cells []Cell, ready int, maxWait time.Duration) (Verdict, error) {
	m.s.mu.Lock()
	defer m.s.mu.Unlock()
	n := m.ns(now)
	m.s.maybeSweep(n)
	if v := m.judge(n, cells[:ready]); !v.OK {
		return v, nil
	}
	v := m.judge(n, cells)
	if !v.OK && v.Wait > maxWait {
		return v, nil
	}
	t := n + int64(v.Wait)
	for _, c := range cells {
		m.setTAT(c.Key, max(m.tat(c.Key), t)+int64(c.Interval), n)
	}
	return Verdict{OK: true, Wait: v.Wait}, nil
}

// Block implements [Store]. It never fails.
func (m *MemoryStore) Block(_ context.Context, c Cell, until time.Time) error {
	m.s.mu.Lock()
	defer m.s.mu.Unlock()
	n := m.ns(until)
	m.setTAT(c.Key, max(m.tat(c.Key), n+int64(c.Tolerance)), math.MinInt64+1)
	return nil
}

// Len returns the number of keys holding state at now, after dropping the
// expired ones.
func (m *MemoryStore) Len(now time.Time) int {
	m.s.mu.Lock()
	defer m.s.mu.Unlock()
	m.s.nextSweep = math.MinInt64
	m.s.maybeSweep(m.ns(now))
	return len(m.s.m)
}
