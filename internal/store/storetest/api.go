package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/store"
)

func ids[T any](rows []T, id func(T) string) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = id(r)
	}
	return out
}

func customerID(c domain.Customer) string         { return c.ID }
func subscriptionID(s domain.Subscription) string { return s.ID }

// seedCustomers makes n customers in org, one second apart, two of them
// sharing each created_at so that the cursor's id tie-break matters.
func seedCustomers(t *testing.T, s Subject, org string, n int) {
	for i := range n {
		must(t, s.CreateCustomer(ctx(t), domain.Customer{ID: fmt.Sprintf("cus_%s_%02d", org, i), OrgID: org,
			Email: fmt.Sprintf("c%d@%s.example", i, org), Type: domain.CustomerPerson, CreatedAt: base.Add(time.Duration(i/2) * time.Second)}, sys(base)))
	}
}

func testListCustomers(t *testing.T, s Subject) {
	seedOrg(t, s, "org_a")
	seedOrg(t, s, "org_b")
	seedCustomers(t, s, "org_a", 5)
	seedCustomers(t, s, "org_b", 2)

	// Walk org_a two at a time: newest first, every row once.
	var seen []string
	var after store.Cursor
	for range 4 {
		page, err := s.ListCustomers(ctx(t), store.CustomerFilter{OrgID: "org_a"}, store.Page{After: after, Limit: 2})
		must(t, err)
		if len(page) == 0 {
			break
		}
		seen = append(seen, ids(page, customerID)...)
		last := page[len(page)-1]
		after = store.Cursor{CreatedAt: last.CreatedAt, ID: last.ID}
	}
	diff(t, seen, []string{"cus_org_a_04", "cus_org_a_03", "cus_org_a_02", "cus_org_a_01", "cus_org_a_00"})

	got, err := s.ListCustomers(ctx(t), store.CustomerFilter{OrgID: "org_a", Email: "C3@ORG_A.example"}, store.Page{Limit: 10})
	must(t, err)
	diff(t, ids(got, customerID), []string{"cus_org_a_03"})
	got, err = s.ListCustomers(ctx(t), store.CustomerFilter{OrgID: "org_b", Email: "c3@org_a.example"}, store.Page{Limit: 10})
	must(t, err)
	diff(t, ids(got, customerID), []string{})
	got, err = s.ListCustomers(ctx(t), store.CustomerFilter{OrgID: "org_a", ID: "cus_org_a_01"}, store.Page{Limit: 10})
	must(t, err)
	diff(t, ids(got, customerID), []string{"cus_org_a_01"})
}

func testUpdateCustomer(t *testing.T, s Subject) {
	seedOrg(t, s, "org_a")
	c := domain.Customer{ID: "cus_1", OrgID: "org_a", Email: "a@example.com", FirstName: "A", LastName: "B", Type: domain.CustomerCompany, CompanyName: "Old GmbH", CreatedAt: base}
	must(t, s.CreateCustomer(ctx(t), c, sys(base)))
	name := func(v string) *string { return &v }

	got, err := s.UpdateCustomer(ctx(t), "cus_1", domain.CustomerPatch{FirstName: name("Erika"), CompanyName: name("New GmbH")})
	must(t, err)
	c.FirstName, c.CompanyName = "Erika", "New GmbH"
	diff(t, got, c)
	stored, err := s.GetCustomer(ctx(t), "cus_1")
	must(t, err)
	diff(t, stored, c)

	// A field the patch does not name keeps what another writer stored
	// meanwhile: no lost update.
	_, err = s.UpdateCustomer(ctx(t), "cus_1", domain.CustomerPatch{LastName: name("Musterfrau")})
	must(t, err)
	got, err = s.UpdateCustomer(ctx(t), "cus_1", domain.CustomerPatch{FirstName: name("Eva")})
	must(t, err)
	c.FirstName, c.LastName = "Eva", "Musterfrau"
	diff(t, got, c)

	got, err = s.UpdateCustomer(ctx(t), "cus_1", domain.CustomerPatch{})
	must(t, err)
	diff(t, got, c)
	_, err = s.UpdateCustomer(ctx(t), "cus_missing", domain.CustomerPatch{FirstName: name("X")})
	wantErr(t, err, store.ErrNotFound)
}

