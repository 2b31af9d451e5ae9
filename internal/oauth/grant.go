package oauth

import (
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
	return NarrowScope(requestedScope, client.Scopes)
}

// DecideRefresh is the refresh-token rule of PRODUCT T5 and RFC 9700 §4.14.2.
// tok is the presented token as stored, fam its family, child the token tok
// was last exchanged for (nil when none). It runs inside the store's
// transaction and may run more than once, so it does no I/O.
//
//   - a live token rotates;
//   - a token rotated within window, whose child is still unused, may be
//     retried: the child dies and a new one takes its place, so the family
//     never has two live tokens;
//   - any other presentation of a used token is reuse and revokes the family.
//
// A returned error rejects the request and changes nothing.
func DecideRefresh(tok domain.RefreshToken, fam domain.Family, child *domain.RefreshToken, clientID string, now time.Time, window time.Duration) (domain.RefreshVerdict, error) {
	switch {
	case fam.ClientID != clientID:
		// RFC 6749 §6: the token is bound to the client it was issued to.
		return 0, problem.InvalidGrant("refresh token is invalid")
	case fam.Revoked():
		return 0, problem.InvalidGrant("refresh token has been revoked")
	case !now.Before(tok.ExpiresAt):
		return 0, problem.InvalidGrant("refresh token has expired")
	}
	switch tok.State {
	case domain.RefreshLive:
		return domain.RefreshRotate, nil
	case domain.RefreshRotated:
		retryable := child != nil && child.State == domain.RefreshLive && now.Sub(tok.RotatedAt) <= window
		if retryable {
			return domain.RefreshRetry, nil
		}
	}
	return domain.RefreshReuse, nil
}

// RefreshScope returns the access-token scope for a refresh: the request may
// narrow, never widen, what the family was granted, and the client's current
// scopes cap it in case an operator took some away (PRODUCT T5).
func RefreshScope(requested string, fam domain.Family, client domain.Client) (domain.Scopes, error) {
	return NarrowScope(requested, fam.Scopes.Intersect(client.Scopes))
}
