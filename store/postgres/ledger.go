package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/miniappkit/miniappkit/botapi"
	"github.com/miniappkit/miniappkit/payments"
)

// Ledger is a payments.Ledger in the tables <schema>.payments and
// <schema>.payment_orders. Every step is one statement, with the database's
// clock (now()) for leases and timestamps, except Fulfil and
// RefundHookDone: each is one transaction that locks the payment's row
// (SELECT ... FOR UPDATE), checks the caller still holds a live claim, runs
// the caller's function with the transaction (a pgx.Tx, as payments.Tx) and
// moves the state in it, so the fulfilment's own writes commit with the
// state change or not at all. While it runs, a refund, a claim or a
// redelivery of the same charge waits for the row, each holding a pool
// connection: inside the fulfilment, write through the transaction, never
// through the pool (a pool emptied by those waiters would never give the
// fulfilment a connection), and keep it short. It is safe for concurrent
// use by several processes.
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
type Ledger struct {
	db *DB
	q  ledgerSQL
}

// ledgerSQL is the ledger's statements with the schema filled in.
type ledgerSQL struct {
	record, recordOnce, get, exists, byOrder, reserve, unreserve, claim, release, lock, fulfil, refund,
	claimHook, hookDone, pending, since string
}

var _ payments.Ledger = (*Ledger)(nil)

