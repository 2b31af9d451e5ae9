package api

import (
	"net/http"
	"time"

	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/httpx"
	"github.com/nomosauth/nomosauth/internal/problem"
)

// MaxPriceDays bounds one prices request: a month of 15-minute points is
// about 3,000 items, a response of a few hundred KiB.
const MaxPriceDays = 31

// PriceJSON is the Nomos Price object.
type PriceJSON struct {
	Object       string            `json:"object"`
	Subscription string            `json:"subscription"`
	Period       PeriodJSON        `json:"period"`
	Unit         string            `json:"unit"`
	Currency     string            `json:"currency"`
	Resolution   string            `json:"resolution"`
	Reference    string            `json:"reference"`
	Items        *[]PricePointJSON `json:"items"`
}

// PeriodJSON is the requested period, as local dates.
type PeriodJSON struct {
	Start string `json:"start"`
	End   string `json:"end"`
}

// PricePointJSON is one item of a price series.
type PricePointJSON struct {
	Timestamp  string          `json:"timestamp"`
	Amount     domain.Amount   `json:"amount"`
	Components []ComponentJSON `json:"components"`
}

// ComponentJSON is one part of a price point.
type ComponentJSON struct {
	Type   string        `json:"type"`
	Amount domain.Amount `json:"amount"`
}

const dateLayout = "2006-01-02"

// period is PRODUCT's prices query: start and end are dates in the
// customer's local time (Europe/Berlin); the period runs from start 00:00
// to the end of end, at most MaxPriceDays days.
type period struct {
	start, end string
	from, to   time.Time
}

func parsePeriod(startRaw, endRaw string, loc *time.Location) (period, error) {
	var issues []problem.FieldError
	day := func(field, raw string) time.Time {
		if raw == "" {
			issues = append(issues, problem.FieldError{Code: "invalid_type", Field: field, Message: "Required"})
			return time.Time{}
		}
		d, err := time.ParseInLocation(dateLayout, raw, loc)
		if err != nil || len(raw) != len(dateLayout) {
			issues = append(issues, problem.FieldError{Code: "invalid_format", Field: field, Message: "Expected a date as YYYY-MM-DD"})
			return time.Time{}
		}
		return d
	}
	start, end := day("start", startRaw), day("end", endRaw)
	if len(issues) > 0 {
		return period{}, problem.Invalid(issues...)
	}
	if end.Before(start) {
		return period{}, problem.Invalid(problem.FieldError{Code: "too_small", Field: "end", Message: "Must not be before start"})
	}
	// AddDate counts calendar days, so the 23- and 25-hour days of the
	// clock changes count as one each.
	if !end.Before(start.AddDate(0, 0, MaxPriceDays)) {
		return period{}, problem.Invalid(problem.FieldError{Code: "too_big", Field: "end", Message: "The period may span at most 31 days"})
	}
	return period{start: startRaw, end: endRaw, from: start.UTC(), to: end.AddDate(0, 0, 1).UTC()}, nil
}

// subscriptionSpan narrows [from, to) to the subscription's own span: no
// price is the subscription's before it starts or once it has ended.
func subscriptionSpan(sub domain.Subscription, from, to time.Time) (time.Time, time.Time) {
	if from.Before(sub.StartDate) {
		from = sub.StartDate
	}
	if !sub.EndDate.IsZero() && sub.EndDate.Before(to) {
		to = sub.EndDate
	}
	return from, to
}

// getPrices is GET /subscriptions/{id}/prices. items is null while the
// subscription is not active, as the OpenAPI document says.
func (a *API) getPrices(w http.ResponseWriter, r *http.Request) error {
	q, err := readQuery(r.URL.RawQuery, "start", "end")
	if err != nil {
		return err
	}
	sub, err := a.visibleSubscription(r, r.PathValue("id"))
	if err != nil {
		return err
	}
	p, err := parsePeriod(q.Get("start"), q.Get("end"), a.Location)
	if err != nil {
		return err
	}
	out := PriceJSON{Object: "price", Subscription: sub.ID, Period: PeriodJSON{Start: p.start, End: p.end},
		Unit: "ct/kWh", Currency: "EUR", Resolution: "hourly"}
	if sub.Status == domain.SubscriptionActive {
		from, to := subscriptionSpan(sub, p.from, p.to)
		points := []domain.PricePoint{}
		if from.Before(to) {
			if points, err = a.Store.ListPrices(r.Context(), sub.ID, from, to); err != nil {
				return err
			}
		}
		items := make([]PricePointJSON, len(points))
		for i, pt := range points {
			if pt.Time.Minute() != 0 {
				out.Resolution = "15min"
			}
			items[i] = PricePointJSON{Timestamp: pt.Time.UTC().Format(time.RFC3339), Amount: pt.Total(), Components: []ComponentJSON{
				{Type: "electricity", Amount: pt.Electricity}, {Type: "grid", Amount: pt.Grid}, {Type: "levies", Amount: pt.Levies}}}
		}
		out.Items = &items
	}
	out.Reference = "EPEX Day-Ahead Hourly"
	if out.Resolution == "15min" {
		out.Reference = "EPEX Day-Ahead 15min"
	}
	httpx.WriteJSON(w, http.StatusOK, out)
	return nil
}
