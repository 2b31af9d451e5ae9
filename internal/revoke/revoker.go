package revoke

import (
	"context"
	"fmt"
	"time"

	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/metrics"
)

// GrantStore is the one store verb Revoker needs: revoke a grant and every
// family born from it in one transaction, returning those families.
type GrantStore interface {
	RevokeGrant(ctx context.Context, id string, by domain.Origin) (families []string, revoked bool, err error)
}

// Revoker is the verbs that revoke, so no caller pairs a store revocation
// with a set update by hand: a revocation bites in this process at once and
// on other replicas within their revocation poll (PRODUCT A11).
type Revoker struct {
	// Store revokes grants; Grant needs it, Family does not.
	Store GrantStore
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
