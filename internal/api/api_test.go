package api

import (
	"crypto/rand"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nomosauth/nomosauth/internal/admin"
	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/httpx"
	"github.com/nomosauth/nomosauth/internal/token"
)

func TestBearerRule(t *testing.T) {
	f := newFixture(t, nil)
	good := f.orgToken()
	// A token from a key this server never published.
	otherKey, err := token.GenerateKey(token.AlgES256, rand.Reader, f.admin.IDs, f.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	otherRing, _ := token.NewKeyRing([]domain.SigningKey{otherKey}, f.clock.Now())
	foreign := &token.Issuer{Ring: otherRing, Issuer: testIssuer, Audience: testIssuer, IDs: f.admin.IDs}
	foreignTok, _ := foreign.Mint(token.Grant{ClientID: f.full.ID, OrgID: f.orgA}, f.clock.Now())
	wrongIss := &token.Issuer{Ring: f.issuer.Ring, Issuer: "https://evil.example", Audience: testIssuer, IDs: f.admin.IDs}
	wrongIssTok, _ := wrongIss.Mint(token.Grant{ClientID: f.full.ID, OrgID: f.orgA, Scope: "read:*"}, f.clock.Now())
	wrongAud := &token.Issuer{Ring: f.issuer.Ring, Issuer: testIssuer, Audience: "https://other-api.example", IDs: f.admin.IDs}
	wrongAudTok, _ := wrongAud.Mint(token.Grant{ClientID: f.full.ID, OrgID: f.orgA, Scope: "read:*"}, f.clock.Now())
	expired, _ := f.issuer.Mint(token.Grant{ClientID: f.full.ID, OrgID: f.orgA, Scope: "read:*"}, f.clock.Now().Add(-61*time.Minute))
	future, _ := f.issuer.Mint(token.Grant{ClientID: f.full.ID, OrgID: f.orgA, Scope: "read:*"}, f.clock.Now().Add(5*time.Minute))
	unknownClient, _ := f.issuer.Mint(token.Grant{ClientID: "client_gone", OrgID: f.orgA, Scope: "read:*"}, f.clock.Now())
	wrongOrg, _ := f.issuer.Mint(token.Grant{ClientID: f.full.ID, OrgID: f.orgB, Scope: "read:*"}, f.clock.Now())
	revokedTok, _ := f.issuer.Mint(token.Grant{ClientID: f.full.ID, OrgID: f.orgA, FamilyID: "fam_revoked", Scope: "read:*"}, f.clock.Now())
	f.revoked.Add("fam_revoked", f.clock.Now())
	tampered := good[:len(good)-4] + "AAAA"

	for _, tc := range []struct {
		name    string
		headers []string
		path    string
	}{
		{"R1/missing", nil, "/customers"},
		{"R1/token_in_query_refused", nil, "/customers?access_token=" + good},
		{"R1/basic_scheme", []string{"Authorization", "Basic " + good}, "/customers"},
		{"R1/empty_bearer", []string{"Authorization", "Bearer "}, "/customers"},
		{"R1/two_tokens", []string{"Authorization", "Bearer " + good + " " + good}, "/customers"},
		{"R1/repeated_header", []string{"Authorization", "Bearer " + good, "Authorization", "Bearer " + good}, "/customers"},
		{"R1/malformed", []string{"Authorization", "Bearer not.a.jwt"}, "/customers"},
		{"R1/tampered_signature", []string{"Authorization", "Bearer " + tampered}, "/customers"},
		{"R1/unknown_key", []string{"Authorization", "Bearer " + foreignTok}, "/customers"},
		{"R1/wrong_issuer", []string{"Authorization", "Bearer " + wrongIssTok}, "/customers"},
		{"R1/wrong_audience", []string{"Authorization", "Bearer " + wrongAudTok}, "/customers"},
		{"R1/expired", []string{"Authorization", "Bearer " + expired}, "/customers"},
		{"R1/not_yet_valid", []string{"Authorization", "Bearer " + future}, "/customers"},
		{"R1/unknown_client", []string{"Authorization", "Bearer " + unknownClient}, "/customers"},
		{"R1/client_of_another_org", []string{"Authorization", "Bearer " + wrongOrg}, "/customers"},
		{"A11/revoked_family", []string{"Authorization", "Bearer " + revokedTok}, "/customers"},
		{"R1/before_routing", nil, "/customers/cus_x/nothing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := f.call(http.MethodGet, tc.path, "", "", tc.headers...)
			wantError(t, r, http.StatusUnauthorized, "UNAUTHORIZED", "invalid_token")
			eq(t, r.header.Get("WWW-Authenticate"), `Bearer error="invalid_token"`)
			eq(t, r.header.Get(APIVersionHeader), domain.LatestAPIVersion)
			if r.header.Get("RateLimit-Limit") != "" {
				t.Fatal("rate limit headers with limits off")
			}
		})
	}
	t.Run("R1/valid", func(t *testing.T) {
		if r := f.call(http.MethodGet, "/customers", good, ""); r.status != http.StatusOK {
			t.Fatalf("status %d: %s", r.status, r.raw)
		}
	})
	// The gate reads the client through the store it is given (in serve
	// the client directory, which the disabling write forgets at once).
	t.Run("R1/disabled_client_refused", func(t *testing.T) {
		tok := f.readToken()
		if r := f.call(http.MethodGet, "/customers", tok, ""); r.status != http.StatusOK {
			t.Fatalf("status %d", r.status)
		}
		if err := f.admin.DisableClient(t.Context(), f.reader.ID); err != nil {
			t.Fatal(err)
		}
		wantError(t, f.call(http.MethodGet, "/customers", tok, ""), http.StatusUnauthorized, "UNAUTHORIZED", "invalid_token")
	})
}

