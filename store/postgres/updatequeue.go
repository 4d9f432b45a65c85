package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/miniappkit/miniappkit/webhook"
)

// Defaults of [DB.UpdateQueue].
const (
	// DefaultPopLease is how long a popped update stays hidden from other
	// Pops; if its worker has not acked, nacked, postponed or buried it by
	// then (it died), another Pop gets it.
	DefaultPopLease = 5 * time.Minute
	// DefaultPollInterval is the longest a Pop waits between looks at an
	// empty queue.
	DefaultPollInterval = time.Second
)

// UpdateQueue is a durable webhook.Queue in the table
// <schema>.webhook_queue, for webhook.WithAsync and webhook.NewWorker.
// Pop takes the oldest ready row with SELECT … FOR UPDATE SKIP LOCKED in
// one UPDATE, so concurrent workers in any number of processes never get
// one row twice and never wait on each other; the row stays hidden for the
// pop lease (on the server's clock) and comes back if its worker dies. A
// Push of an id the queue holds changes nothing. Dead updates stay in the
// table (state 1) until re-driven. Several queues (bots) share the table,
// told apart by name. It is safe for concurrent use.
type UpdateQueue struct {
	db                                                  *DB
	name                                                string
	lease                                               time.Duration
	poll                                                time.Duration
	push, pop, ack, nack, postpone, bury, dead, redrive string
}

var _ webhook.Queue = (*UpdateQueue)(nil)

// UpdateQueue returns the durable queue named name (for example the bot's
// name; "" is a name too) with a pop lease of lease (0 means
// [DefaultPopLease]); keep the lease well above the longest handler run.
// Call [DB.Migrate] first.
func (db *DB) UpdateQueue(name string, lease time.Duration) *UpdateQueue {
	if lease <= 0 {
		lease = DefaultPopLease
	}
	return &UpdateQueue{
		db: db, name: name, lease: lease, poll: DefaultPollInterval,
		push: db.sql(`INSERT INTO {schema}.webhook_queue (queue, id, body) VALUES ($1, $2, $3) ON CONFLICT (queue, id) DO NOTHING`),
		pop: db.sql(`UPDATE {schema}.webhook_queue AS t SET visible_at = now() + $2 * interval '1 microsecond', token = $3
	WHERE (t.queue, t.id) = (SELECT queue, id FROM {schema}.webhook_queue
		WHERE queue = $1 AND state = 0 AND visible_at <= now()
		ORDER BY visible_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)
	RETURNING t.id, t.body, t.attempt`),
		ack:      db.sql(`DELETE FROM {schema}.webhook_queue WHERE queue = $1 AND id = $2 AND token = $3 AND state = 0`),
		nack:     db.sql(`UPDATE {schema}.webhook_queue SET attempt = attempt + 1, visible_at = now() + $4 * interval '1 microsecond', token = NULL WHERE queue = $1 AND id = $2 AND token = $3 AND state = 0`),
		postpone: db.sql(`UPDATE {schema}.webhook_queue SET visible_at = now() + $4 * interval '1 microsecond', token = NULL WHERE queue = $1 AND id = $2 AND token = $3 AND state = 0`),
		bury:     db.sql(`UPDATE {schema}.webhook_queue SET state = 1, reason = CASE state WHEN 0 THEN $4 ELSE reason END, buried_at = CASE state WHEN 0 THEN now() ELSE buried_at END WHERE queue = $1 AND id = $2 AND token = $3`),
		dead:     db.sql(`SELECT id, body, attempt, reason, buried_at FROM {schema}.webhook_queue WHERE queue = $1 AND state = 1 ORDER BY buried_at, id LIMIT $2`),
		redrive:  db.sql(`UPDATE {schema}.webhook_queue SET state = 0, attempt = 1, visible_at = now(), reason = NULL, buried_at = NULL, token = NULL WHERE queue = $1 AND id = $2 AND state = 1`),
	}
}

// Push implements webhook.Queue: one INSERT … ON CONFLICT DO NOTHING.
func (q *UpdateQueue) Push(ctx context.Context, id int64, body []byte) error {
	if err := q.check(ctx); err != nil {
		return err
	}
	_, err := q.db.pool.Exec(ctx, q.push, q.name, id, body)
	return wrapIf("update queue push", err)
}

