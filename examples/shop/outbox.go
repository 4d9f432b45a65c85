package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/miniappkit/miniappkit/botapi"
	"github.com/miniappkit/miniappkit/payments"
)

// The outbox: messages to users (order confirmations, refund notices) are
// rows written in the ledger's transaction, together with the order's new
// status, and sent afterwards by one sender. A message is therefore never
// lost (its row commits with the order or not at all) and is sent twice
// only if the sender dies between Telegram's answer and marking the row
// sent: the window is one send per crash.
//
// One sender at a time across replicas (a lease row in the database, on
// the engine's clock) keeps Telegram's per-chat and global limits with
// the one ratelimit.Telegram scheduler of the process that holds it.
const (
	outboxLease   = 5 * time.Second        // the sender's lease; renewed while it works
	outboxPoll    = 500 * time.Millisecond // how often a sender looks for work without a wake-up
	outboxBatch   = 200                    // rows read at once
	outboxSenders = 16                     // sends in flight at once (the scheduler paces them)
	outboxBackoff = time.Second            // the pause after Telegram failed a send
	// outboxWarmup is how long a process that just took the lease waits
	// before its first send: its scheduler knows nothing of the previous
	// sender's last sends, and Telegram's per-chat allowance (a burst of
	// about 3, then 1 a second) has refilled after it.
	outboxWarmup = 3 * time.Second
)

// Outbox message kinds.
const (
	kindPaid     = "paid"
	kindRefunded = "refunded"
)

// outbox sends the rows of shop_outbox. It is safe for concurrent use.
type outbox struct {
	db    sqlDB
	bot   *botapi.Client
	log   *slog.Logger
	owner string        // this process, for the lease
	wake  chan struct{} // a commit added a row
	// leading is set while this process holds the lease (run's goroutine
	// only).
	leading bool
	warmup  time.Duration // outboxWarmup; tests with one fake set 0
}

func newOutbox(db sqlDB, bot *botapi.Client, log *slog.Logger) *outbox {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return &outbox{db: db, bot: bot, log: log, owner: hex.EncodeToString(b[:]), wake: make(chan struct{}, 1), warmup: outboxWarmup}
}

// add writes a message to chatID in the ledger's transaction tx. A second
// add of the same (chargeID, kind) changes nothing.
func (ob *outbox) add(ctx context.Context, tx payments.Tx, chargeID, kind string, chatID int64, text string) error {
	_, err := ob.db.execTx(ctx, tx, `INSERT INTO shop_outbox (charge_id, kind, chat_id, text, created_at) VALUES (?, ?, ?, ?, {now})
		ON CONFLICT (charge_id, kind) DO NOTHING`, chargeID, kind, chatID, text)
	return err
}

// notify wakes the sender after a commit that added a row.
func (ob *outbox) notify() {
	select {
	case ob.wake <- struct{}{}:
	default:
	}
}

// lead takes or renews the sender's lease and reports whether this process
// holds it.
func (ob *outbox) lead(ctx context.Context) (bool, error) {
	n, err := ob.db.exec(ctx, `INSERT INTO shop_leases (name, owner, until_ms) VALUES ('outbox', ?, {now} + ?)
		ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, until_ms = excluded.until_ms
		WHERE shop_leases.owner = excluded.owner OR shop_leases.until_ms < {now}`, ob.owner, outboxLease.Milliseconds())
	return n == 1, err
}

// resign gives the lease up, so another replica takes over at once.
func (ob *outbox) resign(ctx context.Context) {
	_, _ = ob.db.exec(ctx, `DELETE FROM shop_leases WHERE name = 'outbox' AND owner = ?`, ob.owner)
}

// pending counts the messages not sent yet.
func (ob *outbox) pending(ctx context.Context) (int, error) {
	var n int
	err := ob.db.query(ctx, `SELECT count(*) FROM shop_outbox WHERE sent_at IS NULL`, func(scan func(...any) error) error {
		return scan(&n)
	})
	return n, err
}

type outboxRow struct {
	chargeID, kind string
	chatID         int64
	text           string
}

