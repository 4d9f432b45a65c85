package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"sync"
	"time"
)

// State is the state of a key in a [Store], as [Store.Claim] found it.
type State uint8

const (
	// Claimed means the key was absent (or its entry had expired) and the
	// caller now owns it, in flight, until its lease passes.
	Claimed State = iota + 1
	// InFlight means another owner holds a live claim on the key.
	InFlight
	// Done means the key was completed and is remembered until its TTL passes.
	Done
)

// String returns the state's name.
func (s State) String() string {
	switch s {
	case Claimed:
		return "claimed"
	case InFlight:
		return "in flight"
	case Done:
		return "done"
	}
	return fmt.Sprintf("State(%d)", uint8(s))
}

// ClaimResult is what [Store.Claim] found.
type ClaimResult struct {
	// State is Claimed, InFlight or Done.
	State State
	// Data is the data stored with the entry: the data given to Claim while
	// it is in flight, the data given to Complete once done; nil when
	// State is Claimed. The caller must not modify it.
	Data []byte
}

// Store records which keys (update ids, Standard Webhooks ids,
// Idempotency-Keys) are being processed or were processed, so that each runs
// once. Every key moves through three states: absent → in flight (Claim, by
// one owner, with a lease) → done (Complete, remembered for a TTL); Release
// returns an in-flight key to absent so a retry can run it.
//
// Each operation must be atomic, so that of any number of concurrent Claims
// of an absent key exactly one returns [Claimed]. A claim whose lease has
// passed counts as absent: the next Claim takes it over, after which the old
// owner's Extend, Complete and Release fail with [ErrNotOwner] and change
// nothing. The owner is thus a fencing token (see [Claim]). A Redis or SQL
// store implements each operation as one script or statement, measuring
// leases and TTLs on the engine's clock (SQL now(), Redis TIME), never on
// the calling process's. Implementations must be safe for concurrent use,
// honour ctx, and return errors that wrap the sentinels above.
//
// Keys are namespaced by their users: [NewHandler] uses
// "tg:<namespace>:update:<id>" (see [WithNamespace]), [Idempotency]
// "idem:…"; a store shared by several applications adds its own prefix or
// schema. The contract kit webhook/storetest checks an implementation.
//
// [MemoryStore] is the in-memory implementation.
type Store interface {
	// Claim atomically claims key for owner for the lease if the key is
	// absent or expired, storing data with it (nil for none). Otherwise it
	// reports the entry's state and data and changes nothing.
	Claim(ctx context.Context, key, owner string, lease time.Duration, data []byte) (ClaimResult, error)
	// Extend renews owner's in-flight claim of key for lease from now. It
	// fails with [ErrNotOwner], changing nothing, if owner does not hold
	// the claim (its lease passed and another owner claimed the key, or
	// the entry is gone or done); an owner whose lease passed but whom
	// nobody took over may still extend.
	Extend(ctx context.Context, key, owner string, lease time.Duration) error
	// Complete moves owner's in-flight key to done, remembered for ttl,
	// storing data with it. It fails with [ErrNotOwner] if owner does not
	// hold the claim (even if its lease has passed, Complete succeeds as
	// long as nobody took the key over). Completing a key that owner
	// completed already succeeds and sets its TTL and data again, so that
	// a Complete retried after its reply was lost (the write committed,
	// the driver reported an error) is not mistaken for a lost claim.
	Complete(ctx context.Context, key, owner string, ttl time.Duration, data []byte) error
	// Release returns owner's in-flight key to absent. It fails with
	// [ErrNotOwner], changing nothing, if owner does not hold the claim.
	Release(ctx context.Context, key, owner string) error
}

// DefaultStoreCapacity is a [MemoryStore]'s capacity when none is given.
const DefaultStoreCapacity = 100_000

