package storetest

import (
	"testing"
	"time"

	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/store"
)

// counters reads the change counters, failing the test on an error.
func counters(t *testing.T, s Subject) map[string]int64 {
	t.Helper()
	got, err := s.OrgChanges(ctx(t))
	must(t, err)
	return got
}

// testChangesEachWriteBumpsItsOrg is issue 17's change counter: every
// write that changes what the token endpoint or the protected API reads
// of an organization moves that organization's counter, and no other.
func testChangesEachWriteBumpsItsOrg(t *testing.T, s Subject) {
	diff(t, counters(t, s), map[string]int64{})
	seedOrg(t, s, "org_other")
	before := counters(t, s)
	if before["org_other"] == 0 {
		t.Fatal("CreateOrg did not count a change")
	}
	seedOrg(t, s, "org_a")
	sub := domain.Subscription{ID: "sub_1", OrgID: "org_a", CustomerID: "cus_1", Status: domain.SubscriptionActive,
		Type: domain.SubscriptionConsumption, CreatedAt: base}
	for _, w := range []struct {
		name  string
		write func() error
	}{
		{"CreateClient", func() error {
			return s.CreateClient(ctx(t), domain.Client{ID: "client_1", OrgID: "org_a", Name: "App", Scopes: domain.APIScopes(), CreatedAt: base},
				&domain.ClientSecret{ClientID: "client_1", Hash: "h1", CreatedAt: base}, sys(base))
		}},
		{"RotateClientSecret", func() error {
			return s.RotateClientSecret(ctx(t), domain.ClientSecret{ClientID: "client_1", Hash: "h2", CreatedAt: base.Add(time.Hour)}, base.Add(2*time.Hour), sys(base))
		}},
		{"DisableClient", func() error { return s.DisableClient(ctx(t), "client_1", sys(base)) }},
		{"CreateCustomer", func() error {
			return s.CreateCustomer(ctx(t), domain.Customer{ID: "cus_1", OrgID: "org_a", Email: "a@example.com", Type: domain.CustomerPerson, CreatedAt: base}, sys(base))
		}},
		{"UpdateCustomer", func() error {
			first := "Max"
			_, err := s.UpdateCustomer(ctx(t), "cus_1", domain.CustomerPatch{FirstName: &first})
			return err
		}},
		{"CreateSubscription", func() error { return s.CreateSubscription(ctx(t), sub) }},
		{"ImportPrices", func() error {
			return s.ImportPrices(ctx(t), "sub_1", []domain.PricePoint{{Time: base.Truncate(time.Hour), Electricity: 1}})
		}},
	} {
		prev := counters(t, s)
		must(t, w.write())
		got := counters(t, s)
		if got["org_a"] <= prev["org_a"] {
			t.Errorf("%s: org_a's counter %d, then %d: the change was not counted", w.name, prev["org_a"], got["org_a"])
		}
		if got["org_other"] != before["org_other"] {
			t.Errorf("%s moved another organization's counter", w.name)
		}
	}
}

// testChangesFailedWriteBumpsNothing is issue 17's change counter: a
// write that fails, or changes nothing, moves no counter, so the caches
// are dropped only for a change that happened.
func testChangesFailedWriteBumpsNothing(t *testing.T, s Subject) {
	seedOrg(t, s, "org_a")
	seedClient(t, s, "client_1", "org_a")
	must(t, s.CreateCustomer(ctx(t), domain.Customer{ID: "cus_1", OrgID: "org_a", Email: "a@example.com", Type: domain.CustomerPerson, CreatedAt: base}, sys(base)))
	must(t, s.DisableClient(ctx(t), "client_1", sys(base)))
	before := counters(t, s)
	for _, w := range []struct {
		name  string
		write func() error
		want  error
	}{
		{"CreateOrg/taken", func() error { return s.CreateOrg(ctx(t), domain.Org{ID: "org_a", Name: "A", CreatedAt: base}) }, store.ErrConflict},
		{"CreateClient/taken", func() error {
			return s.CreateClient(ctx(t), domain.Client{ID: "client_1", OrgID: "org_a", Name: "App", Scopes: domain.APIScopes(), CreatedAt: base}, nil, sys(base))
		}, store.ErrConflict},
		{"CreateClient/unknown_org", func() error {
			return s.CreateClient(ctx(t), domain.Client{ID: "client_2", OrgID: "org_missing", Name: "App", Scopes: domain.APIScopes(), CreatedAt: base}, nil, sys(base))
		}, store.ErrNotFound},
		{"RotateClientSecret/unknown", func() error {
			return s.RotateClientSecret(ctx(t), domain.ClientSecret{ClientID: "client_missing", Hash: "x", CreatedAt: base}, base, sys(base))
		}, store.ErrNotFound},
		{"DisableClient/unknown", func() error { return s.DisableClient(ctx(t), "client_missing", sys(base)) }, store.ErrNotFound},
		{"DisableClient/already_disabled", func() error { return s.DisableClient(ctx(t), "client_1", sys(base)) }, nil},
		{"CreateCustomer/email_taken", func() error {
			return s.CreateCustomer(ctx(t), domain.Customer{ID: "cus_2", OrgID: "org_a", Email: "A@Example.com", Type: domain.CustomerPerson, CreatedAt: base}, sys(base))
		}, store.ErrConflict},
		{"UpdateCustomer/unknown", func() error {
			_, err := s.UpdateCustomer(ctx(t), "cus_missing", domain.CustomerPatch{})
			return err
		}, store.ErrNotFound},
		{"CreateSubscription/unknown_customer", func() error {
			return s.CreateSubscription(ctx(t), domain.Subscription{ID: "sub_1", OrgID: "org_a", CustomerID: "cus_missing", Status: domain.SubscriptionActive,
				Type: domain.SubscriptionConsumption, CreatedAt: base})
		}, store.ErrNotFound},
		{"ImportPrices/unknown_subscription", func() error {
			return s.ImportPrices(ctx(t), "sub_missing", []domain.PricePoint{{Time: base, Electricity: 1}})
		}, store.ErrNotFound},
	} {
		err := w.write()
		if w.want == nil {
			must(t, err)
		} else {
			wantErr(t, err, w.want)
		}
		diff(t, counters(t, s), before)
		if t.Failed() {
			t.Fatalf("%s changed a counter", w.name)
		}
	}
}