// Ledger returns the schema's payments.Ledger. Call [DB.Migrate] first.
func (db *DB) Ledger() *Ledger {
	const (
		live    = `COALESCE(claim_until > now(), false)`
		waiting = `(state = 1 AND duplicate_of = '' AND ` + live + `)`
		insert  = `INSERT INTO {schema}.payments (` + insertColumns + `)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::smallint, COALESCE($11::timestamptz, now()), $12,
				CASE WHEN $10::smallint = 3 THEN COALESCE($13, $11::timestamptz, now()) END, $14, $15, $16, $17, `
	)
	return &Ledger{db: db, q: ledgerSQL{
		record: db.sql(insert + `'') ON CONFLICT (charge_id) DO NOTHING RETURNING ` + paymentColumns),
		// The order is bound to its first charge in the same statement; a
		// later charge of the order is stored as its duplicate. A charge the
		// ledger holds already binds nothing (a data-modifying CTE commits
		// even when the INSERT it feeds does nothing).
		recordOnce: db.sql(`WITH o AS (
				INSERT INTO {schema}.payment_orders (order_ref, charge_id)
				SELECT $15::text, $1::text
				WHERE NOT EXISTS (SELECT 1 FROM {schema}.payments WHERE charge_id = $1)
				ON CONFLICT (order_ref) DO UPDATE SET charge_id = COALESCE({schema}.payment_orders.charge_id, EXCLUDED.charge_id)
				RETURNING charge_id)
			` + insert + `COALESCE((SELECT CASE WHEN charge_id = $1 THEN '' ELSE charge_id END FROM o), ''))
			ON CONFLICT (charge_id) DO NOTHING RETURNING ` + paymentColumns),
		get:     db.sql(`SELECT ` + paymentColumns + ` FROM {schema}.payments WHERE charge_id = $1`),
		exists:  db.sql(`SELECT EXISTS (SELECT 1 FROM {schema}.payments WHERE charge_id = $1)`),
		byOrder: db.sql(`SELECT ` + paymentColumns + ` FROM {schema}.payments WHERE order_ref = $1 AND order_ref <> '' ORDER BY seq`),
		reserve: db.sql(`INSERT INTO {schema}.payment_orders AS o (order_ref, holder, reserved_until)
			VALUES ($1, $2, now() + $3 * interval '1 microsecond')
			ON CONFLICT (order_ref) DO UPDATE SET holder = EXCLUDED.holder, reserved_until = EXCLUDED.reserved_until,
				reserved_again_by = CASE WHEN o.holder = EXCLUDED.holder THEN EXCLUDED.holder END
			WHERE o.charge_id IS NULL AND (o.holder = EXCLUDED.holder OR o.reserved_until IS NULL OR o.reserved_until <= now())
			RETURNING 1`),
		// A holder that reserved the order again (its query delivered
		// again) releases nothing: its first answer may have landed.
		unreserve: db.sql(`UPDATE {schema}.payment_orders SET holder = NULL, reserved_until = NULL, reserved_again_by = NULL
			WHERE order_ref = $1 AND holder = $2 AND charge_id IS NULL AND reserved_again_by IS DISTINCT FROM $2`),
		claim: db.sql(`UPDATE {schema}.payments SET claim_until = now() + $3 * interval '1 microsecond', claim_owner = $2
			WHERE charge_id = $1 AND state = 1 AND NOT refund_requested AND (claim_until IS NULL OR claim_until <= now())`),
		release: db.sql(`UPDATE {schema}.payments SET claim_until = NULL, claim_owner = NULL,
				state = CASE WHEN refund_requested AND state = 1 THEN 3 ELSE state END,
				refunded_at = CASE WHEN refund_requested AND state = 1 THEN now() ELSE refunded_at END,
				refund_requested = false
			WHERE charge_id = $1 AND claim_owner = $2`),
		lock: db.sql(`SELECT state, COALESCE(claim_owner, ''), ` + live + `, duplicate_of, refund_requested,
				fulfilled_at IS NOT NULL AND refund_hook_done_at IS NULL
			FROM {schema}.payments WHERE charge_id = $1 FOR UPDATE`),
		fulfil: db.sql(`UPDATE {schema}.payments SET claim_until = NULL, claim_owner = NULL, refund_requested = false,
				state = CASE WHEN $2 THEN 2 ELSE 3 END,
				fulfilled_at = CASE WHEN $2 THEN now() ELSE fulfilled_at END,
				refunded_at = CASE WHEN $2 THEN refunded_at ELSE now() END
			WHERE charge_id = $1 RETURNING ` + paymentColumns),
		refund: db.sql(`UPDATE {schema}.payments SET
				refund_requested = ` + waiting + `,
				state = CASE WHEN ` + waiting + ` THEN 1 ELSE 3 END,
				refunded_at = CASE WHEN ` + waiting + ` THEN refunded_at ELSE now() END,
				claim_until = CASE WHEN ` + waiting + ` THEN claim_until END,
				claim_owner = CASE WHEN ` + waiting + ` THEN claim_owner END
			WHERE charge_id = $1 AND state <> 3 RETURNING ` + paymentColumns),
		claimHook: db.sql(`UPDATE {schema}.payments SET claim_until = now() + $3 * interval '1 microsecond', claim_owner = $2
			WHERE charge_id = $1 AND state = 3 AND fulfilled_at IS NOT NULL AND refund_hook_done_at IS NULL
				AND (claim_until IS NULL OR claim_until <= now())`),
		hookDone: db.sql(`UPDATE {schema}.payments SET refund_hook_done_at = now(), claim_until = NULL, claim_owner = NULL
			WHERE charge_id = $1 RETURNING ` + paymentColumns),
		pending: db.sql(`SELECT seq, ` + paymentColumns + ` FROM {schema}.payments
			WHERE (state = 1 OR (state = 3 AND fulfilled_at IS NOT NULL AND refund_hook_done_at IS NULL))
				AND seq > $2
				AND COALESCE(CASE WHEN state = 1 THEN paid_at ELSE refunded_at END, now()) <= now() - $1 * interval '1 microsecond'
				AND (claim_until IS NULL OR claim_until <= now())
			ORDER BY seq LIMIT $3`),
		since: db.sql(`SELECT seq, ` + paymentColumns + ` FROM {schema}.payments
			WHERE paid_at >= $1 AND seq > $2 ORDER BY seq LIMIT $3`),
	}}
}

const (
	insertColumns = `charge_id, provider_charge_id, user_id, currency, amount, payload,
	is_recurring, is_first_recurring, subscription_expiration, state,
	paid_at, fulfilled_at, refunded_at, refund_hook_done_at,
	order_ref, shipping_option_id, order_info, duplicate_of`
	paymentColumns = insertColumns + `, refund_requested`
)

