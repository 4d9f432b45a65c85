package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"iter"
	"time"

	"github.com/miniappkit/miniappkit/payments"
)

// Ledger is a payments.Ledger in the table miniappkit_payments. Every
// method is one statement on the writer (Record and the not-found checks
// add a read); All reads from a reader. It is safe for concurrent use.
type Ledger struct{ db *DB }

var _ payments.Ledger = (*Ledger)(nil)

// Ledger returns the file's payments.Ledger. Call [DB.Migrate] first.
func (db *DB) Ledger() *Ledger { return &Ledger{db: db} }

const paymentColumns = `charge_id, provider_charge_id, user_id, currency, amount, payload,
	is_recurring, is_first_recurring, subscription_expiration, state,
	paid_at, fulfilled_at, refunded_at, refund_hook_done_at`

// Record implements payments.Ledger.
func (l *Ledger) Record(ctx context.Context, p payments.Payment) (payments.Payment, bool, error) {
	if p.ChargeID == "" {
		return payments.Payment{}, false, errors.New("sqlite: ledger record: empty charge id")
	}
	if p.State == 0 {
		p.State = payments.StatePaid
	}
	res, err := l.db.exec(ctx, `INSERT INTO miniappkit_payments (`+paymentColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (charge_id) DO NOTHING`,
		p.ChargeID, p.ProviderChargeID, p.UserID, p.Currency, p.Amount, p.Payload,
		p.IsRecurring, p.IsFirstRecurring, nanos(p.SubscriptionExpiration), int(p.State),
		nanos(p.PaidAt), nanos(p.FulfilledAt), nanos(p.RefundedAt), nanos(p.RefundHookDoneAt))
	if err != nil {
		return payments.Payment{}, false, wrap("ledger record", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return payments.Payment{}, false, wrap("ledger record", err)
	} else if n == 1 {
		return p, true, nil
	}
	stored, err := l.get(ctx, l.db.w, p.ChargeID) // rows are never deleted: it is there
	if err != nil {
		return payments.Payment{}, false, wrap("ledger record", err)
	}
	return stored, false, nil
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
	p, err := scanPayment(q.QueryRowContext(ctx, `SELECT `+paymentColumns+` FROM miniappkit_payments WHERE charge_id = ?`, chargeID))
	if errors.Is(err, sql.ErrNoRows) {
		return payments.Payment{}, fmt.Errorf("%w: %q", payments.ErrNotFound, chargeID)
	}
	return p, err
}

// Claim implements payments.Ledger.
func (l *Ledger) Claim(ctx context.Context, chargeID, owner string, now, until time.Time) (bool, error) {
	return l.update(ctx, "ledger claim", chargeID, `UPDATE miniappkit_payments SET claim_until = ?, claim_owner = ?
		WHERE charge_id = ? AND state = 1 AND (claim_until IS NULL OR claim_until <= ?)`,
		until.UnixNano(), owner, chargeID, now.UnixNano())
}

// Release implements payments.Ledger.
func (l *Ledger) Release(ctx context.Context, chargeID, owner string) error {
	_, err := l.update(ctx, "ledger release", chargeID, `UPDATE miniappkit_payments SET claim_until = NULL, claim_owner = NULL
		WHERE charge_id = ? AND claim_owner = ?`, chargeID, owner)
	return err
}

// SetState implements payments.Ledger.
func (l *Ledger) SetState(ctx context.Context, chargeID string, from, to payments.State, at time.Time) (bool, error) {
	return l.update(ctx, "ledger set state", chargeID, `UPDATE miniappkit_payments SET state = ?1,
		fulfilled_at = CASE WHEN ?1 = 2 THEN ?2 ELSE fulfilled_at END,
		refunded_at = CASE WHEN ?1 = 3 THEN ?2 ELSE refunded_at END,
		claim_until = NULL, claim_owner = NULL
		WHERE charge_id = ?3 AND state = ?4`, int(to), at.UnixNano(), chargeID, int(from))
}

// ClaimRefundHook implements payments.Ledger.
func (l *Ledger) ClaimRefundHook(ctx context.Context, chargeID, owner string, now, until time.Time) (bool, error) {
	return l.update(ctx, "ledger claim refund hook", chargeID, `UPDATE miniappkit_payments SET claim_until = ?, claim_owner = ?
		WHERE charge_id = ? AND state = 3 AND refund_hook_done_at IS NULL AND (claim_until IS NULL OR claim_until <= ?)`,
		until.UnixNano(), owner, chargeID, now.UnixNano())
}

// RefundHookDone implements payments.Ledger.
func (l *Ledger) RefundHookDone(ctx context.Context, chargeID string, at time.Time) (bool, error) {
	return l.update(ctx, "ledger refund hook done", chargeID, `UPDATE miniappkit_payments SET refund_hook_done_at = ?,
		claim_until = NULL, claim_owner = NULL
		WHERE charge_id = ? AND state = 3 AND refund_hook_done_at IS NULL`, at.UnixNano(), chargeID)
}

// All implements payments.Ledger. It reads in pages of record order, so a
// long iteration holds no read transaction between pages.
func (l *Ledger) All(ctx context.Context) iter.Seq2[payments.Payment, error] {
	return func(yield func(payments.Payment, error) bool) {
		const page = 500
		var after int64
		for {
			rows, err := l.db.r.QueryContext(ctx, `SELECT seq, `+paymentColumns+` FROM miniappkit_payments
				WHERE seq > ? ORDER BY seq LIMIT ?`, after, page)
			if err != nil {
				yield(payments.Payment{}, wrap("ledger all", err))
				return
			}
			var batch []payments.Payment
			for rows.Next() {
				var seq int64
				p, err := scanPayment(rows, &seq)
				if err != nil {
					rows.Close()
					yield(payments.Payment{}, wrap("ledger all", err))
					return
				}
				after = seq
				batch = append(batch, p)
			}
			if err := errors.Join(rows.Err(), rows.Close()); err != nil {
				yield(payments.Payment{}, wrap("ledger all", err))
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
	res, err := l.db.exec(ctx, query, args...)
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

// scanPayment reads paymentColumns, after the columns given in pre.
func scanPayment(row interface{ Scan(...any) error }, pre ...any) (payments.Payment, error) {
	var p payments.Payment
	var state int
	var sub, paid, fulfilled, refunded, hook sql.NullInt64
	dest := append(pre, &p.ChargeID, &p.ProviderChargeID, &p.UserID, &p.Currency, &p.Amount, &p.Payload,
		&p.IsRecurring, &p.IsFirstRecurring, &sub, &state, &paid, &fulfilled, &refunded, &hook)
	if err := row.Scan(dest...); err != nil {
		return payments.Payment{}, err
	}
	p.State = payments.State(state)
	p.SubscriptionExpiration, p.PaidAt, p.FulfilledAt = fromNanos(sub), fromNanos(paid), fromNanos(fulfilled)
	p.RefundedAt, p.RefundHookDoneAt = fromNanos(refunded), fromNanos(hook)
	return p, nil
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
