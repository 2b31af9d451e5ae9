package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/store"
)

// walk lists every page of limit rows through the cursor, as the API
// does, and gives the ids in order.
func walk[T any](t *testing.T, limit int, list func(store.Page) ([]T, error), key func(T) store.Cursor, id func(T) string) []string {
	t.Helper()
	seen := []string{}
	var after store.Cursor
	for range 20 {
		rows, err := list(store.Page{After: after, Limit: limit})
		must(t, err)
		if len(rows) == 0 {
			return seen
		}
		seen = append(seen, ids(rows, id)...)
		after = key(rows[len(rows)-1])
	}
	t.Fatal("the walk does not end")
	return nil
}

func text(values ...string) []store.TextMatch { return []store.TextMatch{{In: values}} }
func notText(values ...string) []store.TextMatch {
	return []store.TextMatch{{In: values, Not: true}}
}
func at(op store.Compare, sec int) store.TimeMatch {
	return store.TimeMatch{Op: op, At: base.Add(time.Duration(sec) * time.Second)}
}

// PRODUCT R9: every customer filter and operator, alone and combined,
// walked through the cursor two rows at a time.
func testCustomerFilters(t *testing.T, s Subject) {
	seedOrg(t, s, "org_a")
	seedOrg(t, s, "org_b")
	// cus_0..cus_5 at base+0s..5s; odd ones are companies.
	for i := range 6 {
		typ := domain.CustomerPerson
		if i%2 == 1 {
			typ = domain.CustomerCompany
		}
		must(t, s.CreateCustomer(ctx(t), domain.Customer{ID: fmt.Sprintf("cus_%d", i), OrgID: "org_a", Email: fmt.Sprintf("C%d@Example.com", i),
			Type: typ, CreatedAt: base.Add(time.Duration(i) * time.Second)}, sys(base)))
	}
	must(t, s.CreateCustomer(ctx(t), domain.Customer{ID: "cus_b", OrgID: "org_b", Email: "b@example.com", Type: domain.CustomerPerson, CreatedAt: base}, sys(base)))
	for _, tc := range []struct {
		name string
		f    store.CustomerFilter
		want []string
	}{
		{"R9/email/eq", store.CustomerFilter{Emails: text("c2@EXAMPLE.com")}, []string{"cus_2"}},
		{"R9/email/ne", store.CustomerFilter{Emails: notText("c2@example.com")}, []string{"cus_5", "cus_4", "cus_3", "cus_1", "cus_0"}},
		{"R9/email/in", store.CustomerFilter{Emails: text("c0@example.com", "C4@example.COM", "b@example.com")}, []string{"cus_4", "cus_0"}},
		{"R9/type/eq", store.CustomerFilter{Types: text("company")}, []string{"cus_5", "cus_3", "cus_1"}},
		{"R9/type/in", store.CustomerFilter{Types: text("company", "person")}, []string{"cus_5", "cus_4", "cus_3", "cus_2", "cus_1", "cus_0"}},
		{"R9/type/ne", store.CustomerFilter{Types: notText("company")}, []string{"cus_4", "cus_2", "cus_0"}},
		{"R9/created_at/eq", store.CustomerFilter{Created: []store.TimeMatch{at(store.Equal, 3)}}, []string{"cus_3"}},
		{"R9/created_at/gt", store.CustomerFilter{Created: []store.TimeMatch{at(store.After, 3)}}, []string{"cus_5", "cus_4"}},
		{"R9/created_at/gte", store.CustomerFilter{Created: []store.TimeMatch{at(store.AtOrAfter, 3)}}, []string{"cus_5", "cus_4", "cus_3"}},
		{"R9/created_at/lt", store.CustomerFilter{Created: []store.TimeMatch{at(store.Before, 3)}}, []string{"cus_2", "cus_1", "cus_0"}},
		{"R9/created_at/lte", store.CustomerFilter{Created: []store.TimeMatch{at(store.AtOrBefore, 3)}}, []string{"cus_3", "cus_2", "cus_1", "cus_0"}},
		{"R9/created_at/range", store.CustomerFilter{Created: []store.TimeMatch{at(store.AtOrAfter, 1), at(store.Before, 5)}}, []string{"cus_4", "cus_3", "cus_2", "cus_1"}},
		{"R9/combined", store.CustomerFilter{Types: text("person"), Created: []store.TimeMatch{at(store.After, 0)}}, []string{"cus_4", "cus_2"}},
		{"R9/in_nothing", store.CustomerFilter{Types: []store.TextMatch{{}}}, []string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.f.OrgID = "org_a"
			got := walk(t, 2, func(p store.Page) ([]domain.Customer, error) { return s.ListCustomers(ctx(t), tc.f, p) },
				func(c domain.Customer) store.Cursor { return store.Cursor{CreatedAt: c.CreatedAt, ID: c.ID} }, customerID)
			diff(t, got, tc.want)
		})
	}
	// Sub-microsecond bounds compare exactly: cus_3 is at 3s, not after 3s - 1ns... but it is at or after it.
	f := store.CustomerFilter{OrgID: "org_a", Created: []store.TimeMatch{{Op: store.AtOrAfter, At: base.Add(3*time.Second - time.Nanosecond)}, {Op: store.AtOrBefore, At: base.Add(3*time.Second + time.Nanosecond)}}}
	got, err := s.ListCustomers(ctx(t), f, store.Page{Limit: 10})
	must(t, err)
	diff(t, ids(got, customerID), []string{"cus_3"})
	f = store.CustomerFilter{OrgID: "org_a", Created: []store.TimeMatch{{Op: store.Equal, At: base.Add(3*time.Second + time.Nanosecond)}}}
	got, err = s.ListCustomers(ctx(t), f, store.Page{Limit: 10})
	must(t, err)
	diff(t, ids(got, customerID), []string{})
	// An unbounded in is refused rather than built into a huge statement.
	many := make([]string, store.MaxMatchValues+1)
	if _, err := s.ListCustomers(ctx(t), store.CustomerFilter{Emails: text(many...)}, store.Page{Limit: 1}); err == nil {
		t.Fatal("an in filter past MaxMatchValues was accepted")
	}
}

