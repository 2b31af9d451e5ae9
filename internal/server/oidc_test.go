package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/nomosauth/nomosauth/internal/admin"
	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/ids"
	"github.com/nomosauth/nomosauth/internal/testfix"
	"github.com/nomosauth/nomosauth/internal/token"
)

var oidcScopes = domain.Scopes{domain.ScopeRead, domain.ScopeOpenID, domain.ScopeEmail, domain.ScopeProfile}

// seedOIDCCode is seedCode with the nonce and sign-in time the pages store
// for an OpenID Connect request, for a customer with names.
func (f *fixture) seedOIDCCode(t *testing.T, scopes domain.Scopes, nonce string, authTime time.Time) (string, domain.Customer) {
	t.Helper()
	ctx := context.Background()
	cus, err := f.admin.CreateCustomer(ctx, admin.CustomerSpec{OrgID: f.public.OrgID, FirstName: "Ada", LastName: "Lovelace",
		Email: "ada" + time.Now().Format("150405.000000000") + "@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	now := f.clock.Now()
	g, err := f.store.UpsertGrant(ctx, domain.Grant{ID: "grt_" + cus.ID, CustomerID: cus.ID, ClientID: f.public.ID, OrgID: f.public.OrgID,
		Scopes: scopes, CreatedAt: now, UpdatedAt: now}, domain.System(now))
	if err != nil {
		t.Fatal(err)
	}
	code := "nac_" + cus.ID
	sum := sha256.Sum256([]byte(codeVerifier))
	err = f.store.CreateCode(ctx, domain.AuthCode{Hash: ids.Hash(code), ClientID: f.public.ID, OrgID: f.public.OrgID, CustomerID: cus.ID,
		GrantID: g.ID, RedirectURI: "com.example.app:/cb", Challenge: base64.RawURLEncoding.EncodeToString(sum[:]), ChallengeMethod: "S256",
		Scopes: scopes, CreatedAt: now, ExpiresAt: now.Add(10 * time.Minute), Nonce: nonce, AuthTime: authTime})
	if err != nil {
		t.Fatal(err)
	}
	return code, cus
}

// idClaims checks an ID token's header and signature against the
// published JWKS and returns its claims.
func (f *fixture) idClaims(t *testing.T, raw string) (map[string]any, string) {
	t.Helper()
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(f.do(mustRequest(http.MethodGet, f.srv.URL+PathJWKS)).raw, &set); err != nil {
		t.Fatal(err)
	}
	jws, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.ES256, jose.RS256, jose.EdDSA})
	if err != nil {
		t.Fatal(err)
	}
	h := jws.Signatures[0].Protected
	keys := set.Key(h.KeyID)
	if len(keys) != 1 || h.ExtraHeaders[jose.HeaderType] != "JWT" {
		t.Fatalf("T12: ID token header %+v", h)
	}
	payload, err := jws.Verify(keys[0].Key)
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	return claims, h.Algorithm
}

// TestIDTokenFromCode is PRODUCT T12 at the token endpoint.
func TestIDTokenFromCode(t *testing.T) {
	f := newFixture(t)
	authTime := f.clock.Now().Add(-90 * time.Second)
	code, cus := f.seedOIDCCode(t, oidcScopes, "n-0S6_WzA2Mj", authTime)
	r := f.redeem(code, codeVerifier)
	mustOK(t, r)
	if r.body["scope"] != "read:* openid email profile" {
		t.Fatalf("T12/scope: %v", r.body["scope"])
	}
	raw, _ := r.body["id_token"].(string)
	claims, alg := f.idClaims(t, raw)
	access := r.body["access_token"].(string)
	atHash, _ := token.ATHash(alg, access)
	now := f.clock.Now()
	want := map[string]any{"iss": testIssuer, "sub": cus.ID, "aud": f.public.ID, "exp": float64(now.Add(time.Hour).Unix()),
		"iat": float64(now.Unix()), "auth_time": float64(authTime.Unix()), "nonce": "n-0S6_WzA2Mj", "at_hash": atHash,
		"email": cus.Email, "email_verified": true, "name": "Ada Lovelace", "given_name": "Ada", "family_name": "Lovelace"}
	for k, v := range want {
		if claims[k] != v {
			t.Errorf("T12/claims: %s = %v, want %v", k, claims[k], v)
		}
	}
	if len(claims) != len(want) {
		t.Errorf("T12/claims: %v", claims)
	}
	// T7: openid widens nothing at the API: the access token stays read-only.
	at, err := f.issuer.Verify(access, now)
	if err != nil || at.Scope != "read:* openid email profile" || strings.Contains(at.Scope, "write") {
		t.Fatalf("T7: %+v %v", at, err)
	}
	if n := testfix.Gather(t, f.registry).Value("nomosauth_id_tokens_issued_total"); n != 1 {
		t.Fatalf("O7: id tokens issued %v", n)
	}

	// Core §12.2: the refresh grant keeps the scopes and returns no ID token.
	rr := f.post(form, "grant_type=refresh_token&client_id="+f.public.ID+"&refresh_token="+url.QueryEscape(r.body["refresh_token"].(string)))
	mustOK(t, rr)
	if rr.body["scope"] != "read:* openid email profile" || rr.body["id_token"] != nil {
		t.Fatalf("T12/refresh: %s", rr.raw)
	}
}

