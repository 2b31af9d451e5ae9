package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/nomosauth/nomosauth/internal/testfix"
)

// TestRevokeAndIntrospectEndToEnd drives the binary with golang.org/x/oauth2
// tokens: the metadata names both endpoints, a resource server's
// introspection sees them live, the client revokes at logout, and from
// then on the API, introspection and the refresh grant all refuse the
// family (PRODUCT T9, T10).
func TestRevokeAndIntrospectEndToEnd(t *testing.T) {
	bin := binary(t)
	srv := start(t, bin, filepath.Join(t.TempDir(), "e2e.db"))
	id, secret := credentials(t, srv.stdout)
	ctx := context.Background()

	var md map[string]any
	resp, err := http.Get(srv.base + "/.well-known/oauth-authorization-server")
	if err != nil {
		t.Fatal(err)
	}
	err = json.NewDecoder(resp.Body).Decode(&md)
	resp.Body.Close()
	testfix.Check(t, err)
	if md["revocation_endpoint"] != "http://127.0.0.1/oauth/revoke" || md["introspection_endpoint"] != "http://127.0.0.1/oauth/introspect" {
		t.Fatalf("metadata: %v", md)
	}

	cc := clientcredentials.Config{ClientID: id, ClientSecret: secret, TokenURL: srv.base + "/oauth/token"}
	tok, err := cc.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	introspect := func(raw string) map[string]any {
		t.Helper()
		status, body := oauthPost(t, srv.base+"/oauth/introspect", url.Values{"token": {raw}}, id, secret)
		if status != http.StatusOK {
			t.Fatalf("introspection: %d %v", status, body)
		}
		return body
	}
	if got := introspect(tok.AccessToken); got["active"] != true || got["client_id"] != id || got["token_type"] != "Bearer" || got["exp"] == nil || got["org_id"] == nil {
		t.Fatalf("T10/live_access_token: %v", got)
	}
	if got := introspect(tok.RefreshToken); got["active"] != true || got["token_type"] != "refresh_token" {
		t.Fatalf("T10/live_refresh_token: %v", got)
	}

	// Logout: the client revokes its refresh token, as RFC 7009 §1 suggests.
	status, _ := oauthPost(t, srv.base+"/oauth/revoke", url.Values{"token": {tok.RefreshToken}, "token_type_hint": {"refresh_token"}}, id, secret)
	if status != http.StatusOK {
		t.Fatalf("revoke: %d", status)
	}
	if status := apiStatus(t, srv.base, tok.AccessToken); status != http.StatusUnauthorized {
		t.Fatalf("T9/access_token_refused_at_once: API answered %d", status)
	}
	for _, raw := range []string{tok.AccessToken, tok.RefreshToken} {
		if got := introspect(raw); len(got) != 1 || got["active"] != false {
			t.Fatalf("T10/revoked_inactive: %v", got)
		}
	}
	conf := oauth2.Config{ClientID: id, ClientSecret: secret, Endpoint: oauth2.Endpoint{TokenURL: srv.base + "/oauth/token"}}
	expired := &oauth2.Token{AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken, Expiry: time.Now().Add(-time.Minute)}
	var rerr *oauth2.RetrieveError
	if _, err := conf.TokenSource(ctx, expired).Token(); !errors.As(err, &rerr) || rerr.ErrorCode != "invalid_grant" {
		t.Fatalf("T9/refresh_refused: %v", err)
	}
	// Revoking again answers 200 and counts nothing (RFC 7009 §2.2).
	if status, _ := oauthPost(t, srv.base+"/oauth/revoke", url.Values{"token": {tok.AccessToken}}, id, secret); status != http.StatusOK {
		t.Fatalf("second revoke: %d", status)
	}
	if n := testfix.Scrape(t, srv.metricsURL(t)).Value("nomosauth_revocations_total", "source", "revoke_endpoint"); n != 1 {
		t.Fatalf("O7/revoke_endpoint: %v, want 1", n)
	}
}
