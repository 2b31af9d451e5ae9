package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/nomosauth/nomosauth/internal/mail/smtptest"
	"github.com/nomosauth/nomosauth/internal/pages/formclient"
)

// runAs runs an admin command as the login user, as an operator's shell
// would (the audit log names them).
func runAs(t *testing.T, db, user string, args ...string) ran {
	t.Helper()
	var out, errOut bytes.Buffer
	env := map[string]string{"NOMOSAUTH_DB": db, "USER": user}
	code := Run(context.Background(), args, strings.NewReader(""), &out, &errOut, func(k string) string { return env[k] })
	return ran{code, out.String(), errOut.String()}
}

// auditRows is `audit list --json` with extra filters.
func auditRows(t *testing.T, db string, args ...string) []map[string]any {
	t.Helper()
	r := run(t, db, append([]string{"audit", "list", "--json", "--limit", "1000"}, args...)...)
	if r.code != 0 {
		t.Fatalf("audit list: exit %d: %s", r.code, r.stderr)
	}
	var rows []map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &rows); err != nil {
		t.Fatalf("audit list --json: %v: %q", err, r.stdout)
	}
	return rows
}

// TestAuditLogEndToEnd is PRODUCT O8 through the real wiring: operators at
// the CLI, customers on the hosted pages and clients at the token endpoint
// each leave the rows their changes write, with actor, source address and
// the request id the response carried; `audit list` filters them.
func TestAuditLogEndToEnd(t *testing.T) {
	db := filepath.Join(t.TempDir(), "audit.db")
	id := func(r ran, key string) string { return jsonOut(t, r)[key].(string) }
	org := id(run(t, db, "org", "create", "--name", "Sunny Energy", "--json"), "id")
	created := jsonOut(t, runAs(t, db, "alice", "client", "create", "--org", org, "--name", "HomeHub",
		"--redirect-uri", "http://127.0.0.1/callback", "--json"))
	client := created["client_id"].(string)
	public := id(runAs(t, db, "alice", "client", "create", "--org", org, "--name", "Charger", "--public",
		"--redirect-uri", "http://127.0.0.1/callback", "--json"), "client_id")
	cus := id(runAs(t, db, "alice", "customer", "create", "--org", org, "--email", "ada@example.com", "--first-name", "Ada", "--last-name", "Lovelace", "--json"), "id")

	mailbox := smtptest.Start(t)
	_, base := startApp(t, db, "--dev", "--issuer", "http://127.0.0.1", "--smtp-url", mailbox.URL,
		"--mail-from", "noreply@auth.example", "--rate-limit", "0", "--refresh-retry-window", "0s")
	ctx := context.Background()
	endpoint := oauth2.Endpoint{AuthURL: base + "/oauth/authorize", TokenURL: base + "/oauth/token"}
	app := &oauth2.Config{ClientID: client, ClientSecret: created["client_secret"].(string),
		Endpoint: endpoint, RedirectURL: "http://127.0.0.1:48123/callback", Scopes: []string{"read:*"}}

	// Sign in and allow; redeem the code, then replay it.
	browser := formclient.New(t, base)
	verifier := oauth2.GenerateVerifier()
	cb := browser.SignInAndAllow(app.AuthCodeURL("s1", oauth2.S256ChallengeOption(verifier)), "ada@example.com", mailbox)
	if _, err := app.Exchange(ctx, cb.Query().Get("code"), oauth2.VerifierOption(verifier)); err != nil {
		t.Fatal(err)
	}
	if _, err := app.Exchange(ctx, cb.Query().Get("code"), oauth2.VerifierOption(verifier)); err == nil {
		t.Fatal("T6: replay accepted")
	}

	// A new code (the grant covers it: no consent), its refresh token
	// rotated, then presented again: reuse, with the request id kept.
	verifier = oauth2.GenerateVerifier()
	cb = browser.Callback(app.AuthCodeURL("s2", oauth2.S256ChallengeOption(verifier)))
	tok, err := app.Exchange(ctx, cb.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	refresh := func() (int, string) {
		req, _ := http.NewRequest(http.MethodPost, endpoint.TokenURL, strings.NewReader(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(app.ClientID, app.ClientSecret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK && !strings.Contains(string(body), `"invalid_grant"`) {
			t.Fatalf("refresh: %d %s", resp.StatusCode, body)
		}
		return resp.StatusCode, resp.Header.Get("X-Request-Id")
	}
	if status, _ := refresh(); status != http.StatusOK {
		t.Fatalf("rotate: %d", status)
	}
	status, reuseRequest := refresh()
	if status == http.StatusOK || reuseRequest == "" {
		t.Fatalf("T5: reuse answered %d, request id %q", status, reuseRequest)
	}

	// The public client asks; the customer denies.
	charger := &oauth2.Config{ClientID: public, Endpoint: endpoint, RedirectURL: "http://127.0.0.1:51000/callback"}
	browser.Get(charger.AuthCodeURL("s3", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
	if _, loc := browser.Submit("/oauth/consent", url.Values{"decision": {"deny"}}); loc == nil || loc.Query().Get("error") != "access_denied" {
		t.Fatalf("A8: deny: %v", loc)
	}

	// The customer revokes HomeHub on the connected-apps page.
	grants := auditRows(t, db, "--action", "consent.given")
	if len(grants) != 1 {
		t.Fatalf("O8: consent.given rows %v", grants)
	}
	browser.Get(base + "/account/apps")
	if status, _ := browser.Submit("/account/apps/revoke", url.Values{"grant": {grants[0]["target_id"].(string)}}); status != http.StatusOK || strings.Contains(browser.Page, "HomeHub") {
		t.Fatalf("revoke on the apps page: %d\n%s", status, browser.Page)
	}

	// Someone else types five wrong codes for Ada's email: locked out.
	intruder := formclient.New(t, base)
	intruder.Get(app.AuthCodeURL("s4", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
	intruder.Submit("/signin", url.Values{"email": {"ada@example.com"}})
	mailbox.Next(t)
	for range 5 {
		intruder.Submit("/signin/verify", url.Values{"code": {"000000"}})
	}

	// Operators rotate the secret, disable the client, rotate the keys.
	runAs(t, db, "bob", "client", "rotate-secret", "--id", client, "--json")
	runAs(t, db, "bob", "client", "disable", "--id", client)
	runAs(t, db, "bob", "keys", "rotate", "--json")
	runAs(t, db, "bob", "keys", "rotate-seal", "--json")

	rows := auditRows(t, db)
	var got []string
	for i := len(rows) - 1; i >= 0; i-- {
		got = append(got, rows[i]["action"].(string))
	}
	want := []string{"client.created", "client.created", "customer.created", "signing_key.created", "seal_key.created", "signin.succeeded", "consent.given",
		"code.replayed", "refresh.reuse_detected", "consent.denied", "consent.revoked", "signin.locked_out",
		"client.secret_rotated", "client.disabled", "signing_key.rotated", "seal_key.rotated"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("O8: the log, oldest first:\n got %v\nwant %v", got, want)
	}
	byAction := map[string]map[string]any{}
	for _, r := range rows {
		byAction[r["action"].(string)] = r
	}
	for _, c := range []struct{ action, actor, addr, client, customer string }{
		{"client.disabled", "operator:bob", "", client, ""},
		{"customer.created", "operator:alice", "", "", cus},
		{"signing_key.created", "system", "", "", ""},
		{"signin.succeeded", "customer:" + cus, "127.0.0.1", "", cus},
		{"consent.given", "customer:" + cus, "127.0.0.1", client, cus},
		{"consent.denied", "customer:" + cus, "127.0.0.1", public, cus},
		{"consent.revoked", "customer:" + cus, "127.0.0.1", client, cus},
		{"code.replayed", "client:" + client, "127.0.0.1", client, cus},
		{"refresh.reuse_detected", "client:" + client, "127.0.0.1", client, cus},
		{"signin.locked_out", "system", "127.0.0.1", "", cus},
	} {
		r := byAction[c.action]
		actor := r["actor_kind"].(string)
		if id, _ := r["actor_id"].(string); id != "" {
			actor += ":" + id
		}
		addr, _ := r["source_addr"].(string)
		cl, _ := r["client_id"].(string)
		cu, _ := r["customer_id"].(string)
		if actor != c.actor || addr != c.addr || cl != c.client || cu != c.customer {
			t.Errorf("O8/%s: row %v, want actor %s from %q, client %q, customer %q", c.action, r, c.actor, c.addr, c.client, c.customer)
		}
		if rid, _ := r["request_id"].(string); c.addr != "" && rid == "" {
			t.Errorf("O8/%s: no request id", c.action)
		}
	}
	if got := byAction["refresh.reuse_detected"]["request_id"]; got != reuseRequest {
		t.Errorf("O8: reuse row's request id %v, the response said %q", got, reuseRequest)
	}
	raw, _ := json.Marshal(rows)
	for _, secret := range []string{created["client_secret"].(string), tok.RefreshToken, tok.AccessToken, cb.Query().Get("code"), "ada@example.com"} {
		if strings.Contains(string(raw), secret) {
			t.Fatal("O8: the audit log holds a secret, token or email")
		}
	}

	// Filters.
	for _, f := range []struct {
		args []string
		want int
	}{
		{[]string{"--customer", cus}, 8},
		{[]string{"--client", public}, 2}, // created, denied
		{[]string{"--action", "signin.locked_out"}, 1},
		{[]string{"--since", "2099-01-01T00:00:00Z"}, 0},
		{[]string{"--since", "1h"}, len(want)},
	} {
		if n := len(auditRows(t, db, f.args...)); n != f.want {
			t.Errorf("O8: audit list %v: %d rows, want %d", f.args, n, f.want)
		}
	}
	text := run(t, db, "audit", "list", "--limit", "2")
	if lines := strings.Split(strings.TrimSpace(text.stdout), "\n"); text.code != 0 || len(lines) != 2 || !strings.Contains(lines[0], "seal_key.rotated  operator:bob") ||
		!strings.Contains(text.stderr, "--before") {
		t.Fatalf("O8: audit list --limit 2: %d\n%s\n%s", text.code, text.stdout, text.stderr)
	}
	if r := run(t, db, "audit", "list", "--json", "--limit", "1"); r.code != 0 || !strings.Contains(r.stderr, "--before") {
		t.Fatalf("O8: a full --json page says how to get the next: %q", r.stderr)
	}
	for _, bad := range [][]string{{"--action", "nope"}, {"--since", "yesterday"}, {"--since", "-1h"}, {"--limit", "0"}, {"--limit", "5000"}, {"--before", "-3"}} {
		r := run(t, db, append([]string{"audit", "list"}, bad...)...)
		if r.code != exitUsage || r.stdout != "" || !strings.Contains(r.stderr, strings.TrimPrefix(bad[0], "--")) {
			t.Errorf("O8: audit list %v: exit %d, stderr %q", bad, r.code, r.stderr)
		}
	}
}