func testListSubscriptions(t *testing.T, s Subject) {
	seedOrg(t, s, "org_a")
	seedOrg(t, s, "org_b")
	seedCustomers(t, s, "org_a", 2)
	seedCustomers(t, s, "org_b", 1)
	add := func(id, org, cus string, status domain.SubscriptionStatus, typ domain.SubscriptionType, sec int) {
		must(t, s.CreateSubscription(ctx(t), domain.Subscription{ID: id, OrgID: org, CustomerID: cus, Status: status, Type: typ,
			CreatedAt: base.Add(time.Duration(sec) * time.Second)}))
	}
	add("sub_1", "org_a", "cus_org_a_00", domain.SubscriptionActive, domain.SubscriptionConsumption, 1)
	add("sub_2", "org_a", "cus_org_a_01", domain.SubscriptionEnded, domain.SubscriptionConsumption, 2)
	add("sub_3", "org_a", "cus_org_a_00", domain.SubscriptionActive, domain.SubscriptionFeedIn, 3)
	add("sub_4", "org_b", "cus_org_b_00", domain.SubscriptionActive, domain.SubscriptionConsumption, 4)

	for _, tc := range []struct {
		name string
		f    store.SubscriptionFilter
		p    store.Page
		want []string
	}{
		{"org", store.SubscriptionFilter{OrgID: "org_a"}, store.Page{Limit: 10}, []string{"sub_3", "sub_2", "sub_1"}},
		{"customer", store.SubscriptionFilter{OrgID: "org_a", CustomerID: "cus_org_a_00"}, store.Page{Limit: 10}, []string{"sub_3", "sub_1"}},
		{"status", store.SubscriptionFilter{OrgID: "org_a", Status: domain.SubscriptionEnded}, store.Page{Limit: 10}, []string{"sub_2"}},
		{"exclude_type", store.SubscriptionFilter{OrgID: "org_a", ExcludeType: domain.SubscriptionFeedIn}, store.Page{Limit: 10}, []string{"sub_2", "sub_1"}},
		{"limit", store.SubscriptionFilter{OrgID: "org_a"}, store.Page{Limit: 1}, []string{"sub_3"}},
		{"after", store.SubscriptionFilter{OrgID: "org_a"}, store.Page{Limit: 10, After: store.Cursor{CreatedAt: base.Add(3 * time.Second), ID: "sub_3"}}, []string{"sub_2", "sub_1"}},
		{"other_org", store.SubscriptionFilter{OrgID: "org_b"}, store.Page{Limit: 10}, []string{"sub_4"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.ListSubscriptions(ctx(t), tc.f, tc.p)
			must(t, err)
			diff(t, ids(got, subscriptionID), tc.want)
		})
	}
}

func testPrices(t *testing.T, s Subject) {
	seedOrg(t, s, "org_a")
	seedCustomers(t, s, "org_a", 1)
	must(t, s.CreateSubscription(ctx(t), domain.Subscription{ID: "sub_1", OrgID: "org_a", CustomerID: "cus_org_a_00", Status: domain.SubscriptionActive, Type: domain.SubscriptionConsumption, CreatedAt: base}))
	day := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	var points []domain.PricePoint
	for h := range 4 {
		points = append(points, domain.PricePoint{Time: day.Add(time.Duration(h) * time.Hour), Electricity: domain.Amount(87700 + h), Grid: 94700, Levies: -62000})
	}
	must(t, s.ImportPrices(ctx(t), "sub_1", points))
	// A second import replaces the points at the same instants.
	points[1].Electricity = 1
	must(t, s.ImportPrices(ctx(t), "sub_1", points[1:2]))
	got, err := s.ListPrices(ctx(t), "sub_1", day.Add(time.Hour), day.Add(3*time.Hour))
	must(t, err)
	diff(t, got, points[1:3])
	wantErr(t, s.ImportPrices(ctx(t), "sub_missing", points), store.ErrNotFound)
	got, err = s.ListPrices(ctx(t), "sub_missing", day, day.Add(24*time.Hour))
	must(t, err)
	diff(t, got, []domain.PricePoint{})
}

func testRevokedFamilies(t *testing.T, s Subject) {
	family(t, s, "fam_1")
	must(t, s.IssueRefreshToken(ctx(t), domain.Family{ID: "fam_2", ClientID: "client_1", OrgID: "org_a", CustomerID: "cus_1", Scopes: domain.Scopes{domain.ScopeRead}, CreatedAt: base}, next("t2", base)))
	family3 := domain.Family{ID: "fam_3", ClientID: "client_1", OrgID: "org_a", Scopes: domain.APIScopes(), CreatedAt: base}
	must(t, s.IssueRefreshToken(ctx(t), family3, next("t3", base)))
	must(t, s.RevokeFamily(ctx(t), "fam_1", base.Add(time.Minute)))
	must(t, s.RevokeFamily(ctx(t), "fam_2", base.Add(2*time.Minute)))
	got, err := s.RevokedFamilies(ctx(t), base.Add(time.Minute))
	must(t, err)
	diff(t, ids(got, func(f domain.Family) string { return f.ID }), []string{"fam_1", "fam_2"})
	got, err = s.RevokedFamilies(ctx(t), base.Add(90*time.Second))
	must(t, err)
	if len(got) != 1 || got[0].ID != "fam_2" || got[0].CustomerID != "cus_1" || !got[0].RevokedAt.Equal(base.Add(2*time.Minute)) {
		t.Fatalf("revoked since 90s: %+v", got)
	}
}

func testServerKey(t *testing.T, s Subject) {
	first, err := s.ServerKey(ctx(t), "cursor", []byte("first-candidate"))
	must(t, err)
	second, err := s.ServerKey(ctx(t), "cursor", []byte("second-candidate"))
	must(t, err)
	diff(t, string(first), "first-candidate")
	diff(t, string(second), "first-candidate")
	other, err := s.ServerKey(ctx(t), "other", []byte("x"))
	must(t, err)
	diff(t, string(other), "x")
}
