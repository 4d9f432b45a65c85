package payments

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/miniappkit/miniappkit/botapi"
)

func providerInvoice(currency string, total int64) Invoice {
	return ProviderInvoice("tok", currency, "Parcel", "A parcel", "payload", botapi.LabeledPrice{Label: "Parcel", Amount: total})
}

// TestCurrencyTableNotHardValidation: the built-in bounds are from 2021, so
// they are advisory: 100 000 TRY is a valid invoice (Telegram checks today's
// bounds), and currencies Telegram added since are known by their ISO 4217
// exponent.
func TestCurrencyTableNotHardValidation(t *testing.T) {
	require.NoError(t, providerInvoice("TRY", 100_000_00).Validate(), "100 000 TRY")
	try, ok := LookupCurrency("TRY")
	require.True(t, ok)
	require.ErrorIs(t, try.CheckAmount(100_000_00), ErrAmountOutOfRange, "the stale bound is still reported")
	for code, exp := range map[string]int{"BYN": 2, "BHD": 3, "JOD": 3, "IQD": 3, "ETB": 2, "GHS": 2, "MMK": 2, "MOP": 2} {
		c, ok := LookupCurrency(code)
		require.True(t, ok, code)
		require.Equal(t, exp, c.Exp, code)
		require.NoError(t, providerInvoice(code, 12345).Validate(), code)
	}
	require.Error(t, providerInvoice("ZZZ", 100).Validate(), "unknown code without an exponent")
	require.Error(t, providerInvoice("TRY", 0).Validate(), "a total must be positive")

	strict := DefaultCurrencies().Enforced(true)
	inv := providerInvoice("TRY", 100_000_00)
	inv.Currencies = strict
	require.ErrorIs(t, inv.Validate(), ErrInvalidInvoice, "enforced: the table's bound applies")
	require.False(t, DefaultCurrencies().EnforcesBounds(), "Enforced returns a copy")

	withNew, err := DefaultCurrencies().With(Currency{Code: "ZZZ", Exp: 3})
	require.NoError(t, err)
	inv = providerInvoice("ZZZ", 1500)
	inv.Currencies = withNew
	require.NoError(t, inv.Validate(), "a currency Telegram added, with the exponent the caller supplies")
	zzz, _ := withNew.Lookup("ZZZ")
	require.Equal(t, "ZZZ 1.500", zzz.Format(1500))
	_, ok = DefaultCurrencies().Lookup("ZZZ")
	require.False(t, ok, "With returns a copy")
	for _, bad := range []Currency{{Code: "zzz", Exp: 2}, {Code: "ZZZ", Exp: 5}, {Code: "ZZ", Exp: 2}, {Code: "ZZZ", MinAmount: 10, MaxAmount: 5}} {
		_, err := DefaultCurrencies().With(bad)
		require.Error(t, err, "%+v", bad)
	}
}

// TestISOExponentsAgree: Telegram's exp equals ISO 4217's for every code in
// the snapshot, so the static table is a safe fallback.
func TestISOExponentsAgree(t *testing.T) {
	for code, c := range currencyTable {
		if exp, ok := iso4217Exp[code]; ok {
			require.Equal(t, exp, c.Exp, code)
		}
	}
}

func TestLoadCurrencies(t *testing.T) {
	snapshot, err := os.ReadFile("testdata/currencies-2021.json")
	require.NoError(t, err)
	tbl, err := LoadCurrencies(bytes.NewReader(snapshot))
	require.NoError(t, err)
	require.True(t, tbl.EnforcesBounds())
	for _, c := range DefaultCurrencies().All() {
		got, ok := tbl.Lookup(c.Code)
		require.True(t, ok, c.Code)
		require.Equal(t, c, got, "the built-in table is the snapshot on top of ISO 4217")
	}
	// A fresh file: today's TRY bounds, a currency added, a number bound.
	fresh := `{"TRY":{"code":"TRY","title":"Turkish Lira","symbol":"TRY","native":"TL","thousands_sep":".","decimal_sep":",",` +
		`"symbol_left":false,"space_between":true,"exp":2,"min_amount":"4205","max_amount":42050000},` +
		`"ZZZ":{"code":"ZZZ","title":"Zed","symbol":"Z","native":"Z","thousands_sep":",","decimal_sep":".","symbol_left":true,"space_between":false,"exp":1,"min_amount":"10","max_amount":"100000"}}`
	tbl, err = LoadCurrencies(strings.NewReader(fresh))
	require.NoError(t, err)
	inv := providerInvoice("TRY", 900)
	inv.Currencies = tbl
	require.ErrorIs(t, inv.Validate(), ErrInvalidInvoice, "9 TRY is below today's minimum")
	inv.Prices[0].Amount = 100_000_00
	require.NoError(t, inv.Validate(), "100 000 TRY is within today's bounds")
	inv.Currencies = tbl.Enforced(false)
	inv.Prices[0].Amount = 900
	require.NoError(t, inv.Validate(), "advisory")
	z, ok := tbl.Lookup("ZZZ")
	require.True(t, ok)
	require.Equal(t, "Z1.5", z.Format(15))
	_, ok = tbl.Lookup("USD")
	require.True(t, ok, "codes the file lacks keep the built-in entry")
	_, ok = tbl.Lookup(XTR)
	require.True(t, ok)

	for name, bad := range map[string]string{
		"not JSON":       `{`,
		"empty":          `{}`,
		"lower case":     `{"try":{"code":"try","exp":2}}`,
		"key mismatch":   `{"TRY":{"code":"USD","exp":2}}`,
		"exponent":       `{"TRY":{"code":"TRY","exp":9}}`,
		"bad bound":      `{"TRY":{"code":"TRY","exp":2,"min_amount":"x"}}`,
		"negative":       `{"TRY":{"code":"TRY","exp":2,"min_amount":"-1"}}`,
		"max below min":  `{"TRY":{"code":"TRY","exp":2,"min_amount":"10","max_amount":"5"}}`,
		"stars in cents": `{"XTR":{"code":"XTR","exp":2}}`,
	} {
		_, err := LoadCurrencies(strings.NewReader(bad))
		require.Error(t, err, name)
	}
	_, err = DefaultCurrencies().With(Currency{Code: XTR, Exp: 2})
	require.ErrorIs(t, err, ErrUnknownCurrency, "Telegram Stars are whole units")
	_, err = LoadCurrencies(strings.NewReader(`{"TRY":{"code":"TRY","title":"` + strings.Repeat("x", MaxCurrenciesBytes) + `"}}`))
	require.ErrorContains(t, err, "more than")
}

// FuzzLoadCurrencies: any input either fails or yields a table whose every
// entry has a valid code and exponent and keeps XTR. Run with
// go test ./payments -run '^$' -fuzz FuzzLoadCurrencies.
func FuzzLoadCurrencies(f *testing.F) {
	snapshot, err := os.ReadFile("testdata/currencies-2021.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(snapshot)
	f.Add([]byte(`{"TRY":{"code":"TRY","exp":2,"min_amount":12,"max_amount":"13"}}`))
	f.Add([]byte(`{"XTR":{"code":"XTR","exp":2}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 64<<10 {
			return
		}
		tbl, err := LoadCurrencies(bytes.NewReader(data))
		if err != nil {
			return
		}
		for _, c := range tbl.All() {
			if err := c.check(); err != nil {
				t.Fatalf("loaded an invalid currency: %v", err)
			}
		}
		if x, ok := tbl.Lookup(XTR); !ok || x.Exp != 0 {
			t.Fatalf("XTR lost or no longer whole Stars: %+v, %v", x, ok)
		}
	})
}
