package view

import (
	"fmt"
	"slices"

	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/store"
)

// The filters below are the store's WHERE clauses (txn's list.go) as Go
// predicates, condition by condition, so that a list from memory is the
// list the database gives (PRODUCT R9: every condition must hold). The
// conformance suite runs against a view-backed store to keep it so.

// customerMatch compiles f's conditions on a customer; the organization
// is the view's.
func customerMatch(f store.CustomerFilter) (func(customerRow) bool, error) {
	var conds []func(customerRow) bool
	if f.ID != "" {
		conds = append(conds, func(r customerRow) bool { return r.c.ID == f.ID })
	}
	if f.Email != "" {
		key := domain.EmailKey(f.Email)
		conds = append(conds, func(r customerRow) bool { return r.key == key })
	}
	for _, m := range f.Emails {
		in, err := textMatch("email_key", m, domain.EmailKey)
		if err != nil {
			return nil, err
		}
		conds = append(conds, func(r customerRow) bool { return in(r.key) })
	}
	for _, m := range f.Types {
		in, err := textMatch("type", m, nil)
		if err != nil {
			return nil, err
		}
		conds = append(conds, func(r customerRow) bool { return in(string(r.c.Type)) })
	}
	for _, m := range f.Created {
		in, err := timeMatch("created_at", m)
		if err != nil {
			return nil, err
		}
		conds = append(conds, func(r customerRow) bool { return in(r.created) })
	}
	return func(r customerRow) bool { return all(conds, r) }, nil
}

// subscriptionMatch compiles f's conditions on a subscription; the
// organization is the view's.
func subscriptionMatch(f store.SubscriptionFilter) (func(subscriptionRow) bool, error) {
	var conds []func(subscriptionRow) bool
	if f.CustomerID != "" {
		conds = append(conds, func(r subscriptionRow) bool { return r.s.CustomerID == f.CustomerID })
	}
	if f.Status != "" {
		conds = append(conds, func(r subscriptionRow) bool { return r.s.Status == f.Status })
	}
	if f.ExcludeType != "" {
		conds = append(conds, func(r subscriptionRow) bool { return r.s.Type != f.ExcludeType })
	}
	for _, t := range []struct {
		column string
		ms     []store.TextMatch
		value  func(subscriptionRow) string
	}{
		{"status", f.Statuses, func(r subscriptionRow) string { return string(r.s.Status) }},
		{"customer_id", f.Customers, func(r subscriptionRow) string { return r.s.CustomerID }},
		{"plan", f.Plans, func(r subscriptionRow) string { return r.s.Plan }},
	} {
		for _, m := range t.ms {
			in, err := textMatch(t.column, m, nil)
			if err != nil {
				return nil, err
			}
			conds = append(conds, func(r subscriptionRow) bool { return in(t.value(r)) })
		}
	}
	for _, m := range f.Created {
		in, err := timeMatch("created_at", m)
		if err != nil {
			return nil, err
		}
		conds = append(conds, func(r subscriptionRow) bool { return in(r.created) })
	}
	for _, m := range f.Updated {
		in, err := timeMatch("updated_at", m)
		if err != nil {
			return nil, err
		}
		conds = append(conds, func(r subscriptionRow) bool { return in(r.updated) })
	}
	return func(r subscriptionRow) bool { return all(conds, r) }, nil
}

func all[R any](conds []func(R) bool, r R) bool {
	for _, c := range conds {
		if !c(r) {
			return false
		}
	}
	return true
}

// textMatch is a TextMatch on a column: the value is one of m.In (none of
// them with m.Not), each normalized by key as the column stores it. In no
// value nothing matches; not in no value, everything.
func textMatch(column string, m store.TextMatch, key func(string) string) (func(string) bool, error) {
	if len(m.In) > store.MaxMatchValues {
		return nil, fmt.Errorf("view: %d values for %s, at most %d", len(m.In), column, store.MaxMatchValues)
	}
	values := slices.Clone(m.In)
	if key != nil {
		for i, v := range values {
			values[i] = key(v)
		}
	}
	return func(v string) bool {
		if len(values) == 0 {
			return m.Not
		}
		return slices.Contains(values, v) != m.Not
	}, nil
}

// timeMatch is a TimeMatch on a column in microseconds, rounded as the
// store rounds it (TimeMatch.Micros).
func timeMatch(column string, m store.TimeMatch) (func(int64) bool, error) {
	down, up := m.Micros()
	switch m.Op {
	case store.Equal:
		return func(v int64) bool { return v >= up && v <= down }, nil
	case store.After:
		return func(v int64) bool { return v > down }, nil
	case store.AtOrAfter:
		return func(v int64) bool { return v >= up }, nil
	case store.Before:
		return func(v int64) bool { return v < up }, nil
	case store.AtOrBefore:
		return func(v int64) bool { return v <= down }, nil
	}
	return nil, fmt.Errorf("view: unknown comparison %q for %s", m.Op, column)
}