func TestScopeRule(t *testing.T) {
	f := newFixture(t, nil)
	writeOnly := f.token(f.full, "", "write:*")
	customerWithWrite := f.token(f.full, f.cus1.ID, "read:* write:*") // never issued (T7); refused anyway
	patch := `{"first_name":"Erika"}`
	for _, tc := range []struct {
		name, method, path, token, body, need string
	}{
		{"R2/read_only_cannot_patch", http.MethodPatch, "/customers/" + f.cus1.ID, f.readToken(), patch, "write:*"},
		{"R2/write_only_cannot_get", http.MethodGet, "/customers", writeOnly, "", "read:*"},
		{"R2/post_needs_write", http.MethodPost, "/customers", f.readToken(), "{}", "write:*"},
		{"R2/delete_needs_write", http.MethodDelete, "/customers/" + f.cus1.ID, f.readToken(), "", "write:*"},
		{"R2/put_needs_write", http.MethodPut, "/subscriptions/" + f.sub1.ID, f.readToken(), "{}", "write:*"},
		{"T7/customer_tokens_are_read_only", http.MethodPatch, "/customers/" + f.cus1.ID, customerWithWrite, patch, "write:*"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before, _ := f.store.GetCustomer(t.Context(), f.cus1.ID)
			r := f.call(tc.method, tc.path, tc.token, tc.body)
			wantError(t, r, http.StatusForbidden, "FORBIDDEN", "insufficient_scope")
			eq(t, r.header.Get("WWW-Authenticate"), `Bearer error="insufficient_scope", scope="`+tc.need+`"`)
			after, _ := f.store.GetCustomer(t.Context(), f.cus1.ID)
			eq(t, after, before)
		})
	}
	t.Run("R2/write_token_reaches_routing", func(t *testing.T) {
		r := f.call(http.MethodDelete, "/customers/"+f.cus1.ID, f.orgToken(), "")
		wantError(t, r, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", "")
		if allow := r.header.Get("Allow"); !strings.Contains(allow, "GET") || !strings.Contains(allow, "PATCH") {
			t.Fatalf("Allow %q", allow)
		}
	})
	t.Run("R4/unknown_route", func(t *testing.T) {
		wantError(t, f.call(http.MethodGet, "/customers/"+f.cus1.ID+"/nothing", f.orgToken(), ""), http.StatusNotFound, "NOT_FOUND", "")
	})
}

