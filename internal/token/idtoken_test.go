package token

import (
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/google/go-cmp/cmp"

	"github.com/nomosauth/nomosauth/internal/domain"
)

var person = domain.Customer{ID: "cus_a", OrgID: "org_a", Email: "ada@example.com", FirstName: "Ada", LastName: "Lovelace", Type: domain.CustomerPerson}

func TestMintIDEachAlgorithm(t *testing.T) {
	for _, alg := range Algorithms() {
		t.Run("T12/"+alg, func(t *testing.T) {
			is, k := newIssuer(t, alg)
			access, err := is.Mint(grant, now)
			if err != nil {
				t.Fatal(err)
			}
			auth := now.Add(-2 * time.Minute)
			raw, err := is.MintID(IDToken{ClientID: "client_a", Customer: person, AuthTime: auth, Nonce: "n-0S6_WzA2Mj",
				Scopes: domain.Scopes{domain.ScopeOpenID, domain.ScopeEmail, domain.ScopeProfile}, AccessToken: access}, now)
			if err != nil {
				t.Fatal(err)
			}
			jws := parseCompact(t, raw, alg, k.ID, "JWT")
			pub, _ := is.Ring.publicKey(k.ID)
			payload, err := jws.Verify(pub.Key)
			if err != nil {
				t.Fatal(err)
			}
			var got map[string]any
			if err := json.Unmarshal(payload, &got); err != nil {
				t.Fatal(err)
			}
			want := map[string]any{
				"iss": "https://iss.example", "sub": "cus_a", "aud": "client_a",
				"exp": float64(now.Add(time.Hour).Unix()), "iat": float64(now.Unix()), "auth_time": float64(auth.Unix()),
				"nonce": "n-0S6_WzA2Mj", "at_hash": wantATHash(alg, access),
				"email": "ada@example.com", "email_verified": true,
				"name": "Ada Lovelace", "given_name": "Ada", "family_name": "Lovelace",
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Fatalf("claims (-want +got):\n%s", d)
			}
			// An ID token is never an access token (RFC 9068 §4: typ).
			if _, err := is.Verify(raw, now); err == nil {
				t.Fatal("an ID token verified as an access token")
			}
		})
	}
}

// wantATHash is Core §3.1.3.6 written out again: the left half of the hash.
func wantATHash(alg, access string) string {
	if alg == AlgEdDSA {
		sum := sha512.Sum512([]byte(access))
		return base64.RawURLEncoding.EncodeToString(sum[:32])
	}
	sum := sha256.Sum256([]byte(access))
	return base64.RawURLEncoding.EncodeToString(sum[:16])
}

func TestATHashKnownVector(t *testing.T) {
	// OpenID Connect Core Appendix A.3's access token and at_hash (RS256).
	got, err := ATHash(AlgRS256, "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y")
	if err != nil || got != "77QmUPtjPfzWtF2AnpK9RQ" {
		t.Fatalf("T12/at_hash = %q, %v", got, err)
	}
	if _, err := ATHash("HS256", "x"); err == nil {
		t.Fatal("T12/at_hash for an unsupported algorithm")
	}
}

func TestUserInfo(t *testing.T) {
	company := domain.Customer{ID: "cus_c", Email: "info@acme.example", CompanyName: "ACME GmbH", Type: domain.CustomerCompany}
	verified := true
	tests := []struct {
		name   string
		cust   domain.Customer
		scopes domain.Scopes
		want   UserClaims
	}{
		{"T12/openid_only_sub", person, domain.Scopes{domain.ScopeOpenID}, UserClaims{Subject: "cus_a"}},
		{"T12/email", person, domain.Scopes{domain.ScopeOpenID, domain.ScopeEmail}, UserClaims{Subject: "cus_a", Email: "ada@example.com", EmailVerified: &verified}},
		{"T12/profile", person, domain.Scopes{domain.ScopeOpenID, domain.ScopeProfile}, UserClaims{Subject: "cus_a", Name: "Ada Lovelace", GivenName: "Ada", FamilyName: "Lovelace"}},
		{"T12/profile_company_name", company, domain.Scopes{domain.ScopeOpenID, domain.ScopeProfile}, UserClaims{Subject: "cus_c", Name: "ACME GmbH"}},
		{"T12/profile_given_only", domain.Customer{ID: "cus_g", FirstName: "Grace"}, domain.Scopes{domain.ScopeProfile}, UserClaims{Subject: "cus_g", Name: "Grace", GivenName: "Grace"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if d := cmp.Diff(tt.want, UserInfo(tt.cust, tt.scopes)); d != "" {
				t.Fatalf("(-want +got):\n%s", d)
			}
		})
	}
}

func TestMintIDWithoutNonceOrAuthTime(t *testing.T) {
	is, k := newIssuer(t, AlgES256)
	raw, err := is.MintID(IDToken{ClientID: "client_a", Customer: person, Scopes: domain.Scopes{domain.ScopeOpenID}}, now)
	if err != nil {
		t.Fatal(err)
	}
	jws, _ := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.ES256})
	pub, _ := is.Ring.publicKey(k.ID)
	payload, _ := jws.Verify(pub.Key)
	var got map[string]any
	_ = json.Unmarshal(payload, &got)
	for _, absent := range []string{"nonce", "auth_time", "at_hash", "email", "name"} {
		if _, ok := got[absent]; ok {
			t.Errorf("T12/omit_empty: %s present in %v", absent, got)
		}
	}
}
