package token

import (
	"sync"
	"time"
)

// Revocations is the set of refresh families revoked recently enough that
// access tokens minted from them may still be unexpired. The protected API
// checks it on every request, in memory, so a revocation bites at once
// (PRODUCT A11) without a database read per request. It is filled by this
// process's own revocations and by polling storage for everyone else's.
type Revocations struct {
	mu       sync.RWMutex
	families map[string]time.Time
}

// NewRevocations returns an empty set.
func NewRevocations() *Revocations {
	return &Revocations{families: map[string]time.Time{}}
}

// Add records that family id was revoked at at.
func (r *Revocations) Add(id string, at time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if prev, ok := r.families[id]; !ok || at.Before(prev) {
		r.families[id] = at
	}
}

// Revoked reports whether family id is revoked. The empty id (a token
// minted without a family) never is.
func (r *Revocations) Revoked(id string) bool {
	if id == "" {
		return false
	}
	r.mu.RLock()
	_, ok := r.families[id]
	r.mu.RUnlock()
	return ok
}

// Prune forgets families revoked before cutoff: every access token they
// minted expired by then.
func (r *Revocations) Prune(cutoff time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for id, at := range r.families {
		if at.Before(cutoff) {
			delete(r.families, id)
		}
	}
}

// Len is how many families the set holds.
func (r *Revocations) Len() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return len(r.families)
}
