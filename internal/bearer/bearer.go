package bearer

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
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

// Clients loads a client: in serve, the in-memory client directory
// (directory.Directory, issue 17), which reads no database when warm and
// is kept fresh by own writes at once and by other processes' within
// --revocation-poll.
type Clients interface {
	GetClient(ctx context.Context, id string) (domain.Client, error)
}

// Gate admits access tokens. Build one per surface in cli.
type Gate struct {
	Verifier Verifier
	Revoked  Revoked
	Clients  Clients
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

// Client loads client id (through the directory in serve). A client that
// no longer exists is invalid_token; a database failure is returned as
// is. The time is unused: freshness is the directory's.
func (g *Gate) Client(ctx context.Context, id string, _ time.Time) (domain.Client, error) {
	c, err := g.Clients.GetClient(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return domain.Client{}, problem.InvalidToken("The access token's client no longer exists")
	case err != nil:
		return domain.Client{}, fmt.Errorf("load client: %w", err)
	}
	return c, nil
}
