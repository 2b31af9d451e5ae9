package api

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nomosauth/nomosauth/internal/admin"
	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/fakeclock"
	"github.com/nomosauth/nomosauth/internal/httpx"
	"github.com/nomosauth/nomosauth/internal/revoke"
	"github.com/nomosauth/nomosauth/internal/store/sqlite"
	"github.com/nomosauth/nomosauth/internal/testfix"
	"github.com/nomosauth/nomosauth/internal/token"
)

const testIssuer = "https://auth.example"

// fixture is the API on a loopback httptest server over a SQLite file, with
// two organizations:
//
//	org A: clients full (read+write), reader (read only), old (default
//	       version chucky); customers cus1 (subs active consumption, feed_in,
//	       ended) and cus2 (one active sub); prices for cus1's active sub.
//	org B: client b; customer bcus with one sub.
type fixture struct {
	t       testing.TB
	clock   *fakeclock.Clock
	store   *sqlite.Store
	admin   *admin.Admin
	issuer  *token.Issuer
	revoked *revoke.Set
	api     *API
	srv     *httptest.Server

	orgA, orgB                 string
	full, reader, old, clientB domain.Client
	cus1, cus2, bcus           domain.Customer
	sub1, subFeed, subEnded    domain.Subscription
	sub2, subB                 domain.Subscription
}

func newFixture(t testing.TB, limits *httpx.RateLimiter) *fixture {
	t.Helper()
	return newFixtureOver(t, limits, nil)
}

// newFixtureOver is newFixture whose API reads and writes through
// wrap(store) when wrap is not nil.
func newFixtureOver(t testing.TB, limits *httpx.RateLimiter, wrap func(Store) Store) *fixture {
	t.Helper()
	env := testfix.New(t, time.Date(2026, 3, 20, 12, 0, 0, 0, time.UTC))
	f := &fixture{t: t, clock: env.Clock, store: env.Store, admin: env.Admin, revoked: revoke.NewSet(), issuer: env.Issuer(testIssuer)}
	f.orgA, f.orgB = env.Org("Org A").ID, env.Org("Org B").ID
	client := func(org, name, scope, version string) domain.Client {
		c, _ := env.Client(admin.ClientSpec{OrgID: org, Name: name, Scope: scope, APIVersion: version})
		return c
	}
	f.full = client(f.orgA, "Full", "", "")
	f.reader = client(f.orgA, "Reader", "read:*", "")
	f.old = client(f.orgA, "Old", "", domain.VersionChucky)
	f.clientB = client(f.orgB, "B", "", "")
	customer := func(org, email string, company string) domain.Customer {
		env.Clock.Advance(time.Second) // distinct created_at: lists are newest first
		return env.Customer(admin.CustomerSpec{OrgID: org, Email: email, FirstName: "Max", LastName: "Mustermann", CompanyName: company})
	}
	f.cus1 = customer(f.orgA, "one@a.example", "")
	f.cus2 = customer(f.orgA, "two@a.example", "Zwei GmbH")
	f.bcus = customer(f.orgB, "b@b.example", "")
	sub := func(cus string, status domain.SubscriptionStatus, typ domain.SubscriptionType) domain.Subscription {
		env.Clock.Advance(time.Second)
		return env.Subscription(admin.SubscriptionSpec{CustomerID: cus, Status: status, Type: typ})
	}
	f.sub1 = sub(f.cus1.ID, domain.SubscriptionActive, "")
	f.subFeed = sub(f.cus1.ID, domain.SubscriptionActive, domain.SubscriptionFeedIn)
	f.subEnded = sub(f.cus1.ID, domain.SubscriptionEnded, "")
	f.sub2 = sub(f.cus2.ID, domain.SubscriptionActive, "")
	f.subB = sub(f.bcus.ID, domain.SubscriptionActive, "")

	berlin, err := time.LoadLocation("Europe/Berlin")
	testfix.Check(t, err)
	var st Store = env.Store
	if wrap != nil {
		st = wrap(st)
	}
	f.api, err = New(Config{Store: st, Verifier: f.issuer, Revoked: f.revoked, Limits: limits, Addr: httpx.HTTPSPolicy{}.ClientAddr,
		CursorKey: []byte("0123456789abcdef0123456789abcdef"), Location: berlin, Now: env.Clock.Now,
		Log: env.Log, IDs: env.Admin.IDs, Issuer: testIssuer})
	testfix.Check(t, err)
	mux := http.NewServeMux()
	f.api.Mount(mux)
	f.srv = testfix.Serve(t, httpx.Chain(mux, httpx.WithRequestID))
	return f
}

// token mints an access token as the token endpoint would.
func (f *fixture) token(c domain.Client, customerID, scope string) string {
	f.t.Helper()
	fam, err := f.admin.IDs.ID(domain.PrefixFamily)
	if err != nil {
		f.t.Fatal(err)
	}
	raw, err := f.issuer.Mint(token.Grant{ClientID: c.ID, OrgID: c.OrgID, CustomerID: customerID, FamilyID: fam, Scope: scope}, f.clock.Now())
	if err != nil {
		f.t.Fatal(err)
	}
	return raw
}

func (f *fixture) orgToken() string  { return f.token(f.full, "", "read:* write:*") }
func (f *fixture) readToken() string { return f.token(f.reader, "", "read:*") }
func (f *fixture) cus1Token() string { return f.token(f.full, f.cus1.ID, "read:*") }
func (f *fixture) orgBToken() string { return f.token(f.clientB, "", "read:* write:*") }

type result struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

// call sends a request; headers are name, value pairs.
func (f *fixture) call(method, path, bearer, body string, headers ...string) result {
	f.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, f.srv.URL+path, rd)
	if err != nil {
		f.t.Fatal(err)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := result{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &r.body); err != nil {
			f.t.Fatalf("%s %s: bad JSON %q", method, path, raw)
		}
	}
	return r
}

// wantError checks status, envelope (PRODUCT R4) and, when given, the OAuth error.
func wantError(t *testing.T, r result, status int, code, oauthErr string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.raw)
	}
	if r.body["code"] != code || r.body["message"] == "" || r.body["requestId"] != r.header.Get("X-Request-Id") ||
		r.body["docs"] != "https://docs.nomos.energy/api-references/errors/"+code {
		t.Fatalf("envelope %s, want code %s with message, requestId and docs", r.raw, code)
	}
	if got, _ := r.body["error"].(string); got != oauthErr {
		t.Fatalf("OAuth error %q, want %q: %s", got, oauthErr, r.raw)
	}
}

func items(t *testing.T, r result) []string {
	t.Helper()
	if r.status != http.StatusOK || r.body["object"] != "list" {
		t.Fatalf("want a list, got %d %s", r.status, r.raw)
	}
	var ids []string
	for _, it := range r.body["items"].([]any) {
		ids = append(ids, it.(map[string]any)["id"].(string))
	}
	return ids
}

func eq(t *testing.T, got, want any) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}
