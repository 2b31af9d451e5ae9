package main

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/nomosauth/nomosauth/internal/mail/smtptest"
	"github.com/nomosauth/nomosauth/internal/pages/formclient"
)

// freeAddr is a loopback address nothing listens on, so the issuer can
// name the port the server will take: go-oidc requires the discovery
// document's issuer to be exactly the URL it was asked for.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestOpenIDConnectEndToEnd is PRODUCT T12 on the binary with unmodified
// standard relying-party libraries: coreos/go-oidc discovers the server,
// verifies the ID token (signature, iss, aud, exp, nonce, at_hash) and
// reads /userinfo; golang.org/x/oauth2 runs the code flow; prompt=none
// and max_age decide about the hosted pages.
func TestOpenIDConnectEndToEnd(t *testing.T) {
	bin := binary(t)
	mailbox := smtptest.Start(t)
	addr := freeAddr(t)
	issuer := "http://" + addr
	srv := start(t, bin, filepath.Join(t.TempDir(), "oidc.db"), "--addr", addr, "--issuer", issuer,
		"--smtp-url", mailbox.URL, "--mail-from", "noreply@auth.example")
	clientID, clientSecret := credentials(t, srv.stdout)
	ctx := context.Background()

	provider, err := oidc.NewProvider(ctx, issuer)
	if err != nil {
		t.Fatalf("T12: go-oidc refuses the discovery document: %v", err)
	}
	verifier := provider.Verifier(&oidc.Config{ClientID: clientID})
	app := &oauth2.Config{ClientID: clientID, ClientSecret: clientSecret, Endpoint: provider.Endpoint(),
		RedirectURL: "http://127.0.0.1:3000/callback", Scopes: []string{oidc.ScopeOpenID, "email", "profile"}}
	browser := formclient.New(t, srv.base)

	// prompt=none without a session: login_required, back at the app.
	status, loc := browser.Get(app.AuthCodeURL("s0", oauth2.SetAuthURLParam("prompt", "none"), oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
	if status != http.StatusFound || loc.Query().Get("error") != "login_required" || loc.Query().Get("state") != "s0" || loc.Query().Get("iss") != issuer {
		t.Fatalf("T12/prompt_none_no_session: %d %v", status, loc)
	}

	// The code flow with a nonce.
	nonce, pkce := "n-"+oauth2.GenerateVerifier()[:20], oauth2.GenerateVerifier()
	cb := browser.SignInAndAllow(app.AuthCodeURL("s1", oidc.Nonce(nonce), oauth2.S256ChallengeOption(pkce)), "demo@example.com", mailbox)
	tok, err := app.Exchange(ctx, cb.Query().Get("code"), oauth2.VerifierOption(pkce))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := tok.Extra("id_token").(string)
	idToken, err := verifier.Verify(ctx, raw)
	if err != nil {
		t.Fatalf("T12: go-oidc refuses the ID token: %v", err)
	}
	if idToken.Nonce != nonce {
		t.Fatalf("T12/nonce: %q, want %q", idToken.Nonce, nonce)
	}
	if err := idToken.VerifyAccessToken(tok.AccessToken); err != nil {
		t.Fatalf("T12/at_hash: %v", err)
	}
	var claims struct {
		Email         string `json:"email"`
		EmailVerified bool   `json:"email_verified"`
		Name          string `json:"name"`
		AuthTime      int64  `json:"auth_time"`
	}
	if err := idToken.Claims(&claims); err != nil || claims.Email != "demo@example.com" || !claims.EmailVerified ||
		claims.Name != "Max Mustermann" || !strings.HasPrefix(idToken.Subject, "cus_") || claims.AuthTime == 0 {
		t.Fatalf("T12/claims: %+v sub %q (%v)", claims, idToken.Subject, err)
	}
	info, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		t.Fatalf("T12/userinfo: %v", err)
	}
	if info.Subject != idToken.Subject || info.Email != "demo@example.com" || !info.EmailVerified {
		t.Fatalf("T12/userinfo: %+v", info)
	}

	// prompt=none with the session and a covering grant: a code, no page.
	pkce = oauth2.GenerateVerifier()
	cb = browser.Callback(app.AuthCodeURL("s2", oauth2.SetAuthURLParam("prompt", "none"), oidc.Nonce("n2"), oauth2.S256ChallengeOption(pkce)))
	tok2, err := app.Exchange(ctx, cb.Query().Get("code"), oauth2.VerifierOption(pkce))
	if err != nil {
		t.Fatal(err)
	}
	second, err := verifier.Verify(ctx, tok2.Extra("id_token").(string))
	if err != nil || second.Nonce != "n2" || second.Subject != idToken.Subject {
		t.Fatalf("T12/prompt_none_with_session: %v %v", second, err)
	}

	// max_age=0: the session is too old whatever its age, so the customer
	// signs in again (the pages' tests pin auth_time to the new sign-in
	// with a fake clock).
	pkce = oauth2.GenerateVerifier()
	if status, _ := browser.Get(app.AuthCodeURL("s3", oauth2.SetAuthURLParam("max_age", "0"), oauth2.S256ChallengeOption(pkce))); status != http.StatusOK ||
		!strings.Contains(browser.Page, `name="email"`) {
		t.Fatalf("T12/max_age: want the sign-in page, got %d", status)
	}
	browser.Submit("/signin", url.Values{"email": {"demo@example.com"}})
	_, loc = browser.Submit("/signin/verify", url.Values{"code": {formclient.EmailedCode(mailbox.Next(t).Text)}})
	if loc == nil || loc.Query().Get("code") == "" {
		t.Fatalf("T12/max_age: no code after the sign-in:\n%s", browser.Page)
	}
	tok3, err := app.Exchange(ctx, loc.Query().Get("code"), oauth2.VerifierOption(pkce))
	if err != nil {
		t.Fatal(err)
	}
	third, err := verifier.Verify(ctx, tok3.Extra("id_token").(string))
	if err != nil {
		t.Fatal(err)
	}
	var again struct {
		AuthTime int64 `json:"auth_time"`
	}
	if err := third.Claims(&again); err != nil || again.AuthTime < claims.AuthTime {
		t.Fatalf("T12/max_age: auth_time %d, want at or after %d (%v)", again.AuthTime, claims.AuthTime, err)
	}
}

// TestMetadataOfAPathIssuer is RFC 8414 §3.1 for an issuer with a path
// (behind a proxy that maps it onto this server): the metadata is also at
// the well-known name with the path appended, and names that issuer.
func TestMetadataOfAPathIssuer(t *testing.T) {
	bin := binary(t)
	srv := start(t, bin, filepath.Join(t.TempDir(), "path.db"), "--issuer", "http://127.0.0.1/tenant")
	for _, path := range []string{"/.well-known/oauth-authorization-server/tenant", "/.well-known/oauth-authorization-server"} {
		resp, err := http.Get(srv.base + path)
		if err != nil {
			t.Fatal(err)
		}
		var meta map[string]any
		err = json.NewDecoder(resp.Body).Decode(&meta)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK || meta["issuer"] != "http://127.0.0.1/tenant" || meta["token_endpoint"] != "http://127.0.0.1/tenant/oauth/token" {
			t.Fatalf("RFC 8414 §3.1: %s: %d %v (%v)", path, resp.StatusCode, meta, err)
		}
	}
}
