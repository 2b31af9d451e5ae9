package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/nomosauth/nomosauth/internal/domain"
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
		switch {
		case seal.IsCounted(raw):
			return t.countedFacts(ctx, raw, now)
		case seal.IsSealed(raw):
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

// countedFacts are the facts of a counted refresh token: what its
// family's row says of its generation; nil when it does not verify or
// names no generation its family reached.
func (t *Tokens) countedFacts(ctx context.Context, raw string, now time.Time) (*oauth.TokenFacts, error) {
	c, err := t.readCounted(ctx, raw, now)
	if err != nil {
		return nil, nil
	}
	fam, err := t.Store.GetFamily(ctx, c.FamilyID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load family: %w", err)
	}
	return familyFacts(fam, c.Generation, t.IssuerURL), nil
}

// familyFacts are the facts of fam's counted token of generation g; nil
// when fam has no such generation, or holds token rows instead.
func familyFacts(fam domain.Family, g uint64, issuer string) *oauth.TokenFacts {
	tok, _, ok := fam.CountedToken(g, "")
	if !ok || fam.Generation == 0 {
		return nil
	}
	f := oauth.RefreshFacts(tok, fam, issuer)
	return &f
}

// sealedFacts checks a sealed first refresh token (issue 17): it must
// open under a key this server holds. With no family row it is live as
// sealed, unless revoked by this process a moment ago; once its family
// has counted generations it is generation 0, rotated; a family row
// with none (a tombstone, or a family an earlier build materialized with
// token rows) is judged by the token's row, and a tombstone has none.
func (t *Tokens) sealedFacts(ctx context.Context, raw string, now time.Time) (*oauth.TokenFacts, error) {
	u, err := t.unseal(ctx, raw, now)
	if err != nil {
		return nil, nil
	}
	fam, err := t.Store.GetFamily(ctx, u.Family.ID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		f := oauth.RefreshFacts(u.Token, u.Family, t.IssuerURL)
		f.Revoked = f.Revoked || t.Revoker.Set.Revoked(u.Family.ID)
		return &f, nil
	case err != nil:
		return nil, fmt.Errorf("load family: %w", err)
	case fam.Generation > 0:
		return familyFacts(fam, 0, t.IssuerURL), nil
	}
	return t.storedFacts(ctx, u.Token.Hash)
}
