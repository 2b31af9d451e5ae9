package token

import (
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash"
	"strings"
	"time"

	"github.com/nomosauth/nomosauth/internal/domain"
)

// IDTokenTTL is how long an ID token is valid: as long as the access token
// it comes with (PRODUCT T12).
const IDTokenTTL = AccessTTL

// UserClaims are the claims about the customer that both the ID token and
// /userinfo carry (PRODUCT T12; OpenID Connect Core §5.1, §5.4): sub always,
// email and email_verified with the email scope, the names with profile.
type UserClaims struct {
	Subject string `json:"sub"`
	Email   string `json:"email,omitempty"`
	// EmailVerified is true: a customer signs in only with a code sent to
	// that address (PRODUCT A7), so every ID token proves it.
	EmailVerified *bool  `json:"email_verified,omitempty"`
	Name          string `json:"name,omitempty"`
	GivenName     string `json:"given_name,omitempty"`
	FamilyName    string `json:"family_name,omitempty"`
}

// UserInfo is what scopes reveal of cust: the one rule behind the ID token
// and /userinfo (PRODUCT T12). sub is the customer id; empty names are left out.
func UserInfo(cust domain.Customer, scopes domain.Scopes) UserClaims {
	u := UserClaims{Subject: cust.ID}
	if scopes.Has(domain.ScopeEmail) && cust.Email != "" {
		verified := true
		u.Email, u.EmailVerified = cust.Email, &verified
	}
	if scopes.Has(domain.ScopeProfile) {
		u.GivenName, u.FamilyName = cust.FirstName, cust.LastName
		u.Name = strings.TrimSpace(cust.FirstName + " " + cust.LastName)
		if u.Name == "" {
			u.Name = cust.CompanyName
		}
	}
	return u
}

// IDClaims are the claims of an ID token (OpenID Connect Core §2, §3.1.3.6).
type IDClaims struct {
	Issuer    string `json:"iss"`
	Audience  string `json:"aud"`
	ExpiresAt int64  `json:"exp"`
	IssuedAt  int64  `json:"iat"`
	AuthTime  int64  `json:"auth_time,omitempty"`
	Nonce     string `json:"nonce,omitempty"`
	ATHash    string `json:"at_hash,omitempty"`
	UserClaims
}

// IDToken is what an ID token is minted for.
type IDToken struct {
	ClientID string // the aud claim
	Customer domain.Customer
	Scopes   domain.Scopes
	AuthTime time.Time // when the customer signed in; zero leaves auth_time out
	Nonce    string    // from the authorization request; "" leaves it out
	// AccessToken is the access token of the same response, for at_hash.
	AccessToken string
}

// MintID signs an ID token (PRODUCT T12) with the key that signs access
// tokens at now, so the access token of the same response and this one
// share the key, and at_hash is computed with its algorithm's hash.
func (is *Issuer) MintID(t IDToken, now time.Time) (string, error) {
	key, err := is.Ring.signingKey(now)
	if err != nil {
		return "", err
	}
	claims := IDClaims{
		Issuer: is.Issuer, Audience: t.ClientID,
		ExpiresAt: now.Add(IDTokenTTL).Unix(), IssuedAt: now.Unix(),
		Nonce: t.Nonce, UserClaims: UserInfo(t.Customer, t.Scopes),
	}
	if !t.AuthTime.IsZero() {
		claims.AuthTime = t.AuthTime.Unix()
	}
	if t.AccessToken != "" {
		if claims.ATHash, err = ATHash(key.record.Algorithm, t.AccessToken); err != nil {
			return "", err
		}
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("marshal ID token claims: %w", err)
	}
	jws, err := key.idSigner.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("sign ID token: %w", err)
	}
	raw, err := jws.CompactSerialize()
	if err != nil {
		return "", fmt.Errorf("serialize ID token: %w", err)
	}
	return raw, nil
}

// ATHash is at_hash (OpenID Connect Core §3.1.3.6): the base64url of the
// left half of the access token's hash under the hash of alg: SHA-256
// for ES256 and RS256, SHA-512 for EdDSA (Ed25519 hashes with SHA-512, as
// go-oidc and openid-client expect).
func ATHash(alg, accessToken string) (string, error) {
	var h hash.Hash
	switch alg {
	case AlgES256, AlgRS256:
		h = sha256.New()
	case AlgEdDSA:
		h = sha512.New()
	default:
		return "", fmt.Errorf("at_hash: unsupported algorithm %q", alg)
	}
	h.Write([]byte(accessToken))
	sum := h.Sum(nil)
	return base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2]), nil
}
