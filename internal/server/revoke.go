package server

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/ids"
	"github.com/nomosauth/nomosauth/internal/oauth"
	"github.com/nomosauth/nomosauth/internal/seal"
	"github.com/nomosauth/nomosauth/internal/store"
)

// ServeRevoke is POST /oauth/revoke (PRODUCT T9; RFC 7009): the client,
// authenticated as at the token endpoint (public clients by their id),
// revokes a token it holds, and with it the token's whole family, through
// the revocation path connected apps and replays use: refused here at
// once, on other replicas within their revocation poll (PRODUCT A11). An
// unknown, foreign, malformed, expired or already revoked token answers
// 200 and changes nothing (RFC 7009 §2.2): the answer never tells them
// apart. An expired access token is not looked at: it is dead already,
// and its family's refresh token can be revoked by itself.
func (t *Tokens) ServeRevoke(w http.ResponseWriter, r *http.Request) error {
	params, client, err := t.admitClient(w, r)
	if err != nil {
		return err
	}
	q, err := oauth.ParseTokenQuery(params)
	if err != nil {
		return err
	}
	var familyID, tokenHash string
	// unsealed is a client-credentials family that may have no row yet
	// (issue 17): revoking it leaves a tombstone, checked against the
	// client the token names.
	var unsealed *store.Unsealed
	// countedRefresh: a counted refresh token, dead (changing nothing)
	// once its family's live generation has expired.
	countedRefresh := false
	now := t.Now()
	switch oauth.KindOf(q.Token) {
	case oauth.TokenAccess:
		// Our own signature and issuer, from the cache the API uses; the
		// family is the claim the store checks the client against.
		if claims, err := t.Verifier.Verify(q.Token, now); err == nil {
			familyID = claims.FamilyID
			if claims.CustomerID == "" && familyID != "" {
				// Its sealed refresh token was issued with it: the
				// tombstone outlives that token by the access token's
				// second-granular iat.
				iat := time.Unix(claims.IssuedAt, 0).UTC()
				unsealed = &store.Unsealed{
					Family: domain.Family{ID: familyID, ClientID: claims.ClientID, OrgID: claims.OrgID, Scopes: domain.Scopes(strings.Fields(claims.Scope)).Canonical(), CreatedAt: iat},
					Token:  domain.RefreshToken{CreatedAt: iat, ExpiresAt: iat.Add(t.RefreshIdleTTL + time.Second)},
				}
			}
		}
	case oauth.TokenRefresh:
		switch {
		case seal.IsCounted(q.Token):
			// Any generation names its family, verified by its tag; the
			// family's live generation says whether it expired.
			if c, err := t.readCounted(r.Context(), q.Token, now); err == nil {
				familyID, countedRefresh = c.FamilyID, true
			}
		case seal.IsSealed(q.Token):
			if u, err := t.unseal(r.Context(), q.Token, now); err == nil && now.Before(u.Token.ExpiresAt) {
				familyID, unsealed = u.Family.ID, &u
			}
		default:
			tokenHash = ids.Hash(q.Token)
		}
	}
	if familyID != "" || tokenHash != "" {
		_, err := t.Revoker.Held(r.Context(), familyID, tokenHash, unsealed, t.origin(r, client),
			func(fam domain.Family) bool {
				expired := countedRefresh && fam.Generation > 0 && !now.Before(fam.LiveUntil)
				return oauth.MayRevoke(client, fam) && !expired
			})
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	// RFC 7009 §2.2: the client ignores the body. An empty JSON object,
	// not an empty body, because some clients (simple-oauth2) refuse an
	// answer that is not JSON.
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	w.Write([]byte("{}"))
	return nil
}
