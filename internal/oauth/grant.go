package oauth

import (
	"crypto/subtle"
	"time"

	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/problem"
)

// DecideClientCredentials returns the scope a client-credentials token gets.
// PRODUCT T3: confidential clients only; the scope narrows the client's own.
func DecideClientCredentials(client domain.Client, requestedScope string) (domain.Scopes, error) {
	if client.Public {
		return nil, problem.UnauthorizedClient("public clients cannot use client_credentials")
	}
	// PRODUCT T12: identity scopes describe a customer, and a
	// client-credentials token has none.
	if want, err := ParseScope(requestedScope); requestedScope != "" && err == nil && len(want.Intersect(domain.IdentityScopes())) > 0 {
		return nil, problem.InvalidScope("openid, email and profile are only for the authorization code grant")
	}
	return NarrowScope(requestedScope, client.Scopes.Intersect(domain.APIScopes()))
}

// RefreshRule is the refresh-token rule of PRODUCT T5 and RFC 9700 §4.14.2
// for one request: who presents the token, what scope it asks for, when,
// and the hash of the child this presentation derives.
type RefreshRule struct {
	Client         domain.Client
	RequestedScope string
	Now            time.Time
	Window         time.Duration // the retry window
	// Child names the refresh token a rotation of the presented token
	// issues: the hash of the token derived from it (ids.DeriveRefreshToken)
	// for a token with a row, the next generation for a counted one. The
	// same for every presentation of one token, so a retry can be told
	// from a stranger.
	Child string
}

// Decide judges the presented token tok, its family fam and child, the
// token tok was last exchanged for (nil when none). It runs inside the
// store's transaction and may run more than once, so it does no I/O.
//
//   - a live token rotates to rr.Child;
//   - a token rotated within the window, whose child is still unused, may be
//     retried (a response was lost, or two workers raced): when the child is
//     rr.Child it is handed out again and nothing changes (Retry); when it is
//     not (drawn at random by an older release, or under another server
//     key) it dies and rr.Child takes its place (Replace). Either way the
//     family never has two live tokens;
//   - any other presentation of a used token is reuse and revokes the family.
//
// Rotate, Retry and Replace carry the scope of the new access token
// (RefreshScope), so the caller mints exactly what was decided. A returned
// error rejects the request and changes nothing; so does a scope the family
// cannot give, checked before anything rotates.
func (rr RefreshRule) Decide(tok domain.RefreshToken, fam domain.Family, child *domain.RefreshToken) (domain.RefreshDecision, error) {
	switch {
	case fam.ClientID != rr.Client.ID:
		// RFC 6749 §6: the token is bound to the client it was issued to.
		return domain.RefreshDecision{}, problem.InvalidGrant("refresh token is invalid")
	case fam.Revoked():
		return domain.RefreshDecision{}, problem.InvalidGrant("refresh token has been revoked")
	case !rr.Now.Before(tok.ExpiresAt):
		return domain.RefreshDecision{}, problem.InvalidGrant("refresh token has expired")
	}
	verdict := domain.RefreshReuse
	switch tok.State {
	case domain.RefreshLive:
		verdict = domain.RefreshRotate
	case domain.RefreshRotated:
		if child != nil && child.State == domain.RefreshLive && rr.Now.Sub(tok.RotatedAt) <= rr.Window {
			verdict = domain.RefreshReplace
			if subtle.ConstantTimeCompare([]byte(child.Hash), []byte(rr.Child)) == 1 {
				verdict = domain.RefreshRetry
			}
		}
	}
	if verdict == domain.RefreshReuse {
		return domain.RefreshDecision{Verdict: verdict}, nil
	}
	scopes, err := RefreshScope(rr.RequestedScope, fam, rr.Client)
	if err != nil {
		return domain.RefreshDecision{}, err
	}
	return domain.RefreshDecision{Verdict: verdict, Scopes: scopes}, nil
}

// RefreshScope returns the access-token scope for a refresh: the request may
// narrow, never widen, what the family was granted, and the client's current
// scopes cap it in case an operator took some away (PRODUCT T5; the
// identity scopes are no client's to take, T12). A
// customer's family stays read-only whatever it holds (PRODUCT T7).
func RefreshScope(requested string, fam domain.Family, client domain.Client) (domain.Scopes, error) {
	allowed := fam.Scopes.Intersect(clientCap(client))
	if fam.CustomerID != "" {
		allowed = CustomerScopes(allowed)
	}
	return NarrowScope(requested, allowed)
}
