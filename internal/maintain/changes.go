package maintain

import (
	"context"
)

// ChangeCounters reads the per-organization change counters (store.Changes).
type ChangeCounters interface {
	OrgChanges(ctx context.Context) (map[string]int64, error)
}

// OrgChanges is how changes made by other processes reach what this one
// holds in memory (issue 17): each Sync reads every organization's change
// counter and calls Forget for each organization whose counter moved
// since the last Sync. Run on the revocation poll, a change made anywhere
// is in force here within --revocation-poll. Not safe for concurrent use:
// Maintainer.Run is its one caller after the first Sync.
type OrgChanges struct {
	Counters ChangeCounters
	Forget   func(orgID string)

	seen map[string]int64 // nil before the first Sync
}

// Sync reads the counters and forgets every organization whose counter
// differs from the last read, and returns how many. The first Sync only
// takes the baseline, so it must run before anything is loaded into
// memory. A failed read keeps the last counters, so the next Sync
// forgets whatever moved meanwhile.
func (c *OrgChanges) Sync(ctx context.Context) (int, error) {
	now, err := c.Counters.OrgChanges(ctx)
	if err != nil {
		return 0, err
	}
	first := c.seen == nil
	changed := 0
	if !first {
		for org, v := range now {
			if c.seen[org] != v {
				c.Forget(org)
				changed++
			}
		}
	}
	c.seen = now
	return changed, nil
}

// SyncChanges forgets what is held of organizations other processes
// changed; a failure keeps the counters as they were.
func (m *Maintainer) SyncChanges(ctx context.Context) {
	if m.Changes == nil {
		return
	}
	if _, err := m.Changes.Sync(ctx); err != nil && ctx.Err() == nil {
		m.Log.ErrorContext(ctx, "sync organization changes", "err", err)
	}
}