// Record implements payments.Ledger.
func (l *Ledger) Record(ctx context.Context, p payments.Payment, oncePerOrder bool) (payments.Payment, bool, error) {
	if l.db.err != nil {
		return payments.Payment{}, false, l.db.err
	}
	if p.ChargeID == "" {
		return payments.Payment{}, false, errors.New("postgres: ledger record: empty charge id")
	}
	if p.State == 0 {
		p.State = payments.StatePaid
	}
	info, err := orderInfo(p.OrderInfo)
	if err != nil {
		return payments.Payment{}, false, fmt.Errorf("postgres: ledger record: %w", err)
	}
	q := l.q.record
	if oncePerOrder && p.OrderRef != "" && p.State == payments.StatePaid {
		q = l.q.recordOnce
	}
	stored, err := scanPayment(l.db.pool.QueryRow(ctx, q,
		p.ChargeID, p.ProviderChargeID, p.UserID, p.Currency, p.Amount, p.Payload,
		p.IsRecurring, p.IsFirstRecurring, ts(p.SubscriptionExpiration), int16(p.State),
		ts(p.PaidAt), ts(p.FulfilledAt), ts(p.RefundedAt), ts(p.RefundHookDoneAt),
		p.OrderRef, p.ShippingOptionID, info))
	if err == nil {
		return stored, true, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return payments.Payment{}, false, wrap("ledger record", err)
	}
	stored, err = l.get(ctx, p.ChargeID) // rows are never deleted: it is there
	if err != nil {
		return payments.Payment{}, false, wrap("ledger record", err)
	}
	return stored, false, nil
}

// Get implements payments.Ledger.
func (l *Ledger) Get(ctx context.Context, chargeID string) (payments.Payment, error) {
	if l.db.err != nil {
		return payments.Payment{}, l.db.err
	}
	p, err := l.get(ctx, chargeID)
	if err != nil {
		return payments.Payment{}, wrap("ledger get", err)
	}
	return p, nil
}

func (l *Ledger) get(ctx context.Context, chargeID string) (payments.Payment, error) {
	p, err := scanPayment(l.db.pool.QueryRow(ctx, l.q.get, chargeID))
	if errors.Is(err, pgx.ErrNoRows) {
		return payments.Payment{}, fmt.Errorf("%w: %q", payments.ErrNotFound, chargeID)
	}
	return p, err
}

// ByOrder implements payments.Ledger (the index payments_order_ref).
func (l *Ledger) ByOrder(ctx context.Context, orderRef string) ([]payments.Payment, error) {
	if l.db.err != nil {
		return nil, l.db.err
	}
	rows, err := l.db.pool.Query(ctx, l.q.byOrder, orderRef)
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
	if l.db.err != nil {
		return false, l.db.err
	}
	if orderRef == "" || holder == "" {
		return false, errors.New("postgres: ledger reserve: empty order reference or holder")
	}
	tag, err := l.db.pool.Exec(ctx, l.q.reserve, orderRef, holder, ttl.Microseconds())
	if err != nil {
		return false, wrap("ledger reserve", err)
	}
	return tag.RowsAffected() == 1, nil
}

// ReleaseReservation implements payments.Ledger.
func (l *Ledger) ReleaseReservation(ctx context.Context, orderRef, holder string) error {
	if l.db.err != nil {
		return l.db.err
	}
	if orderRef == "" || holder == "" {
		return errors.New("postgres: ledger release reservation: empty order reference or holder")
	}
	if _, err := l.db.pool.Exec(ctx, l.q.unreserve, orderRef, holder); err != nil {
		return wrap("ledger release reservation", err)
	}
	return nil
}

// Claim implements payments.Ledger.
func (l *Ledger) Claim(ctx context.Context, chargeID, owner string, ttl time.Duration) (bool, error) {
	return l.update(ctx, "ledger claim", chargeID, l.q.claim, chargeID, owner, ttl.Microseconds())
}

