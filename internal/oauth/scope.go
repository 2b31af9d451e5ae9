package oauth

import (
	"strings"

	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/problem"
)

const maxScopeLen = 256

// ParseScope reads a scope parameter: scope tokens separated by single spaces
// (RFC 6749 §3.3). Unknown tokens are invalid_scope; repeats collapse.
func ParseScope(raw string) (domain.Scopes, error) {
	if len(raw) > maxScopeLen {
		return nil, problem.InvalidScope("scope is too long")
	}
	var out domain.Scopes
	for _, tok := range strings.Split(raw, " ") {
		if !domain.Known(tok) {
			if tok == "" {
				return nil, problem.InvalidScope("scope tokens must be separated by single spaces")
			}
			return nil, problem.InvalidScope("unknown scope " + problem.Quote(tok))
		}
		out = append(out, tok)
	}
	return out.Canonical(), nil
}

// NarrowScope returns the scope a token request gets: all of allowed when
// the request names none, else the requested subset. PRODUCT T3, T5: a scope
// outside allowed is invalid_scope, never silently dropped.
func NarrowScope(requested string, allowed domain.Scopes) (domain.Scopes, error) {
	if requested == "" {
		if len(allowed) == 0 {
			return nil, problem.InvalidScope("no scope is available to this client")
		}
		return allowed.Canonical(), nil
	}
	want, err := ParseScope(requested)
	if err != nil {
		return nil, err
	}
	if !allowed.Covers(want) {
		return nil, problem.InvalidScope("requested scope exceeds what was granted: allowed " + problem.Quote(allowed.String()))
	}
	return want, nil
}
