package server

import (
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/nomosauth/nomosauth/internal/admin"
	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/fakeclock"
	"github.com/nomosauth/nomosauth/internal/httpx"
	"github.com/nomosauth/nomosauth/internal/revoke"
	"github.com/nomosauth/nomosauth/internal/store/sqlite"
	"github.com/nomosauth/nomosauth/internal/testfix"
	"github.com/nomosauth/nomosauth/internal/token"
)

var update = flag.Bool("update", false, "rewrite golden files")

type fixture struct {
	t      testing.TB
	dbPath string
	store  *sqlite.Store
	srv    *httptest.Server
	clock  *fakeclock.Clock
	issuer *token.Issuer
	admin  *admin.Admin
	client domain.Client
	secret string
	// other is a second confidential client of the same org.
	other       domain.Client
	otherSecret string
	public      domain.Client
	tokensSrv   *Tokens
	registry    *prometheus.Registry // the surface's metrics (PRODUCT O7)
}

const testIssuer = "https://auth.example.test"

func newFixture(t testing.TB) *fixture {
	t.Helper()
	return newTracedFixture(t, noop.NewTracerProvider().Tracer(""))
}

// newTracedFixture is newFixture recording spans with tracer (PRODUCT O7).
func newTracedFixture(t testing.TB, tracer trace.Tracer) *fixture {
	t.Helper()
	env := testfix.New(t, time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC))
	org := env.Org("Org")
	f := &fixture{t: t, dbPath: env.Path, store: env.Store, clock: env.Clock, admin: env.Admin, issuer: env.Issuer(testIssuer)}
	f.client, f.secret = env.Client(admin.ClientSpec{OrgID: org.ID, Name: "Backend"})
	f.other, f.otherSecret = env.Client(admin.ClientSpec{OrgID: org.ID, Name: "Reader", Scope: "read:*"})
	f.public, _ = env.Client(admin.ClientSpec{OrgID: org.ID, Name: "Native", Public: true, RedirectURIs: []string{"com.example.app:/cb"}})
	srv, err := New(Config{Store: env.Store, Issuer: f.issuer, IDs: env.IDs, Now: env.Clock.Now, Log: env.Log, IssuerURL: testIssuer,
		RefreshIdleTTL: 90 * 24 * time.Hour, RetryWindow: 10 * time.Second, RefreshKey: []byte("test refresh key"), UserCodeKey: []byte(testUserCodeKey), Seals: env.Seals(), Revoked: revoke.NewSet(),
		Addr: httpx.HTTPSPolicy{}.ClientAddr, Tracer: tracer, Metrics: env.Metrics})
	testfix.Check(t, err)
	f.tokensSrv = srv.Tokens
	f.registry = env.Registry
	mux := http.NewServeMux()
	srv.Mount(mux)
	f.srv = testfix.Serve(t, Root(mux, env.Log, httpx.HTTPSPolicy{AllowPlain: true}, tracer, env.Metrics))
	return f
}

type result struct {
	status int
	header http.Header
	body   map[string]any
	raw    []byte
}

func (f *fixture) do(req *http.Request) result {
	f.t.Helper()
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := result{status: resp.StatusCode, header: resp.Header, raw: raw}
	if len(raw) > 0 && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &r.body); err != nil {
			f.t.Fatalf("bad JSON %q: %v", raw, err)
		}
	}
	return r
}

// post sends a token request with an optional Basic user:pass.
func (f *fixture) post(contentType, body string, basic ...string) result {
	f.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, f.srv.URL+PathToken, strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if len(basic) == 2 {
		req.SetBasicAuth(url.QueryEscape(basic[0]), url.QueryEscape(basic[1]))
	}
	return f.do(req)
}

const form = "application/x-www-form-urlencoded"

func (f *fixture) clientCredentials(scope string) result {
	body := "grant_type=client_credentials"
	if scope != "" {
		body += "&scope=" + url.QueryEscape(scope)
	}
	return f.post(form, body, f.client.ID, f.secret)
}

func (f *fixture) refresh(rt string, extra string) result {
	return f.post(form, "grant_type=refresh_token&refresh_token="+url.QueryEscape(rt)+extra, f.client.ID, f.secret)
}

func mustOK(t testing.TB, r result) {
	t.Helper()
	if r.status != 200 {
		t.Fatalf("status %d: %s", r.status, r.raw)
	}
}

// snapshot renders every row token requests could write, read straight
// from the database file, to show that a failed request changed nothing.
func (f *fixture) snapshot() string {
	f.t.Helper()
	db, err := sql.Open("sqlite", "file:"+f.dbPath+"?mode=ro")
	if err != nil {
		f.t.Fatal(err)
	}
	defer db.Close()
	var b strings.Builder
	for _, table := range []string{"families", "refresh_tokens", "clients", "client_secrets", "signing_keys", "auth_codes", "grants", "seal_keys", "audit_events"} {
		rows, err := db.Query("SELECT * FROM " + table + " ORDER BY rowid")
		if err != nil {
			f.t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				f.t.Fatal(err)
			}
			fmt.Fprintln(&b, table, vals)
		}
		rows.Close()
	}
	return b.String()
}

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(m.Run())
}
