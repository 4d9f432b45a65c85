package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"time"

	"github.com/miniappkit/miniappkit/botapi"
	"github.com/miniappkit/miniappkit/payments"
)

// Ledger is a payments.Ledger in the tables miniappkit_payments and
// miniappkit_payment_orders. Every step is one statement on the writer,
// with SQLite's clock (unixepoch) for leases and timestamps, except Record
// of a one-time order (one transaction: bind the order, insert the charge)
// and Fulfil and RefundHookDone: each is one write transaction that checks
// the caller still holds a live claim, runs the caller's function with the
// transaction (a *sql.Tx, as payments.Tx) and moves the state in it, so the
// fulfilment's own writes commit with the state change or not at all.
// SQLite has one writer: while a fulfilment runs, every other write to the
// file waits for it (in another process, for at most the busy timeout,
// then fails: a refund or claim there is retried, not lost), so keep
// fulfilments short (and never write through
// [DB.SQL] from inside one: use the transaction). Pending, Since, ByOrder
// and Get read from the readers. It is safe for concurrent use by several
// processes on the same file.
//
// A holder that reserves an order it holds already (its pre-checkout
// delivered again) is kept in reserved_again_by (ledger migration 0003),
// and its ReleaseReservation then frees nothing; a process of an earlier
// release, running beside this one, does not read that column and still
// frees it, so upgrade every process before relying on the pin. Once this
// release has migrated, an earlier release's Migrate fails with
// [ErrNewerLayout] (ledger 3 is newer than it knows), so only processes
// started before the migration can run beside it, and going back to an
// earlier release needs the migration undone.
type Ledger struct{ db *DB }

var _ payments.Ledger = (*Ledger)(nil)

// Ledger returns the file's payments.Ledger. Call [DB.Migrate] first.
func (db *DB) Ledger() *Ledger { return &Ledger{db: db} }

