package revoke

import (
	"context"
	"fmt"
	"time"

	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/metrics"
	"github.com/nomosauth/nomosauth/internal/store"
)

// GrantStore is the one store verb Revoker needs: revoke a grant and every
// family born from it in one transaction, returning those families.
type GrantStore interface {
	RevokeGrant(ctx context.Context, id string, by domain.Origin) (families []string, revoked bool, err error)
}

// FamilyStore is the store verb the revocation endpoint revokes through
// (store.Families.RevokeHeldFamily): the family of a token its client
// holds, if may allows it, with its audit row, in one transaction.
type FamilyStore interface {
	RevokeHeldFamily(ctx context.Context, familyID, tokenHash string, unsealed *store.Unsealed, by domain.Origin, may func(domain.Family) bool) (id string, revoked bool, err error)
}

// Revoker is the verbs that revoke, so no caller pairs a store revocation
// with a set update by hand: a revocation bites in this process at once and
// on other replicas within their revocation poll (PRODUCT A11).
type Revoker struct {
	// Store revokes grants; Grant needs it, Family does not.
	Store GrantStore
	// Families revokes a held token's family; Held needs it.
	Families FamilyStore
	// Set is this process's revoked set, the one the protected API checks.
	Set *Set
	Now func() time.Time
	// Metrics counts each revocation by its source where it happens, here
	// (PRODUCT O7); nil counts nothing.
	Metrics *metrics.Metrics
}

// Grant revokes grant id and every family born from it, in the store and
// in this process's set at once, and returns those families (PRODUCT A11).
// by says who revoked it, for the audit row (its time is set here), and
// source which revocation it was, for the metric, which counts only a
// grant this call revoked (revoking twice is one revocation). An unknown
// grant is the store's ErrNotFound, wrapped.
func (r Revoker) Grant(ctx context.Context, id string, by domain.Origin, source metrics.Revocation) ([]string, error) {
	now := r.Now()
	by.At = now
	families, revoked, err := r.Store.RevokeGrant(ctx, id, by)
	if err != nil {
		return nil, fmt.Errorf("revoke grant: %w", err)
	}
	for _, f := range families {
		r.Set.Add(f, now)
	}
	if revoked {
		r.Metrics.Revoked(source)
	}
	return families, nil
}

// Family records that the store has just revoked family id at at, inside
// the transaction that detected a replay (a reused refresh token, a second
// use of an authorization code: PRODUCT T5, T6), so its access tokens are
// refused here at once. by says which replay it was.
func (r Revoker) Family(id string, at time.Time, by metrics.Revocation) {
	r.Set.Add(id, at)
	r.Metrics.Revoked(by)
}

// Held revokes the family of a token a client presented at the revocation
// endpoint (PRODUCT T9; RFC 7009 §2.1): the family familyID names (an
// access token's claim) or, when it is empty, the refresh token tokenHash
// belongs to, if may (oauth.MayRevoke) allows it on the family as stored.
// It bites in this process at once, on others within their revocation
// poll, like every revocation (PRODUCT A11), and counts only a family this
// call revoked. It reports whether it did; an unknown token is the store's
// ErrNotFound, wrapped. A client-credentials family that has no row yet
// (unsealed, issue 17) is revoked by a tombstone, like any family.
func (r Revoker) Held(ctx context.Context, familyID, tokenHash string, unsealed *store.Unsealed, by domain.Origin, may func(domain.Family) bool) (bool, error) {
	now := r.Now()
	by.At = now
	id, revoked, err := r.Families.RevokeHeldFamily(ctx, familyID, tokenHash, unsealed, by, may)
	if err != nil {
		return false, fmt.Errorf("revoke family: %w", err)
	}
	if id != "" {
		// Revoked now, or before (perhaps on another replica, ahead of
		// the poll): either way its tokens are refused here from now on.
		r.Set.Add(id, now)
	}
	if revoked {
		r.Metrics.Revoked(metrics.ByRevokeEndpoint)
	}
	return revoked, nil
}
