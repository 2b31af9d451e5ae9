package api

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nomosauth/nomosauth/internal/admin"
	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/testfix"
)

func TestCustomerShapes(t *testing.T) {
	f := newFixture(t, nil)
	r := f.call(http.MethodGet, "/customers/"+f.cus2.ID, f.orgToken(), "")
	for _, field := range []string{"object", "id", "type", "first_name", "last_name", "company_name", "email", "created_at"} {
		if _, ok := r.body[field]; !ok {
			t.Fatalf("company customer lacks %s: %s", field, r.raw)
		}
	}
	eq(t, r.body["type"], "company")
	eq(t, r.body["created_at"], f.cus2.CreatedAt.Format(timeLayout))
	person := f.call(http.MethodGet, "/customers/"+f.cus1.ID, f.orgToken(), "")
	if _, ok := person.body["company_name"]; ok || person.body["type"] != "person" {
		t.Fatalf("person: %s", person.raw)
	}
}

func TestPatchCustomer(t *testing.T) {
	f := newFixture(t, nil)
	org := f.orgToken()
	t.Run("updates_and_returns", func(t *testing.T) {
		r := f.call(http.MethodPatch, "/customers/"+f.cus2.ID, org, `{"first_name":"  Erika ","company_name":"Drei GmbH"}`)
		eq(t, r.status, http.StatusOK)
		eq(t, r.body["first_name"], "Erika")
		eq(t, r.body["last_name"], "Mustermann")
		eq(t, r.body["company_name"], "Drei GmbH")
		got, _ := f.store.GetCustomer(t.Context(), f.cus2.ID)
		eq(t, got.FirstName+"/"+got.CompanyName, "Erika/Drei GmbH")
	})
	t.Run("empty_object_changes_nothing", func(t *testing.T) {
		eq(t, f.call(http.MethodPatch, "/customers/"+f.cus1.ID, org, `{}`).status, http.StatusOK)
	})
	for _, tc := range []struct {
		name, body, contentType string
		field, code             string // of the first per-field error; empty when none
	}{
		{"number", `{"first_name":42}`, "", "first_name", "invalid_type"},
		{"null", `{"last_name":null}`, "", "last_name", "invalid_type"},
		{"empty", `{"first_name":"  "}`, "", "first_name", "too_small"},
		{"too_long", `{"first_name":"` + strings.Repeat("ä", 101) + `"}`, "", "first_name", "too_big"},
		{"control_characters", `{"first_name":"Max\u0000"}`, "", "first_name", "invalid_format"},
		{"c1_control", `{"first_name":"x\u0085y"}`, "", "first_name", "invalid_format"},
		{"bidi_override", `{"first_name":"\u202eevil"}`, "", "first_name", "invalid_format"},
		{"lone_surrogate", `{"first_name":"\ud800"}`, "", "first_name", "invalid_format"},
		{"invalid_utf8", "{\"first_name\":\"\xff\xfe\"}", "", "first_name", "invalid_format"},
		{"unknown_field", `{"email":"x@example.com"}`, "", "email", "unrecognized_keys"},
		{"company_name_on_person", `{"company_name":"X GmbH"}`, "", "company_name", "invalid_value"},
		{"repeated_key", `{"first_name":"A","first_name":"B"}`, "", "first_name", "invalid_type"},
		{"one_bad_field_spoils_all", `{"first_name":"Good","last_name":7}`, "", "last_name", "invalid_type"},
		{"not_an_object", `["first_name"]`, "", "", ""},
		{"malformed", `{"first_name":`, "", "", ""},
		{"trailing_data", `{"first_name":"A"} {}`, "", "", ""},
		{"form_body", `first_name=A`, "application/x-www-form-urlencoded", "", ""},
		{"too_large", `{"first_name":"` + strings.Repeat("a", maxPatchBody) + `"}`, "", "", ""},
	} {
		t.Run("S4/"+tc.name, func(t *testing.T) {
			before, _ := f.store.GetCustomer(t.Context(), f.cus1.ID)
			var r result
			if tc.contentType != "" {
				r = f.call(http.MethodPatch, "/customers/"+f.cus1.ID, org, tc.body, "Content-Type", tc.contentType)
			} else {
				r = f.call(http.MethodPatch, "/customers/"+f.cus1.ID, org, tc.body)
			}
			wantError(t, r, http.StatusBadRequest, "BAD_REQUEST", "")
			if tc.field != "" {
				errs, _ := r.body["errors"].([]any)
				if len(errs) == 0 {
					t.Fatalf("no errors array: %s", r.raw)
				}
				first := errs[0].(map[string]any)
				eq(t, first["field"], tc.field)
				eq(t, first["code"], tc.code)
			}
			after, _ := f.store.GetCustomer(t.Context(), f.cus1.ID)
			eq(t, after, before)
		})
	}
}