func TestIDTokenNeedsOpenID(t *testing.T) {
	f := newFixture(t)
	code, _ := f.seedOIDCCode(t, domain.Scopes{domain.ScopeRead}, "n", f.clock.Now())
	r := f.redeem(code, codeVerifier)
	mustOK(t, r)
	if _, ok := r.body["id_token"]; ok {
		t.Fatalf("T12/no_openid_no_id_token: %s", r.raw)
	}
	// openid without email or profile: sub only, and no nonce when none was sent.
	code, cus := f.seedOIDCCode(t, domain.Scopes{domain.ScopeOpenID}, "", time.Time{})
	r = f.redeem(code, codeVerifier)
	mustOK(t, r)
	claims, _ := f.idClaims(t, r.body["id_token"].(string))
	if claims["sub"] != cus.ID || claims["email"] != nil || claims["name"] != nil || claims["nonce"] != nil {
		t.Fatalf("T12/openid_only: %v", claims)
	}
}

func TestClientCredentialsRefusesOpenID(t *testing.T) {
	f := newFixture(t)
	for _, scope := range []string{"openid", "read:* openid", "openid email profile"} {
		checkEnvelope(t, f.clientCredentials(scope), 400, "BAD_REQUEST", "invalid_scope")
	}
}

func TestOpenIDConfiguration(t *testing.T) {
	f := newFixture(t)
	oidc := f.do(mustRequest(http.MethodGet, f.srv.URL+PathOpenIDConfiguration))
	plain := f.do(mustRequest(http.MethodGet, f.srv.URL+PathMetadata))
	if oidc.status != 200 || oidc.header.Get("Content-Type") != "application/json" {
		t.Fatalf("T12: %d %v", oidc.status, oidc.header)
	}
	testfix.Golden(t, "testdata/openid-configuration.json", oidc.raw, *update)
	if !bytes.Equal(oidc.raw, plain.raw) {
		t.Fatal("T12: the two metadata documents differ")
	}
	var md Metadata
	if err := json.Unmarshal(oidc.raw, &md); err != nil {
		t.Fatal(err)
	}
	switch {
	case md.Issuer != testIssuer, md.UserInfoEndpoint != testIssuer+"/userinfo",
		!slices.Equal(md.SubjectTypesSupported, []string{"public"}),
		!slices.Equal(md.IDTokenSigningAlgValuesSupported, token.Algorithms()),
		!slices.Contains(md.ScopesSupported, "openid"), !slices.Contains(md.ScopesSupported, "email"), !slices.Contains(md.ScopesSupported, "profile"),
		!slices.Contains(md.ClaimsSupported, "email_verified"), !slices.Equal(md.ResponseTypesSupported, []string{"code"}):
		t.Fatalf("T12: %s", oidc.raw)
	}
}

// userinfo sends GET or POST /userinfo with the Authorization header auth.
func (f *fixture) userinfo(method, auth string) result {
	req := mustRequest(method, f.srv.URL+"/userinfo")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	return f.do(req)
}

// TestUserInfo is PRODUCT T12's /userinfo (OpenID Connect Core §5.3).
func TestUserInfo(t *testing.T) {
	f := newFixture(t)
	code, cus := f.seedOIDCCode(t, domain.Scopes{domain.ScopeRead, domain.ScopeOpenID, domain.ScopeEmail}, "n", f.clock.Now())
	r := f.redeem(code, codeVerifier)
	mustOK(t, r)
	access, idToken := r.body["access_token"].(string), r.body["id_token"].(string)
	noOpenID, _ := f.seedOIDCCode(t, domain.Scopes{domain.ScopeRead}, "", time.Time{})
	plain := f.redeem(noOpenID, codeVerifier)
	mustOK(t, plain)
	cc := f.clientCredentials("read:*")
	mustOK(t, cc)

	for _, method := range []string{http.MethodGet, http.MethodPost} {
		t.Run("T12/"+method, func(t *testing.T) {
			r := f.userinfo(method, "Bearer "+access)
			if r.status != 200 || r.header.Get("Cache-Control") != "no-store" {
				t.Fatalf("%d %s", r.status, r.raw)
			}
			want := map[string]any{"sub": cus.ID, "email": cus.Email, "email_verified": true}
			if len(r.body) != len(want) || r.body["sub"] != want["sub"] || r.body["email"] != want["email"] || r.body["email_verified"] != true {
				t.Fatalf("claims %s", r.raw)
			}
		})
	}
	refusals := []struct {
		name, auth string
		status     int
		code, err  string
		challenge  string
	}{
		{"T12/no_token", "", 401, "UNAUTHORIZED", "invalid_token", `Bearer error="invalid_token"`},
		{"T12/garbage", "Bearer abc.def.ghi", 401, "UNAUTHORIZED", "invalid_token", `Bearer error="invalid_token"`},
		{"T12/id_token_is_no_access_token", "Bearer " + idToken, 401, "UNAUTHORIZED", "invalid_token", `Bearer error="invalid_token"`},
		{"T12/without_openid", "Bearer " + plain.body["access_token"].(string), 403, "FORBIDDEN", "insufficient_scope", `Bearer error="insufficient_scope", scope="openid"`},
		{"T12/client_credentials", "Bearer " + cc.body["access_token"].(string), 403, "FORBIDDEN", "insufficient_scope", `Bearer error="insufficient_scope", scope="openid"`},
	}
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			r := f.userinfo(http.MethodGet, tt.auth)
			checkEnvelope(t, r, tt.status, tt.code, tt.err)
			if got := r.header.Get("WWW-Authenticate"); got != tt.challenge {
				t.Fatalf("WWW-Authenticate %q, want %q", got, tt.challenge)
			}
		})
	}
	t.Run("T12/T9/revoked_at_the_revocation_endpoint", func(t *testing.T) {
		mustRevokeOK(t, f.revoke(access, f.public.ID, ""))
		r := f.userinfo(http.MethodGet, "Bearer "+access)
		checkEnvelope(t, r, 401, "UNAUTHORIZED", "invalid_token")
	})
}
