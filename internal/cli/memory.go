package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/nomosauth/nomosauth/internal/directory"
	"github.com/nomosauth/nomosauth/internal/maintain"
	"github.com/nomosauth/nomosauth/internal/store"
	"github.com/nomosauth/nomosauth/internal/view"
)

// inMemory wraps the opened store so that clients (with their secret
// hashes) and the protected API's customers and subscriptions are read
// from memory when warm (issue 17): every surface gets the wrapped store,
// whose writes forget what they changed at once, and the returned poll,
// run by maintain on --revocation-poll, forgets what other processes
// changed. The poll's baseline is read here, before anything can load.
// poll is --revocation-poll, and viewMiB --view-memory. The view comes back too: its stamps let the
// API keep rendered pages.
func inMemory(ctx context.Context, raw store.Store, viewMiB int, poll time.Duration) (store.Store, *view.View, *maintain.OrgChanges, error) {
	dir := directory.New(raw, 0)
	v := view.New(raw, int64(viewMiB)<<20)
	changes := &maintain.OrgChanges{Counters: raw, Forget: func(orgID string) {
		dir.Forget(orgID)
		v.Forget(orgID)
	}, Now: time.Now, MaxAge: heldMaxAge(poll)}
	// Fail closed: what is held is served only while the poll keeps it fresh.
	dir.Fresh, v.Fresh = changes.Fresh, changes.Fresh
	if _, err := changes.Sync(ctx); err != nil {
		return nil, nil, nil, fmt.Errorf("read change counters: %w", err)
	}
	writes := view.Writes{Store: raw, Forget: []view.Forgetter{dir, v}}
	return directory.Served{Store: view.Served{Store: writes, View: v}, Directory: dir}, v, changes, nil
}

// heldMaxAge is how long after the last successful change poll what is
// held in memory is still served: three polls, and at least two seconds,
// so one slow or failed poll changes nothing, while a process cut off from
// the database stops serving clients and records that may have changed
// elsewhere (issue 17).
func heldMaxAge(poll time.Duration) time.Duration {
	return max(3*poll, 2*time.Second)
}