// racingStore lets another writer change a customer right after the API
// has read it, as another process may while the view serves a copy up to
// a poll old.
type racingStore struct {
	Store
	afterGet func(id string)
}

func (s racingStore) GetCustomer(ctx context.Context, id string) (domain.Customer, error) {
	c, err := s.Store.GetCustomer(ctx, id)
	s.afterGet(id)
	return c, err
}

// A PATCH writes only the fields it names: a concurrent change to another
// field survives it (no lost update), and the answer shows both.
func TestPatchCustomerKeepsConcurrentChange(t *testing.T) {
	var f *fixture
	f = newFixtureOver(t, nil, func(s Store) Store {
		return racingStore{Store: s, afterGet: func(id string) {
			last := "Concurrent"
			if _, err := f.store.UpdateCustomer(context.Background(), id, domain.CustomerPatch{LastName: &last}); err != nil {
				t.Error(err)
			}
		}}
	})
	r := f.call(http.MethodPatch, "/customers/"+f.cus1.ID, f.orgToken(), `{"first_name":"Erika"}`)
	eq(t, r.status, http.StatusOK)
	eq(t, r.body["first_name"], "Erika")
	eq(t, r.body["last_name"], "Concurrent")
	got, err := f.store.GetCustomer(t.Context(), f.cus1.ID)
	if err != nil {
		t.Fatal(err)
	}
	eq(t, got.FirstName+" "+got.LastName, "Erika Concurrent")
}

func TestSubscriptionShapes(t *testing.T) {
	f := newFixture(t, nil)
	org := f.orgToken()
	list := f.call(http.MethodGet, "/subscriptions?limit=1", org, "")
	item := list.body["items"].([]any)[0].(map[string]any)
	detail := f.call(http.MethodGet, "/subscriptions/"+f.sub2.ID, org, "")
	// Every field the OpenAPI document requires.
	for _, field := range []string{"object", "id", "plan", "customer", "address", "meter", "payment_method", "status",
		"estimated_usage", "created_at", "updated_at", "type", "billing_address"} {
		if _, ok := item[field]; !ok {
			t.Errorf("list item lacks %s", field)
		}
		if _, ok := detail.body[field]; !ok {
			t.Errorf("subscription lacks %s", field)
		}
	}
	eq(t, item["customer"], f.cus2.ID)
	eq(t, detail.body["customer"].(map[string]any)["id"], f.cus2.ID)
	eq(t, detail.body["payment_method"].(map[string]any)["type"], "sepa_debit")
	eq(t, detail.body["status"], "active")
	if !strings.HasPrefix(detail.body["plan"].(string), domain.PrefixPlan) {
		t.Fatalf("plan %v", detail.body["plan"])
	}
}

