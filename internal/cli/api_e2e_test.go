package cli

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/nomosauth/nomosauth/internal/config"
	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/ids"
	"github.com/nomosauth/nomosauth/internal/store"
	"github.com/nomosauth/nomosauth/internal/store/sqlite"
	"github.com/nomosauth/nomosauth/internal/testfix"
)

// startApp wires the server exactly as `serve` does from args and serves it
// on a loopback port until the test ends.
func startApp(t testing.TB, db string, args ...string) (*app, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	e := env{ctx: t.Context(), stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }}
	var cfg config.Config
	fs, bindErr := flags(e, "serve", &cfg, config.Serve())
	if code := parse(e, fs, bindErr, append([]string{"--db", db, "--log-level", "error"}, args...)); code >= 0 {
		t.Fatalf("flags: %s", stderr.String())
	}
	cfg.Finish()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	a, err := build(e, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: a.handler, ReadHeaderTimeout: readHeaderTimeout}
	go hs.Serve(ln)
	bg, stop := context.WithCancel(context.Background())
	go a.maint.Run(bg)
	t.Cleanup(func() { stop(); hs.Close(); a.store.Close() })
	return a, "http://" + ln.Addr().String()
}

type apiClient struct {
	t    *testing.T
	base string
	hc   *http.Client
}

func (c apiClient) get(path string) (int, map[string]any) { return c.do(http.MethodGet, path, "") }

func (c apiClient) do(method, path, body string) (int, map[string]any) {
	c.t.Helper()
	req, _ := http.NewRequest(method, c.base+path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		c.t.Fatalf("%s %s: %d %q", method, path, resp.StatusCode, raw)
	}
	return resp.StatusCode, m
}

func (c apiClient) ids(path string) []string {
	c.t.Helper()
	status, body := c.get(path)
	if status != http.StatusOK {
		c.t.Fatalf("GET %s: %d %v", path, status, body)
	}
	var out []string
	for _, it := range body["items"].([]any) {
		out = append(out, it.(map[string]any)["id"].(string))
	}
	return out
}

func bearer(t *testing.T, ctx context.Context, base string, tok *oauth2.Token) apiClient {
	return apiClient{t: t, base: base, hc: oauth2.NewClient(ctx, oauth2.StaticTokenSource(tok))}
}

