package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"slices"
	"sync"
	"time"
)

// Order statuses.
const (
	statusPending = "pending" // invoice created, not paid
	statusPaid    = "paid"    // paid and fulfilled
)

// maxPendingPerUser bounds the unpaid orders kept per user: creating one
// more drops that user's oldest unpaid order (its invoice is then refused at
// pre-checkout). With the per-user rate limit this bounds memory.
const maxPendingPerUser = 20

// errOrderNotFound means no order has that id (or it was dropped).
var errOrderNotFound = errors.New("shop: order not found")

// order is one purchase attempt of one product by one user.
type order struct {
	ID        string    `json:"order_id"`
	UserID    int64     `json:"-"`
	ProductID string    `json:"product_id"`
	Title     string    `json:"title"`
	Emoji     string    `json:"emoji"`
	Stars     int64     `json:"stars"`
	Status    string    `json:"status"`
	CreatedAt time.Time `json:"created_at"`
	PaidAt    time.Time `json:"paid_at,omitzero"`
	ChargeID  string    `json:"-"`
}

// orderBook keeps orders in memory. A real shop keeps them in its database;
// the payments Ledger is what guarantees a charge is fulfilled once, the
// order book only records the outcome. It is safe for concurrent use.
type orderBook struct {
	mu      sync.Mutex
	byID    map[string]*order
	pending map[int64][]string // user → unpaid order ids, oldest first
	paid    map[int64][]string // user → paid order ids, oldest first
}

func newOrderBook() *orderBook {
	return &orderBook{
		byID:    make(map[string]*order),
		pending: make(map[int64][]string),
		paid:    make(map[int64][]string),
	}
}

// create records a new unpaid order of p by userID.
func (b *orderBook) create(userID int64, p product, now time.Time) order {
	o := &order{
		ID: newOrderID(), UserID: userID, ProductID: p.ID, Title: p.Title,
		Emoji: p.Emoji, Stars: p.Stars, Status: statusPending, CreatedAt: now,
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	ids := b.pending[userID]
	if len(ids) >= maxPendingPerUser {
		delete(b.byID, ids[0])
		ids = slices.Delete(ids, 0, 1)
	}
	b.pending[userID] = append(ids, o.ID)
	b.byID[o.ID] = o
	return *o
}

// get returns the order with that id.
func (b *orderBook) get(id string) (order, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	o, ok := b.byID[id]
	if !ok {
		return order{}, false
	}
	return *o, true
}

// markPaid records the payment of an order. It reports whether this call
// changed the order; a second call for the same order changes nothing.
func (b *orderBook) markPaid(id, chargeID string, now time.Time) (order, bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	o, ok := b.byID[id]
	if !ok {
		return order{}, false, errOrderNotFound
	}
	if o.Status == statusPaid {
		return *o, false, nil
	}
	o.Status, o.ChargeID, o.PaidAt = statusPaid, chargeID, now
	if ids := b.pending[o.UserID]; len(ids) > 0 {
		if i := slices.Index(ids, id); i >= 0 {
			ids = slices.Delete(ids, i, i+1)
		}
		if len(ids) == 0 {
			delete(b.pending, o.UserID)
		} else {
			b.pending[o.UserID] = ids
		}
	}
	b.paid[o.UserID] = append(b.paid[o.UserID], id)
	return *o, true, nil
}

// paidBy returns userID's paid orders, newest first (never nil).
func (b *orderBook) paidBy(userID int64) []order {
	b.mu.Lock()
	defer b.mu.Unlock()
	ids := b.paid[userID]
	out := make([]order, 0, len(ids))
	for i := len(ids) - 1; i >= 0; i-- {
		out = append(out, *b.byID[ids[i]])
	}
	return out
}

// newOrderID returns a random order id: 16 hex digits.
func newOrderID() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b[:])
}

// restorePaid records a paid order that the book no longer holds (it was
// dropped while unpaid), from what the signed payload says.
func (b *orderBook) restorePaid(id string, userID int64, p product, chargeID string, now time.Time) (order, bool, error) {
	b.mu.Lock()
	if _, ok := b.byID[id]; !ok {
		b.byID[id] = &order{
			ID: id, UserID: userID, ProductID: p.ID, Title: p.Title,
			Emoji: p.Emoji, Stars: p.Stars, Status: statusPending, CreatedAt: now,
		}
	}
	b.mu.Unlock()
	return b.markPaid(id, chargeID, now)
}
