package postgres

import (
	"context"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/miniappkit/miniappkit/botapi"
	"github.com/miniappkit/miniappkit/internal/crashtest"
	"github.com/miniappkit/miniappkit/internal/paycrash"
	"github.com/miniappkit/miniappkit/payments"
)

// TestPaymentsCrash kills a program running payments.Handler on this
// Ledger (internal/paycrashapp) with SIGKILL at random points while the
// fake Telegram's successful_payment updates arrive with redelivery, 10 %
// of the orders paid twice, restarting it on the same schema. Its
// fulfilment writes a row in the ledger's transaction and sends a message.
// At the end: every order's row exactly once, every duplicate charge
// refunded exactly once, nothing paid and unfulfilled, no message lost.
// MINIAPPKIT_LONG=1 runs 1 000 orders and 100 kills; 300 and 20 otherwise.
func TestPaymentsCrash(t *testing.T) {
	if raceEnabled {
		t.Skip("crash test: runs in the plain pass (the child is not built with -race)")
	}
	p := testPool(t)
	schema := testSchema(t, p)
	orders, kills := 300, 20
	if crashtest.Long() {
		orders, kills = 1000, 100
	}
	tg := paycrash.Pay(t, orders, 0.10, 1)
	bin := crashtest.Build(t, "./internal/paycrashapp")
	table := pgx.Identifier{schema, "effects"}.Sanitize()
	crashtest.Run(t, crashtest.Config{
		Binary: bin, Args: []string{"-url", os.Getenv("MINIAPPKIT_POSTGRES_URL"), "-schema", schema, "-api", tg.Srv.URL()},
		Units: tg.Units(), Kills: kills, Senders: 8, Request: tg.Request,
	}, func(rep crashtest.Report) error {
		db := New(p, WithSchema(schema))
		client := botapi.New(paycrash.Token, botapi.WithBaseURL(tg.Srv.URL()))
		h, err := paycrash.NewHandler(client, db.Ledger(), func(ctx context.Context, tx payments.Tx, order, charge string) error {
			_, err := tx.(pgx.Tx).Exec(ctx, `INSERT INTO `+table+` (order_ref, charge_id) VALUES ($1, $2)`, order, charge)
			return err
		})
		if err != nil {
			return err
		}
		res, err := tg.Check(t.Context(), h, db.Ledger(), func() (map[string][]string, error) {
			rows, err := p.Query(t.Context(), `SELECT order_ref, charge_id FROM `+table)
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
		})
		t.Logf("postgres, %d kills: %v", rep.Kills, res)
		if err == nil && res.MessageDup > rep.Kills*8 {
			t.Errorf("%d duplicate messages from %d kills (8 in flight)", res.MessageDup, rep.Kills)
		}
		return err
	})
}
