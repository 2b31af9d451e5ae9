package main

import (
	"context"
	"database/sql"
	"net/http"
	"net/url"
	"path/filepath"
	"syscall"
	"testing"

	"golang.org/x/oauth2/clientcredentials"

	"github.com/nomosauth/nomosauth/internal/seal"
	"github.com/nomosauth/nomosauth/internal/testfix"
)

// familyRows counts the rows of family id in the SQLite database db,
// read by a connection of the test's own.
func familyRows(t *testing.T, db, id string) int {
	t.Helper()
	conn, err := sql.Open("sqlite", "file:"+db+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var n int
	if err := conn.QueryRow(`SELECT COUNT(*) FROM families WHERE id = ?`, id).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// kill ends a server with SIGKILL: no shutdown, nothing flushed.
func kill(t *testing.T, r *running) {
	t.Helper()
	if err := r.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	r.cmd.Wait()
}

// sealedPair issues a client-credentials pair from the server at base
// and checks its refresh token is sealed and its family has no row.
func sealedPair(t *testing.T, base, db, id, secret string) (access, refresh, family string) {
	t.Helper()
	tok, err := (&clientcredentials.Config{ClientID: id, ClientSecret: secret, TokenURL: base + "/oauth/token"}).Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	family = testfix.FamilyOf(t, tok.AccessToken)
	if !seal.IsSealed(tok.RefreshToken) || familyRows(t, db, family) != 0 {
		t.Fatalf("issue 17: refresh token sealed %v, family rows %d; want a sealed token and no row", seal.IsSealed(tok.RefreshToken), familyRows(t, db, family))
	}
	return tok.AccessToken, tok.RefreshToken, family
}

// TestIssue17SealedTokenSurvivesRestart is issue 17's "a sealed first
// token survives a restart (SIGKILL) and refreshes": nothing of it was
// written, yet after a crash the server started again on the same
// database opens it (the seal key is stored) and creates its family.
func TestIssue17SealedTokenSurvivesRestart(t *testing.T) {
	bin := binary(t)
	db := filepath.Join(t.TempDir(), "sealed.db")
	srv := start(t, bin, db)
	id, secret := credentials(t, srv.stdout)
	_, refresh, family := sealedPair(t, srv.base, db, id, secret)
	kill(t, srv)

	again := start(t, bin, db)
	status, body, err := postForm(again.base, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}}, id, secret)
	if err != nil || status != http.StatusOK {
		t.Fatalf("refresh after SIGKILL: %d %v %v", status, body, err)
	}
	if familyRows(t, db, family) != 1 {
		t.Fatal("the first refresh did not create the family")
	}
}

// TestIssue17RevokedUnmaterializedStaysRevoked is issue 17's "a revoked
// unmaterialized family stays revoked after restart": the revocation
// endpoint's tombstone is committed, so after SIGKILL and a new start the
// sealed token is invalid_grant and its access token refused by the API.
func TestIssue17RevokedUnmaterializedStaysRevoked(t *testing.T) {
	bin := binary(t)
	db := filepath.Join(t.TempDir(), "tombstone.db")
	srv := start(t, bin, db)
	id, secret := credentials(t, srv.stdout)
	access, refresh, family := sealedPair(t, srv.base, db, id, secret)
	if status, _ := oauthPost(t, srv.base+"/oauth/revoke", url.Values{"token": {refresh}}, id, secret); status != http.StatusOK {
		t.Fatalf("revoke: %d", status)
	}
	kill(t, srv)

	again := start(t, bin, db)
	status, body, err := postForm(again.base, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}}, id, secret)
	if err != nil || status != http.StatusUnauthorized || body["error"] != "invalid_grant" {
		t.Fatalf("refresh of a revoked sealed token after restart: %d %v %v", status, body, err)
	}
	if s := apiStatus(t, again.base, access); s != http.StatusUnauthorized {
		t.Fatalf("A11: the revoked family's access token answers %d after restart", s)
	}
	if familyRows(t, db, family) != 1 {
		t.Fatal("the tombstone row is missing")
	}
}