// sameNotFound checks a 404 whose body equals that of a truly missing id,
// request id aside (PRODUCT R3: never a hint that it exists).
func sameNotFound(t *testing.T, f *fixture, got result, missingPath, tok string) {
	t.Helper()
	wantError(t, got, http.StatusNotFound, "NOT_FOUND", "")
	missing := f.call(http.MethodGet, missingPath, tok, "")
	strip := func(r result) string { return strings.Replace(r.raw, r.header.Get("X-Request-Id"), "", 1) }
	eq(t, strip(got), strip(missing))
}

func TestTenantRule(t *testing.T) {
	f := newFixture(t, nil)
	org, cus := f.orgToken(), f.cus1Token()
	t.Run("R3/org_lists_only_its_customers", func(t *testing.T) {
		eq(t, items(t, f.call(http.MethodGet, "/customers", org, "")), []string{f.cus2.ID, f.cus1.ID})
		eq(t, items(t, f.call(http.MethodGet, "/customers", f.orgBToken(), "")), []string{f.bcus.ID})
	})
	t.Run("R3/org_lists_only_its_subscriptions", func(t *testing.T) {
		eq(t, items(t, f.call(http.MethodGet, "/subscriptions", org, "")), []string{f.sub2.ID, f.subEnded.ID, f.subFeed.ID, f.sub1.ID})
	})
	t.Run("R3/email_filter_does_not_cross_orgs", func(t *testing.T) {
		eq(t, items(t, f.call(http.MethodGet, "/customers?filter[email][eq]=B@b.example", org, "")), []string(nil))
		eq(t, items(t, f.call(http.MethodGet, "/customers?filter[email][eq]=TWO@a.example", org, "")), []string{f.cus2.ID})
	})
	for _, tc := range []struct{ name, path, tok, missing string }{
		{"R3/org_cannot_get_other_orgs_customer", "/customers/" + f.bcus.ID, org, "/customers/cus_missing"},
		{"R3/org_cannot_get_other_orgs_subscription", "/subscriptions/" + f.subB.ID, org, "/subscriptions/sub_missing"},
		{"R3/org_cannot_get_other_orgs_prices", "/subscriptions/" + f.subB.ID + "/prices?start=2026-03-20&end=2026-03-20", org, "/subscriptions/sub_missing/prices?start=2026-03-20&end=2026-03-20"},
		{"R3/customer_cannot_get_other_customer", "/customers/" + f.cus2.ID, cus, "/customers/cus_missing"},
		{"R3/customer_cannot_get_other_customers_subscription", "/subscriptions/" + f.sub2.ID, cus, "/subscriptions/sub_missing"},
		{"R3/customer_cannot_get_other_customers_prices", "/subscriptions/" + f.sub2.ID + "/prices?start=2026-03-20&end=2026-03-20", cus, "/subscriptions/sub_missing/prices?start=2026-03-20&end=2026-03-20"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sameNotFound(t, f, f.call(http.MethodGet, tc.path, tc.tok, ""), tc.missing, tc.tok)
		})
	}
	t.Run("R3/org_cannot_patch_other_orgs_customer", func(t *testing.T) {
		r := f.call(http.MethodPatch, "/customers/"+f.bcus.ID, org, `{"first_name":"Evil"}`)
		wantError(t, r, http.StatusNotFound, "NOT_FOUND", "")
		got, _ := f.store.GetCustomer(t.Context(), f.bcus.ID)
		eq(t, got.FirstName, "Max")
	})
	t.Run("R3/customer_sees_only_itself", func(t *testing.T) {
		eq(t, items(t, f.call(http.MethodGet, "/customers", cus, "")), []string{f.cus1.ID})
		eq(t, items(t, f.call(http.MethodGet, "/customers?filter[email][eq]=two@a.example", cus, "")), []string(nil))
		if r := f.call(http.MethodGet, "/customers/"+f.cus1.ID, cus, ""); r.status != http.StatusOK || r.body["email"] != "one@a.example" {
			t.Fatalf("own customer: %d %s", r.status, r.raw)
		}
	})
	t.Run("R3/customer_sees_only_its_subscriptions", func(t *testing.T) {
		eq(t, items(t, f.call(http.MethodGet, "/subscriptions", cus, "")), []string{f.subEnded.ID, f.subFeed.ID, f.sub1.ID})
		eq(t, items(t, f.call(http.MethodGet, "/subscriptions?filter[customer][eq]="+f.cus2.ID, cus, "")), []string(nil))
		eq(t, items(t, f.call(http.MethodGet, "/subscriptions?filter[customer][eq]="+f.cus1.ID+"&filter[status][eq]=ended", cus, "")), []string{f.subEnded.ID})
	})
}