// MemoryStore is a [Store] in memory, with a fixed capacity, a TTL per entry
// and O(1) operations. It allocates all its bookkeeping up front: about 48
// bytes per entry of capacity (a 40-byte entry plus its share of the hash
// index), plus the data stored with an entry, if any (the Telegram handler
// stores none).
//
// Keys are kept as two independent 64-bit hashes under per-store random
// seeds, owners as one: a false match needs a 128-bit collision, which an
// attacker cannot aim for without the seeds.
//
// The capacity is never exceeded. When the store is full, a new key evicts
// the oldest entry (in order of claim) even before its TTL has passed, so
// the deduplication window is the shorter of the TTL and capacity ÷ arrival
// rate; if the oldest entry is in flight with a live lease, Claim fails with
// [ErrStoreFull] instead (the Telegram handler answers 503, and Telegram
// retries). Entries whose TTL has passed are forgotten. Slots are reused in
// claim order: a released or expired newest entry frees its slot at once,
// one between older and newer entries only when the ring reaches it, so
// ErrStoreFull may come with fewer than Cap live entries.
//
// The zero value is not usable: call [NewMemoryStore]. A MemoryStore is safe
// for concurrent use. Its contents are lost when the process ends; use a
// shared store for several processes.
type MemoryStore struct {
	mu           sync.Mutex
	seed1, seed2 maphash.Seed
	ownerSeed    maphash.Seed
	now          func() time.Time

	slots []memSlot // ring in claim order: slots[head], …, slots[head+count-1] (mod len)
	head  int       // oldest position
	count int       // positions in use, holes included
	idx   []uint32  // open-addressing index of slot+1, 0 = empty; linear probing
	mask  uint64    // len(idx)-1
	data  map[uint32][]byte
	live  int // entries that are not free
}

// memSlot is one entry: 40 bytes.
type memSlot struct {
	h1, h2 uint64 // the key's hashes
	owner  uint64 // the owner's hash
	exp    int64  // Unix nanoseconds: lease end (in flight) or forget time (done)
	state  uint8  // slotFree, slotInFlight or slotDone
}

const (
	slotFree uint8 = iota
	slotInFlight
	slotDone
)

// MemoryStoreOption configures [NewMemoryStore].
type MemoryStoreOption func(*MemoryStore)

// WithStoreClock sets the clock that leases and TTLs are measured on. The
// default is [time.Now]; tests pass a fake clock. nil means the default.
func WithStoreClock(now func() time.Time) MemoryStoreOption {
	return func(m *MemoryStore) {
		if now != nil {
			m.now = now
		}
	}
}

// NewMemoryStore returns a MemoryStore holding at most capacity entries
// ([DefaultStoreCapacity] if capacity is 0). Panics if capacity is negative
// or above 1<<30.
func NewMemoryStore(capacity int, opts ...MemoryStoreOption) *MemoryStore {
	if capacity == 0 {
		capacity = DefaultStoreCapacity
	}
	if capacity < 0 || capacity > 1<<30 {
		panic(fmt.Sprintf("webhook: MemoryStore capacity %d out of range", capacity))
	}
	n := 8
	for n < 2*capacity {
		n <<= 1
	}
	m := &MemoryStore{
		seed1:     maphash.MakeSeed(),
		seed2:     maphash.MakeSeed(),
		ownerSeed: maphash.MakeSeed(),
		now:       time.Now,
		slots:     make([]memSlot, capacity),
		idx:       make([]uint32, n),
		mask:      uint64(n - 1),
		data:      map[uint32][]byte{},
	}
	for _, o := range opts {
		if o != nil {
			o(m)
		}
	}
	return m
}

// Cap returns the store's capacity.
func (m *MemoryStore) Cap() int { return len(m.slots) }

// Len returns the number of entries held (in flight or done, expired ones
// not yet forgotten included). It is never above [MemoryStore.Cap].
func (m *MemoryStore) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.live
}

var errBadDuration = errors.New("webhook: lease and ttl must be positive")

// Claim implements [Store].
func (m *MemoryStore) Claim(ctx context.Context, key, owner string, lease time.Duration, data []byte) (ClaimResult, error) {
	if err := ctx.Err(); err != nil {
		return ClaimResult{}, err
	}
	if lease <= 0 {
		return ClaimResult{}, errBadDuration
	}
	h1, h2, ho := m.hashes(key, owner)
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now().UnixNano()
	if pos, si, ok := m.find(h1, h2); ok {
		s := &m.slots[si]
		if s.exp > now {
			st := InFlight
			if s.state == slotDone {
				st = Done
			}
			return ClaimResult{State: st, Data: m.data[uint32(si)]}, nil
		}
		m.remove(pos, si) // expired: absent
	}
	si, err := m.alloc(now)
	if err != nil {
		return ClaimResult{}, err
	}
	m.slots[si] = memSlot{h1: h1, h2: h2, owner: ho, exp: now + int64(lease), state: slotInFlight}
	if data != nil {
		m.data[uint32(si)] = bytes.Clone(data)
	}
	pos, _, _ := m.find(h1, h2)
	m.idx[pos] = uint32(si) + 1
	m.live++
	return ClaimResult{State: Claimed}, nil
}

