package api

import (
	"net/url"
	"slices"
	"sort"
	"strings"

	"github.com/nomosauth/nomosauth/internal/problem"
)

// maxQueryLen bounds the query string a list or prices request may carry.
const maxQueryLen = 2048

// readQuery parses a query string that may hold only the allowed
// parameters, each at most once (PRODUCT S4). Anything else is a 400 that
// names it, so a misspelt filter is never silently ignored.
func readQuery(rawQuery string, allowed ...string) (url.Values, error) {
	if len(rawQuery) > maxQueryLen {
		return nil, problem.BadRequest("The query string is too long")
	}
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return nil, problem.BadRequest("The query string is not valid URL encoding")
	}
	var unknown []problem.FieldError
	names := make([]string, 0, len(q))
	for name := range q {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		switch {
		case len(q[name]) > 1:
			return nil, problem.Invalid(problem.FieldError{Code: "invalid_type", Field: name, Message: "Parameter is repeated"})
		case !slices.Contains(allowed, name):
			msg := "Unknown parameter"
			if strings.HasPrefix(name, "filter[") {
				msg = "Unsupported filter; supported: " + strings.Join(filters(allowed), ", ")
			}
			unknown = append(unknown, problem.FieldError{Code: "unrecognized_keys", Field: fieldName(name), Message: msg})
		}
	}
	if len(unknown) > 0 {
		return nil, problem.Invalid(unknown...)
	}
	return q, nil
}

func filters(allowed []string) []string {
	var out []string
	for _, a := range allowed {
		if strings.HasPrefix(a, "filter[") {
			out = append(out, a)
		}
	}
	return out
}
