package api

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nomosauth/nomosauth/internal/problem"
	"github.com/nomosauth/nomosauth/internal/store"
)

// Filters in the Nomos OpenAPI's filter[field][operator] form (PRODUCT R9).
// The operators are those the Nomos filtering guide gives each field type:
// text and enum fields eq, ne, in; date fields eq, gt, gte, lt, lte. An
// unknown field or operator is a 400 listing what is supported (PRODUCT S4:
// a misspelt filter is never silently ignored, although Nomos ignores it).

// filterField is one filterable field of a list.
type filterField struct {
	name   string
	date   bool     // an instant, compared with gt, gte, lt, lte, eq
	values []string // an enum's values; nil for free text
	lower  bool     // compared case-insensitively
}

var (
	textOps = []string{"eq", "ne", "in"}
	dateOps = []string{"eq", "gt", "gte", "lt", "lte"}
)

// customerFilters are GET /customers' filterable fields.
var customerFilters = []filterField{
	{name: "email", lower: true},
	{name: "type", values: []string{"person", "company"}},
	{name: "created_at", date: true},
}

// subscriptionFilters are GET /subscriptions' filterable fields.
var subscriptionFilters = []filterField{
	{name: "status", values: subscriptionStatuses},
	{name: "customer"},
	{name: "plan"},
	{name: "created_at", date: true},
	{name: "updated_at", date: true},
}

func (f filterField) ops() []string {
	if f.date {
		return dateOps
	}
	return textOps
}

// The query parameters each list accepts, worked out once: readQuery
// checks every request's parameters against them.
var (
	customerListParams     = listParams(customerFilters)
	subscriptionListParams = listParams(subscriptionFilters)
)

// listParams are the query parameters a list with the filters of fields
// accepts: limit, cursor and each field's filter[field][op].
func listParams(fields []filterField) []string {
	out := []string{"limit", "cursor"}
	for _, f := range fields {
		for _, op := range f.ops() {
			out = append(out, "filter["+f.name+"]["+op+"]")
		}
	}
	return out
}

// listFilters are a request's parsed conditions by field, and their normal
// form, which a cursor is bound to.
type listFilters struct {
	text   map[string][]store.TextMatch
	times  map[string][]store.TimeMatch
	normal string
}

// dateExample shows the accepted instant form in errors.
const dateExample = "an ISO 8601 date-time with a time zone, such as 2024-01-01T00:00:00Z"

// parseFilters reads the filter parameters of q (readQuery has already
// refused any it does not know). A value that is not of the field's type
// is a 400 naming the parameter.
func parseFilters(q url.Values, fields []filterField) (listFilters, error) {
	out := listFilters{text: map[string][]store.TextMatch{}, times: map[string][]store.TimeMatch{}}
	if !hasFilter(q) {
		return out, nil // most lists: nothing to parse
	}
	var normal []string
	for _, f := range fields {
		for _, op := range f.ops() {
			param := "filter[" + f.name + "][" + op + "]"
			if !q.Has(param) {
				continue
			}
			raw := q.Get(param)
			if f.date {
				at, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(raw))
				if err != nil {
					return out, problem.Invalid(problem.FieldError{Code: "invalid_format", Field: param, Message: "Expected " + dateExample})
				}
				out.times[f.name] = append(out.times[f.name], store.TimeMatch{Op: store.Compare(op), At: at.UTC()})
				normal = append(normal, param+"="+at.UTC().Format(time.RFC3339Nano))
				continue
			}
			values, err := f.parseText(param, raw, op == "in")
			if err != nil {
				return out, err
			}
			out.text[f.name] = append(out.text[f.name], store.TextMatch{In: values, Not: op == "ne"})
			normal = append(normal, param+"="+strings.Join(values, "\x01"))
		}
	}
	out.normal = strings.Join(normal, "\x00")
	return out, nil
}

// hasFilter says whether q names any filter[...] parameter.
func hasFilter(q url.Values) bool {
	for name := range q {
		if strings.HasPrefix(name, "filter[") {
			return true
		}
	}
	return false
}

// parseText reads a text or enum value; with list, a comma-separated list
// of at most store.MaxMatchValues values, sorted and without repeats.
func (f filterField) parseText(param, raw string, list bool) ([]string, error) {
	values := []string{raw}
	if list {
		values = strings.Split(raw, ",")
		if len(values) > store.MaxMatchValues {
			return nil, problem.Invalid(problem.FieldError{Code: "too_big", Field: param,
				Message: "At most " + strconv.Itoa(store.MaxMatchValues) + " comma-separated values"})
		}
	}
	for i, v := range values {
		v = strings.TrimSpace(v)
		if f.lower {
			v = strings.ToLower(v)
		}
		switch {
		case v == "":
			return nil, problem.Invalid(problem.FieldError{Code: "too_small", Field: param, Message: "Values must not be empty"})
		case f.values != nil && !slices.Contains(f.values, v):
			return nil, problem.Invalid(problem.FieldError{Code: "invalid_value", Field: param, Message: "Expected one of " + strings.Join(f.values, ", ")})
		}
		values[i] = v
	}
	slices.Sort(values)
	return slices.Compact(values), nil
}
