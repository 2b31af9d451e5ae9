package domain

import "strings"

// The scopes of PRODUCT's Domain table, and the OpenID Connect identity
// scopes (PRODUCT T12; OpenID Connect Core 1.0 §3.1.2.1, §5.4).
const (
	ScopeRead  = "read:*"
	ScopeWrite = "write:*"

	ScopeOpenID  = "openid"
	ScopeEmail   = "email"
	ScopeProfile = "profile"
)

// AllScopes is every scope the server knows, in canonical order: the API
// scopes, then the identity scopes.
func AllScopes() Scopes {
	return Scopes{ScopeRead, ScopeWrite, ScopeOpenID, ScopeEmail, ScopeProfile}
}

// APIScopes are the scopes that reach the protected API: the ones a client
// is registered for (PRODUCT T3).
func APIScopes() Scopes { return Scopes{ScopeRead, ScopeWrite} }

// IdentityScopes are the OpenID Connect scopes (PRODUCT T12): they say what
// the ID token and /userinfo tell about the customer and grant nothing at
// the protected API. No client is registered for them: every client that
// may use the authorization code flow may ask for them.
func IdentityScopes() Scopes { return Scopes{ScopeOpenID, ScopeEmail, ScopeProfile} }

// Scopes is a set of scope tokens kept in canonical order without repeats.
type Scopes []string

// Known reports whether s is a scope the server knows.
func Known(s string) bool { return AllScopes().Has(s) }

// Has reports whether the set holds s.
func (s Scopes) Has(scope string) bool {
	for _, x := range s {
		if x == scope {
			return true
		}
	}
	return false
}

// Covers reports whether every scope of other is in s.
func (s Scopes) Covers(other Scopes) bool {
	for _, x := range other {
		if !s.Has(x) {
			return false
		}
	}
	return true
}

// Intersect returns the scopes in both sets, in canonical order.
func (s Scopes) Intersect(other Scopes) Scopes {
	out := Scopes{}
	for _, x := range AllScopes() {
		if s.Has(x) && other.Has(x) {
			out = append(out, x)
		}
	}
	return out
}

// String joins the scopes with single spaces, the wire form of RFC 6749 §3.3.
func (s Scopes) String() string { return strings.Join(s, " ") }

// Canonical returns the known scopes of s in canonical order, without repeats.
func (s Scopes) Canonical() Scopes {
	return AllScopes().Intersect(s)
}