// Complete implements [Store]. Completing a key that the same owner
// completed already succeeds and sets its TTL and data again.
func (m *MemoryStore) Complete(ctx context.Context, key, owner string, ttl time.Duration, data []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if ttl <= 0 {
		return errBadDuration
	}
	h1, h2, ho := m.hashes(key, owner)
	m.mu.Lock()
	defer m.mu.Unlock()
	// A key done by owner is completed again: a retry of a Complete whose
	// reply was lost must not report the claim lost.
	_, si, ok := m.find(h1, h2)
	if !ok || m.slots[si].owner != ho || (m.slots[si].state != slotInFlight && m.slots[si].state != slotDone) {
		return ErrNotOwner
	}
	s := &m.slots[si]
	s.state = slotDone
	s.exp = m.now().UnixNano() + int64(ttl)
	if data != nil {
		m.data[uint32(si)] = bytes.Clone(data)
	} else {
		delete(m.data, uint32(si))
	}
	return nil
}

// Extend implements [Store].
func (m *MemoryStore) Extend(ctx context.Context, key, owner string, lease time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if lease <= 0 {
		return errBadDuration
	}
	h1, h2, ho := m.hashes(key, owner)
	m.mu.Lock()
	defer m.mu.Unlock()
	_, si, ok := m.findOwned(h1, h2, ho)
	if !ok {
		return ErrNotOwner
	}
	m.slots[si].exp = m.now().UnixNano() + int64(lease)
	return nil
}

// Release implements [Store].
func (m *MemoryStore) Release(ctx context.Context, key, owner string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	h1, h2, ho := m.hashes(key, owner)
	m.mu.Lock()
	defer m.mu.Unlock()
	pos, si, ok := m.findOwned(h1, h2, ho)
	if !ok {
		return ErrNotOwner
	}
	m.remove(pos, si)
	return nil
}

// hashes returns key's two hashes and owner's hash (computed outside the lock).
func (m *MemoryStore) hashes(key, owner string) (h1, h2, ho uint64) {
	return maphash.String(m.seed1, key), maphash.String(m.seed2, key), maphash.String(m.ownerSeed, owner)
}

// findOwned returns the index position and slot of the entry with hashes
// h1, h2 if it is in flight and owned by the owner with hash ho. The caller
// holds m.mu.
func (m *MemoryStore) findOwned(h1, h2, ho uint64) (pos uint64, slot int, ok bool) {
	pos, slot, ok = m.find(h1, h2)
	if !ok || m.slots[slot].state != slotInFlight || m.slots[slot].owner != ho {
		return 0, 0, false
	}
	return pos, slot, true
}

// find returns the index position of the key's entry and its slot, or the
// empty position where it would go.
func (m *MemoryStore) find(h1, h2 uint64) (pos uint64, slot int, ok bool) {
	for i := h1 & m.mask; ; i = (i + 1) & m.mask {
		v := m.idx[i]
		if v == 0 {
			return i, 0, false
		}
		if s := &m.slots[v-1]; s.h1 == h1 && s.h2 == h2 {
			return i, int(v - 1), true
		}
	}
}

// remove frees slot si, whose index entry is at pos, closing the gap in the
// index by backward shifting (no tombstones).
func (m *MemoryStore) remove(pos uint64, si int) {
	m.slots[si].state = slotFree
	delete(m.data, uint32(si))
	m.live--
	i := pos
	for j := (i + 1) & m.mask; m.idx[j] != 0; j = (j + 1) & m.mask {
		home := m.slots[m.idx[j]-1].h1 & m.mask
		// Move entry j into the hole at i unless its home lies cyclically in (i, j].
		if i <= j {
			if i < home && home <= j {
				continue
			}
		} else if i < home || home <= j {
			continue
		}
		m.idx[i] = m.idx[j]
		i = j
	}
	m.idx[i] = 0
}

// alloc returns a free slot at the ring's tail, evicting the oldest entry if
// the ring is full.
func (m *MemoryStore) alloc(now int64) (int, error) {
	n := len(m.slots)
	for m.count > 0 && m.slots[m.head].state == slotFree { // drop leading holes
		m.head = (m.head + 1) % n
		m.count--
	}
	// Drop trailing holes too (a released or expired newest entry), so a
	// failed update's slot is reused at once instead of counting as full.
	for m.count > 0 && m.slots[(m.head+m.count-1)%n].state == slotFree {
		m.count--
	}
	if m.count == n {
		s := &m.slots[m.head]
		if s.state == slotInFlight && s.exp > now {
			return 0, ErrStoreFull
		}
		pos, _, _ := m.find(s.h1, s.h2)
		m.remove(pos, m.head)
		m.head = (m.head + 1) % n
		m.count--
	}
	si := (m.head + m.count) % n
	m.count++
	return si, nil
}