// Release implements payments.Ledger.
func (l *Ledger) Release(ctx context.Context, chargeID, owner string) error {
	_, err := l.update(ctx, "ledger release", chargeID, l.q.release, chargeID, owner)
	return err
}

// Fulfil implements payments.Ledger: one transaction holding the row.
func (l *Ledger) Fulfil(ctx context.Context, chargeID, owner string, fn payments.TxFunc) (payments.Payment, error) {
	return l.inClaim(ctx, "ledger fulfil", chargeID, owner, false, fn)
}

// RefundHookDone implements payments.Ledger: one transaction holding the row.
func (l *Ledger) RefundHookDone(ctx context.Context, chargeID, owner string, fn payments.TxFunc) (payments.Payment, error) {
	return l.inClaim(ctx, "ledger refund hook done", chargeID, owner, true, fn)
}

// inClaim locks chargeID's row, checks owner holds a live claim for the
// work (fulfilment, or the refund hook when hook is true), runs fn in the
// transaction and completes the work in it. If fn or the completion fails
// the transaction rolls back and the claim is released.
func (l *Ledger) inClaim(ctx context.Context, op, chargeID, owner string, hook bool, fn payments.TxFunc) (p payments.Payment, err error) {
	if l.db.err != nil {
		return payments.Payment{}, l.db.err
	}
	tx, err := l.db.pool.Begin(ctx)
	if err != nil {
		return payments.Payment{}, wrap(op, err)
	}
	defer func() {
		if rerr := tx.Rollback(context.WithoutCancel(ctx)); rerr != nil && !errors.Is(rerr, pgx.ErrTxClosed) {
			err = errors.Join(err, wrap(op, rerr))
		}
	}()
	var (
		state                    int16
		claimOwner, dup          string
		live, requested, hookDue bool
	)
	err = tx.QueryRow(ctx, l.q.lock, chargeID).Scan(&state, &claimOwner, &live, &dup, &requested, &hookDue)
	if errors.Is(err, pgx.ErrNoRows) {
		return payments.Payment{}, fmt.Errorf("postgres: %s: %w: %q", op, payments.ErrNotFound, chargeID)
	}
	if err != nil {
		return payments.Payment{}, wrap(op, err)
	}
	due := state == 1 && dup == ""
	if hook {
		due = state == 3 && hookDue
	}
	if !due || !live || claimOwner != owner || owner == "" {
		return payments.Payment{}, fmt.Errorf("postgres: %s: %w: charge %q", op, payments.ErrClaimLost, chargeID)
	}
	complete := l.q.hookDone
	args := []any{chargeID}
	if !hook {
		complete, args = l.q.fulfil, []any{chargeID, !requested}
	}
	// From here on owner's claim ends either way: a failure (fn's, or the
	// completion's, say a context that ended) rolls back and releases it, so
	// a retry need not wait for the lease. Release is fenced by owner: after
	// a commit whose reply was lost it changes nothing.
	fail := func(err error) (payments.Payment, error) {
		rest := context.WithoutCancel(ctx)
		if rerr := tx.Rollback(rest); rerr != nil && !errors.Is(rerr, pgx.ErrTxClosed) {
			err = errors.Join(err, wrap(op, rerr))
		}
		if rerr := l.Release(rest, chargeID, owner); rerr != nil {
			err = errors.Join(err, rerr)
		}
		return payments.Payment{}, err
	}
	if hook || !requested { // a refund requested before the fulfilment started replaces it
		if err := fn(ctx, tx); err != nil {
			return fail(err)
		}
	}
	p, err = scanPayment(tx.QueryRow(ctx, complete, args...))
	if err != nil {
		return fail(wrap(op, err))
	}
	if err := tx.Commit(ctx); err != nil {
		return fail(wrap(op+": commit", err))
	}
	return p, nil
}

// Refund implements payments.Ledger.
func (l *Ledger) Refund(ctx context.Context, chargeID string) (payments.Payment, error) {
	if l.db.err != nil {
		return payments.Payment{}, l.db.err
	}
	p, err := scanPayment(l.db.pool.QueryRow(ctx, l.q.refund, chargeID))
	if errors.Is(err, pgx.ErrNoRows) { // refunded already, or no such charge
		p, err = l.get(ctx, chargeID)
	}
	if err != nil {
		return payments.Payment{}, wrap("ledger refund", err)
	}
	return p, nil
}

