package sqlite

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"time"

	"github.com/miniappkit/miniappkit/webhook"
)

// Defaults of [DB.UpdateQueue].
const (
	// DefaultPopLease is how long a popped update stays hidden from other
	// Pops; if its worker has not acked, nacked, postponed or buried it by
	// then (the process died), another Pop gets it.
	DefaultPopLease = 5 * time.Minute
	// DefaultPollInterval is the longest a Pop waits between looks at an
	// empty queue.
	DefaultPollInterval = time.Second
)

// UpdateQueue is a durable webhook.Queue in the table
// miniappkit_webhook_queue, for webhook.WithAsync and webhook.NewWorker: a
// table of leases. Pop is one UPDATE … RETURNING of the oldest ready row
// on the one writer connection (SQLite serializes writers, so no two Pops
// get one row); the row stays hidden for the pop lease and comes back if
// its worker dies. A Push of an id the queue holds changes nothing. Dead
// updates stay in the table until re-driven. Several queues share the
// table, told apart by name. It is safe for concurrent use.
type UpdateQueue struct {
	db    *DB
	name  string
	lease time.Duration
	poll  time.Duration
}

var _ webhook.Queue = (*UpdateQueue)(nil)

// UpdateQueue returns the durable queue named name with a pop lease of
// lease (0 means [DefaultPopLease]); keep the lease well above the longest
// handler run. Call [DB.Migrate] first.
func (db *DB) UpdateQueue(name string, lease time.Duration) *UpdateQueue {
	if lease <= 0 {
		lease = DefaultPopLease
	}
	return &UpdateQueue{db: db, name: name, lease: lease, poll: DefaultPollInterval}
}

const (
	queuePushSQL = `INSERT INTO miniappkit_webhook_queue (queue, id, body, visible_at) VALUES (?1, ?2, ?3, ` + nowMS + `) ON CONFLICT (queue, id) DO NOTHING`
	queuePopSQL  = `UPDATE miniappkit_webhook_queue SET visible_at = ` + nowMS + ` + ?2, token = ?3
	WHERE queue = ?1 AND id = (SELECT id FROM miniappkit_webhook_queue
		WHERE queue = ?1 AND state = 0 AND visible_at <= ` + nowMS + ` ORDER BY visible_at, id LIMIT 1)
	RETURNING id, body, attempt`
	queueAckSQL      = `DELETE FROM miniappkit_webhook_queue WHERE queue = ?1 AND id = ?2 AND token = ?3 AND state = 0`
	queueNackSQL     = `UPDATE miniappkit_webhook_queue SET attempt = attempt + 1, visible_at = ` + nowMS + ` + ?4, token = NULL WHERE queue = ?1 AND id = ?2 AND token = ?3 AND state = 0`
	queuePostponeSQL = `UPDATE miniappkit_webhook_queue SET visible_at = ` + nowMS + ` + ?4, token = NULL WHERE queue = ?1 AND id = ?2 AND token = ?3 AND state = 0`
	queueBurySQL     = `UPDATE miniappkit_webhook_queue SET state = 1, reason = CASE state WHEN 0 THEN ?4 ELSE reason END, buried_at = CASE state WHEN 0 THEN ` + nowMS + ` ELSE buried_at END WHERE queue = ?1 AND id = ?2 AND token = ?3`
	queueDeadSQL     = `SELECT id, body, attempt, reason, buried_at FROM miniappkit_webhook_queue WHERE queue = ?1 AND state = 1 ORDER BY buried_at, id LIMIT ?2`
	queueRedriveSQL  = `UPDATE miniappkit_webhook_queue SET state = 0, attempt = 1, visible_at = ` + nowMS + `, reason = NULL, buried_at = NULL, token = NULL WHERE queue = ?1 AND id = ?2 AND state = 1`
)

// Push implements webhook.Queue: one INSERT … ON CONFLICT DO NOTHING.
func (q *UpdateQueue) Push(ctx context.Context, id int64, body []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if _, err := q.db.exec(ctx, queuePushSQL, q.name, id, body); err != nil {
		return wrap("update queue push", err)
	}
	return nil
}

// Pop implements webhook.Queue. It polls an empty queue, at first every
// few milliseconds, then at most every [DefaultPollInterval]; it never
// returns webhook.ErrQueueClosed (a Worker on it runs until its context
// ends).
func (q *UpdateQueue) Pop(ctx context.Context) (webhook.Job, error) {
	pause := 5 * time.Millisecond
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		j := &sqliteJob{q: q, token: newToken()}
		row, err := q.db.queryRow(ctx, queuePopSQL, q.name, millis(q.lease), j.token)
		if err == nil {
			err = row.Scan(&j.id, &j.body, &j.attempt)
		}
		if err == nil {
			return j, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
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
	rows, err := q.db.r.QueryContext(ctx, queueDeadSQL, q.name, limit)
	if err != nil {
		return nil, wrap("update queue dead letters", err)
	}
	defer rows.Close()
	var out []webhook.DeadLetter
	for rows.Next() {
		var d webhook.DeadLetter
		var reason sql.NullString
		var at int64
		if err := rows.Scan(&d.ID, &d.Body, &d.Attempts, &reason, &at); err != nil {
			return nil, wrap("update queue dead letters", err)
		}
		d.Reason, d.At = reason.String, time.UnixMilli(at)
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("update queue dead letters", err)
	}
	return out, nil
}

// Redrive implements webhook.Queue.
func (q *UpdateQueue) Redrive(ctx context.Context, id int64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	res, err := q.db.exec(ctx, queueRedriveSQL, q.name, id)
	err = affected("update queue redrive", res, err)
	if errors.Is(err, webhook.ErrNotOwner) {
		return webhook.ErrNotDead
	}
	return err
}

// Durable reports true: a pushed update is committed to the file.
func (q *UpdateQueue) Durable() bool { return true }

// sqliteJob is a popped row; token names this pop.
type sqliteJob struct {
	q       *UpdateQueue
	token   string
	id      int64
	body    []byte
	attempt int
}

func (j *sqliteJob) ID() int64    { return j.id }
func (j *sqliteJob) Body() []byte { return j.body }
func (j *sqliteJob) Attempt() int { return j.attempt }

// Ack implements webhook.Job. It fails with webhook.ErrNotOwner, changing
// nothing, once the pop lease passed and another Pop took the row.
func (j *sqliteJob) Ack(ctx context.Context) error {
	res, err := j.q.db.exec(ctx, queueAckSQL, j.q.name, j.id, j.token)
	return affected("update queue ack", res, err)
}

// Nack implements webhook.Job.
func (j *sqliteJob) Nack(ctx context.Context, delay time.Duration) error {
	res, err := j.q.db.exec(ctx, queueNackSQL, j.q.name, j.id, j.token, millis(max(delay, 0)))
	return affected("update queue nack", res, err)
}

// Postpone implements webhook.Job.
func (j *sqliteJob) Postpone(ctx context.Context, delay time.Duration) error {
	res, err := j.q.db.exec(ctx, queuePostponeSQL, j.q.name, j.id, j.token, millis(max(delay, 0)))
	return affected("update queue postpone", res, err)
}

// Bury implements webhook.Job. A dead row keeps the token of the pop that
// buried it (until Redrive), so that pop's Bury again, after one that
// committed and reported an error, matches it and changes nothing.
func (j *sqliteJob) Bury(ctx context.Context, reason string) error {
	res, err := j.q.db.exec(ctx, queueBurySQL, j.q.name, j.id, j.token, reason)
	return affected("update queue bury", res, err)
}

func newToken() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