// TestProtectedAPIEndToEnd drives the real wiring with real tokens from the
// token endpoint (PRODUCT R1-R3, A11).
func TestProtectedAPIEndToEnd(t *testing.T) {
	db := filepath.Join(t.TempDir(), "e2e.db")
	id := func(r ran, key string) string { return jsonOut(t, r)[key].(string) }
	orgA := id(run(t, db, "org", "create", "--name", "A", "--json"), "id")
	orgB := id(run(t, db, "org", "create", "--name", "B", "--json"), "id")
	fullA := jsonOut(t, run(t, db, "client", "create", "--org", orgA, "--name", "A backend", "--json"))
	readA := jsonOut(t, run(t, db, "client", "create", "--org", orgA, "--name", "A reader", "--scope", "read:*", "--json"))
	fullB := jsonOut(t, run(t, db, "client", "create", "--org", orgB, "--name", "B backend", "--json"))
	cusA1 := id(run(t, db, "customer", "create", "--org", orgA, "--email", "a1@example.com", "--first-name", "Anna", "--last-name", "A", "--json"), "id")
	cusA2 := id(run(t, db, "customer", "create", "--org", orgA, "--email", "a2@example.com", "--first-name", "Ada", "--last-name", "Lovelace", "--json"), "id")
	cusB := id(run(t, db, "customer", "create", "--org", orgB, "--email", "b@example.com", "--first-name", "Ada", "--last-name", "Lovelace", "--json"), "id")
	subA1 := id(run(t, db, "subscription", "create", "--customer", cusA1, "--street", "Torstraße", "--house-number", "119", "--zip", "10115", "--city", "Berlin", "--meter-number", "1APA0195124010", "--iban", "DE89370400440532013000", "--account-holder", "Ada Lovelace", "--json"), "id")
	subA2 := id(run(t, db, "subscription", "create", "--customer", cusA2, "--street", "Torstraße", "--house-number", "119", "--zip", "10115", "--city", "Berlin", "--meter-number", "1APA0195124010", "--iban", "DE89370400440532013000", "--account-holder", "Ada Lovelace", "--json"), "id")
	subB := id(run(t, db, "subscription", "create", "--customer", cusB, "--street", "Torstraße", "--house-number", "119", "--zip", "10115", "--city", "Berlin", "--meter-number", "1APA0195124010", "--iban", "DE89370400440532013000", "--account-holder", "Ada Lovelace", "--json"), "id")

	app, base := startApp(t, db, "--addr", "127.0.0.1:0", "--issuer", "http://127.0.0.1", "--dev",
		"--rate-limit", "0", "--address-rate-limit", "0", "--refresh-retry-window", "0s", "--revocation-poll", "50ms")
	ctx := t.Context()
	org := func(c map[string]any, scope ...string) apiClient {
		cc := clientcredentials.Config{ClientID: c["client_id"].(string), ClientSecret: c["client_secret"].(string),
			TokenURL: base + "/oauth/token", Scopes: scope}
		return apiClient{t: t, base: base, hc: cc.Client(ctx)}
	}
	a, b, reader := org(fullA), org(fullB), org(readA)

	t.Run("R3/orgs_do_not_see_each_other", func(t *testing.T) {
		if got := a.ids("/customers"); fmt.Sprint(got) != fmt.Sprint([]string{cusA2, cusA1}) {
			t.Fatalf("A's customers: %v", got)
		}
		if got := b.ids("/subscriptions"); fmt.Sprint(got) != fmt.Sprint([]string{subB}) {
			t.Fatalf("B's subscriptions: %v", got)
		}
		for _, path := range []string{"/customers/" + cusB, "/subscriptions/" + subB, "/subscriptions/" + subB + "/prices?start=2026-01-01&end=2026-01-02"} {
			if status, body := a.get(path); status != http.StatusNotFound || body["code"] != "NOT_FOUND" {
				t.Fatalf("A GET %s: %d %v", path, status, body)
			}
		}
		if got := a.ids("/customers?filter[email][eq]=b@example.com"); len(got) != 0 {
			t.Fatalf("A found B's customer by email: %v", got)
		}
		if status, _ := b.do(http.MethodPatch, "/customers/"+cusA1, `{"first_name":"Mallory"}`); status != http.StatusNotFound {
			t.Fatalf("B patched A's customer: %d", status)
		}
	})
	t.Run("R2/read_only_token_cannot_patch", func(t *testing.T) {
		status, body := reader.do(http.MethodPatch, "/customers/"+cusA1, `{"first_name":"Eve"}`)
		if status != http.StatusForbidden || body["error"] != "insufficient_scope" {
			t.Fatalf("%d %v", status, body)
		}
		status, body = a.do(http.MethodPatch, "/customers/"+cusA1, `{"first_name":"Annika"}`)
		if status != http.StatusOK || body["first_name"] != "Annika" {
			t.Fatalf("full token PATCH: %d %v", status, body)
		}
	})

	// A customer family stored as the authorization code grant stores
	// one, then refreshed over HTTP like any client would.
	firstRefresh, err := ids.Generator{Rand: rand.Reader}.RefreshToken()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if err := app.store.IssueRefreshToken(ctx, domain.Family{ID: "fam_e2ecustomer", ClientID: fullA["client_id"].(string), OrgID: orgA, CustomerID: cusA1,
		Scopes: domain.Scopes{domain.ScopeRead}, CreatedAt: now}, domain.RefreshToken{Hash: ids.Hash(firstRefresh), CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	codeConf := oauth2.Config{ClientID: fullA["client_id"].(string), ClientSecret: fullA["client_secret"].(string),
		Endpoint: oauth2.Endpoint{TokenURL: base + "/oauth/token", AuthStyle: oauth2.AuthStyleInHeader}}
	refreshed, err := codeConf.TokenSource(ctx, &oauth2.Token{RefreshToken: firstRefresh, Expiry: time.Now().Add(-time.Hour)}).Token()
	if err != nil {
		t.Fatal(err)
	}
	cus := bearer(t, ctx, base, refreshed)
	t.Run("R3/customer_token_sees_only_its_customer", func(t *testing.T) {
		if got := cus.ids("/customers"); fmt.Sprint(got) != fmt.Sprint([]string{cusA1}) {
			t.Fatalf("customers: %v", got)
		}
		if got := cus.ids("/subscriptions"); fmt.Sprint(got) != fmt.Sprint([]string{subA1}) {
			t.Fatalf("subscriptions: %v", got)
		}
		for _, path := range []string{"/customers/" + cusA2, "/subscriptions/" + subA2, "/subscriptions/" + subA2 + "/prices?start=2026-01-01&end=2026-01-01"} {
			if status, _ := cus.get(path); status != http.StatusNotFound {
				t.Fatalf("customer GET %s: %d", path, status)
			}
		}
		if status, _ := cus.get("/subscriptions/" + subA1 + "/prices?start=2026-01-01&end=2026-01-01"); status != http.StatusOK {
			t.Fatalf("own prices: %d", status)
		}
		if status, body := cus.do(http.MethodPatch, "/customers/"+cusA1, `{"first_name":"X"}`); status != http.StatusForbidden {
			t.Fatalf("customer PATCH: %d %v", status, body)
		}
	})
	t.Run("A11/revoked_family_fails_at_once", func(t *testing.T) {
		// Presenting the rotated first refresh token again is reuse: the
		// family dies, and its still-unexpired access token with it.
		_, err := codeConf.TokenSource(ctx, &oauth2.Token{RefreshToken: firstRefresh, Expiry: time.Now().Add(-time.Hour)}).Token()
		if err == nil {
			t.Fatal("reuse of a rotated refresh token succeeded")
		}
		status, body := cus.get("/customers/" + cusA1)
		if status != http.StatusUnauthorized || body["error"] != "invalid_token" {
			t.Fatalf("revoked token: %d %v", status, body)
		}
	})
	t.Run("A11/revocation_by_another_process_within_poll_bound", func(t *testing.T) {
		tok, err := (&clientcredentials.Config{ClientID: fullA["client_id"].(string), ClientSecret: fullA["client_secret"].(string),
			TokenURL: base + "/oauth/token"}).Token(ctx)
		if err != nil {
			t.Fatal(err)
		}
		c := bearer(t, ctx, base, tok)
		if status, _ := c.get("/customers"); status != http.StatusOK {
			t.Fatalf("before revocation: %d", status)
		}
		family := testfix.FamilyOf(t, tok.AccessToken)
		other, err := sqlite.Open(ctx, db) // as the CLI or another replica would
		if err != nil {
			t.Fatal(err)
		}
		defer other.Close()
		// The family has no row (issue 17): the revocation is its tombstone.
		unsealed := &store.Unsealed{Family: domain.Family{ID: family, ClientID: fullA["client_id"].(string), OrgID: orgA, CreatedAt: time.Now()},
			Token: domain.RefreshToken{ExpiresAt: time.Now().Add(time.Hour)}}
		if _, _, err := other.RevokeHeldFamily(ctx, family, "", unsealed, domain.System(time.Now()), func(domain.Family) bool { return true }); err != nil {
			t.Fatal(err)
		}
		// --revocation-poll is 50ms here; allow generous slack on a busy machine.
		deadline := time.Now().Add(5 * time.Second)
		for {
			status, _ := c.get("/customers")
			if status == http.StatusUnauthorized {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("revocation not in force after 5s: %d", status)
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}

// familyOf reads the family_id claim of an access token without verifying
// it: the test only needs to know which family to revoke.
