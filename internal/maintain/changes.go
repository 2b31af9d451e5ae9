package maintain

import (
	"context"
	"sync/atomic"
	"time"
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
	// Now and MaxAge bound how old the last successful Sync may be for
	// what is held to count as fresh (Fresh); a zero MaxAge never ages.
	Now    func() time.Time
	MaxAge time.Duration

	seen   map[string]int64 // nil before the first Sync
	synced atomic.Int64     // Now of the last successful Sync, in Unix nanoseconds
}

// Fresh says whether the last successful Sync is at most MaxAge old, so
// whatever is held in memory misses no change made elsewhere by more than
// that. A process that cannot read the counters (the database is down or
// out of reach) stops trusting what it holds once MaxAge has passed: the
// directory and the view then read the store, which answers 503 while it
// is down, and a client disabled elsewhere is never served from a stale
// memory (issue 17, fail closed). Safe for concurrent use.
func (c *OrgChanges) Fresh() bool {
	if c.MaxAge <= 0 {
		return true
	}
	last := c.synced.Load()
	return last != 0 && c.Now().UnixNano()-last <= int64(c.MaxAge)
}

// Sync reads the counters and forgets every organization whose counter
// differs from the last read, and returns how many. The first Sync only
// takes the baseline, so it must run before anything is loaded into
// memory. A failed read keeps the last counters, so the next Sync
// forgets whatever moved meanwhile.
func (c *OrgChanges) Sync(ctx context.Context) (int, error) {
	var began time.Time // what the read sees was committed by then
	if c.Now != nil {
		began = c.Now()
	}
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
	if c.Now != nil {
		c.synced.Store(began.UnixNano())
	}
	return changed, nil
}

// SyncChanges forgets what is held of organizations other processes
// changed; a failure keeps the counters as they were.
func (m *Maintainer) SyncChanges(ctx context.Context) {
	if m.Changes == nil {
		return
	}
	if _, err := m.Changes.Sync(ctx); err != nil {
		m.failed(ctx, "sync organization changes", err)
	}
}