// Pop implements webhook.Queue. It polls an empty queue, at first every
// few milliseconds, then at most every [DefaultPollInterval]; it never
// returns webhook.ErrQueueClosed (a Worker on it runs until its context
// ends).
func (q *UpdateQueue) Pop(ctx context.Context) (webhook.Job, error) {
	pause := 5 * time.Millisecond
	for {
		if err := q.check(ctx); err != nil {
			return nil, err
		}
		tok := newToken()
		j := &pgJob{q: q, token: tok}
		err := q.db.pool.QueryRow(ctx, q.pop, q.name, micros(q.lease), tok).Scan(&j.id, &j.body, &j.attempt)
		if err == nil {
			return j, nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return nil, wrap("update queue pop", err)
		}
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
		pause = min(2*pause, q.poll)
	}
}

// DeadLetters implements webhook.Queue.
func (q *UpdateQueue) DeadLetters(ctx context.Context, limit int) ([]webhook.DeadLetter, error) {
	if err := q.check(ctx); err != nil {
		return nil, err
	}
	rows, err := q.db.pool.Query(ctx, q.dead, q.name, limit)
	if err != nil {
		return nil, wrap("update queue dead letters", err)
	}
	defer rows.Close()
	var out []webhook.DeadLetter
	for rows.Next() {
		var d webhook.DeadLetter
		var reason *string
		if err := rows.Scan(&d.ID, &d.Body, &d.Attempts, &reason, &d.At); err != nil {
			return nil, wrap("update queue dead letters", err)
		}
		if reason != nil {
			d.Reason = *reason
		}
		out = append(out, d)
	}
	return out, wrapIf("update queue dead letters", rows.Err())
}

// Redrive implements webhook.Queue.
func (q *UpdateQueue) Redrive(ctx context.Context, id int64) error {
	if err := q.check(ctx); err != nil {
		return err
	}
	tag, err := q.db.pool.Exec(ctx, q.redrive, q.name, id)
	if err != nil {
		return wrap("update queue redrive", err)
	}
	if tag.RowsAffected() == 0 {
		return webhook.ErrNotDead
	}
	return nil
}

// Durable reports true: a pushed update is committed to the database.
func (q *UpdateQueue) Durable() bool { return true }

func (q *UpdateQueue) check(ctx context.Context) error {
	if q.db.err != nil {
		return q.db.err
	}
	return ctx.Err()
}

// pgJob is a popped row; token names this pop.
type pgJob struct {
	q       *UpdateQueue
	token   string
	id      int64
	body    []byte
	attempt int
}

func (j *pgJob) ID() int64    { return j.id }
func (j *pgJob) Body() []byte { return j.body }
func (j *pgJob) Attempt() int { return j.attempt }

// Ack implements webhook.Job. It fails with webhook.ErrNotOwner, changing
// nothing, once the pop lease passed and another Pop took the row.
func (j *pgJob) Ack(ctx context.Context) error {
	tag, err := j.q.db.pool.Exec(ctx, j.q.ack, j.q.name, j.id, j.token)
	return affected("update queue ack", tag, err)
}

// Nack implements webhook.Job.
func (j *pgJob) Nack(ctx context.Context, delay time.Duration) error {
	tag, err := j.q.db.pool.Exec(ctx, j.q.nack, j.q.name, j.id, j.token, micros(max(delay, 0)))
	return affected("update queue nack", tag, err)
}

// Postpone implements webhook.Job.
func (j *pgJob) Postpone(ctx context.Context, delay time.Duration) error {
	tag, err := j.q.db.pool.Exec(ctx, j.q.postpone, j.q.name, j.id, j.token, micros(max(delay, 0)))
	return affected("update queue postpone", tag, err)
}

// Bury implements webhook.Job. A dead row keeps the token of the pop that
// buried it (until Redrive), so that pop's Bury again, after one that
// committed and reported an error, matches it and changes nothing.
func (j *pgJob) Bury(ctx context.Context, reason string) error {
	tag, err := j.q.db.pool.Exec(ctx, j.q.bury, j.q.name, j.id, j.token, reason)
	return affected("update queue bury", tag, err)
}

func newToken() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func wrapIf(op string, err error) error {
	if err == nil {
		return nil
	}
	return wrap(op, err)
}
