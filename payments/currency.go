package payments

//go:generate go run ../internal/currencygen -in ../internal/currencygen/currencies.json -out zz_generated_currencies.go

import (
	"fmt"
	"math"
	"strings"
)

// XTR is the currency code of Telegram Stars. Stars are whole units (exp 0),
// paid with an empty provider token and exactly one price.
//
// Telegram docs: https://core.telegram.org/bots/payments-stars
const XTR = "XTR"

// Currency describes one currency for payments: its ISO 4217 exponent and,
// as listed in Telegram's currencies.json, its display style and bounds
// (see [Currencies]). Amounts are always in the smallest units of the
// currency: 10^Exp of them make one whole unit (US$ 1.45 is 145 with Exp 2).
//
// Telegram docs: https://core.telegram.org/bots/payments#supported-currencies
type Currency struct {
	Code         string // ISO 4217 code, or "XTR" for Telegram Stars
	Title        string // English name, "United States Dollar"
	Symbol       string // international symbol, "$" or "CA$"
	Native       string // symbol in the currency's own locale
	ThousandsSep string // grouping separator of the native format
	DecimalSep   string // decimal separator of the native format
	SymbolLeft   bool   // the symbol goes before the amount
	SpaceBetween bool   // a space separates the symbol and the amount
	Exp          int    // digits past the decimal point
	MinAmount    int64  // smallest accepted total, in smallest units (0: no bound)
	MaxAmount    int64  // largest accepted total, in smallest units (0: no bound)
}

// stars is the hand-written entry for Telegram Stars, absent from
// currencies.json: whole Stars, no table bounds (the Bot API checks its own).
var stars = Currency{
	Code: XTR, Title: "Telegram Stars", Symbol: "⭐", Native: "⭐",
	ThousandsSep: ",", DecimalSep: ".", SymbolLeft: true, SpaceBetween: false, Exp: 0,
}

// LookupCurrency returns the currency with the given code (upper case, as
// Telegram sends it) from [DefaultCurrencies], XTR for Telegram Stars included.
func LookupCurrency(code string) (Currency, bool) {
	return defaultCurrencies.Lookup(code)
}

// CheckAmount reports whether amount (in smallest units) is a total Telegram
// accepts in this currency: positive and within [MinAmount, MaxAmount] when
// the currency has bounds (the bounds of the table it came from, which may
// be stale: see [Currencies]). The error wraps [ErrAmountOutOfRange].
func (c Currency) CheckAmount(amount int64) error {
	if amount <= 0 {
		return fmt.Errorf("%w: %s total %d is not positive", ErrAmountOutOfRange, c.Code, amount)
	}
	if c.MinAmount > 0 && amount < c.MinAmount {
		return fmt.Errorf("%w: %s total %d is below the minimum %d", ErrAmountOutOfRange, c.Code, amount, c.MinAmount)
	}
	if c.MaxAmount > 0 && amount > c.MaxAmount {
		return fmt.Errorf("%w: %s total %d is above the maximum %d", ErrAmountOutOfRange, c.Code, amount, c.MaxAmount)
	}
	return nil
}

// Format renders amount (in smallest units) the way Telegram's apps show it
// in this currency's native style: symbol side, spacing, separators and
// grouping, e.g. "$1,234.50", "1 234,50 €", "⭐50".
func (c Currency) Format(amount int64) string {
	neg := amount < 0
	whole, frac := splitAmount(amount, c.Exp)
	var b strings.Builder
	// Group the whole part by thousands.
	for i, r := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteString(c.ThousandsSep)
		}
		b.WriteRune(r)
	}
	if c.Exp > 0 {
		b.WriteString(c.DecimalSep)
		b.WriteString(frac)
	}
	num := b.String()
	sym := c.Symbol
	sep := ""
	if c.SpaceBetween {
		sep = " "
	}
	sign := ""
	if neg {
		sign = "-"
	}
	if c.SymbolLeft {
		return sign + sym + sep + num
	}
	return sign + num + sep + sym
}

// splitAmount returns the decimal digits of |amount| split at exp digits
// from the right: (whole, fraction), the fraction zero-padded to exp digits.
func splitAmount(amount int64, exp int) (string, string) {
	var u uint64
	if amount < 0 {
		u = uint64(-(amount + 1)) + 1 // safe for math.MinInt64
	} else {
		u = uint64(amount)
	}
	digits := fmt.Sprintf("%0*d", exp+1, u)
	return digits[:len(digits)-exp], digits[len(digits)-exp:]
}

// FormatAmount renders amount, in the smallest units of currency, as a plain
// decimal string with exactly the currency's exp digits after a "." and no
// grouping: FormatAmount(145, "USD") is "1.45", FormatAmount(50, "XTR") is
// "50", FormatAmount(-5, "EUR") is "-0.05". It is the inverse of
// [ParseAmount]. For display in the currency's own style use [Currency.Format].
// The error wraps [ErrUnknownCurrency] for a code Telegram does not list.
func FormatAmount(amount int64, currency string) (string, error) {
	c, ok := LookupCurrency(currency)
	if !ok {
		return "", fmt.Errorf("%w: %q", ErrUnknownCurrency, currency)
	}
	whole, frac := splitAmount(amount, c.Exp)
	s := whole
	if c.Exp > 0 {
		s += "." + frac
	}
	if amount < 0 {
		s = "-" + s
	}
	return s, nil
}

// ParseAmount turns a human decimal string into the smallest units of
// currency: ParseAmount("1.45", "USD") is 145, ParseAmount("3", "USD") is
// 300, ParseAmount("50", "XTR") is 50. It accepts an optional leading "-",
// digits, and at most exp digits after a "."; no grouping, symbols,
// exponents or spaces. More fractional digits than the currency has (such as
// "1.001" in USD) are an error, never rounded. The error wraps
// [ErrUnknownCurrency] or [ErrInvalidAmount].
func ParseAmount(s, currency string) (int64, error) {
	c, ok := LookupCurrency(currency)
	if !ok {
		return 0, fmt.Errorf("%w: %q", ErrUnknownCurrency, currency)
	}
	const maxLen = 32
	if len(s) == 0 || len(s) > maxLen {
		return 0, fmt.Errorf("%w: %q", ErrInvalidAmount, truncate(s, maxLen))
	}
	neg := false
	rest := s
	if rest[0] == '-' {
		neg = true
		rest = rest[1:]
	}
	whole, frac, hasDot := strings.Cut(rest, ".")
	if whole == "" || (hasDot && frac == "") || len(frac) > c.Exp || !allDigits(whole) || !allDigits(frac) {
		return 0, fmt.Errorf("%w: %q is not a %s amount with at most %d decimals", ErrInvalidAmount, s, c.Code, c.Exp)
	}
	frac += strings.Repeat("0", c.Exp-len(frac))
	var v uint64
	for _, r := range whole + frac {
		d := uint64(r - '0')
		if v > (math.MaxInt64-d)/10 {
			return 0, fmt.Errorf("%w: %q overflows", ErrInvalidAmount, s)
		}
		v = v*10 + d
	}
	if neg {
		return -int64(v), nil
	}
	return int64(v), nil
}

// isCurrencyCode reports whether s has the shape of an ISO 4217 code as
// Telegram sends it: three upper-case ASCII letters.
func isCurrencyCode(s string) bool {
	if len(s) != 3 {
		return false
	}
	for i := 0; i < 3; i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// truncate shortens s to at most n bytes for an error message.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
