package api

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// walkList follows next_page from path to the end, one item a page, and
// gives every id seen: each filter must hold across its cursor (PRODUCT R9).
func (f *fixture) walkList(t *testing.T, path, tok string) []string {
	t.Helper()
	var seen []string
	next := path + "&limit=1"
	for range 20 {
		r := f.call(http.MethodGet, next, tok, "")
		seen = append(seen, items(t, r)...)
		if r.body["has_more"] != true {
			return seen
		}
		next = path + "&limit=1&cursor=" + r.body["next_page"].(string)
	}
	t.Fatal("the walk does not end")
	return nil
}

func stamp(t time.Time) string { return url.QueryEscape(t.UTC().Format(time.RFC3339Nano)) }

// PRODUCT R9: every filter and operator of the Nomos OpenAPI, walked
// through its cursor.
func TestListFilters(t *testing.T) {
	f := newFixture(t, nil)
	org, cus := f.orgToken(), f.cus1Token()
	c1, c2 := f.cus1.ID, f.cus2.ID
	s1, sFeed, sEnded, s2 := f.sub1, f.subFeed, f.subEnded, f.sub2
	none := []string(nil)
	for _, tc := range []struct {
		name, path, tok string
		want            []string
	}{
		{"R9/customers/email/eq", "/customers?filter[email][eq]=TWO@a.example", org, []string{c2}},
		{"R9/customers/email/ne", "/customers?filter[email][ne]=one@a.example", org, []string{c2}},
		{"R9/customers/email/in", "/customers?filter[email][in]=one@a.example,Two@a.example,b@b.example", org, []string{c2, c1}},
		{"R9/customers/type/eq", "/customers?filter[type][eq]=company", org, []string{c2}},
		{"R9/customers/type/ne", "/customers?filter[type][ne]=company", org, []string{c1}},
		{"R9/customers/type/in", "/customers?filter[type][in]=person,company", org, []string{c2, c1}},
		{"R9/customers/created_at/eq", "/customers?filter[created_at][eq]=" + stamp(f.cus1.CreatedAt), org, []string{c1}},
		{"R9/customers/created_at/gt", "/customers?filter[created_at][gt]=" + stamp(f.cus1.CreatedAt), org, []string{c2}},
		{"R9/customers/created_at/gte", "/customers?filter[created_at][gte]=" + stamp(f.cus1.CreatedAt), org, []string{c2, c1}},
		{"R9/customers/created_at/lt", "/customers?filter[created_at][lt]=" + stamp(f.cus2.CreatedAt), org, []string{c1}},
		{"R9/customers/created_at/lte", "/customers?filter[created_at][lte]=" + stamp(f.cus1.CreatedAt), org, []string{c1}},
		{"R9/customers/created_at/other_zone", "/customers?filter[created_at][gte]=" + url.QueryEscape(f.cus2.CreatedAt.In(time.FixedZone("", 3600)).Format(time.RFC3339)), org, []string{c2}},
		{"R9/customers/combined", "/customers?filter[type][eq]=person&filter[created_at][lte]=" + stamp(f.cus2.CreatedAt), org, []string{c1}},
		{"R9/customers/customer_token", "/customers?filter[type][in]=person,company", cus, []string{c1}},

		{"R9/subscriptions/status/eq", "/subscriptions?filter[status][eq]=ended", org, []string{sEnded.ID}},
		{"R9/subscriptions/status/ne", "/subscriptions?filter[status][ne]=active", org, []string{sEnded.ID}},
		{"R9/subscriptions/status/in", "/subscriptions?filter[status][in]=ended,active", org, []string{s2.ID, sEnded.ID, sFeed.ID, s1.ID}},
		{"R9/subscriptions/status/in_pending", "/subscriptions?filter[status][in]=pending", org, none},
		{"R9/subscriptions/customer/eq", "/subscriptions?filter[customer][eq]=" + c2, org, []string{s2.ID}},
		{"R9/subscriptions/customer/ne", "/subscriptions?filter[customer][ne]=" + c1, org, []string{s2.ID}},
		{"R9/subscriptions/customer/in", "/subscriptions?filter[customer][in]=" + c1 + "," + c2, org, []string{s2.ID, sEnded.ID, sFeed.ID, s1.ID}},
		{"R9/subscriptions/customer/other_org", "/subscriptions?filter[customer][eq]=" + f.bcus.ID, org, none},
		{"R9/subscriptions/customer/in_customer_token", "/subscriptions?filter[customer][in]=" + c1 + "," + c2, cus, []string{sEnded.ID, sFeed.ID, s1.ID}},
		{"R9/subscriptions/customer/other_customer_token", "/subscriptions?filter[customer][eq]=" + c2, cus, none},
		{"R9/subscriptions/plan/eq", "/subscriptions?filter[plan][eq]=" + s1.Plan, org, []string{s1.ID}},
		{"R9/subscriptions/plan/ne", "/subscriptions?filter[plan][ne]=" + s1.Plan, org, []string{s2.ID, sEnded.ID, sFeed.ID}},
		{"R9/subscriptions/plan/in", "/subscriptions?filter[plan][in]=" + s2.Plan + "," + s1.Plan, org, []string{s2.ID, s1.ID}},
		{"R9/subscriptions/created_at/eq", "/subscriptions?filter[created_at][eq]=" + stamp(sFeed.CreatedAt), org, []string{sFeed.ID}},
		{"R9/subscriptions/created_at/gt", "/subscriptions?filter[created_at][gt]=" + stamp(sEnded.CreatedAt), org, []string{s2.ID}},
		{"R9/subscriptions/created_at/gte", "/subscriptions?filter[created_at][gte]=" + stamp(sEnded.CreatedAt), org, []string{s2.ID, sEnded.ID}},
		{"R9/subscriptions/created_at/lt", "/subscriptions?filter[created_at][lt]=" + stamp(sFeed.CreatedAt), org, []string{s1.ID}},
		{"R9/subscriptions/created_at/lte", "/subscriptions?filter[created_at][lte]=" + stamp(sFeed.CreatedAt), org, []string{sFeed.ID, s1.ID}},
		{"R9/subscriptions/updated_at/eq", "/subscriptions?filter[updated_at][eq]=" + stamp(s2.UpdatedAt), org, []string{s2.ID}},
		{"R9/subscriptions/updated_at/gt", "/subscriptions?filter[updated_at][gt]=" + stamp(sFeed.UpdatedAt), org, []string{s2.ID, sEnded.ID}},
		{"R9/subscriptions/updated_at/gte", "/subscriptions?filter[updated_at][gte]=" + stamp(sFeed.UpdatedAt), org, []string{s2.ID, sEnded.ID, sFeed.ID}},
		{"R9/subscriptions/updated_at/lt", "/subscriptions?filter[updated_at][lt]=" + stamp(sEnded.UpdatedAt), org, []string{sFeed.ID, s1.ID}},
		{"R9/subscriptions/updated_at/lte", "/subscriptions?filter[updated_at][lte]=" + stamp(s1.UpdatedAt), org, []string{s1.ID}},
		{"R9/subscriptions/combined", "/subscriptions?filter[status][in]=active&filter[customer][eq]=" + c1 + "&filter[created_at][gt]=" + stamp(s1.CreatedAt), org, []string{sFeed.ID}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eq(t, f.walkList(t, tc.path, tc.tok), tc.want)
		})
	}
}

