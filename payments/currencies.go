package payments

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// MaxCurrenciesBytes bounds what [LoadCurrencies] reads: Telegram's file is
// about 17 KiB.
const MaxCurrenciesBytes = 1 << 20

// Currencies is a table of the currencies invoices may use: each code's
// exponent, display style and, where known, Telegram's minimum and maximum
// amounts. Exponents are ISO 4217's (they do not change with exchange
// rates); the minimum and maximum (about US$1 and US$10 000 in each
// currency) move daily with rates, so a table says whether it enforces them
// ([Currencies.Enforced]).
//
// [DefaultCurrencies] is built in: every current ISO 4217 code, styles and
// bounds from the snapshot of Telegram's currencies.json this package
// carries (internal/currencygen/SOURCE.md; it dates from 2021), bounds
// advisory because they are stale. [LoadCurrencies] reads a fresh copy of
// https://core.telegram.org/bots/payments/currencies.json, with bounds
// enforced. A Currencies is immutable and safe for concurrent use; its
// methods return changed copies.
type Currencies struct {
	byCode   map[string]Currency
	enforced bool
}

var defaultCurrencies = func() *Currencies {
	t := &Currencies{byCode: make(map[string]Currency, len(iso4217Exp)+1)}
	for code, exp := range iso4217Exp {
		t.byCode[code] = plainCurrency(code, exp)
	}
	maps.Copy(t.byCode, currencyTable)
	t.byCode[XTR] = stars
	return t
}()

// plainCurrency is a currency known only by its code and exponent,
// displayed as "USD 1.45" (code left, a space, "," and ".").
func plainCurrency(code string, exp int) Currency {
	return Currency{Code: code, Title: code, Symbol: code, Native: code, ThousandsSep: ",", DecimalSep: ".",
		SymbolLeft: true, SpaceBetween: true, Exp: exp}
}

// DefaultCurrencies returns the built-in table (bounds advisory): what
// [LookupCurrency], [FormatAmount], [ParseAmount] and an [Invoice] whose
// Currencies is nil use.
func DefaultCurrencies() *Currencies { return defaultCurrencies }

// LoadCurrencies reads a table in the format of Telegram's
// https://core.telegram.org/bots/payments/currencies.json (at most
// [MaxCurrenciesBytes]), on top of the ISO 4217 exponents: currencies the
// file lists take its exponent, style and bounds, others keep the built-in
// entry. XTR (Telegram Stars, absent from the file) is always present. Its
// bounds are enforced; [Currencies.Enforced] (false) makes them advisory.
// It fails on malformed JSON, a code that is not three upper-case letters,
// an exponent outside 0-4 (XTR: other than 0) or a bound that is not a
// non-negative integer.
func LoadCurrencies(r io.Reader) (*Currencies, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxCurrenciesBytes+1))
	if err != nil {
		return nil, fmt.Errorf("payments: load currencies: %w", err)
	}
	if len(data) > MaxCurrenciesBytes {
		return nil, fmt.Errorf("payments: load currencies: more than %d bytes", MaxCurrenciesBytes)
	}
	var file map[string]struct {
		Code         string          `json:"code"`
		Title        string          `json:"title"`
		Symbol       string          `json:"symbol"`
		Native       string          `json:"native"`
		ThousandsSep string          `json:"thousands_sep"`
		DecimalSep   string          `json:"decimal_sep"`
		SymbolLeft   bool            `json:"symbol_left"`
		SpaceBetween bool            `json:"space_between"`
		Exp          int             `json:"exp"`
		MinAmount    json.RawMessage `json:"min_amount"`
		MaxAmount    json.RawMessage `json:"max_amount"`
	}
	if err := json.Unmarshal(data, &file); err != nil {
		return nil, fmt.Errorf("payments: load currencies: %w", err)
	}
	if len(file) == 0 {
		return nil, fmt.Errorf("payments: load currencies: no currency")
	}
	t := defaultCurrencies.clone()
	t.enforced = true
	for key, e := range file {
		if e.Code == "" {
			e.Code = key
		}
		c := Currency{Code: e.Code, Title: e.Title, Symbol: e.Symbol, Native: e.Native, ThousandsSep: e.ThousandsSep,
			DecimalSep: e.DecimalSep, SymbolLeft: e.SymbolLeft, SpaceBetween: e.SpaceBetween, Exp: e.Exp}
		if c.Code != key {
			return nil, fmt.Errorf("payments: load currencies: key %q holds code %q", truncate(key, 8), truncate(c.Code, 8))
		}
		if c.MinAmount, err = boundOf(e.MinAmount); err == nil {
			c.MaxAmount, err = boundOf(e.MaxAmount)
		}
		if err != nil {
			return nil, fmt.Errorf("payments: load currencies: %s: %w", truncate(key, 8), err)
		}
		if err := c.check(); err != nil {
			return nil, fmt.Errorf("payments: load currencies: %w", err)
		}
		t.byCode[c.Code] = c
	}
	return t, nil
}