func TestRateLimitRule(t *testing.T) {
	f := newFixture(t, nil)
	f.api.Limits = httpx.NewRateLimiter(1, 2, f.clock.Now)
	f.api.AddrLimits = httpx.NewRateLimiter(1, 1, f.clock.Now)
	org := f.orgToken()
	for i, want := range []string{"1", "0"} {
		r := f.call(http.MethodGet, "/customers", org, "")
		if r.status != http.StatusOK {
			t.Fatalf("request %d: %d", i, r.status)
		}
		eq(t, r.header.Get("RateLimit-Limit"), "2")
		eq(t, r.header.Get("RateLimit-Remaining"), want)
	}
	r := f.call(http.MethodGet, "/customers", org, "")
	wantError(t, r, http.StatusTooManyRequests, "TOO_MANY_REQUESTS", "")
	eq(t, r.header.Get("Retry-After"), "1")
	eq(t, r.header.Get("RateLimit-Remaining"), "0")
	eq(t, r.header.Get("RateLimit-Reset"), "2")

	t.Run("R5/per_caller", func(t *testing.T) {
		if r := f.call(http.MethodGet, "/customers", f.readToken(), ""); r.status != http.StatusOK {
			t.Fatalf("another client was limited: %d", r.status)
		}
		if r := f.call(http.MethodGet, "/customers", f.cus1Token(), ""); r.status != http.StatusOK {
			t.Fatalf("a customer grant of the same client was limited: %d", r.status)
		}
	})
	t.Run("R5/refills", func(t *testing.T) {
		f.clock.Advance(time.Second)
		if r := f.call(http.MethodGet, "/customers", org, ""); r.status != http.StatusOK {
			t.Fatalf("after a second: %d", r.status)
		}
	})
	t.Run("R5/unauthenticated_by_address", func(t *testing.T) {
		wantError(t, f.call(http.MethodGet, "/customers", "", ""), http.StatusUnauthorized, "UNAUTHORIZED", "invalid_token")
		r := f.call(http.MethodGet, "/customers", "", "")
		wantError(t, r, http.StatusTooManyRequests, "TOO_MANY_REQUESTS", "")
		eq(t, r.header.Get("RateLimit-Limit"), "1")
	})
}

// Every response the limiter judged carries the RateLimit fields and the
// version, whatever its status (PRODUCT R5, R6).
func TestHeadersOnEveryResponse(t *testing.T) {
	f := newFixture(t, nil)
	f.api.Limits = httpx.NewRateLimiter(100, 100, f.clock.Now)
	f.api.AddrLimits = httpx.NewRateLimiter(100, 50, f.clock.Now)
	org, reader := f.orgToken(), f.readToken()
	for _, tc := range []struct {
		name, method, path, token string
		headers                   []string
		status                    int
		limit                     string
	}{
		{"R5/ok", http.MethodGet, "/customers", org, nil, 200, "100"},
		{"R5/unknown_version", http.MethodGet, "/customers", org, []string{APIVersionHeader, "nope"}, 400, "100"},
		{"R5/unknown_version_without_token", http.MethodGet, "/customers", "", []string{APIVersionHeader, "nope"}, 400, "50"},
		{"R5/bad_limit", http.MethodGet, "/customers?limit=0", org, nil, 400, "100"},
		{"R5/no_token", http.MethodGet, "/customers", "", nil, 401, "50"},
		{"R5/insufficient_scope", http.MethodPatch, "/customers/" + f.cus1.ID, reader, nil, 403, "100"},
		{"R5/not_found", http.MethodGet, "/customers/cus_missing", org, nil, 404, "100"},
		{"R5/unrouted", http.MethodGet, "/customers/x/y", org, nil, 404, "100"},
		{"R5/method_not_allowed", http.MethodDelete, "/customers", org, nil, 405, "100"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := f.call(tc.method, tc.path, tc.token, "", tc.headers...)
			eq(t, r.status, tc.status)
			eq(t, r.header.Get("RateLimit-Limit"), tc.limit)
			if r.header.Get("RateLimit-Remaining") == "" || r.header.Get("RateLimit-Reset") == "" {
				t.Fatalf("headers %v", r.header)
			}
			if r.header.Get(APIVersionHeader) == "" { // PRODUCT R6
				t.Fatalf("no %s: %v", APIVersionHeader, r.header)
			}
		})
	}
}

