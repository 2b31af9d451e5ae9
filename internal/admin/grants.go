package admin

import (
	"context"

	"github.com/nomosauth/nomosauth/internal/domain"
)

// ListGrants lists a customer's active grants, newest first (PRODUCT O2).
func (a *Admin) ListGrants(ctx context.Context, customerID string) ([]domain.Grant, error) {
	if _, err := a.Customers.GetCustomer(ctx, customerID); err != nil {
		return nil, translate(err, "customer")
	}
	grants, err := a.Grants.ListGrants(ctx, customerID)
	return grants, translate(err, "grant")
}

// RevokeGrant revokes a grant and every family born from it, and returns
// those families. A running server refuses their access tokens within its
// revocation poll (PRODUCT A11, O2).
func (a *Admin) RevokeGrant(ctx context.Context, id string) ([]string, error) {
	families, _, err := a.Grants.RevokeGrant(ctx, id, a.origin(a.Now().UTC()))
	return families, translate(err, "grant")
}