func TestPrices(t *testing.T) {
	f := newFixture(t, nil)
	ctx := t.Context()
	berlin, _ := time.LoadLocation("Europe/Berlin")
	// 2026-03-29 is the spring clock change in Berlin: a 23-hour day.
	var points []domain.PricePoint
	for ts := time.Date(2026, 3, 28, 23, 0, 0, 0, time.UTC); ts.Before(time.Date(2026, 3, 30, 0, 0, 0, 0, time.UTC)); ts = ts.Add(time.Hour) {
		points = append(points, domain.PricePoint{Time: ts, Electricity: 87700, Grid: 94700, Levies: 62000})
	}
	if err := f.admin.ImportPrices(ctx, f.sub1.ID, points); err != nil {
		t.Fatal(err)
	}
	quarter := []domain.PricePoint{{Time: time.Date(2026, 4, 1, 10, 0, 0, 0, time.UTC), Electricity: 1}, {Time: time.Date(2026, 4, 1, 10, 15, 0, 0, time.UTC), Electricity: 2}}
	if err := f.admin.ImportPrices(ctx, f.sub1.ID, quarter); err != nil {
		t.Fatal(err)
	}
	cus := f.cus1Token()
	t.Run("local_day_with_clock_change", func(t *testing.T) {
		r := f.call(http.MethodGet, "/subscriptions/"+f.sub1.ID+"/prices?start=2026-03-29&end=2026-03-29", cus, "")
		eq(t, r.status, http.StatusOK)
		its := r.body["items"].([]any)
		eq(t, len(its), 23)
		firstItem := its[0].(map[string]any)
		eq(t, firstItem["timestamp"], time.Date(2026, 3, 29, 0, 0, 0, 0, berlin).UTC().Format(time.RFC3339))
		eq(t, firstItem["amount"], 24.44)
		eq(t, firstItem["components"], []any{map[string]any{"type": "electricity", "amount": 8.77}, map[string]any{"type": "grid", "amount": 9.47}, map[string]any{"type": "levies", "amount": 6.2}})
		for _, field := range []string{"object", "subscription", "period", "unit", "currency", "resolution", "reference", "items"} {
			if _, ok := r.body[field]; !ok {
				t.Errorf("price lacks %s", field)
			}
		}
		eq(t, r.body["resolution"], "hourly")
		eq(t, r.body["period"], map[string]any{"start": "2026-03-29", "end": "2026-03-29"})
	})
	t.Run("quarter_hours", func(t *testing.T) {
		r := f.call(http.MethodGet, "/subscriptions/"+f.sub1.ID+"/prices?start=2026-04-01&end=2026-04-01", cus, "")
		eq(t, r.body["resolution"], "15min")
		eq(t, len(r.body["items"].([]any)), 2)
	})
	t.Run("no_points_is_empty_list", func(t *testing.T) {
		r := f.call(http.MethodGet, "/subscriptions/"+f.sub1.ID+"/prices?start=2025-01-01&end=2025-01-31", cus, "")
		eq(t, r.status, http.StatusOK)
		eq(t, r.body["items"], []any{})
	})
	t.Run("items_null_when_not_active", func(t *testing.T) {
		r := f.call(http.MethodGet, "/subscriptions/"+f.subEnded.ID+"/prices?start=2026-03-29&end=2026-03-29", cus, "")
		eq(t, r.status, http.StatusOK)
		if v, ok := r.body["items"]; !ok || v != nil {
			t.Fatalf("items %v (present %v), want null", v, ok)
		}
	})
	for _, tc := range []struct{ name, query, field, code string }{
		{"missing_both", "", "start", "invalid_type"},
		{"missing_end", "?start=2026-03-01", "end", "invalid_type"},
		{"bad_format", "?start=01.03.2026&end=2026-03-02", "start", "invalid_format"},
		{"not_a_date", "?start=2026-02-30&end=2026-03-02", "start", "invalid_format"},
		{"datetime", "?start=2026-03-01T00:00:00Z&end=2026-03-02", "start", "invalid_format"},
		{"end_before_start", "?start=2026-03-02&end=2026-03-01", "end", "too_small"},
		{"over_31_days", "?start=2026-01-01&end=2026-02-01", "end", "too_big"},
		{"unknown_parameter", "?start=2026-03-01&end=2026-03-01&tz=UTC", "tz", "unrecognized_keys"},
	} {
		t.Run("S4/"+tc.name, func(t *testing.T) {
			r := f.call(http.MethodGet, "/subscriptions/"+f.sub1.ID+"/prices"+tc.query, cus, "")
			wantError(t, r, http.StatusBadRequest, "BAD_REQUEST", "")
			first := r.body["errors"].([]any)[0].(map[string]any)
			eq(t, first["field"], tc.field)
			eq(t, first["code"], tc.code)
		})
	}
	t.Run("none_before_start", func(t *testing.T) {
		// A subscription starting at UTC midnight, with prices three days
		// either side: only the points from its start on are its own.
		start := time.Date(2026, 5, 10, 0, 0, 0, 0, time.UTC)
		sub, err := f.admin.CreateSubscription(ctx, testfix.DemoSubscription(admin.SubscriptionSpec{CustomerID: f.cus1.ID, StartDate: start}))
		if err != nil {
			t.Fatal(err)
		}
		if err := f.admin.ImportPrices(ctx, sub.ID, admin.DemoPrices(start.AddDate(0, 0, -3), start.AddDate(0, 0, 3), berlin)); err != nil {
			t.Fatal(err)
		}
		r := f.call(http.MethodGet, "/subscriptions/"+sub.ID+"/prices?start=2026-05-07&end=2026-05-13", cus, "")
		eq(t, r.status, http.StatusOK)
		its := r.body["items"].([]any)
		eq(t, its[0].(map[string]any)["timestamp"], "2026-05-10T00:00:00Z")
		eq(t, len(its), 4*24-2) // to the end of May 13 in Berlin, from midnight UTC on May 10
		r = f.call(http.MethodGet, "/subscriptions/"+sub.ID+"/prices?start=2026-05-08&end=2026-05-09", cus, "")
		eq(t, r.body["items"], []any{})
	})
	t.Run("31_days_is_allowed", func(t *testing.T) {
		eq(t, f.call(http.MethodGet, "/subscriptions/"+f.sub1.ID+"/prices?start=2026-01-01&end=2026-01-31", cus, "").status, http.StatusOK)
	})
}

