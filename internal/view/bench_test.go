package view_test

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/store"
	"github.com/nomosauth/nomosauth/internal/store/sqlite"
	"github.com/nomosauth/nomosauth/internal/view"
)

// BenchmarkListSubscriptions compares a protected GET /subscriptions' list
// read (ten rows of an organization with one customer and ten
// subscriptions, as the benchmark program seeds) from SQLite and from
// the view (issue 17).
func BenchmarkListSubscriptions(b *testing.B) {
	raw, err := sqlite.Open(b.Context(), filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer raw.Close()
	ctx := b.Context()
	must := func(err error) {
		if err != nil {
			b.Fatal(err)
		}
	}
	must(raw.CreateOrg(ctx, domain.Org{ID: "org_a", Name: "A", CreatedAt: base}))
	must(raw.CreateCustomer(ctx, domain.Customer{ID: "cus_1", OrgID: "org_a", Email: "a@example.com", FirstName: "Max", LastName: "Mustermann",
		Type: domain.CustomerPerson, CreatedAt: base}, domain.System(base)))
	for i := range 10 {
		must(raw.CreateSubscription(ctx, domain.Subscription{ID: fmt.Sprintf("sub_%02d", i), OrgID: "org_a", CustomerID: "cus_1",
			Status: domain.SubscriptionActive, Type: domain.SubscriptionConsumption, Plan: "Basic", Number: "S-1",
			Address:   domain.Address{ID: "adr_1", Street: "Torstraße", HouseNumber: "119", Zip: "10115", City: "Berlin"},
			Meter:     domain.Meter{ID: "mtr_1", Number: "1APA0195124010", Type: "smart"},
			Payment:   domain.PaymentMethod{ID: "pm_1", IBANMasked: "DE89 **** 3000", AccountHolder: "Max Mustermann"},
			CreatedAt: base.Add(time.Duration(i) * time.Second)}))
	}
	f, p := store.SubscriptionFilter{OrgID: "org_a"}, store.Page{Limit: 10}
	for _, tc := range []struct {
		name string
		list func() ([]domain.Subscription, error)
	}{
		{"sqlite", func() ([]domain.Subscription, error) { return raw.ListSubscriptions(ctx, f, p) }},
		{"view", nil},
	} {
		b.Run(tc.name, func(b *testing.B) {
			list := tc.list
			if tc.name == "view" {
				v := view.New(raw, 8<<20)
				list = func() ([]domain.Subscription, error) { return v.ListSubscriptions(ctx, f, p) }
			}
			for b.Loop() {
				if rows, err := list(); err != nil || len(rows) != 10 {
					b.Fatal(len(rows), err)
				}
			}
		})
	}
}