// ClaimRefundHook implements payments.Ledger.
func (l *Ledger) ClaimRefundHook(ctx context.Context, chargeID, owner string, ttl time.Duration) (bool, error) {
	return l.update(ctx, "ledger claim refund hook", chargeID, l.q.claimHook, chargeID, owner, ttl.Microseconds())
}

// Pending implements payments.Ledger: the partial index payments_pending,
// read in pages of record order.
func (l *Ledger) Pending(ctx context.Context, olderThan time.Duration) iter.Seq2[payments.Payment, error] {
	return l.pages(ctx, "ledger pending", l.q.pending, olderThan.Microseconds())
}

// Since implements payments.Ledger: the index payments_paid_at, read in
// pages of record order.
func (l *Ledger) Since(ctx context.Context, t time.Time) iter.Seq2[payments.Payment, error] {
	if t.IsZero() {
		t = time.Unix(0, 0)
	}
	return l.pages(ctx, "ledger since", l.q.since, t)
}

// pages runs query (arguments: first, seq after, limit) page by page, so a
// long iteration holds no connection between pages.
func (l *Ledger) pages(ctx context.Context, op, query string, first any) iter.Seq2[payments.Payment, error] {
	return func(yield func(payments.Payment, error) bool) {
		if l.db.err != nil {
			yield(payments.Payment{}, l.db.err)
			return
		}
		const page = 500
		var after int64
		for {
			rows, err := l.db.pool.Query(ctx, query, first, after, page)
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
			rows.Close()
			if err := rows.Err(); err != nil {
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
	if l.db.err != nil {
		return false, l.db.err
	}
	tag, err := l.db.pool.Exec(ctx, query, args...)
	if err != nil {
		return false, wrap(op, err)
	}
	if tag.RowsAffected() == 1 {
		return true, nil
	}
	var exists bool
	if err := l.db.pool.QueryRow(ctx, l.q.exists, chargeID).Scan(&exists); err != nil {
		return false, wrap(op, err)
	}
	if !exists {
		return false, fmt.Errorf("postgres: %s: %w: %q", op, payments.ErrNotFound, chargeID)
	}
	return false, nil
}

// scanPayment reads paymentColumns, after the columns given in pre.
func scanPayment(row pgx.Row, pre ...any) (payments.Payment, error) {
	var p payments.Payment
	var state int16
	var sub, paid, fulfilled, refunded, hook *time.Time
	var info []byte
	dest := append(pre, &p.ChargeID, &p.ProviderChargeID, &p.UserID, &p.Currency, &p.Amount, &p.Payload,
		&p.IsRecurring, &p.IsFirstRecurring, &sub, &state, &paid, &fulfilled, &refunded, &hook,
		&p.OrderRef, &p.ShippingOptionID, &info, &p.DuplicateOf, &p.RefundRequested)
	if err := row.Scan(dest...); err != nil {
		return payments.Payment{}, err
	}
	p.State = payments.State(state)
	p.SubscriptionExpiration, p.PaidAt, p.FulfilledAt = fromTS(sub), fromTS(paid), fromTS(fulfilled)
	p.RefundedAt, p.RefundHookDoneAt = fromTS(refunded), fromTS(hook)
	if len(info) > 0 {
		p.OrderInfo = new(botapi.OrderInfo)
		if err := json.Unmarshal(info, p.OrderInfo); err != nil {
			return payments.Payment{}, fmt.Errorf("order_info: %w", err)
		}
	}
	return p, nil
}

// orderInfo encodes o for the jsonb column; nil stays NULL.
func orderInfo(o *botapi.OrderInfo) ([]byte, error) {
	if o == nil {
		return nil, nil
	}
	return json.Marshal(o)
}

// ts stores the zero time as NULL.
func ts(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func fromTS(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}