func TestVersionRule(t *testing.T) {
	f := newFixture(t, nil)
	org, old := f.orgToken(), f.token(f.old, "", "read:* write:*")
	t.Run("R6/absent_is_client_default", func(t *testing.T) {
		eq(t, f.call(http.MethodGet, "/customers", org, "").header.Get(APIVersionHeader), domain.LatestAPIVersion)
		eq(t, f.call(http.MethodGet, "/customers", old, "").header.Get(APIVersionHeader), domain.VersionChucky)
	})
	t.Run("R6/explicit_is_echoed", func(t *testing.T) {
		for _, v := range domain.APIVersions() {
			r := f.call(http.MethodGet, "/customers", org, "", APIVersionHeader, v)
			eq(t, r.status, http.StatusOK)
			eq(t, r.header.Get(APIVersionHeader), v)
		}
	})
	t.Run("R6/echoed_on_errors", func(t *testing.T) {
		r := f.call(http.MethodGet, "/customers/cus_missing", org, "", APIVersionHeader, domain.VersionEdison)
		eq(t, r.header.Get(APIVersionHeader), domain.VersionEdison)
	})
	for _, v := range []string{"2024-01-01.nope", "latest", "2026-05-27", " ", strings.Repeat("x", 300)} {
		t.Run("R6/unknown_is_400/"+strings.TrimSpace(v[:min(len(v), 12)]), func(t *testing.T) {
			r := f.call(http.MethodGet, "/customers", org, "", APIVersionHeader, v)
			wantError(t, r, http.StatusBadRequest, "BAD_REQUEST", "")
			eq(t, r.header.Get(APIVersionHeader), domain.LatestAPIVersion) // the caller's default
			if len(r.raw) > 600 {
				t.Fatalf("echoes the whole input: %s", r.raw)
			}
		})
	}
	t.Run("R6/repeated_is_400", func(t *testing.T) {
		r := f.call(http.MethodGet, "/customers", org, "", APIVersionHeader, domain.VersionCurie, APIVersionHeader, domain.VersionChucky)
		wantError(t, r, http.StatusBadRequest, "BAD_REQUEST", "")
		eq(t, r.header.Get(APIVersionHeader), domain.LatestAPIVersion)
	})
	t.Run("R6/unknown_echoes_the_client_default", func(t *testing.T) {
		r := f.call(http.MethodGet, "/customers", old, "", APIVersionHeader, "nope")
		wantError(t, r, http.StatusBadRequest, "BAD_REQUEST", "")
		eq(t, r.header.Get(APIVersionHeader), domain.VersionChucky)
	})
	t.Run("R6/unknown_without_token_echoes_the_latest", func(t *testing.T) {
		r := f.call(http.MethodGet, "/customers", "", "", APIVersionHeader, "nope")
		wantError(t, r, http.StatusBadRequest, "BAD_REQUEST", "")
		eq(t, r.header.Get(APIVersionHeader), domain.LatestAPIVersion)
	})
	t.Run("R6/feed_in_only_from_curie", func(t *testing.T) {
		eq(t, items(t, f.call(http.MethodGet, "/subscriptions?filter[customer][eq]="+f.cus1.ID, old, "")), []string{f.subEnded.ID, f.sub1.ID})
		wantError(t, f.call(http.MethodGet, "/subscriptions/"+f.subFeed.ID, old, ""), http.StatusNotFound, "NOT_FOUND", "")
		r := f.call(http.MethodGet, "/subscriptions/"+f.subFeed.ID, old, "", APIVersionHeader, domain.VersionCurie)
		eq(t, r.status, http.StatusOK)
		eq(t, r.body["type"], "feed_in")
	})
	t.Run("R6/errors_array_only_from_curie", func(t *testing.T) {
		r := f.call(http.MethodGet, "/customers?limit=0", old, "")
		wantError(t, r, http.StatusBadRequest, "BAD_REQUEST", "")
		if _, ok := r.body["errors"]; ok {
			t.Fatalf("chucky got errors: %s", r.raw)
		}
		r = f.call(http.MethodGet, "/customers?limit=0", org, "")
		errs, _ := r.body["errors"].([]any)
		if len(errs) != 1 || errs[0].(map[string]any)["field"] != "limit" || errs[0].(map[string]any)["code"] != "too_small" {
			t.Fatalf("curie errors: %s", r.raw)
		}
	})
}

