package revoke

import (
	"context"
	"sync"
	"time"

	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/token"
)

// Set is the set of refresh families revoked recently enough that access
// tokens minted from them may still be unexpired. The protected API checks
// it on every request, in memory, so a revocation bites at once (PRODUCT
// A11) without a database read per request. It is filled by this process's
// own revocations (Add) and by polling storage for everyone else's (Sync).
type Set struct {
	mu       sync.RWMutex
	families map[string]time.Time
	// polledUpTo is when the last Sync read storage: revocations stamped
	// before it are in the set.
	polledUpTo time.Time
}

// NewSet returns an empty set.
func NewSet() *Set {
	return &Set{families: map[string]time.Time{}}
}

// Add records that family id was revoked at at, and reports whether the
// set did not hold it before.
func (s *Set) Add(id string, at time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	prev, ok := s.families[id]
	if !ok || at.Before(prev) {
		s.families[id] = at
	}
	return !ok
}

// Len is how many families the set holds, for the metrics (PRODUCT O7).
func (s *Set) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.families)
}

// Revoked reports whether family id is revoked. The empty id (a token
// minted without a family) never is.
func (s *Set) Revoked(id string) bool {
	if id == "" {
		return false
	}
	s.mu.RLock()
	_, ok := s.families[id]
	s.mu.RUnlock()
	return ok
}

// prune forgets families revoked before cutoff: every access token they
// minted expired by then.
func (s *Set) prune(cutoff time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, at := range s.families {
		if at.Before(cutoff) {
			delete(s.families, id)
		}
	}
}

// Source is what Sync reads: the families revoked since a time, by any
// process sharing the database.
type Source interface {
	RevokedFamilies(ctx context.Context, since time.Time) ([]domain.Family, error)
}

// overlap re-reads this much before the last poll: another process stamps
// revocations with its own clock and may commit one a moment after a
// later-stamped one.
const overlap = time.Minute

// Horizon is how far back a revocation can still matter at now: one
// access-token lifetime plus the verifier's leeway (PRODUCT T8, A11).
func Horizon(now time.Time) time.Time { return now.Add(-(token.AccessTTL + token.Leeway)) }

// Sync adds every family revoked since the last sync to the set and
// forgets those whose access tokens have all expired. The first sync reads
// one access-token lifetime back. Its period bounds how long another
// process's revocation takes to bite here (PRODUCT A11). It returns how
// many families it learned: revoked elsewhere, and new to the set.
func (s *Set) Sync(ctx context.Context, src Source, now time.Time) (int, error) {
	horizon := Horizon(now)
	s.mu.RLock()
	since := s.polledUpTo.Add(-overlap)
	s.mu.RUnlock()
	if since.Before(horizon) {
		since = horizon
	}
	fams, err := src.RevokedFamilies(ctx, since)
	if err != nil {
		return 0, err
	}
	learned := 0
	for _, f := range fams {
		if s.Add(f.ID, f.RevokedAt) {
			learned++
		}
	}
	s.prune(horizon)
	s.mu.Lock()
	s.polledUpTo = now
	s.mu.Unlock()
	return learned, nil
}
