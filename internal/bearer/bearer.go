package bearer

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/oauth"
	"github.com/nomosauth/nomosauth/internal/problem"
	"github.com/nomosauth/nomosauth/internal/store"
	"github.com/nomosauth/nomosauth/internal/token"
)

// Verifier checks an access token's signature and claims (token.Issuer,
// or revoke.VerifiedCache in front of it).
type Verifier interface {
	Verify(raw string, now time.Time) (token.Claims, error)
}

// Revoked says whether a family's tokens are refused (revoke.Set).
type Revoked interface {
	Revoked(familyID string) bool
}

// Clients loads a client.
type Clients interface {
	GetClient(ctx context.Context, id string) (domain.Client, error)
}

// Gate admits access tokens. Build one per surface in cli; its client
// cache is its own.
type Gate struct {
	Verifier Verifier
	Revoked  Revoked
	Clients  Clients
	// ClientTTL bounds how long a client's settings (disabled flag,
	// default API version) are cached: disabling a client stops its
	// tokens within this time, and the hot path reads no database.
	ClientTTL time.Duration

	clients sync.Map // client id → cachedClient
}

type cachedClient struct {
	client domain.Client
	err    error
	at     time.Time
}

// Admit is PRODUCT R1 for request r at now: the token only from
// Authorization: Bearer (the query is read only to explain a refusal),
// verified (signature, typ, iss, aud, exp, nbf), its family not revoked
// (A11) and its client still enabled. It returns who the token acts for
// and its client.
func (g *Gate) Admit(r *http.Request, now time.Time) (oauth.Caller, domain.Client, error) {
	hs := r.Header.Values("Authorization")
	raw, err := oauth.ParseBearer(hs, len(hs) == 0 && r.URL.Query().Has("access_token"))
	if err != nil {
		return oauth.Caller{}, domain.Client{}, err
	}
	claims, err := g.Verifier.Verify(raw, now)
	if err != nil {
		return oauth.Caller{}, domain.Client{}, problem.InvalidToken("The access token is invalid or expired").WithCause(err)
	}
	caller := CallerOf(claims)
	// A revoked token is refused without loading its client.
	revoked := g.Revoked.Revoked(claims.FamilyID)
	var client domain.Client
	if !revoked {
		if client, err = g.Client(r.Context(), claims.ClientID, now); err != nil {
			return oauth.Caller{}, domain.Client{}, err
		}
	}
	if err := oauth.AdmitCaller(caller, client, revoked); err != nil {
		return oauth.Caller{}, domain.Client{}, err
	}
	return caller, client, nil
}

// CallerOf is who verified claims act for.
func CallerOf(c token.Claims) oauth.Caller {
	return oauth.Caller{ClientID: c.ClientID, OrgID: c.OrgID, CustomerID: c.CustomerID,
		FamilyID: c.FamilyID, Scopes: domain.Scopes(strings.Fields(c.Scope)).Canonical()}
}

// Client loads client id through the cache: a change reaches it within
// ClientTTL. A client that no longer exists is invalid_token; a database
// failure is returned as is and not cached.
func (g *Gate) Client(ctx context.Context, id string, now time.Time) (domain.Client, error) {
	if v, ok := g.clients.Load(id); ok {
		if c := v.(cachedClient); now.Sub(c.at) < g.ClientTTL {
			return c.client, c.err
		}
	}
	c, err := g.Clients.GetClient(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		err = problem.InvalidToken("The access token's client no longer exists")
	case err != nil:
		return domain.Client{}, fmt.Errorf("load client: %w", err)
	}
	g.clients.Store(id, cachedClient{client: c, err: err, at: now})
	return c, err
}