const (
	ledgerInsertColumns = `charge_id, provider_charge_id, user_id, currency, amount, payload,
	is_recurring, is_first_recurring, subscription_expiration, state,
	paid_at, fulfilled_at, refunded_at, refund_hook_done_at,
	order_ref, shipping_option_id, order_info, duplicate_of`
	ledgerPaymentColumns = ledgerInsertColumns + `, refund_requested`
	// ledgerNowNS is SQLite's clock in Unix nanoseconds (to the millisecond).
	ledgerNowNS = `(CAST(unixepoch('subsec') * 1000 AS INTEGER) * 1000000)`
	ledgerLive  = `COALESCE(claim_until > ` + ledgerNowNS + `, 0)`
	// ledgerWaiting: a refund that must wait for the fulfilment holding the claim.
	ledgerWaiting      = `(state = 1 AND duplicate_of = '' AND ` + ledgerLive + `)`
	ledgerPendingWhere = `(state = 1 OR (state = 3 AND fulfilled_at IS NOT NULL AND refund_hook_done_at IS NULL))`

	ledgerInsertSQL = `INSERT INTO miniappkit_payments (` + ledgerInsertColumns + `)
		VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, COALESCE(?11, ` + ledgerNowNS + `), ?12,
			CASE WHEN ?10 = 3 THEN COALESCE(?13, ?11, ` + ledgerNowNS + `) END, ?14, ?15, ?16, ?17, ?18)
		ON CONFLICT (charge_id) DO NOTHING RETURNING ` + ledgerPaymentColumns
	ledgerGetSQL  = `SELECT ` + ledgerPaymentColumns + ` FROM miniappkit_payments WHERE charge_id = ?`
	ledgerBindSQL = `INSERT INTO miniappkit_payment_orders (order_ref, charge_id) VALUES (?1, ?2)
		ON CONFLICT (order_ref) DO UPDATE SET charge_id = COALESCE(charge_id, excluded.charge_id)
		RETURNING charge_id`
	ledgerByOrderSQL = `SELECT ` + ledgerPaymentColumns + ` FROM miniappkit_payments WHERE order_ref = ?1 AND order_ref <> '' ORDER BY seq`
	ledgerReserveSQL = `INSERT INTO miniappkit_payment_orders (order_ref, holder, reserved_until) VALUES (?1, ?2, ` + ledgerNowNS + ` + ?3)
		ON CONFLICT (order_ref) DO UPDATE SET holder = excluded.holder, reserved_until = excluded.reserved_until,
			reserved_again_by = CASE WHEN holder = excluded.holder THEN excluded.holder END
		WHERE charge_id IS NULL AND (holder = excluded.holder OR reserved_until IS NULL OR reserved_until <= ` + ledgerNowNS + `)`
	// A holder that reserved the order again (its query delivered again)
	// releases nothing: its first answer may have landed.
	ledgerReleaseReservationSQL = `UPDATE miniappkit_payment_orders SET holder = NULL, reserved_until = NULL, reserved_again_by = NULL
		WHERE order_ref = ?1 AND holder = ?2 AND charge_id IS NULL AND reserved_again_by IS NOT ?2`
	ledgerClaimSQL = `UPDATE miniappkit_payments SET claim_until = ` + ledgerNowNS + ` + ?3, claim_owner = ?2
		WHERE charge_id = ?1 AND state = 1 AND NOT refund_requested AND (claim_until IS NULL OR claim_until <= ` + ledgerNowNS + `)`
	ledgerReleaseSQL = `UPDATE miniappkit_payments SET claim_until = NULL, claim_owner = NULL,
			state = CASE WHEN refund_requested AND state = 1 THEN 3 ELSE state END,
			refunded_at = CASE WHEN refund_requested AND state = 1 THEN ` + ledgerNowNS + ` ELSE refunded_at END,
			refund_requested = 0
		WHERE charge_id = ?1 AND claim_owner = ?2`
	ledgerLockSQL = `SELECT state, COALESCE(claim_owner, ''), ` + ledgerLive + `, duplicate_of, refund_requested,
			fulfilled_at IS NOT NULL AND refund_hook_done_at IS NULL
		FROM miniappkit_payments WHERE charge_id = ?1`
	ledgerFulfilSQL = `UPDATE miniappkit_payments SET claim_until = NULL, claim_owner = NULL, refund_requested = 0,
			state = CASE WHEN ?2 THEN 2 ELSE 3 END,
			fulfilled_at = CASE WHEN ?2 THEN ` + ledgerNowNS + ` ELSE fulfilled_at END,
			refunded_at = CASE WHEN ?2 THEN refunded_at ELSE ` + ledgerNowNS + ` END
		WHERE charge_id = ?1 RETURNING ` + ledgerPaymentColumns
	ledgerRefundSQL = `UPDATE miniappkit_payments SET
			refund_requested = ` + ledgerWaiting + `,
			state = CASE WHEN ` + ledgerWaiting + ` THEN 1 ELSE 3 END,
			refunded_at = CASE WHEN ` + ledgerWaiting + ` THEN refunded_at ELSE ` + ledgerNowNS + ` END,
			claim_until = CASE WHEN ` + ledgerWaiting + ` THEN claim_until END,
			claim_owner = CASE WHEN ` + ledgerWaiting + ` THEN claim_owner END
		WHERE charge_id = ?1 AND state <> 3 RETURNING ` + ledgerPaymentColumns
	ledgerClaimHookSQL = `UPDATE miniappkit_payments SET claim_until = ` + ledgerNowNS + ` + ?3, claim_owner = ?2
		WHERE charge_id = ?1 AND state = 3 AND fulfilled_at IS NOT NULL AND refund_hook_done_at IS NULL
			AND (claim_until IS NULL OR claim_until <= ` + ledgerNowNS + `)`
	ledgerHookDoneSQL = `UPDATE miniappkit_payments SET refund_hook_done_at = ` + ledgerNowNS + `, claim_until = NULL, claim_owner = NULL
		WHERE charge_id = ?1 RETURNING ` + ledgerPaymentColumns
	ledgerPendingSQL = `SELECT seq, ` + ledgerPaymentColumns + ` FROM miniappkit_payments
		WHERE ` + ledgerPendingWhere + ` AND seq > ?2
			AND COALESCE(CASE WHEN state = 1 THEN paid_at ELSE refunded_at END, 0) <= ` + ledgerNowNS + ` - ?1
			AND (claim_until IS NULL OR claim_until <= ` + ledgerNowNS + `)
		ORDER BY seq LIMIT ?3`
	// Since pages in record order along the rowid, from the first payment
	// recorded at or after ?1 (found on the paid_at index): each page reads
	// only its own rows. Paging along the paid_at index instead sorts the
	// whole range again for every page, quadratic in its size.
	ledgerSinceStartSQL = `SELECT min(seq) FROM miniappkit_payments INDEXED BY miniappkit_payments_paid_at WHERE paid_at >= ?1`
	ledgerSinceSQL      = `SELECT seq, ` + ledgerPaymentColumns + ` FROM miniappkit_payments NOT INDEXED
		WHERE paid_at >= ?1 AND seq > ?2 ORDER BY seq LIMIT ?3`
)