// The billing address is its own record and every related record shows its
// own creation time; rows made before show the delivery address and the
// subscription's time (PRODUCT R9).
func TestSubscriptionRelatedRecords(t *testing.T) {
	f := newFixture(t, nil)
	at := func(h int) time.Time { return time.Date(2026, 3, 1, h, 0, 0, 0, time.UTC) }
	sub := domain.Subscription{ID: "sub_records", OrgID: f.orgA, CustomerID: f.cus1.ID, Status: domain.SubscriptionActive, Type: domain.SubscriptionConsumption,
		Plan: "pln_1", Address: domain.Address{ID: "adr_d", Street: "Torstraße", HouseNumber: "119", Zip: "10115", City: "Berlin", CreatedAt: at(1)},
		BillingAddress: domain.Address{ID: "adr_b", Street: "Rechnungsweg", HouseNumber: "1a", Zip: "80331", City: "München", CreatedAt: at(2)},
		Meter:          domain.Meter{ID: "mtr_1", Number: "M", Type: "smart", CreatedAt: at(3)},
		Payment:        domain.PaymentMethod{ID: "pm_1", IBANMasked: "DE**1", AccountHolder: "H", CreatedAt: at(4)},
		StartDate:      at(0), CreatedAt: at(5), UpdatedAt: at(5)}
	legacy := sub
	legacy.ID, legacy.BillingAddress = "sub_legacy", domain.Address{}
	legacy.Address.CreatedAt, legacy.Meter.CreatedAt, legacy.Payment.CreatedAt = time.Time{}, time.Time{}, time.Time{}
	for _, s := range []domain.Subscription{sub, legacy} {
		if err := f.admin.Customers.CreateSubscription(t.Context(), s); err != nil {
			t.Fatal(err)
		}
	}
	org := f.orgToken()
	created := func(v any) any { return v.(map[string]any)["created_at"] }
	r := f.call(http.MethodGet, "/subscriptions/sub_records", org, "")
	eq(t, r.body["billing_address"].(map[string]any)["id"], "adr_b")
	eq(t, r.body["billing_address"].(map[string]any)["city"], "München")
	eq(t, r.body["address"].(map[string]any)["id"], "adr_d")
	eq(t, created(r.body["address"]), "2026-03-01T01:00:00.000Z")
	eq(t, created(r.body["billing_address"]), "2026-03-01T02:00:00.000Z")
	eq(t, created(r.body["meter"]), "2026-03-01T03:00:00.000Z")
	eq(t, created(r.body["payment_method"]), "2026-03-01T04:00:00.000Z")
	r = f.call(http.MethodGet, "/subscriptions/sub_legacy", org, "")
	eq(t, r.body["billing_address"].(map[string]any)["id"], "adr_d")
	eq(t, created(r.body["meter"]), "2026-03-01T05:00:00.000Z")
	r = f.call(http.MethodGet, "/subscriptions?filter[customer][eq]="+f.cus1.ID+"&limit=100", org, "")
	found := false
	for _, it := range r.body["items"].([]any) {
		if it.(map[string]any)["id"] == "sub_records" {
			found = true
			eq(t, it.(map[string]any)["billing_address"], "adr_b")
		}
	}
	eq(t, found, true)
}

// No price is a subscription's before its start or once it ended (issue 16).
func TestSubscriptionSpan(t *testing.T) {
	day := func(d int) time.Time { return time.Date(2026, 5, d, 0, 0, 0, 0, time.UTC) }
	for _, tc := range []struct {
		name             string
		start, end       time.Time
		from, to, wf, wt time.Time
	}{
		{"inside", day(1), time.Time{}, day(5), day(6), day(5), day(6)},
		{"before_start", day(5), time.Time{}, day(3), day(7), day(5), day(7)},
		{"after_end", day(1), day(6), day(3), day(9), day(3), day(6)},
		{"both", day(4), day(6), day(1), day(9), day(4), day(6)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			from, to := subscriptionSpan(domain.Subscription{StartDate: tc.start, EndDate: tc.end}, tc.from, tc.to)
			if !from.Equal(tc.wf) || !to.Equal(tc.wt) {
				t.Fatalf("[%v, %v), want [%v, %v)", from, to, tc.wf, tc.wt)
			}
		})
	}
}
