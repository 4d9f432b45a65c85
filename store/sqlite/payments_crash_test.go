package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/miniappkit/miniappkit/botapi"
	"github.com/miniappkit/miniappkit/internal/crashtest"
	"github.com/miniappkit/miniappkit/internal/paycrash"
	"github.com/miniappkit/miniappkit/payments"
)

// TestPaymentsCrash kills a program running payments.Handler on this
// Ledger (internal/paycrashapp) with SIGKILL at random points while the
// fake Telegram's successful_payment updates arrive with redelivery, 10 %
// of the orders paid twice, restarting it on the same file. Its
// fulfilment writes a row in the ledger's transaction and sends a message.
// At the end: every order's row exactly once, every duplicate charge
// refunded exactly once, nothing paid and unfulfilled, no message lost.
// MINIAPPKIT_LONG=1 runs 1 000 orders and 100 kills; 300 and 20 otherwise.
func TestPaymentsCrash(t *testing.T) {
	if raceEnabled {
		t.Skip("crash test: runs in the plain pass (the child is not built with -race)")
	}
	orders, kills := 300, 20
	if crashtest.Long() {
		orders, kills = 1000, 100
	}
	tg := paycrash.Pay(t, orders, 0.10, 1)
	path := filepath.Join(t.TempDir(), "pay.db")
	bin := crashtest.Build(t, "./internal/paycrashapp")
	rep := crashtest.Run(t, crashtest.Config{
		Binary: bin, Args: []string{"-db", path, "-api", tg.Srv.URL()},
		Units: tg.Units(), Kills: kills, Senders: 8, Request: tg.Request,
	}, func(rep crashtest.Report) error {
		db, err := Open(path)
		if err != nil {
			return err
		}
		defer db.Close()
		client := botapi.New(paycrash.Token, botapi.WithBaseURL(tg.Srv.URL()))
		h, err := paycrash.NewHandler(client, db.Ledger(), func(ctx context.Context, tx payments.Tx, order, charge string) error {
			_, err := tx.(*sql.Tx).ExecContext(ctx, `INSERT INTO effects (order_ref, charge_id) VALUES (?, ?)`, order, charge)
			return err
		})
		if err != nil {
			return err
		}
		res, err := tg.Check(t.Context(), h, db.Ledger(), func() (map[string][]string, error) {
			return effectRows(t.Context(), db.SQL())
		})
		t.Logf("sqlite, %d kills: %v", rep.Kills, res)
		if err == nil && res.MessageDup > rep.Kills*8 {
			t.Errorf("%d duplicate messages from %d kills (8 in flight)", res.MessageDup, rep.Kills)
		}
		return err
	})
	_ = rep
}

// effectRows maps each order to the charges of its effect rows.
func effectRows(ctx context.Context, q *sql.DB) (map[string][]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT order_ref, charge_id FROM effects`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string][]string{}
	for rows.Next() {
		var o, c string
		if err := rows.Scan(&o, &c); err != nil {
			return nil, err
		}
		out[o] = append(out[o], c)
	}
	return out, rows.Err()
}