// Record implements payments.Ledger.
func (l *Ledger) Record(ctx context.Context, p payments.Payment, oncePerOrder bool) (payments.Payment, bool, error) {
	if p.ChargeID == "" {
		return payments.Payment{}, false, errors.New("sqlite: ledger record: empty charge id")
	}
	if p.State == 0 {
		p.State = payments.StatePaid
	}
	info, err := orderInfo(p.OrderInfo)
	if err != nil {
		return payments.Payment{}, false, fmt.Errorf("sqlite: ledger record: %w", err)
	}
	args := []any{p.ChargeID, p.ProviderChargeID, p.UserID, p.Currency, p.Amount, p.Payload,
		p.IsRecurring, p.IsFirstRecurring, nanos(p.SubscriptionExpiration), int(p.State),
		nanos(p.PaidAt), nanos(p.FulfilledAt), nanos(p.RefundedAt), nanos(p.RefundHookDoneAt),
		p.OrderRef, p.ShippingOptionID, info, ""}
	var stored payments.Payment
	if oncePerOrder && p.OrderRef != "" && p.State == payments.StatePaid {
		stored, err = l.recordOnce(ctx, p, args)
	} else {
		stored, err = scanPayment(l.db.w.QueryRowContext(ctx, ledgerInsertSQL, args...))
	}
	if err == nil {
		return stored, true, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return payments.Payment{}, false, wrap("ledger record", err)
	}
	stored, err = l.get(ctx, l.db.w, p.ChargeID) // rows are never deleted: it is there
	if err != nil {
		return payments.Payment{}, false, wrap("ledger record", err)
	}
	return stored, false, nil
}

