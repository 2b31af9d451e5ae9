package oauth

import (
	"net/url"
	"strings"
	"time"

	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/problem"
)

// The rules of the revocation (RFC 7009, PRODUCT T9) and introspection
// (RFC 7662, PRODUCT T10) endpoints: what a client presents, which of our
// token kinds it can be, whose family a client may revoke, who may
// introspect, and what an introspection answers.

// TokenKind is which of the server's tokens a presented string can be.
type TokenKind int

// The token kinds.
const (
	TokenUnknown TokenKind = iota // neither: nothing to look up
	TokenAccess                   // a JWT access token (PRODUCT T8)
	TokenRefresh                  // a refresh token, looked up by its hash
)

// Token type hints of RFC 7009 §2.1 (the OAuth Token Type Hints registry),
// also the token_type an introspection answers for a refresh token.
const (
	HintAccessToken  = "access_token"
	HintRefreshToken = "refresh_token"
)

// TokenQuery is a parsed revocation or introspection request.
type TokenQuery struct {
	Token string
	// Hint is token_type_hint as sent. It never changes the answer: the
	// token's shape says which kind it can be (KindOf), so every kind it
	// could be is searched whatever the hint (RFC 7009 §2.1, RFC 7662 §2.1).
	Hint string
}

// ParseTokenQuery reads token and token_type_hint (RFC 7009 §2.1, RFC 7662
// §2.1); the body decoder has already refused repeated parameters
// (PRODUCT T2). A missing token is invalid_request; an unknown hint is
// ignored.
func ParseTokenQuery(params url.Values) (TokenQuery, error) {
	q := TokenQuery{Token: params.Get("token"), Hint: params.Get("token_type_hint")}
	if q.Token == "" {
		return TokenQuery{}, problem.InvalidRequest("token is required")
	}
	return q, nil
}

// refreshTokenPrefix is ids.PrefixRefreshToken: every refresh token we
// issue starts with it, and none has a dot.
const refreshTokenPrefix = "nrt_"

// maxPresentedToken bounds what is looked up at all: our tokens are well
// under it (PRODUCT S4).
const maxPresentedToken = 4096

// KindOf says which of our tokens raw can be, by its shape alone: a JWT
// has three dot-separated segments, a refresh token our prefix and no dot.
// Anything else is no token of ours and needs no lookup; the endpoints
// answer it as unknown (RFC 7009 §2.2, RFC 7662 §2.2).
func KindOf(raw string) TokenKind {
	switch {
	case raw == "" || len(raw) > maxPresentedToken:
		return TokenUnknown
	case strings.Count(raw, ".") == 2:
		return TokenAccess
	case strings.HasPrefix(raw, refreshTokenPrefix) && !strings.Contains(raw, "."):
		return TokenRefresh
	}
	return TokenUnknown
}

// MayRevoke is PRODUCT T9's ownership rule, run on the family as it is in
// the revoking transaction: a client may revoke only a family issued to it
// (RFC 7009 §2.1: the server verifies the token was issued to the client
// making the request). Another client's token, even of the same
// organization, changes nothing and still answers 200 (RFC 7009 §2.2).
func MayRevoke(caller domain.Client, fam domain.Family) bool {
	return caller.ID != "" && fam.ClientID == caller.ID
}

// CheckIntrospector is PRODUCT T10's first rule: only a confidential
// client, authenticated with its secret, may introspect (RFC 7662 §2.1
// lets the server decide who may); a public client is invalid_client.
func CheckIntrospector(caller domain.Client) error {
	if caller.Public {
		return problem.InvalidClient().WithCause(errPublicIntrospects)
	}
	return nil
}

// errPublicIntrospects is the log's cause of a public client refused at
// introspection.
const errPublicIntrospects authError = "public client may not introspect"

// TokenFacts is what the server knows of a presented token once it has
// checked it: an access token's verified claims and the revoked set, or a
// refresh token's row and its family's.
type TokenFacts struct {
	Kind       TokenKind
	ClientID   string
	OrgID      string
	CustomerID string // set for customer tokens (PRODUCT T7)
	Subject    string
	Scope      string
	Issuer     string
	IssuedAt   time.Time
	ExpiresAt  time.Time
	// Revoked: the family is revoked (PRODUCT A11), or the refresh token
	// is no longer its family's live one (rotated, superseded).
	Revoked bool
}

// Introspection is the response of RFC 7662 §2.2. An inactive token is
// exactly {"active":false}: nothing else is said about it.
type Introspection struct {
	Active     bool   `json:"active"`
	Scope      string `json:"scope,omitempty"`
	ClientID   string `json:"client_id,omitempty"`
	Subject    string `json:"sub,omitempty"`
	ExpiresAt  int64  `json:"exp,omitempty"`
	IssuedAt   int64  `json:"iat,omitempty"`
	Issuer     string `json:"iss,omitempty"`
	TokenType  string `json:"token_type,omitempty"`
	OrgID      string `json:"org_id,omitempty"`
	CustomerID string `json:"customer_id,omitempty"`
}

// Introspect is PRODUCT T10: active only for a token that was found (f not
// nil), is unrevoked and unexpired at now, and was issued to the caller's
// own organization; anything else is {"active":false}, so the answer never
// tells a foreign token from an unknown one. token_type is "Bearer" for an
// access token (RFC 7662 §2.2 names RFC 6749 §5.1's types) and
// "refresh_token" for a refresh token, which has no RFC 6749 type: the
// value RFC 7009's hint registry gives it. A customer token names its
// customer, an organization's token its organization.
func Introspect(caller domain.Client, f *TokenFacts, now time.Time) Introspection {
	if f == nil || f.Revoked || f.Kind == TokenUnknown || !now.Before(f.ExpiresAt) || f.OrgID == "" || f.OrgID != caller.OrgID {
		return Introspection{}
	}
	out := Introspection{Active: true, Scope: f.Scope, ClientID: f.ClientID, Subject: f.Subject,
		ExpiresAt: f.ExpiresAt.Unix(), IssuedAt: f.IssuedAt.Unix(), Issuer: f.Issuer, TokenType: "Bearer"}
	if f.Kind == TokenRefresh {
		out.TokenType = HintRefreshToken
	}
	if f.CustomerID != "" {
		out.CustomerID = f.CustomerID
	} else {
		out.OrgID = f.OrgID
	}
	return out
}

// RefreshFacts is what a refresh token row and its family say of the
// token for Introspect: its scope is the family's (read-only for a
// customer family, PRODUCT T7), its subject the customer or the client.
func RefreshFacts(tok domain.RefreshToken, fam domain.Family, issuer string) TokenFacts {
	scopes, sub := fam.Scopes, fam.ClientID
	if fam.CustomerID != "" {
		scopes, sub = CustomerScopes(fam.Scopes), fam.CustomerID
	}
	return TokenFacts{Kind: TokenRefresh, ClientID: fam.ClientID, OrgID: fam.OrgID, CustomerID: fam.CustomerID, Subject: sub,
		Scope: scopes.String(), Issuer: issuer, IssuedAt: tok.CreatedAt, ExpiresAt: tok.ExpiresAt,
		Revoked: fam.Revoked() || tok.State != domain.RefreshLive}
}