// PRODUCT R9: every subscription filter and operator, alone and combined,
// walked through the cursor two rows at a time.
func testSubscriptionFilters(t *testing.T, s Subject) {
	seedOrg(t, s, "org_a")
	seedOrg(t, s, "org_b")
	seedCustomers(t, s, "org_a", 4) // cus_org_a_00..03
	seedCustomers(t, s, "org_b", 1)
	statuses := []domain.SubscriptionStatus{domain.SubscriptionPending, domain.SubscriptionActive, domain.SubscriptionEnded}
	// sub_0..sub_5 created at base+0s..5s; sub_i updated at base+(10-i)s,
	// except sub_5, never updated (its updated_at is its created_at).
	for i := range 6 {
		sub := domain.Subscription{ID: fmt.Sprintf("sub_%d", i), OrgID: "org_a", CustomerID: fmt.Sprintf("cus_org_a_%02d", i%3),
			Status: statuses[i%3], Type: domain.SubscriptionConsumption, Plan: fmt.Sprintf("plan_%d", i%2),
			CreatedAt: base.Add(time.Duration(i) * time.Second)}
		if i < 5 {
			sub.UpdatedAt = base.Add(time.Duration(10-i) * time.Second)
		}
		must(t, s.CreateSubscription(ctx(t), sub))
	}
	must(t, s.CreateSubscription(ctx(t), domain.Subscription{ID: "sub_b", OrgID: "org_b", CustomerID: "cus_org_b_00", Status: domain.SubscriptionActive,
		Type: domain.SubscriptionConsumption, Plan: "plan_0", CreatedAt: base}))
	all := []string{"sub_5", "sub_4", "sub_3", "sub_2", "sub_1", "sub_0"}
	for _, tc := range []struct {
		name string
		f    store.SubscriptionFilter
		want []string
	}{
		{"R9/none", store.SubscriptionFilter{}, all},
		{"R9/status/eq", store.SubscriptionFilter{Statuses: text("active")}, []string{"sub_4", "sub_1"}},
		{"R9/status/ne", store.SubscriptionFilter{Statuses: notText("active")}, []string{"sub_5", "sub_3", "sub_2", "sub_0"}},
		{"R9/status/in", store.SubscriptionFilter{Statuses: text("active", "pending")}, []string{"sub_4", "sub_3", "sub_1", "sub_0"}},
		{"R9/customer/eq", store.SubscriptionFilter{Customers: text("cus_org_a_01")}, []string{"sub_4", "sub_1"}},
		{"R9/customer/ne", store.SubscriptionFilter{Customers: notText("cus_org_a_01")}, []string{"sub_5", "sub_3", "sub_2", "sub_0"}},
		{"R9/customer/in", store.SubscriptionFilter{Customers: text("cus_org_a_00", "cus_org_a_02", "cus_org_b_00")}, []string{"sub_5", "sub_3", "sub_2", "sub_0"}},
		{"R9/plan/eq", store.SubscriptionFilter{Plans: text("plan_1")}, []string{"sub_5", "sub_3", "sub_1"}},
		{"R9/plan/ne", store.SubscriptionFilter{Plans: notText("plan_1")}, []string{"sub_4", "sub_2", "sub_0"}},
		{"R9/plan/in", store.SubscriptionFilter{Plans: text("plan_0", "plan_9")}, []string{"sub_4", "sub_2", "sub_0"}},
		{"R9/created_at/eq", store.SubscriptionFilter{Created: []store.TimeMatch{at(store.Equal, 2)}}, []string{"sub_2"}},
		{"R9/created_at/gt", store.SubscriptionFilter{Created: []store.TimeMatch{at(store.After, 2)}}, []string{"sub_5", "sub_4", "sub_3"}},
		{"R9/created_at/gte", store.SubscriptionFilter{Created: []store.TimeMatch{at(store.AtOrAfter, 2)}}, []string{"sub_5", "sub_4", "sub_3", "sub_2"}},
		{"R9/created_at/lt", store.SubscriptionFilter{Created: []store.TimeMatch{at(store.Before, 2)}}, []string{"sub_1", "sub_0"}},
		{"R9/created_at/lte", store.SubscriptionFilter{Created: []store.TimeMatch{at(store.AtOrBefore, 2)}}, []string{"sub_2", "sub_1", "sub_0"}},
		// updated_at: sub_0 10s, sub_1 9s, sub_2 8s, sub_3 7s, sub_4 6s, sub_5 5s (created).
		{"R9/updated_at/eq", store.SubscriptionFilter{Updated: []store.TimeMatch{at(store.Equal, 5)}}, []string{"sub_5"}},
		{"R9/updated_at/gt", store.SubscriptionFilter{Updated: []store.TimeMatch{at(store.After, 8)}}, []string{"sub_1", "sub_0"}},
		{"R9/updated_at/gte", store.SubscriptionFilter{Updated: []store.TimeMatch{at(store.AtOrAfter, 8)}}, []string{"sub_2", "sub_1", "sub_0"}},
		{"R9/updated_at/lt", store.SubscriptionFilter{Updated: []store.TimeMatch{at(store.Before, 7)}}, []string{"sub_5", "sub_4"}},
		{"R9/updated_at/lte", store.SubscriptionFilter{Updated: []store.TimeMatch{at(store.AtOrBefore, 7)}}, []string{"sub_5", "sub_4", "sub_3"}},
		{"R9/combined", store.SubscriptionFilter{Statuses: text("ended", "pending"), Plans: text("plan_1"),
			Updated: []store.TimeMatch{at(store.AtOrAfter, 5), at(store.Before, 10)}}, []string{"sub_5", "sub_3"}},
		{"R9/with_reach", store.SubscriptionFilter{CustomerID: "cus_org_a_00", Customers: text("cus_org_a_00", "cus_org_a_01")}, []string{"sub_3", "sub_0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.f.OrgID = "org_a"
			got := walk(t, 2, func(p store.Page) ([]domain.Subscription, error) { return s.ListSubscriptions(ctx(t), tc.f, p) },
				func(s domain.Subscription) store.Cursor { return store.Cursor{CreatedAt: s.CreatedAt, ID: s.ID} }, subscriptionID)
			diff(t, got, tc.want)
		})
	}
}
