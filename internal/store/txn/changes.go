package txn

import (
	"context"

	"github.com/nomosauth/nomosauth/internal/store/rowcodec"
)

// The change counters (issue 17): every verb that changes what the token
// endpoint or the protected API reads of an organization (the
// organization, its clients and their secrets, customers, subscriptions,
// prices) adds one to the organization's counter in its own transaction,
// so a counter moves exactly when such a change commits, and every
// process drops what it holds in memory of that organization by its next
// poll.

// bumpOrg counts a change of orgID's records.
func bumpOrg(ctx context.Context, tx Querier, orgID string) error {
	_, err := tx.Exec(ctx, `INSERT INTO org_changes (org_id, version) VALUES ($1, 1)
		ON CONFLICT (org_id) DO UPDATE SET version = org_changes.version + 1`, orgID)
	return err
}

// bumpOrgOf counts a change of the organization that owns row id of
// table, one of our constant names (clients, customers, subscriptions),
// never input.
func bumpOrgOf(ctx context.Context, tx Querier, table, id string) error {
	_, err := tx.Exec(ctx, `INSERT INTO org_changes (org_id, version) SELECT org_id, 1 FROM `+table+` WHERE id = $1
		ON CONFLICT (org_id) DO UPDATE SET version = org_changes.version + 1`, id)
	return err
}

// OrgChanges returns every organization's change counter; an organization
// nothing was written for yet has none.
func (s *Store) OrgChanges(ctx context.Context) (map[string]int64, error) {
	out := map[string]int64{}
	err := s.b.Reader().Query(ctx, `SELECT org_id, version FROM org_changes`, nil, func(r rowcodec.Scanner) error {
		var org string
		var v int64
		if err := r.Scan(&org, &v); err != nil {
			return err
		}
		out[org] = v
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