// run sends until ctx ends; a send under way when it ends finishes (it uses
// work, which outlives ctx by the shutdown timeout).
func (ob *outbox) run(ctx, work context.Context) {
	defer ob.resign(work)
	t := time.NewTicker(outboxPoll)
	defer t.Stop()
	for {
		if err := ob.round(ctx, work); err != nil && ctx.Err() == nil {
			ob.log.Warn("outbox", "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(outboxBackoff):
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-ob.wake:
		case <-t.C:
		}
	}
}

// round sends what is pending while this process holds the lease.
func (ob *outbox) round(ctx, work context.Context) error {
	for ctx.Err() == nil {
		leader, err := ob.lead(work)
		if err != nil || !leader {
			ob.leading = false
			return err
		}
		if !ob.leading {
			ob.leading = true
			ob.log.Info("outbox: this process sends", "warmup", ob.warmup)
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(ob.warmup):
			}
			continue // renew the lease
		}
		var rows []outboxRow
		err = ob.db.query(work, `SELECT charge_id, kind, chat_id, text FROM shop_outbox WHERE sent_at IS NULL ORDER BY created_at, charge_id LIMIT ?`,
			func(scan func(...any) error) error {
				var r outboxRow
				err := scan(&r.chargeID, &r.kind, &r.chatID, &r.text)
				rows = append(rows, r)
				return err
			}, outboxBatch)
		if err != nil || len(rows) == 0 {
			return err
		}
		if err := ob.sendLeased(ctx, work, rows); err != nil {
			return err
		}
	}
	return nil
}

// sendLeased sends rows while renewing the lease every third of it; once
// the lease is lost (this process stalled past it, and another took over)
// the sends still waiting are called off, so two senders never work on the
// same rows for longer than one send.
func (ob *outbox) sendLeased(ctx, work context.Context, rows []outboxRow) error {
	sends, cancel := context.WithCancel(work)
	defer cancel()
	renewed := make(chan struct{})
	go func() {
		defer close(renewed)
		t := time.NewTicker(outboxLease / 3)
		defer t.Stop()
		for {
			select {
			case <-sends.Done():
				return
			case <-t.C:
				if leader, err := ob.lead(work); err != nil || !leader {
					ob.log.Warn("outbox: lease lost; sends called off", "err", err)
					ob.leading = false
					cancel()
					return
				}
			}
		}
	}()
	err := ob.sendAll(ctx, sends, rows)
	cancel()
	<-renewed
	if !ob.leading {
		return nil // lost the lease: the next round asks again
	}
	return err
}

// sendAll sends rows, outboxSenders at a time, and stops at the first
// failure that is Telegram's (unreachable, breaker open): the rest wait
// for the next round.
func (ob *outbox) sendAll(ctx, work context.Context, rows []outboxRow) error {
	jobs := make(chan outboxRow)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	stop := make(chan struct{})
	for range outboxSenders {
		wg.Go(func() {
			for r := range jobs {
				if err := ob.send(work, r); err != nil {
					mu.Lock()
					if first == nil {
						first = err
						close(stop)
					}
					mu.Unlock()
				}
			}
		})
	}
feed:
	for _, r := range rows {
		select {
		case jobs <- r:
		case <-stop:
			break feed
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	return first
}

// send sends one row and marks it sent. A message Telegram will never take
// (the user blocked the bot, the chat is gone) is marked sent too, with a
// log line: retrying it would only block the ones behind it.
func (ob *outbox) send(ctx context.Context, r outboxRow) error {
	_, err := ob.bot.SendMessage(ctx, &botapi.SendMessageParams{ChatID: botapi.ChatID{ID: r.chatID}, Text: r.text})
	switch {
	case err == nil:
	case errors.Is(err, botapi.ErrForbidden) || errors.Is(err, botapi.ErrBadRequest):
		ob.log.Warn("message not sent, dropped", "charge", r.chargeID, "kind", r.kind, "user", r.chatID, "err", err)
	default:
		return err
	}
	// Recorded even when the sends were called off meanwhile: it was sent.
	_, err = ob.db.exec(context.WithoutCancel(ctx), `UPDATE shop_outbox SET sent_at = {now} WHERE charge_id = ? AND kind = ?`, r.chargeID, r.kind)
	return err
}
