package admin_test

import (
	"strings"
	"testing"
	"time"

	"github.com/nomosauth/nomosauth/internal/admin"
	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/testfix"
)

// A subscription starts at midnight of its day where its customer lives,
// and the demo one --dev seeds starts at Berlin midnight today (issue 16).
func TestSubscriptionStartsAtLocalMidnight(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	testfix.Check(t, err)
	// 00:30 in Berlin is still the day before in UTC.
	env := testfix.New(t, time.Date(2026, 6, 30, 22, 30, 0, 0, time.UTC))
	seed, seeded, err := env.Admin.SeedDev(t.Context(), berlin)
	if err != nil || !seeded {
		t.Fatal(seeded, err)
	}
	sub, err := env.Store.GetSubscription(t.Context(), seed.SubscriptionID)
	testfix.Check(t, err)
	if want := time.Date(2026, 7, 1, 0, 0, 0, 0, berlin); !sub.StartDate.Equal(want) {
		t.Fatalf("demo start %v, want %v", sub.StartDate, want)
	}
	// PRODUCT O1: a week of prices, all from the subscription's start on.
	prices, err := env.Store.ListPrices(t.Context(), sub.ID, sub.StartDate.AddDate(0, 0, -7), sub.StartDate.AddDate(0, 0, 14))
	testfix.Check(t, err)
	if len(prices) != 7*24 || prices[0].Time.Before(sub.StartDate) {
		t.Fatalf("demo prices: %d points from %v, want a week of hours from the start %v", len(prices), prices[0].Time, sub.StartDate)
	}
	cus := env.Customer(admin.CustomerSpec{OrgID: seed.OrgID, Email: "e@example.com", FirstName: "A", LastName: "B"})
	ended := env.Subscription(admin.SubscriptionSpec{CustomerID: cus.ID, Status: domain.SubscriptionEnded,
		StartDate: time.Date(2026, 1, 15, 13, 0, 0, 0, berlin)})
	if want := time.Date(2026, 1, 15, 0, 0, 0, 0, berlin); !ended.StartDate.Equal(want) {
		t.Fatalf("start %v, want %v", ended.StartDate, want)
	}
	if want := time.Date(2026, 7, 1, 0, 0, 0, 0, berlin); !ended.EndDate.Equal(want) {
		t.Fatalf("end %v, want %v", ended.EndDate, want)
	}
}

// The admin commands refuse records the Nomos OpenAPI schema would not
// validate, naming the field (PRODUCT R9).
func TestRecordsAreSchemaValid(t *testing.T) {
	env := testfix.New(t, time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC))
	org := env.Org("Stadtwerke").ID
	long := strings.Repeat("a", 101)
	for _, tc := range []struct {
		name string
		spec admin.CustomerSpec
		want string
	}{
		{"R9/no_first_name", admin.CustomerSpec{OrgID: org, Email: "a@example.com", LastName: "B"}, "first_name is required"},
		{"R9/no_last_name", admin.CustomerSpec{OrgID: org, Email: "a@example.com", FirstName: "A"}, "last_name is required"},
		{"R9/blank_last_name", admin.CustomerSpec{OrgID: org, Email: "a@example.com", FirstName: "A", LastName: "  "}, "last_name is required"},
		{"R9/first_name_over_100", admin.CustomerSpec{OrgID: org, Email: "a@example.com", FirstName: long, LastName: "B"}, "first_name must be at most 100"},
		{"R9/company_name_over_100", admin.CustomerSpec{OrgID: org, Email: "a@example.com", FirstName: "A", LastName: "B", CompanyName: long}, "company_name must be at most 100"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if c, err := env.Admin.CreateCustomer(t.Context(), tc.spec); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("created %+v, err %v; want %q", c, err, tc.want)
			}
		})
	}
	cus := env.Customer(admin.CustomerSpec{OrgID: org, Email: "ok@example.com", FirstName: strings.Repeat("a", 100), LastName: "B"})
	full := testfix.DemoSubscription(admin.SubscriptionSpec{CustomerID: cus.ID})
	for _, tc := range []struct {
		name   string
		change func(*admin.SubscriptionSpec)
		want   string
	}{
		{"R9/no_street", func(s *admin.SubscriptionSpec) { s.Address.Street = "" }, "street is required"},
		{"R9/no_house_number", func(s *admin.SubscriptionSpec) { s.Address.HouseNumber = "" }, "house_number is required"},
		{"R9/no_zip", func(s *admin.SubscriptionSpec) { s.Address.Zip = "" }, "zip must be five digits"},
		{"R9/short_zip", func(s *admin.SubscriptionSpec) { s.Address.Zip = "1011" }, "zip must be five digits"},
		{"R9/letters_in_zip", func(s *admin.SubscriptionSpec) { s.Address.Zip = "1011a" }, "zip must be five digits"},
		{"R9/no_city", func(s *admin.SubscriptionSpec) { s.Address.City = "" }, "city is required"},
		{"R9/no_meter_number", func(s *admin.SubscriptionSpec) { s.Meter.Number = "" }, "meter_number is required"},
		{"R9/no_iban", func(s *admin.SubscriptionSpec) { s.IBAN = "" }, "iban is required"},
		{"R9/no_account_holder", func(s *admin.SubscriptionSpec) { s.AccountHolder = "" }, "account_holder is required"},
		{"R9/partial_billing_address", func(s *admin.SubscriptionSpec) { s.BillingAddress.Street = "Rechnungsweg" }, "billing_house_number is required"},
		{"R9/billing_zip", func(s *admin.SubscriptionSpec) {
			s.BillingAddress = domain.Address{Street: "R", HouseNumber: "1", Zip: "803", City: "M"}
		}, "billing_zip must be five digits"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := full
			tc.change(&spec)
			if s, err := env.Admin.CreateSubscription(t.Context(), spec); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("created %+v, err %v; want %q", s, err, tc.want)
			}
		})
	}
	// The billing address is its own record: a copy of the delivery
	// address under its own id, or the one given.
	sub, err := env.Admin.CreateSubscription(t.Context(), full)
	testfix.Check(t, err)
	if b, a := sub.BillingAddress, sub.Address; b.ID == "" || b.ID == a.ID || b.Street != a.Street || b.Zip != a.Zip || b.CreatedAt.IsZero() {
		t.Fatalf("billing %+v, delivery %+v", b, a)
	}
	full.BillingAddress = domain.Address{Street: "Rechnungsweg", HouseNumber: "1a", Zip: "80331", City: "München"}
	sub, err = env.Admin.CreateSubscription(t.Context(), full)
	testfix.Check(t, err)
	if got, _ := env.Store.GetSubscription(t.Context(), sub.ID); got.BillingAddress.City != "München" || got.Address.City != "Berlin" || got.Meter.CreatedAt.IsZero() {
		t.Fatalf("stored %+v", got)
	}
}
