package domain

import (
	"errors"
	"strconv"
	"strings"
	"time"
)

// Amount is a price in ten-thousandths of a cent per kWh. Prices are kept as
// integers so that sums and round trips are exact: 8.77 + 9.47 + 6.2 is 24.44,
// never 24.439999.
type Amount int64

// amountScale is how many Amount units make one cent.
const amountScale = 10000

// MaxAmount bounds a price component to ±1,000,000 ct/kWh, far beyond any
// real price, so sums cannot overflow.
const MaxAmount = Amount(1_000_000 * amountScale)

var errAmount = errors.New("want a decimal number of ct/kWh with at most 4 decimals, like 8.77")

// ParseAmount reads a decimal like "8.77", "-0.5" or "12".
func ParseAmount(s string) (Amount, error) {
	neg := strings.HasPrefix(s, "-")
	digits := strings.TrimPrefix(s, "-")
	whole, frac, _ := strings.Cut(digits, ".")
	if whole == "" || len(frac) > 4 || strings.Contains(frac, ".") || !allDigits(whole) || !allDigits(frac) || len(whole) > 7 {
		return 0, errAmount
	}
	w, _ := strconv.ParseInt(whole, 10, 64)
	f, _ := strconv.ParseInt((frac + "0000")[:4], 10, 64)
	a := Amount(w*amountScale + f)
	if a > MaxAmount {
		return 0, errAmount
	}
	if neg {
		a = -a
	}
	return a, nil
}

func allDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// String formats the amount as a plain decimal without trailing zeros.
func (a Amount) String() string {
	sign := ""
	if a < 0 {
		sign, a = "-", -a
	}
	s := strconv.FormatInt(int64(a/amountScale), 10)
	if frac := int64(a % amountScale); frac != 0 {
		s += "." + strings.TrimRight(strconv.FormatInt(frac+amountScale, 10)[1:], "0")
	}
	return sign + s
}

// MarshalJSON writes the amount as a JSON number.
func (a Amount) MarshalJSON() ([]byte, error) { return []byte(a.String()), nil }

// PricePoint is the price of one interval of a subscription, starting at Time
// (UTC), with its components in ct/kWh.
type PricePoint struct {
	Time        time.Time
	Electricity Amount
	Grid        Amount
	Levies      Amount
}

// Total is the price the customer pays: the sum of the components.
func (p PricePoint) Total() Amount { return p.Electricity + p.Grid + p.Levies }
