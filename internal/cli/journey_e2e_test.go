package cli

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/nomosauth/nomosauth/internal/mail/smtptest"
	"github.com/nomosauth/nomosauth/internal/pages/formclient"
)

// TestAuthorizationCodeEndToEnd drives the customer journey over HTTP on
// the real wiring with golang.org/x/oauth2 as the app, catching the emailed
// code with an in-process SMTP server (PRODUCT A1-A11, T6, T7).
func TestAuthorizationCodeEndToEnd(t *testing.T) {
	db := filepath.Join(t.TempDir(), "journey.db")
	id := func(r ran, key string) string { return jsonOut(t, r)[key].(string) }
	org := id(run(t, db, "org", "create", "--name", "Sunny Energy", "--json"), "id")
	created := jsonOut(t, run(t, db, "client", "create", "--org", org, "--name", "HomeHub",
		"--redirect-uri", "http://127.0.0.1/callback", "--json"))
	public := id(run(t, db, "client", "create", "--org", org, "--name", "Charger", "--public",
		"--redirect-uri", "http://127.0.0.1/callback", "--json"), "client_id")
	cus := id(run(t, db, "customer", "create", "--org", org, "--email", "ada@example.com", "--first-name", "Ada", "--last-name", "Lovelace", "--json"), "id")
	run(t, db, "subscription", "create", "--customer", cus, "--street", "Torstraße", "--house-number", "119", "--zip", "10115", "--city", "Berlin", "--meter-number", "1APA0195124010", "--iban", "DE89370400440532013000", "--account-holder", "Ada Lovelace", "--json")

	mailbox := smtptest.Start(t)
	_, base := startApp(t, db, "--dev", "--issuer", "http://127.0.0.1", "--smtp-url", mailbox.URL,
		"--mail-from", "noreply@auth.example", "--revocation-poll", "50ms", "--rate-limit", "0")
	ctx := context.Background()
	endpoint := oauth2.Endpoint{AuthURL: base + "/oauth/authorize", TokenURL: base + "/oauth/token"}
	app := &oauth2.Config{ClientID: created["client_id"].(string), ClientSecret: created["client_secret"].(string),
		Endpoint: endpoint, RedirectURL: "http://127.0.0.1:48123/callback/home", Scopes: []string{"read:*"}}

	verifier := oauth2.GenerateVerifier()
	browser := formclient.New(t, base)
	cb := browser.SignInAndAllow(app.AuthCodeURL("state-1", oauth2.S256ChallengeOption(verifier)), "ada@example.com", mailbox)
	q := cb.Query()
	if !strings.HasPrefix(cb.String(), app.RedirectURL+"?") || q.Get("state") != "state-1" || q.Get("iss") != "http://127.0.0.1" {
		t.Fatalf("A2/A6: callback %s", cb)
	}

	// T6: a wrong verifier fails and leaves the code usable.
	if _, err := app.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(oauth2.GenerateVerifier())); err == nil {
		t.Fatal("T6: a wrong verifier was accepted")
	}
	tok, err := app.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("T6: exchange: %v", err)
	}
	if tok.Extra("scope") != "read:*" || tok.RefreshToken == "" || tok.Expiry.Before(time.Now().Add(59*time.Minute)) {
		t.Fatalf("T4/T7: token %+v scope %v", tok, tok.Extra("scope"))
	}
	customer := bearer(t, ctx, base, tok)
	if ids := customer.ids("/customers"); len(ids) != 1 || ids[0] != cus {
		t.Fatalf("R3: the customer token sees %v", ids)
	}
	if status, _ := customer.do(http.MethodPatch, "/customers/"+cus, `{"first_name":"Eve"}`); status != http.StatusForbidden {
		t.Fatalf("T7: a customer token wrote: %d", status)
	}
	// The refresh token rotates like any other (PRODUCT T5).
	refreshed, err := app.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	if err != nil || refreshed.RefreshToken == tok.RefreshToken {
		t.Fatalf("refresh: %v", err)
	}
	if ids := bearer(t, ctx, base, refreshed).ids("/subscriptions"); len(ids) != 1 {
		t.Fatalf("refreshed customer token sees subscriptions %v", ids)
	}

	// T6: a second use of the code fails and revokes what it issued.
	if _, err := app.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier)); err == nil || !strings.Contains(err.Error(), "invalid_grant") {
		t.Fatalf("T6: replay: %v", err)
	}
	if status, _ := bearer(t, ctx, base, refreshed).get("/customers"); status != http.StatusUnauthorized {
		t.Fatalf("T6: tokens from a replayed code must die: %d", status)
	}

	// A public client: PKCE only. The session from above signs the customer
	// in, so the journey goes straight to consent.
	charger := &oauth2.Config{ClientID: public, Endpoint: oauth2.Endpoint{AuthURL: endpoint.AuthURL, TokenURL: endpoint.TokenURL,
		AuthStyle: oauth2.AuthStyleInParams}, RedirectURL: "http://127.0.0.1:51000/callback"}
	if status, loc := browser.Get(charger.AuthCodeURL("s2")); status != http.StatusFound || loc.Query().Get("error") != "invalid_request" {
		t.Fatalf("A5: a public client without PKCE: %d %v", status, loc)
	}
	pv := oauth2.GenerateVerifier()
	browser.Get(charger.AuthCodeURL("s2", oauth2.S256ChallengeOption(pv)))
	_, loc := browser.Submit("/oauth/consent", url.Values{"decision": {"allow"}})
	ptok, err := charger.Exchange(ctx, loc.Query().Get("code"), oauth2.VerifierOption(pv))
	if err != nil {
		t.Fatalf("public client exchange: %v", err)
	}
	chargerAPI := bearer(t, ctx, base, ptok)
	if ids := chargerAPI.ids("/customers"); len(ids) != 1 || ids[0] != cus {
		t.Fatalf("public client's token sees %v", ids)
	}

	// O2: the operator lists the customer's grants and revokes one from
	// another process; the running server refuses its tokens within the poll.
	var grants []any
	if err := json.Unmarshal([]byte(run(t, db, "grants", "list", "--customer", cus, "--json").stdout), &grants); err != nil {
		t.Fatal(err)
	}
	if len(grants) != 2 {
		t.Fatalf("grants list: %v", grants)
	}
	var chargerGrant string
	for _, g := range grants {
		if g := g.(map[string]any); g["client_id"] == public {
			chargerGrant = g["id"].(string)
			if g["client"] != "Charger" || g["scope"] != "read:*" {
				t.Fatalf("grant row %v", g)
			}
		}
	}
	run(t, db, "grants", "revoke", "--id", chargerGrant, "--json")
	deadline := time.Now().Add(5 * time.Second)
	for {
		status, _ := chargerAPI.get("/customers")
		if status == http.StatusUnauthorized {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("A11: a revoked grant's access token still works after 5 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := charger.TokenSource(ctx, &oauth2.Token{RefreshToken: ptok.RefreshToken}).Token(); err == nil {
		t.Fatal("A11: a revoked grant's refresh token still works")
	}

	// A11 on the page: the connected-apps page revokes at once.
	browser.Get(base + "/account/apps")
	if !strings.Contains(browser.Page, "HomeHub") || strings.Contains(browser.Page, "Charger") {
		t.Fatalf("connected apps:\n%s", browser.Page)
	}
	v2 := oauth2.GenerateVerifier()
	// Covered by the grant: straight back to the app, no consent page.
	tok3, err := app.Exchange(ctx, browser.Callback(app.AuthCodeURL("s3", oauth2.S256ChallengeOption(v2))).Query().Get("code"), oauth2.VerifierOption(v2))
	if err != nil {
		t.Fatal(err)
	}
	api3 := bearer(t, ctx, base, tok3)
	if status, _ := api3.get("/customers"); status != http.StatusOK {
		t.Fatalf("new token: %d", status)
	}
	browser.Get(base + "/account/apps")
	if status, _ := browser.Submit("/account/apps/revoke", nil); status != http.StatusOK || !strings.Contains(browser.Page, "No app has access") {
		t.Fatalf("revoke on the page: %d\n%s", status, browser.Page)
	}
	if status, _ := api3.get("/customers"); status != http.StatusUnauthorized {
		t.Fatalf("A11: revoked on the page, still accepted: %d", status)
	}
}