// boundOf reads "123", 123 or an absent bound (0: none).
func boundOf(raw json.RawMessage) (int64, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return 0, nil
	}
	s := strings.Trim(string(raw), `"`)
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("bound %q is not a non-negative integer", truncate(string(raw), 24))
	}
	return v, nil
}

// check validates a currency entry a caller or a file supplies.
func (c Currency) check() error {
	switch {
	case !isCurrencyCode(c.Code):
		return fmt.Errorf("%w: %q is not three upper-case letters", ErrUnknownCurrency, truncate(c.Code, 8))
	case c.Exp < 0 || c.Exp > 4:
		return fmt.Errorf("%w: %s exponent %d not in 0-4", ErrUnknownCurrency, c.Code, c.Exp)
	case c.Code == XTR && c.Exp != 0:
		return fmt.Errorf("%w: XTR (Telegram Stars) is whole units, not exponent %d", ErrUnknownCurrency, c.Exp)
	case c.MinAmount < 0 || c.MaxAmount < 0 || (c.MaxAmount != 0 && c.MaxAmount < c.MinAmount):
		return fmt.Errorf("%w: %s bounds %d-%d", ErrAmountOutOfRange, c.Code, c.MinAmount, c.MaxAmount)
	}
	return nil
}

func (t *Currencies) clone() *Currencies {
	return &Currencies{byCode: maps.Clone(t.byCode), enforced: t.enforced}
}

// Lookup returns the currency with the given code (upper case, as Telegram
// sends it).
func (t *Currencies) Lookup(code string) (Currency, bool) {
	c, ok := t.byCode[code]
	return c, ok
}

// All returns every currency of the table sorted by code, a fresh slice.
func (t *Currencies) All() []Currency {
	out := slices.Collect(maps.Values(t.byCode))
	slices.SortFunc(out, func(a, b Currency) int { return strings.Compare(a.Code, b.Code) })
	return out
}

// Enforced returns a copy of t whose minimum and maximum amounts
// [Invoice.Validate] enforces (true) or only reports through
// [Currency.CheckAmount] (false, advisory: Telegram still rejects an
// out-of-range total with CURRENCY_TOTAL_AMOUNT_INVALID).
func (t *Currencies) Enforced(enforce bool) *Currencies {
	c := t.clone()
	c.enforced = enforce
	return c
}

// EnforcesBounds reports whether [Invoice.Validate] enforces t's minimum
// and maximum amounts.
func (t *Currencies) EnforcesBounds() bool { return t.enforced }

// With returns a copy of t with the given currencies added or replaced: a
// currency Telegram added after this table was made needs only its Code and
// Exp (display fields default to the code; zero bounds mean none). It fails
// for a code that is not three upper-case letters or an exponent outside 0-4
// (for XTR, Telegram Stars, other than 0).
func (t *Currencies) With(cs ...Currency) (*Currencies, error) {
	out := t.clone()
	for _, c := range cs {
		if err := c.check(); err != nil {
			return nil, err
		}
		if c.Title == "" && c.Symbol == "" {
			plain := plainCurrency(c.Code, c.Exp)
			plain.MinAmount, plain.MaxAmount = c.MinAmount, c.MaxAmount
			c = plain
		}
		out.byCode[c.Code] = c
	}
	return out, nil
}
