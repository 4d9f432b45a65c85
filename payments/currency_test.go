package payments

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestLookupCurrency(t *testing.T) {
	usd, ok := LookupCurrency("USD")
	require.True(t, ok)
	require.Equal(t, 2, usd.Exp)
	require.Equal(t, int64(100), usd.MinAmount)
	require.Equal(t, int64(1000000), usd.MaxAmount)

	jpy, ok := LookupCurrency("JPY")
	require.True(t, ok)
	require.Equal(t, 0, jpy.Exp)

	xtr, ok := LookupCurrency(XTR)
	require.True(t, ok)
	require.Equal(t, 0, xtr.Exp)

	_, ok = LookupCurrency("usd")
	require.False(t, ok, "codes are upper case, as Telegram sends them")
	_, ok = LookupCurrency("ZZZ")
	require.False(t, ok)

	all := DefaultCurrencies().All()
	require.Len(t, all, len(iso4217Exp)+2, "ISO 4217, HRK (in Telegram's 2021 table), XTR")
	for i := 1; i < len(all); i++ {
		require.Less(t, all[i-1].Code, all[i].Code)
	}
}

func TestFormatParseAmount(t *testing.T) {
	tests := []struct {
		amount   int64
		currency string
		text     string
	}{
		{145, "USD", "1.45"},
		{100, "USD", "1.00"},
		{5, "EUR", "0.05"},
		{-5, "EUR", "-0.05"},
		{0, "USD", "0.00"},
		{1000, "JPY", "1000"},
		{50, XTR, "50"},
		{math.MaxInt64, "USD", "92233720368547758.07"},
		{math.MinInt64 + 1, "USD", "-92233720368547758.07"},
	}
	for _, tt := range tests {
		t.Run(tt.currency+" "+tt.text, func(t *testing.T) {
			s, err := FormatAmount(tt.amount, tt.currency)
			require.NoError(t, err)
			require.Equal(t, tt.text, s)
			v, err := ParseAmount(tt.text, tt.currency)
			require.NoError(t, err)
			require.Equal(t, tt.amount, v)
		})
	}
}

func TestParseAmountLenient(t *testing.T) {
	v, err := ParseAmount("3", "USD")
	require.NoError(t, err)
	require.Equal(t, int64(300), v)
	v, err = ParseAmount("1.4", "USD")
	require.NoError(t, err)
	require.Equal(t, int64(140), v)
}

func TestParseAmountErrors(t *testing.T) {
	tests := []struct {
		name, in, currency string
		want               error
	}{
		{"too many decimals", "1.001", "USD", ErrInvalidAmount},
		{"decimals in whole currency", "1.5", "JPY", ErrInvalidAmount},
		{"decimals in stars", "1.5", XTR, ErrInvalidAmount},
		{"empty", "", "USD", ErrInvalidAmount},
		{"dot only", ".", "USD", ErrInvalidAmount},
		{"trailing dot", "1.", "USD", ErrInvalidAmount},
		{"leading dot", ".5", "USD", ErrInvalidAmount},
		{"grouping", "1,000.00", "USD", ErrInvalidAmount},
		{"symbol", "$1", "USD", ErrInvalidAmount},
		{"plus", "+1", "USD", ErrInvalidAmount},
		{"space", " 1", "USD", ErrInvalidAmount},
		{"exponent", "1e3", "USD", ErrInvalidAmount},
		{"overflow", "92233720368547758.08", "USD", ErrInvalidAmount},
		{"too long", "100000000000000000000000000000000000", "USD", ErrInvalidAmount},
		{"unknown currency", "1", "ZZZ", ErrUnknownCurrency},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseAmount(tt.in, tt.currency)
			require.ErrorIs(t, err, tt.want)
		})
	}
	_, err := FormatAmount(1, "ZZZ")
	require.ErrorIs(t, err, ErrUnknownCurrency)
}

func TestCheckAmount(t *testing.T) {
	usd, _ := LookupCurrency("USD")
	require.NoError(t, usd.CheckAmount(100))
	require.NoError(t, usd.CheckAmount(1000000))
	require.ErrorIs(t, usd.CheckAmount(99), ErrAmountOutOfRange)
	require.ErrorIs(t, usd.CheckAmount(1000001), ErrAmountOutOfRange)
	require.ErrorIs(t, usd.CheckAmount(0), ErrAmountOutOfRange)
	xtr, _ := LookupCurrency(XTR)
	require.NoError(t, xtr.CheckAmount(1))
	require.ErrorIs(t, xtr.CheckAmount(0), ErrAmountOutOfRange)
}

func TestCurrencyFormat(t *testing.T) {
	tests := []struct {
		currency string
		amount   int64
		want     string
	}{
		{"USD", 123450, "$1,234.50"},
		{"EUR", 123450, "1 234,50 €"},
		{"JPY", 1500, "¥1,500"},
		{"GBP", -5, "-£0.05"},
		{XTR, 50, "⭐50"},
		{"USD", 100000000, "$1,000,000.00"},
	}
	for _, tt := range tests {
		c, ok := LookupCurrency(tt.currency)
		require.True(t, ok)
		require.Equal(t, tt.want, c.Format(tt.amount), tt.currency)
	}
}

// FuzzParseAmount checks that ParseAmount never panics on untrusted text and
// that whatever it accepts formats back to a string it parses to the same
// value. Run: go test -run '^$' -fuzz FuzzParseAmount -fuzztime 10s ./payments
func FuzzParseAmount(f *testing.F) {
	for _, s := range []string{"1.45", "0", "-0.05", "1.", "92233720368547758.07", "1e3", "", "١٢"} {
		f.Add(s, "USD")
	}
	f.Add("50", XTR)
	f.Add("1000", "JPY")
	f.Fuzz(func(t *testing.T, s, currency string) {
		if len(s) > 64 {
			return
		}
		v, err := ParseAmount(s, currency)
		if err != nil {
			return
		}
		out, err := FormatAmount(v, currency)
		require.NoError(t, err)
		back, err := ParseAmount(out, currency)
		require.NoError(t, err)
		require.Equal(t, v, back)
	})
}