// recordOnce binds p's order to its first charge and inserts p, a
// duplicate if the order was bound to another, in one transaction.
func (l *Ledger) recordOnce(ctx context.Context, p payments.Payment, args []any) (payments.Payment, error) {
	tx, err := l.db.w.BeginTx(ctx, nil)
	if err != nil {
		return payments.Payment{}, err
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	var bound string
	if err := tx.QueryRowContext(ctx, ledgerBindSQL, p.OrderRef, p.ChargeID).Scan(&bound); err != nil {
		return payments.Payment{}, err
	}
	if bound != p.ChargeID {
		args[len(args)-1] = bound
	}
	stored, err := scanPayment(tx.QueryRowContext(ctx, ledgerInsertSQL, args...))
	if err != nil {
		return payments.Payment{}, err // sql.ErrNoRows: recorded before
	}
	return stored, tx.Commit()
}

// Get implements payments.Ledger.
func (l *Ledger) Get(ctx context.Context, chargeID string) (payments.Payment, error) {
	p, err := l.get(ctx, l.db.r, chargeID)
	if err != nil {
		return payments.Payment{}, wrap("ledger get", err)
	}
	return p, nil
}

func (l *Ledger) get(ctx context.Context, q *sql.DB, chargeID string) (payments.Payment, error) {
	p, err := scanPayment(q.QueryRowContext(ctx, ledgerGetSQL, chargeID))
	if errors.Is(err, sql.ErrNoRows) {
		return payments.Payment{}, fmt.Errorf("%w: %q", payments.ErrNotFound, chargeID)
	}
	return p, err
}

// ByOrder implements payments.Ledger (the index miniappkit_payments_order_ref).
func (l *Ledger) ByOrder(ctx context.Context, orderRef string) ([]payments.Payment, error) {
	rows, err := l.db.r.QueryContext(ctx, ledgerByOrderSQL, orderRef)
	if err != nil {
		return nil, wrap("ledger by order", err)
	}
	defer rows.Close()
	var out []payments.Payment
	for rows.Next() {
		p, err := scanPayment(rows)
		if err != nil {
			return nil, wrap("ledger by order", err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("ledger by order", err)
	}
	return out, nil
}

// Reserve implements payments.Ledger.
func (l *Ledger) Reserve(ctx context.Context, orderRef, holder string, ttl time.Duration) (bool, error) {
	if orderRef == "" || holder == "" {
		return false, errors.New("sqlite: ledger reserve: empty order reference or holder")
	}
	res, err := l.db.w.ExecContext(ctx, ledgerReserveSQL, orderRef, holder, ttl.Nanoseconds())
	if err != nil {
		return false, wrap("ledger reserve", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, wrap("ledger reserve", err)
	}
	return n == 1, nil
}

// ReleaseReservation implements payments.Ledger.
func (l *Ledger) ReleaseReservation(ctx context.Context, orderRef, holder string) error {
	if orderRef == "" || holder == "" {
		return errors.New("sqlite: ledger release reservation: empty order reference or holder")
	}
	if _, err := l.db.w.ExecContext(ctx, ledgerReleaseReservationSQL, orderRef, holder); err != nil {
		return wrap("ledger release reservation", err)
	}
	return nil
}

// Claim implements payments.Ledger.
func (l *Ledger) Claim(ctx context.Context, chargeID, owner string, ttl time.Duration) (bool, error) {
	return l.update(ctx, "ledger claim", chargeID, ledgerClaimSQL, chargeID, owner, ttl.Nanoseconds())
}

// Release implements payments.Ledger.
func (l *Ledger) Release(ctx context.Context, chargeID, owner string) error {
	_, err := l.update(ctx, "ledger release", chargeID, ledgerReleaseSQL, chargeID, owner)
	return err
}

// Fulfil implements payments.Ledger: one write transaction.
func (l *Ledger) Fulfil(ctx context.Context, chargeID, owner string, fn payments.TxFunc) (payments.Payment, error) {
	return l.inClaim(ctx, "ledger fulfil", chargeID, owner, false, fn)
}

// RefundHookDone implements payments.Ledger: one write transaction.
func (l *Ledger) RefundHookDone(ctx context.Context, chargeID, owner string, fn payments.TxFunc) (payments.Payment, error) {
	return l.inClaim(ctx, "ledger refund hook done", chargeID, owner, true, fn)
}

// inClaim checks, in a write transaction, that owner holds a live claim on
// chargeID for the work (fulfilment, or the refund hook when hook is true),
// runs fn in the transaction and completes the work in it. If fn or the
// completion fails the transaction rolls back and the claim is released.
func (l *Ledger) inClaim(ctx context.Context, op, chargeID, owner string, hook bool, fn payments.TxFunc) (payments.Payment, error) {
	tx, err := l.db.w.BeginTx(ctx, nil)
	if err != nil {
		return payments.Payment{}, wrap(op, err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	var (
		state                    int
		claimOwner, dup          string
		live, requested, hookDue bool
	)
	err = tx.QueryRowContext(ctx, ledgerLockSQL, chargeID).Scan(&state, &claimOwner, &live, &dup, &requested, &hookDue)
	if errors.Is(err, sql.ErrNoRows) {
		return payments.Payment{}, fmt.Errorf("sqlite: %s: %w: %q", op, payments.ErrNotFound, chargeID)
	}
	if err != nil {
		return payments.Payment{}, wrap(op, err)
	}
	due := state == 1 && dup == ""
	if hook {
		due = state == 3 && hookDue
	}
	if !due || !live || claimOwner != owner || owner == "" {
		return payments.Payment{}, fmt.Errorf("sqlite: %s: %w: charge %q", op, payments.ErrClaimLost, chargeID)
	}
	complete := ledgerHookDoneSQL
	args := []any{chargeID}
	if !hook {
		complete, args = ledgerFulfilSQL, []any{chargeID, !requested}
	}
	// From here on owner's claim ends either way: a failure (fn's, or the
	// completion's, say a context that ended) rolls back and releases it, so
	// a retry need not wait for the lease. Release is fenced by owner: after
	// a commit that happened it changes nothing.
	fail := func(err error) (payments.Payment, error) {
		// database/sql rolls the transaction back itself once ctx ends.
		if rerr := tx.Rollback(); rerr != nil && !errors.Is(rerr, sql.ErrTxDone) {
			err = errors.Join(err, wrap(op, rerr))
		}
		if rerr := l.Release(context.WithoutCancel(ctx), chargeID, owner); rerr != nil {
			err = errors.Join(err, rerr)
		}
		return payments.Payment{}, err
	}
	if hook || !requested { // a refund requested before the fulfilment started replaces it
		if err := fn(ctx, tx); err != nil {
			return fail(err)
		}
	}
	p, err := scanPayment(tx.QueryRowContext(ctx, complete, args...))
	if err != nil {
		return fail(wrap(op, err))
	}
	if err := tx.Commit(); err != nil {
		return fail(wrap(op+": commit", err))
	}
	return p, nil
}

// Refund implements payments.Ledger.
func (l *Ledger) Refund(ctx context.Context, chargeID string) (payments.Payment, error) {
	p, err := scanPayment(l.db.w.QueryRowContext(ctx, ledgerRefundSQL, chargeID))
	if errors.Is(err, sql.ErrNoRows) { // refunded already, or no such charge
		p, err = l.get(ctx, l.db.w, chargeID)
	}
	if err != nil {
		return payments.Payment{}, wrap("ledger refund", err)
	}
	return p, nil
}

// ClaimRefundHook implements payments.Ledger.
func (l *Ledger) ClaimRefundHook(ctx context.Context, chargeID, owner string, ttl time.Duration) (bool, error) {
	return l.update(ctx, "ledger claim refund hook", chargeID, ledgerClaimHookSQL, chargeID, owner, ttl.Nanoseconds())
}

// Pending implements payments.Ledger: the partial index
// miniappkit_payments_pending, read in pages of record order.
func (l *Ledger) Pending(ctx context.Context, olderThan time.Duration) iter.Seq2[payments.Payment, error] {
	return l.pages(ctx, "ledger pending", ledgerPendingSQL, olderThan.Nanoseconds(), 0)
}

// Since implements payments.Ledger: the first payment recorded since t
// from the index miniappkit_payments_paid_at, then pages of record order
// along the rowid.
func (l *Ledger) Since(ctx context.Context, t time.Time) iter.Seq2[payments.Payment, error] {
	var from int64
	if !t.IsZero() {
		from = t.UnixNano()
	}
	return func(yield func(payments.Payment, error) bool) {
		var start sql.NullInt64
		if err := l.db.r.QueryRowContext(ctx, ledgerSinceStartSQL, from).Scan(&start); err != nil {
			yield(payments.Payment{}, wrap("ledger since", err))
			return
		}
		if !start.Valid {
			return // none recorded since t
		}
		l.pages(ctx, "ledger since", ledgerSinceSQL, from, start.Int64-1)(yield)
	}
}

// pages runs query (arguments: first, seq after, limit) page by page on a
// reader, from seq after, so a long iteration holds no read transaction
// between pages.
func (l *Ledger) pages(ctx context.Context, op, query string, first any, after int64) iter.Seq2[payments.Payment, error] {
	return func(yield func(payments.Payment, error) bool) {
		const page = 500
		for {
			rows, err := l.db.r.QueryContext(ctx, query, first, after, page)
			if err != nil {
				yield(payments.Payment{}, wrap(op, err))
				return
			}
			var batch []payments.Payment
			for rows.Next() {
				p, err := scanPayment(rows, &after)
				if err != nil {
					rows.Close()
					yield(payments.Payment{}, wrap(op, err))
					return
				}
				batch = append(batch, p)
			}
			if err := errors.Join(rows.Err(), rows.Close()); err != nil {
				yield(payments.Payment{}, wrap(op, err))
				return
			}
			for _, p := range batch {
				if !yield(p, nil) {
					return
				}
			}
			if len(batch) < page {
				return
			}
		}
	}
}

// update runs a conditional UPDATE on chargeID and reports whether it
// changed the row; when it did not, it tells "no such charge"
// (ErrNotFound) from "condition false" with a read.
func (l *Ledger) update(ctx context.Context, op, chargeID, query string, args ...any) (bool, error) {
	res, err := l.db.w.ExecContext(ctx, query, args...)
	if err != nil {
		return false, wrap(op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, wrap(op, err)
	}
	if n == 1 {
		return true, nil
	}
	var one int
	err = l.db.w.QueryRowContext(ctx, `SELECT 1 FROM miniappkit_payments WHERE charge_id = ?`, chargeID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, fmt.Errorf("sqlite: %s: %w: %q", op, payments.ErrNotFound, chargeID)
	}
	if err != nil {
		return false, wrap(op, err)
	}
	return false, nil
}

// scanPayment reads ledgerPaymentColumns, after the columns given in pre.
func scanPayment(row interface{ Scan(...any) error }, pre ...any) (payments.Payment, error) {
	var p payments.Payment
	var state int
	var sub, paid, fulfilled, refunded, hook sql.NullInt64
	var info sql.NullString
	dest := append(pre, &p.ChargeID, &p.ProviderChargeID, &p.UserID, &p.Currency, &p.Amount, &p.Payload,
		&p.IsRecurring, &p.IsFirstRecurring, &sub, &state, &paid, &fulfilled, &refunded, &hook,
		&p.OrderRef, &p.ShippingOptionID, &info, &p.DuplicateOf, &p.RefundRequested)
	if err := row.Scan(dest...); err != nil {
		return payments.Payment{}, err
	}
	p.State = payments.State(state)
	p.SubscriptionExpiration, p.PaidAt, p.FulfilledAt = fromNanos(sub), fromNanos(paid), fromNanos(fulfilled)
	p.RefundedAt, p.RefundHookDoneAt = fromNanos(refunded), fromNanos(hook)
	if info.Valid && info.String != "" {
		p.OrderInfo = new(botapi.OrderInfo)
		if err := json.Unmarshal([]byte(info.String), p.OrderInfo); err != nil {
			return payments.Payment{}, fmt.Errorf("order_info: %w", err)
		}
	}
	return p, nil
}

// orderInfo encodes o for its JSON column; nil stays NULL.
func orderInfo(o *botapi.OrderInfo) (sql.NullString, error) {
	if o == nil {
		return sql.NullString{}, nil
	}
	b, err := json.Marshal(o)
	return sql.NullString{String: string(b), Valid: true}, err
}

// nanos stores t as Unix nanoseconds; the zero time as NULL.
func nanos(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixNano(), Valid: true}
}

func fromNanos(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.Unix(0, n.Int64).UTC()
}
