package payments

import (
	"context"
	"fmt"
	"iter"
	"time"

	"github.com/miniappkit/miniappkit/botapi"
)

// MaxTransactionsPage is the largest page getStarTransactions returns (limit 1-100).
//
// Telegram docs: https://core.telegram.org/bots/api#getstartransactions
const MaxTransactionsPage = 100

// StarTransactionsGetter is the one Bot API method [Transactions] needs;
// *botapi.Client and every [API] satisfy it.
type StarTransactionsGetter interface {
	GetStarTransactions(ctx context.Context, p *botapi.GetStarTransactionsParams) (*botapi.StarTransactions, error)
}

// Transactions yields the bot's Telegram Star transactions, oldest first,
// fetching pages of pageSize (1-100; 0 or out of range means 100) with
// getStarTransactions as the loop advances. A failed page yields its error
// once and ends the sequence; so does an ended ctx.
//
//	for tx, err := range payments.Transactions(ctx, client, 0) {
//		if err != nil {
//			return err
//		}
//		fmt.Println(tx.ID, tx.Amount)
//	}
//
// Telegram docs: https://core.telegram.org/bots/api#getstartransactions
func Transactions(ctx context.Context, api StarTransactionsGetter, pageSize int) iter.Seq2[botapi.StarTransaction, error] {
	if pageSize <= 0 || pageSize > MaxTransactionsPage {
		pageSize = MaxTransactionsPage
	}
	return func(yield func(botapi.StarTransaction, error) bool) {
		for offset := 0; ; {
			if err := ctx.Err(); err != nil {
				yield(botapi.StarTransaction{}, err)
				return
			}
			page, err := api.GetStarTransactions(ctx, &botapi.GetStarTransactionsParams{Offset: offset, Limit: pageSize})
			if err != nil {
				yield(botapi.StarTransaction{}, fmt.Errorf("payments: getStarTransactions offset %d: %w", offset, err))
				return
			}
			if page == nil {
				return
			}
			for _, tx := range page.Transactions {
				if !yield(tx, nil) {
					return
				}
			}
			if len(page.Transactions) < pageSize {
				return
			}
			offset += len(page.Transactions)
		}
	}
}

// Report is what [Handler.Reconcile] found comparing Telegram's Star
// transactions with the ledger. Only Telegram Stars payments are compared:
// provider payments do not appear in Telegram's Star transactions.
type Report struct {
	// Transactions is how many Telegram transactions were read.
	Transactions int
	// MissingInLedger are incoming invoice payments Telegram has and the
	// ledger lacks: a successful_payment update was lost. Record and fulfil
	// them (or refund them).
	MissingInLedger []botapi.StarTransaction
	// MissingAtTelegram are Stars payments the ledger holds that Telegram's
	// list lacks: recorded from a forged or test update, or not yet listed.
	MissingAtTelegram []Payment
	// RefundedAtTelegramOnly are payments Telegram refunded while the ledger
	// still holds them as paid or fulfilled (a lost refunded_payment).
	RefundedAtTelegramOnly []Payment
	// RefundedInLedgerOnly are payments the ledger holds as refunded that
	// Telegram shows no refund for.
	RefundedInLedgerOnly []Payment
	// AmountMismatch are payments whose ledger amount differs from the
	// amount of Telegram's transaction with the same ID (ledger entries
	// recorded from a refund alone, with amount 0, are not reported).
	AmountMismatch []Payment
}

// Clean reports whether the ledger and Telegram agree.
func (r *Report) Clean() bool {
	return len(r.MissingInLedger) == 0 && len(r.MissingAtTelegram) == 0 &&
		len(r.RefundedAtTelegramOnly) == 0 && len(r.RefundedInLedgerOnly) == 0 &&
		len(r.AmountMismatch) == 0
}

// Reconcile reads the bot's Star transactions dated at or after since and
// the ledger's payments recorded at or after since ([Ledger.Since], an
// indexed range; the zero time means all of them) and reports where they
// disagree. It changes nothing. Choose since a little before the last clean
// run, so a payment recorded just after its transaction's date is not
// reported as missing. An
// incoming transaction from a user whose transaction_type is
// "invoice_payment" is a payment (its ID is the telegram_payment_charge_id);
// an outgoing transaction to a user with the ID of such a payment is its
// refund.
//
// Telegram docs: https://core.telegram.org/bots/api#startransaction
func (h *Handler) Reconcile(ctx context.Context, since time.Time) (*Report, error) {
	r := &Report{}
	paid := make(map[string]botapi.StarTransaction)
	var order []string
	refunded := make(map[string]bool)
	for tx, err := range Transactions(ctx, h.api, MaxTransactionsPage) {
		if err != nil {
			return nil, err
		}
		if !since.IsZero() && tx.Date < since.Unix() {
			continue
		}
		r.Transactions++
		if u, ok := tx.Source.(*botapi.TransactionPartnerUser); ok && u.TransactionType == "invoice_payment" {
			if _, dup := paid[tx.ID]; !dup {
				order = append(order, tx.ID)
			}
			paid[tx.ID] = tx
		}
		if _, ok := tx.Receiver.(*botapi.TransactionPartnerUser); ok {
			refunded[tx.ID] = true
		}
	}
	inLedger := make(map[string]bool)
	for p, err := range h.ledger.Since(ctx, since) {
		if err != nil {
			return nil, fmt.Errorf("payments: list ledger: %w", err)
		}
		if p.Currency != XTR {
			continue
		}
		inLedger[p.ChargeID] = true
		tx, atTelegram := paid[p.ChargeID]
		if atTelegram && p.Amount != 0 && p.Amount != tx.Amount {
			r.AmountMismatch = append(r.AmountMismatch, p)
		}
		switch {
		case !atTelegram:
			r.MissingAtTelegram = append(r.MissingAtTelegram, p)
		case refunded[p.ChargeID] && p.State != StateRefunded:
			r.RefundedAtTelegramOnly = append(r.RefundedAtTelegramOnly, p)
		case !refunded[p.ChargeID] && p.State == StateRefunded:
			r.RefundedInLedgerOnly = append(r.RefundedInLedgerOnly, p)
		}
	}
	for _, id := range order {
		if !inLedger[id] {
			r.MissingInLedger = append(r.MissingInLedger, paid[id])
		}
	}
	return r, nil
}
