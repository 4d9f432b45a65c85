package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"time"

	"github.com/miniappkit/miniappkit/payments"
)

// Order statuses.
const (
	statusPending  = "pending"  // invoice created, not paid
	statusPaid     = "paid"     // paid and fulfilled
	statusRefunded = "refunded" // paid, fulfilled, then refunded
)

// Bounds of what the order book keeps.
const (
	// maxListed bounds GET /api/orders: the newest orders only.
	maxListed = 100
	// unpaidKept is how long an unpaid order is kept: twice the invoice's
	// life, after which its invoice is refused at pre-checkout anyway.
	// Older unpaid orders are deleted periodically (purge), so with the
	// per-user rate limit the table stays bounded.
	unpaidKept = 2 * orderExpiry
)

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

// orderBook keeps orders in the table shop_orders of the ledger's
// database. The payments Ledger is what guarantees a charge is fulfilled
// once; the order book records the outcome, in the ledger's transaction.
// It is safe for concurrent use.
type orderBook struct{ db sqlDB }

// create records a new unpaid order of p by userID.
func (b *orderBook) create(ctx context.Context, userID int64, p product, now time.Time) (order, error) {
	o := order{
		ID: newOrderID(), UserID: userID, ProductID: p.ID, Title: p.Title,
		Emoji: p.Emoji, Stars: p.Stars, Status: statusPending, CreatedAt: now.Truncate(time.Millisecond),
	}
	_, err := b.db.exec(ctx, `INSERT INTO shop_orders (id, user_id, product_id, stars, status, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
		o.ID, o.UserID, o.ProductID, o.Stars, o.Status, o.CreatedAt.UnixMilli())
	return o, err
}

const orderColumns = `id, user_id, product_id, stars, status, created_at, paid_at, charge_id`

// scanOrder reads one row of orderColumns.
func scanOrder(scan func(...any) error) (order, error) {
	var (
		o       order
		created int64
		paid    sql.NullInt64
		charge  sql.NullString
	)
	if err := scan(&o.ID, &o.UserID, &o.ProductID, &o.Stars, &o.Status, &created, &paid, &charge); err != nil {
		return order{}, err
	}
	o.CreatedAt = time.UnixMilli(created).UTC()
	if paid.Valid {
		o.PaidAt = time.UnixMilli(paid.Int64).UTC()
	}
	o.ChargeID = charge.String
	if p, ok := productByID(o.ProductID); ok {
		o.Title, o.Emoji = p.Title, p.Emoji
	}
	return o, nil
}

// purge deletes the unpaid orders created more than unpaidKept before now
// (the partial index shop_orders_unpaid) and reports how many.
func (b *orderBook) purge(ctx context.Context, now time.Time) (int64, error) {
	return b.db.exec(ctx, `DELETE FROM shop_orders WHERE status = ? AND created_at < ?`, statusPending, now.Add(-unpaidKept).UnixMilli())
}

// get returns the order with that id.
func (b *orderBook) get(ctx context.Context, id string) (order, error) {
	var (
		o     order
		found bool
	)
	err := b.db.query(ctx, `SELECT `+orderColumns+` FROM shop_orders WHERE id = ?`, func(scan func(...any) error) error {
		var err error
		o, err = scanOrder(scan)
		found = err == nil
		return err
	}, id)
	if err == nil && !found {
		err = errOrderNotFound
	}
	return o, err
}

// listBy returns userID's orders in status, newest first (never nil), at
// most maxListed.
func (b *orderBook) listBy(ctx context.Context, userID int64, status string) ([]order, error) {
	out := []order{}
	err := b.db.query(ctx, `SELECT `+orderColumns+` FROM shop_orders WHERE user_id = ? AND status = ? ORDER BY created_at DESC, id LIMIT ?`,
		func(scan func(...any) error) error {
			o, err := scanOrder(scan)
			out = append(out, o)
			return err
		}, userID, status, maxListed)
	return out, err
}

// markPaid records the payment of order id by charge in the ledger's
// transaction tx. It reports whether this call changed the order; a second
// call for the same order changes nothing. An order the book no longer
// holds (dropped while unpaid, then paid all the same) is rebuilt from what
// the signed payload says.
func (b *orderBook) markPaid(ctx context.Context, tx payments.Tx, o payments.Order, chargeID string, now time.Time) (bool, error) {
	n, err := b.db.execTx(ctx, tx, `UPDATE shop_orders SET status = ?, charge_id = ?, paid_at = ? WHERE id = ? AND status = ?`,
		statusPaid, chargeID, now.UnixMilli(), o.Ref, statusPending)
	if err != nil || n == 1 {
		return n == 1, err
	}
	p, ok := productByID(o.Product)
	if !ok {
		return false, errors.New("shop: paid order of an unknown product " + o.Product)
	}
	n, err = b.db.execTx(ctx, tx, `INSERT INTO shop_orders (id, user_id, product_id, stars, status, created_at, paid_at, charge_id)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
		o.Ref, o.UserID, p.ID, p.Stars, statusPaid, now.UnixMilli(), now.UnixMilli(), chargeID)
	return n == 1, err
}

// markRefunded records the refund of the order chargeID paid, in the
// ledger's transaction tx, and returns the order.
func (b *orderBook) markRefunded(ctx context.Context, tx payments.Tx, chargeID string) (order, error) {
	if _, err := b.db.execTx(ctx, tx, `UPDATE shop_orders SET status = ? WHERE charge_id = ?`, statusRefunded, chargeID); err != nil {
		return order{}, err
	}
	var (
		o     order
		found bool
	)
	err := b.db.queryTx(ctx, tx, `SELECT `+orderColumns+` FROM shop_orders WHERE charge_id = ?`, func(scan func(...any) error) error {
		var err error
		o, err = scanOrder(scan)
		found = err == nil
		return err
	}, chargeID)
	if err == nil && !found {
		err = errOrderNotFound
	}
	return o, err
}

// newOrderID returns a random order id: 16 hex digits.
func newOrderID() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b[:])
}