func TestPaginationRule(t *testing.T) {
	f := newFixture(t, nil)
	org := f.orgToken()
	var want []string
	for i := range 23 {
		f.clock.Advance(time.Second)
		c, err := f.admin.CreateCustomer(t.Context(), admin.CustomerSpec{OrgID: f.orgA, Email: strings.Repeat("x", i+1) + "@page.example", FirstName: "Max", LastName: "Mustermann"})
		if err != nil {
			t.Fatal(err)
		}
		want = append([]string{c.ID}, want...)
	}
	want = append(want, f.cus2.ID, f.cus1.ID) // newest first
	t.Run("R7/default_limit_10", func(t *testing.T) {
		r := f.call(http.MethodGet, "/customers", org, "")
		eq(t, items(t, r), want[:10])
		eq(t, r.body["has_more"], true)
	})
	t.Run("R7/walk_every_page", func(t *testing.T) {
		var got []string
		path := "/customers?limit=7"
		for pages := 0; ; pages++ {
			if pages > 5 {
				t.Fatal("too many pages")
			}
			r := f.call(http.MethodGet, path, org, "")
			got = append(got, items(t, r)...)
			if r.body["has_more"] != true {
				eq(t, r.body["next_page"], nil)
				break
			}
			path = "/customers?limit=7&cursor=" + r.body["next_page"].(string)
		}
		eq(t, got, want)
	})
	first := f.call(http.MethodGet, "/customers?limit=2", org, "")
	cursor := first.body["next_page"].(string)
	for _, tc := range []struct{ name, path, tok string }{
		{"R7/limit_0", "/customers?limit=0", org},
		{"R7/limit_101", "/customers?limit=101", org},
		{"R7/limit_not_a_number", "/customers?limit=ten", org},
		{"R7/limit_fraction", "/customers?limit=2.5", org},
		{"R7/limit_repeated", "/customers?limit=2&limit=3", org},
		{"R7/unknown_parameter", "/customers?sort=asc", org},
		{"R7/unknown_filter", "/customers?filter[name][eq]=Max", org},
		{"R7/bad_status_filter", "/subscriptions?filter[status][eq]=paused", org},
		{"R7/cursor_tampered", "/customers?limit=2&cursor=" + flip(cursor), org},
		{"R7/cursor_not_base64", "/customers?cursor=%%%", org},
		{"R7/cursor_garbage", "/customers?cursor=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", org},
		{"R7/cursor_too_long", "/customers?cursor=" + strings.Repeat("A", 400), org},
		{"R7/cursor_with_other_filter", "/customers?limit=2&filter[email][eq]=x@page.example&cursor=" + cursor, org},
		{"R7/cursor_on_other_list", "/subscriptions?cursor=" + cursor, org},
		{"R7/cursor_of_other_caller", "/customers?cursor=" + cursor, f.orgBToken()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, f.call(http.MethodGet, tc.path, tc.tok, ""), http.StatusBadRequest, "BAD_REQUEST", "")
		})
	}
	t.Run("R7/cursor_with_other_limit", func(t *testing.T) {
		eq(t, items(t, f.call(http.MethodGet, "/customers?limit=3&cursor="+cursor, org, "")), want[2:5])
	})
}

// flip changes one character in the middle of s.
func flip(s string) string {
	i := len(s) / 2
	c := byte('A')
	if s[i] == 'A' {
		c = 'B'
	}
	return s[:i] + string(c) + s[i+1:]
}
