package domain

import "strings"

// The scopes of PRODUCT's Domain table.
const (
	ScopeRead  = "read:*"
	ScopeWrite = "write:*"
)

// AllScopes is every scope the server knows, in canonical order.
func AllScopes() Scopes { return Scopes{ScopeRead, ScopeWrite} }

// Scopes is a set of scope tokens kept in canonical order without repeats.
type Scopes []string

// Known reports whether s is a scope the server knows.
func Known(s string) bool { return s == ScopeRead || s == ScopeWrite }

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
