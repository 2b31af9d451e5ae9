package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/nomosauth/nomosauth/internal/httpx"
	"github.com/nomosauth/nomosauth/internal/ids"
	"github.com/nomosauth/nomosauth/internal/oauth"
	"github.com/nomosauth/nomosauth/internal/problem"
	"github.com/nomosauth/nomosauth/internal/seal"
	"github.com/nomosauth/nomosauth/internal/store"
)

// ServeIntrospect is POST /oauth/introspect (PRODUCT T10; RFC 7662): a
// confidential client asks whether a token of its organization is live.
// An access token is answered from its signature, this process's revoked
// set and the cached client (a disabled client's tokens are not live),
// with no database read beyond the caller's authentication once the
// client is cached; a refresh token by one read of its row and family. Everything that is
// not a live token of the caller's organization is {"active":false}; a
// refused caller or a rate limit is an error, never active:false.
func (t *Tokens) ServeIntrospect(w http.ResponseWriter, r *http.Request) error {
	params, client, err := t.admitClient(w, r)
	if err != nil {
		return err
	}
	if err := oauth.CheckIntrospector(client); err != nil {
		return err
	}
	q, err := oauth.ParseTokenQuery(params)
	if err != nil {
		return err
	}
	now := t.Now()
	facts, err := t.tokenFacts(r.Context(), q.Token, now)
	if err != nil {
		return err
	}
	if facts != nil && !facts.Revoked {
		// A token of a client since disabled or removed is not live.
		c, err := t.Gate.Client(r.Context(), facts.ClientID, now)
		var refused *problem.Error
		switch {
		case errors.As(err, &refused):
			facts.Revoked = true
		case err != nil:
			return err
		case c.Disabled:
			facts.Revoked = true
		}
	}
	// RFC 7662 §2.2, RFC 6749 §5.1: never cached.
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	httpx.WriteJSON(w, http.StatusOK, oauth.Introspect(client, facts, now))
	return nil
}

// tokenFacts checks raw as the token its shape says it can be; nil is no
// token of ours (unknown, malformed, bad signature, expired).
func (t *Tokens) tokenFacts(ctx context.Context, raw string, now time.Time) (*oauth.TokenFacts, error) {
	switch oauth.KindOf(raw) {
	case oauth.TokenAccess:
		claims, err := t.Verifier.Verify(raw, now)
		if err != nil {
			return nil, nil
		}
		return &oauth.TokenFacts{Kind: oauth.TokenAccess, ClientID: claims.ClientID, OrgID: claims.OrgID, CustomerID: claims.CustomerID,
			Subject: claims.Subject, Scope: claims.Scope, Issuer: claims.Issuer,
			IssuedAt: time.Unix(claims.IssuedAt, 0), ExpiresAt: time.Unix(claims.ExpiresAt, 0),
			Revoked: t.Revoker.Set.Revoked(claims.FamilyID)}, nil
	case oauth.TokenRefresh:
		if seal.IsSealed(raw) {
			return t.sealedFacts(ctx, raw, now)
		}
		return t.storedFacts(ctx, ids.Hash(raw))
	}
	return nil, nil
}

// storedFacts are the facts of the refresh token whose row has hash hash,
// read with its family; nil when there is no such row.
func (t *Tokens) storedFacts(ctx context.Context, hash string) (*oauth.TokenFacts, error) {
	tok, fam, err := t.Store.RefreshTokenFamily(ctx, hash)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load refresh token: %w", err)
	}
	f := oauth.RefreshFacts(tok, fam, t.IssuerURL)
	return &f, nil
}

// sealedFacts checks a sealed first refresh token (issue 17): it must
// open under a key this server holds. Once it has a row (its family was
// materialized at a first refresh) the token is what its row says; with
// no row it is live as sealed while its family has none either, unless
// revoked by this process a moment ago, and a family row without it (a
// tombstone) makes it no live token.
func (t *Tokens) sealedFacts(ctx context.Context, raw string, now time.Time) (*oauth.TokenFacts, error) {
	u, err := t.unseal(raw, now)
	if err != nil {
		return nil, nil
	}
	if f, err := t.storedFacts(ctx, u.Token.Hash); f != nil || err != nil {
		return f, err
	}
	_, err = t.Store.GetFamily(ctx, u.Family.ID)
	if errors.Is(err, store.ErrNotFound) {
		f := oauth.RefreshFacts(u.Token, u.Family, t.IssuerURL)
		f.Revoked = f.Revoked || t.Revoker.Set.Revoked(u.Family.ID)
		return &f, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load family: %w", err)
	}
	return nil, nil
}
