package server

import (
	"net/url"
	"testing"
	"time"

	"github.com/nomosauth/nomosauth/internal/domain"
)

const codeVerifier = "code-verifier-0123456789-0123456789-0123456789"

// seedCode stores a grant and an S256 code for the public client, as the
// consent page would, and returns the code.
func (f *fixture) seedCode(t *testing.T, scopes domain.Scopes) (string, domain.Customer) {
	t.Helper()
	return f.seedOIDCCode(t, scopes, "", time.Time{})
}

func (f *fixture) redeem(code, verifier string) result {
	return f.post(form, "grant_type=authorization_code&client_id="+f.public.ID+"&redirect_uri="+url.QueryEscape("com.example.app:/cb")+
		"&code="+url.QueryEscape(code)+"&code_verifier="+url.QueryEscape(verifier))
}

// TestAuthorizationCodeGrant is PRODUCT T6 and T7 at the token endpoint.
func TestAuthorizationCodeGrant(t *testing.T) {
	f := newFixture(t)
	// The stored scopes carry write:* to show T7 holds at the endpoint too.
	code, cus := f.seedCode(t, domain.APIScopes())

	before := f.snapshot()
	r := f.redeem(code, codeVerifier+"x")
	checkEnvelope(t, r, 401, "UNAUTHORIZED", "invalid_grant")
	if f.snapshot() != before {
		t.Fatal("a failed redemption changed data")
	}

	r = f.redeem(code, codeVerifier)
	mustOK(t, r)
	if r.body["scope"] != "read:*" || r.body["token_type"] != "Bearer" || r.body["expires_in"] != float64(3600) || r.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("T4/T7: %v", r.body)
	}
	claims, err := f.issuer.Verify(r.body["access_token"].(string), f.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if claims.CustomerID != cus.ID || claims.Scope != "read:*" || claims.ClientID != f.public.ID {
		t.Fatalf("T7: claims %+v", claims)
	}

	// The refresh token of a customer family rotates and stays read-only.
	rr := f.post(form, "grant_type=refresh_token&client_id="+f.public.ID+"&refresh_token="+url.QueryEscape(r.body["refresh_token"].(string)))
	mustOK(t, rr)
	if rr.body["scope"] != "read:*" {
		t.Fatalf("T7: refreshed scope %v", rr.body["scope"])
	}
	if wide := f.post(form, "grant_type=refresh_token&client_id="+f.public.ID+"&scope="+url.QueryEscape("read:* write:*")+
		"&refresh_token="+url.QueryEscape(rr.body["refresh_token"].(string))); wide.status != 400 {
		t.Fatalf("T7: a refresh widened a customer token to write: %d %s", wide.status, wide.raw)
	}

	// T6: the second use fails and revokes every token issued from the code.
	replay := f.redeem(code, codeVerifier)
	checkEnvelope(t, replay, 401, "UNAUTHORIZED", "invalid_grant")
	if !f.tokensSrv.Revoker.Set.Revoked(claims.FamilyID) {
		t.Fatal("T6: the replay must revoke the first redemption's access tokens at once")
	}
	gone := f.post(form, "grant_type=refresh_token&client_id="+f.public.ID+"&refresh_token="+url.QueryEscape(rr.body["refresh_token"].(string)))
	checkEnvelope(t, gone, 401, "UNAUTHORIZED", "invalid_grant")
}

func TestAuthorizationCodeExpires(t *testing.T) {
	f := newFixture(t)
	code, _ := f.seedCode(t, domain.Scopes{domain.ScopeRead})
	f.clock.Advance(10 * time.Minute)
	checkEnvelope(t, f.redeem(code, codeVerifier), 401, "UNAUTHORIZED", "invalid_grant")
}

func TestAuthorizationCodeOtherClient(t *testing.T) {
	f := newFixture(t)
	code, _ := f.seedCode(t, domain.Scopes{domain.ScopeRead})
	r := f.post(form, "grant_type=authorization_code&redirect_uri="+url.QueryEscape("com.example.app:/cb")+"&code="+url.QueryEscape(code)+
		"&code_verifier="+codeVerifier, f.client.ID, f.secret)
	checkEnvelope(t, r, 401, "UNAUTHORIZED", "invalid_grant")
	mustOK(t, f.redeem(code, codeVerifier)) // the rightful client still can
}