// PRODUCT R9, S4: an unsupported filter or operator and a value of the
// wrong type are 400s naming the parameter and what is accepted.
func TestListFilterErrors(t *testing.T) {
	f := newFixture(t, nil)
	org := f.orgToken()
	many := strings.TrimSuffix(strings.Repeat("active,", 51), ",")
	for _, tc := range []struct{ name, path, mention string }{
		{"R9/unsupported_operator", "/customers?filter[email][gte]=a", "filter[email][eq], filter[email][ne], filter[email][in]"},
		{"R9/unsupported_date_operator", "/subscriptions?filter[updated_at][in]=2024-01-01T00:00:00Z", "filter[updated_at][gte]"},
		{"R9/unsupported_field", "/subscriptions?filter[number][eq]=1", "filter[plan][in]"},
		{"R9/field_of_other_list", "/customers?filter[status][eq]=active", "filter[type][in]"},
		{"R9/date_not_a_date", "/customers?filter[created_at][gte]=yesterday", "filter[created_at][gte]"},
		{"R9/date_without_zone", "/subscriptions?filter[updated_at][gte]=2024-01-01T00:00:00", "filter[updated_at][gte]"},
		{"R9/date_only", "/subscriptions?filter[created_at][lt]=2024-01-01", "filter[created_at][lt]"},
		{"R9/unknown_status", "/subscriptions?filter[status][in]=active,paused", "filter[status][in]"},
		{"R9/unknown_type", "/customers?filter[type][eq]=residential", "filter[type][eq]"},
		{"R9/empty_value", "/subscriptions?filter[plan][eq]=", "filter[plan][eq]"},
		{"R9/empty_in_item", "/subscriptions?filter[status][in]=active,,ended", "filter[status][in]"},
		{"R9/too_many_in_values", "/subscriptions?filter[status][in]=" + many, "filter[status][in]"},
		{"R9/repeated", "/customers?filter[type][eq]=person&filter[type][eq]=company", "filter[type][eq]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := f.call(http.MethodGet, tc.path, org, "")
			wantError(t, r, http.StatusBadRequest, "BAD_REQUEST", "")
			if !strings.Contains(r.raw, tc.mention) {
				t.Fatalf("the error does not name %q: %s", tc.mention, r.raw)
			}
		})
	}
}

// PRODUCT R9, R7: a cursor remembers its filters; used with others it is
// a 400, with the same filters written another way it goes on.
func TestListFilterCursor(t *testing.T) {
	f := newFixture(t, nil)
	org := f.orgToken()
	first := f.call(http.MethodGet, "/subscriptions?limit=1&filter[status][in]=active,ended", org, "")
	cursor := first.body["next_page"].(string)
	for _, tc := range []struct{ name, query string }{
		{"R9/cursor/other_values", "filter[status][in]=active"},
		{"R9/cursor/other_operator", "filter[status][eq]=active"},
		{"R9/cursor/filter_dropped", ""},
		{"R9/cursor/filter_added", "filter[status][in]=active,ended&filter[plan][ne]=x"},
		{"R9/cursor/other_list", "filter[type][in]=person"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := "/subscriptions?limit=1&cursor=" + cursor + "&" + tc.query
			if strings.Contains(tc.query, "type") {
				path = "/customers?limit=1&cursor=" + cursor + "&" + tc.query
			}
			r := f.call(http.MethodGet, path, org, "")
			wantError(t, r, http.StatusBadRequest, "BAD_REQUEST", "")
			if !strings.Contains(r.raw, "cursor") {
				t.Fatalf("the error does not name the cursor: %s", r.raw)
			}
		})
	}
	t.Run("R9/cursor/same_filters_normalized", func(t *testing.T) {
		r := f.call(http.MethodGet, "/subscriptions?limit=10&filter[status][in]=ended,%20active,active&cursor="+cursor, org, "")
		eq(t, items(t, r), []string{f.subEnded.ID, f.subFeed.ID, f.sub1.ID})
	})
}
