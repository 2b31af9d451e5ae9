package admin_test

import (
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
