package payments

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/miniappkit/miniappkit/botapi"
)

func userPayment(id string, user int64, amount int64) botapi.StarTransaction {
	return botapi.StarTransaction{ID: id, Amount: amount, Date: testNow.Unix(),
		Source: &botapi.TransactionPartnerUser{TransactionType: "invoice_payment", User: botapi.User{ID: user}}}
}

func userRefund(id string, user int64, amount int64) botapi.StarTransaction {
	return botapi.StarTransaction{ID: id, Amount: amount, Date: testNow.Unix(),
		Receiver: &botapi.TransactionPartnerUser{TransactionType: "invoice_payment", User: botapi.User{ID: user}}}
}

func TestTransactionsPages(t *testing.T) {
	api := &fakeAPI{}
	for i := range 5 {
		api.txs = append(api.txs, userPayment(fmt.Sprintf("t%d", i), 1, 10))
	}
	var ids []string
	for tx, err := range Transactions(t.Context(), api, 2) {
		require.NoError(t, err)
		ids = append(ids, tx.ID)
	}
	require.Equal(t, []string{"t0", "t1", "t2", "t3", "t4"}, ids)
	require.Equal(t, 3, api.pageCalls, "pages of 2, 2 and 1")

	// Exactly a multiple of the page size: one more call finds the end.
	api.pageCalls = 0
	ids = ids[:0]
	for tx, err := range Transactions(t.Context(), api, 5) {
		require.NoError(t, err)
		ids = append(ids, tx.ID)
	}
	require.Len(t, ids, 5)
	require.Equal(t, 2, api.pageCalls)

	// Early break stops fetching.
	api.pageCalls = 0
	for range Transactions(t.Context(), api, 2) {
		break
	}
	require.Equal(t, 1, api.pageCalls)

	// Out-of-range page sizes mean 100.
	api.pageCalls = 0
	for _, err := range Transactions(t.Context(), api, 1000) {
		require.NoError(t, err)
	}
	require.Equal(t, 1, api.pageCalls)
}

func TestTransactionsErrors(t *testing.T) {
	api := &fakeAPI{failPage: 2}
	for i := range 3 {
		api.txs = append(api.txs, userPayment(fmt.Sprintf("t%d", i), 1, 10))
	}
	var got []string
	var errs []error
	for tx, err := range Transactions(t.Context(), api, 2) {
		if err != nil {
			errs = append(errs, err)
			continue
		}
		got = append(got, tx.ID)
	}
	require.Equal(t, []string{"t0", "t1"}, got)
	require.Len(t, errs, 1)
	require.ErrorContains(t, errs[0], "offset 2")

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	for _, err := range Transactions(ctx, api, 2) {
		require.ErrorIs(t, err, context.Canceled)
	}
}

func TestReconcile(t *testing.T) {
	ctx := t.Context()
	f := newFixture(t)
	pay := func(charge string) {
		require.NoError(t, f.h.HandleSuccessfulPayment(ctx, 1, success(charge, XTR, 10, f.payload(t, Order{Ref: charge}))))
	}
	pay("ok")            // in both
	pay("forged")        // ledger only
	pay("refunded-tg")   // refunded at Telegram only
	pay("refunded-both") // refunded on both sides
	require.NoError(t, f.h.Refund(ctx, 1, "refunded-both"))
	pay("refunded-ledger") // refunded in the ledger only
	_, err := f.ledger.Refund(ctx, "refunded-ledger")
	require.NoError(t, err)
	require.NoError(t, f.h.HandleSuccessfulPayment(ctx, 1, success("fiat", "USD", 500, "x"))) // not compared
	pay("amount")                                                                             // 10 in the ledger, 12 at Telegram

	f.api.txs = []botapi.StarTransaction{
		userPayment("ok", 1, 10),
		userPayment("lost", 2, 25), // Telegram only: a lost update
		userPayment("refunded-tg", 1, 10),
		userPayment("refunded-both", 1, 10),
		userPayment("refunded-ledger", 1, 10),
		userRefund("refunded-tg", 1, 10),
		userRefund("refunded-both", 1, 10),
		{ID: "withdrawal", Amount: 100, Receiver: &botapi.TransactionPartnerFragment{}},
		userPayment("amount", 1, 12),
	}
	r, err := f.h.Reconcile(ctx, time.Time{})
	require.NoError(t, err)
	require.False(t, r.Clean())
	require.Equal(t, 9, r.Transactions)
	require.Len(t, r.MissingInLedger, 1)
	require.Equal(t, "lost", r.MissingInLedger[0].ID)
	ids := func(ps []Payment) []string {
		var out []string
		for _, p := range ps {
			out = append(out, p.ChargeID)
		}
		return out
	}
	require.Equal(t, []string{"forged"}, ids(r.MissingAtTelegram))
	require.Equal(t, []string{"refunded-tg"}, ids(r.RefundedAtTelegramOnly))
	require.Equal(t, []string{"refunded-ledger"}, ids(r.RefundedInLedgerOnly))
	require.Equal(t, []string{"amount"}, ids(r.AmountMismatch))

	f.api.failPage = f.api.pageCalls + 1
	_, err = f.h.Reconcile(ctx, time.Time{})
	require.Error(t, err)
}

func TestReconcileClean(t *testing.T) {
	f := newFixture(t)
	require.NoError(t, f.h.HandleSuccessfulPayment(t.Context(), 1, success("a", XTR, 10, "p")))
	f.api.txs = []botapi.StarTransaction{userPayment("a", 1, 10)}
	r, err := f.h.Reconcile(t.Context(), time.Time{})
	require.NoError(t, err)
	require.True(t, r.Clean())
}
