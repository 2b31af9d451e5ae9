package admin

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/problem"
)

// PricesHeader is the header line of a prices file.
const PricesHeader = "timestamp,electricity,grid,levies"

// maxPriceRows bounds one import: three years of 15-minute points.
const maxPriceRows = 3 * 366 * 96

// maxRowErrors is how many bad rows one failed import lists.
const maxRowErrors = 10

// ParsePrices reads a prices file: the header `timestamp,electricity,grid,levies`,
// then one row per interval with a UTC ISO-8601 timestamp on the hour or a
// quarter hour and the components in ct/kWh. Every bad row is reported
// (up to ten), with its line number; nothing is returned on failure.
func ParsePrices(r io.Reader) ([]domain.PricePoint, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = 4
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil || strings.Join(header, ",") != PricesHeader && strings.Join(header, ",") != "\ufeff"+PricesHeader {
		return nil, problem.BadRequest("line 1: the header must be exactly " + PricesHeader)
	}
	var points []domain.PricePoint
	var errs []string
	seen := map[time.Time]int{}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			line := 0
			if errors.As(err, &pe) {
				line = pe.Line
			}
			errs = append(errs, fmt.Sprintf("line %d: %s", line, csvReason(err)))
			if len(errs) >= maxRowErrors {
				break
			}
			continue
		}
		line, _ := cr.FieldPos(0)
		if len(points) >= maxPriceRows {
			return nil, problem.BadRequest(fmt.Sprintf("a file holds at most %d rows; split it", maxPriceRows))
		}
		pt, err := parsePriceRow(rec)
		if err == nil {
			if first, dup := seen[pt.Time]; dup {
				err = fmt.Errorf("timestamp repeats line %d", first)
			}
		}
		if err != nil {
			errs = append(errs, fmt.Sprintf("line %d: %v", line, err))
			if len(errs) >= maxRowErrors {
				break
			}
			continue
		}
		seen[pt.Time] = line
		points = append(points, pt)
	}
	if len(errs) > 0 {
		return nil, problem.BadRequest("no prices were imported:\n" + strings.Join(errs, "\n"))
	}
	if len(points) == 0 {
		return nil, problem.BadRequest("the file has no price rows")
	}
	return points, nil
}

func csvReason(err error) string {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

func parsePriceRow(rec []string) (domain.PricePoint, error) {
	raw := strings.TrimSpace(rec[0])
	t, err := time.Parse(time.RFC3339, raw)
	if err != nil {
		return domain.PricePoint{}, fmt.Errorf("timestamp %s is not ISO 8601 like 2026-03-01T00:00:00Z", problem.Quote(raw))
	}
	if _, offset := t.Zone(); offset != 0 {
		return domain.PricePoint{}, fmt.Errorf("timestamp %s must be in UTC (Z)", problem.Quote(raw))
	}
	if t.Second() != 0 || t.Nanosecond() != 0 || t.Minute()%15 != 0 {
		return domain.PricePoint{}, fmt.Errorf("timestamp %s must start an hour or a quarter hour", problem.Quote(raw))
	}
	pt := domain.PricePoint{Time: t.UTC()}
	for i, to := range []*domain.Amount{&pt.Electricity, &pt.Grid, &pt.Levies} {
		v := strings.TrimSpace(rec[i+1])
		a, err := domain.ParseAmount(v)
		if err != nil {
			return domain.PricePoint{}, fmt.Errorf("%s %s: %v", strings.Split(PricesHeader, ",")[i+1], problem.Quote(v), err)
		}
		*to = a
	}
	return pt, nil
}

// ImportPrices stores points for a subscription, all or nothing.
func (a *Admin) ImportPrices(ctx context.Context, subscriptionID string, points []domain.PricePoint) error {
	return translate(a.Customers.ImportPrices(ctx, subscriptionID, points), "subscription")
}

// DemoPrices makes hourly prices for the days from first to last (inclusive,
// local midnight in loc) shaped like a German day-ahead curve: cheap at
// night and around solar noon, dear in the morning and evening peaks.
func DemoPrices(first, last time.Time, loc *time.Location) []domain.PricePoint {
	var out []domain.PricePoint
	start := time.Date(first.Year(), first.Month(), first.Day(), 0, 0, 0, 0, loc)
	end := time.Date(last.Year(), last.Month(), last.Day(), 0, 0, 0, 0, loc).AddDate(0, 0, 1)
	for t := start.UTC(); t.Before(end); t = t.Add(time.Hour) {
		h := float64(t.In(loc).Hour())
		curve := 9 + 4*math.Cos((h-19)*math.Pi/12) - 3*math.Exp(-(h-13)*(h-13)/8)
		out = append(out, domain.PricePoint{Time: t, Electricity: domain.Amount(math.Round(curve*100) * 100), Grid: 94700, Levies: 62000})
	}
	return out
}
