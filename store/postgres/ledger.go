package postgres

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/miniappkit/miniappkit/payments"
)

// Ledger is a payments.Ledger in the table <schema>.payments. Every method
// is one statement (Record and the not-found checks add a read). It is
// safe for concurrent use.
type Ledger struct {
	db *DB
	q  ledgerSQL
}

// ledgerSQL is the ledger's statements with the schema filled in.
type ledgerSQL struct {
	record, get, exists, claim, release, setState, claimHook, hookDone, all string
}

var _ payments.Ledger = (*Ledger)(nil)

// Ledger returns the schema's payments.Ledger. Call [DB.Migrate] first.
func (db *DB) Ledger() *Ledger {
	return &Ledger{db: db, q: ledgerSQL{
		record: db.sql(`INSERT INTO {schema}.payments (` + paymentColumns + `)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) ON CONFLICT (charge_id) DO NOTHING`),
		get:    db.sql(`SELECT ` + paymentColumns + ` FROM {schema}.payments WHERE charge_id = $1`),
		exists: db.sql(`SELECT EXISTS (SELECT 1 FROM {schema}.payments WHERE charge_id = $1)`),
		claim: db.sql(`UPDATE {schema}.payments SET claim_until = $3, claim_owner = $2
			WHERE charge_id = $1 AND state = 1 AND (claim_until IS NULL OR claim_until <= $4)`),
		release: db.sql(`UPDATE {schema}.payments SET claim_until = NULL, claim_owner = NULL
			WHERE charge_id = $1 AND claim_owner = $2`),
		setState: db.sql(`UPDATE {schema}.payments SET state = $2::smallint,
			fulfilled_at = CASE WHEN $2::smallint = 2 THEN $4 ELSE fulfilled_at END,
			refunded_at = CASE WHEN $2::smallint = 3 THEN $4 ELSE refunded_at END,
			claim_until = NULL, claim_owner = NULL
			WHERE charge_id = $1 AND state = $3`),
		claimHook: db.sql(`UPDATE {schema}.payments SET claim_until = $3, claim_owner = $2
			WHERE charge_id = $1 AND state = 3 AND refund_hook_done_at IS NULL AND (claim_until IS NULL OR claim_until <= $4)`),
		hookDone: db.sql(`UPDATE {schema}.payments SET refund_hook_done_at = $2, claim_until = NULL, claim_owner = NULL
			WHERE charge_id = $1 AND state = 3 AND refund_hook_done_at IS NULL`),
		all: db.sql(`SELECT seq, ` + paymentColumns + ` FROM {schema}.payments WHERE seq > $1 ORDER BY seq LIMIT $2`),
	}}
}

const paymentColumns = `charge_id, provider_charge_id, user_id, currency, amount, payload,
	is_recurring, is_first_recurring, subscription_expiration, state,
	paid_at, fulfilled_at, refunded_at, refund_hook_done_at`

// Record implements payments.Ledger.
func (l *Ledger) Record(ctx context.Context, p payments.Payment) (payments.Payment, bool, error) {
	if l.db.err != nil {
		return payments.Payment{}, false, l.db.err
	}
	if p.ChargeID == "" {
		return payments.Payment{}, false, errors.New("postgres: ledger record: empty charge id")
	}
	if p.State == 0 {
		p.State = payments.StatePaid
	}
	tag, err := l.db.pool.Exec(ctx, l.q.record,
		p.ChargeID, p.ProviderChargeID, p.UserID, p.Currency, p.Amount, p.Payload,
		p.IsRecurring, p.IsFirstRecurring, ts(p.SubscriptionExpiration), int16(p.State),
		ts(p.PaidAt), ts(p.FulfilledAt), ts(p.RefundedAt), ts(p.RefundHookDoneAt))
	if err != nil {
		return payments.Payment{}, false, wrap("ledger record", err)
	}
	if tag.RowsAffected() == 1 {
		return p, true, nil
	}
	stored, err := l.get(ctx, p.ChargeID) // rows are never deleted: it is there
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

// Claim implements payments.Ledger.
func (l *Ledger) Claim(ctx context.Context, chargeID, owner string, now, until time.Time) (bool, error) {
	return l.update(ctx, "ledger claim", chargeID, l.q.claim, chargeID, owner, until, now)
}

// Release implements payments.Ledger.
func (l *Ledger) Release(ctx context.Context, chargeID, owner string) error {
	_, err := l.update(ctx, "ledger release", chargeID, l.q.release, chargeID, owner)
	return err
}

// SetState implements payments.Ledger.
func (l *Ledger) SetState(ctx context.Context, chargeID string, from, to payments.State, at time.Time) (bool, error) {
	return l.update(ctx, "ledger set state", chargeID, l.q.setState, chargeID, int16(to), int16(from), at)
}

// ClaimRefundHook implements payments.Ledger.
func (l *Ledger) ClaimRefundHook(ctx context.Context, chargeID, owner string, now, until time.Time) (bool, error) {
	return l.update(ctx, "ledger claim refund hook", chargeID, l.q.claimHook, chargeID, owner, until, now)
}

// RefundHookDone implements payments.Ledger.
func (l *Ledger) RefundHookDone(ctx context.Context, chargeID string, at time.Time) (bool, error) {
	return l.update(ctx, "ledger refund hook done", chargeID, l.q.hookDone, chargeID, at)
}

// All implements payments.Ledger. It reads in pages of record order, so a
// long iteration holds no connection between pages.
func (l *Ledger) All(ctx context.Context) iter.Seq2[payments.Payment, error] {
	return func(yield func(payments.Payment, error) bool) {
		if l.db.err != nil {
			yield(payments.Payment{}, l.db.err)
			return
		}
		const page = 500
		var after int64
		for {
			rows, err := l.db.pool.Query(ctx, l.q.all, after, page)
			if err != nil {
				yield(payments.Payment{}, wrap("ledger all", err))
				return
			}
			var batch []payments.Payment
			for rows.Next() {
				p, err := scanPayment(rows, &after)
				if err != nil {
					rows.Close()
					yield(payments.Payment{}, wrap("ledger all", err))
					return
				}
				batch = append(batch, p)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
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
	dest := append(pre, &p.ChargeID, &p.ProviderChargeID, &p.UserID, &p.Currency, &p.Amount, &p.Payload,
		&p.IsRecurring, &p.IsFirstRecurring, &sub, &state, &paid, &fulfilled, &refunded, &hook)
	if err := row.Scan(dest...); err != nil {
		return payments.Payment{}, err
	}
	p.State = payments.State(state)
	p.SubscriptionExpiration, p.PaidAt, p.FulfilledAt = fromTS(sub), fromTS(paid), fromTS(fulfilled)
	p.RefundedAt, p.RefundHookDoneAt = fromTS(refunded), fromTS(hook)
	return p, nil
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
