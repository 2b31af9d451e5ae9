package server

import (
	"context"
	"log/slog"
	"time"

	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/token"
)

// MaintainStore is what background maintenance needs from storage.
type MaintainStore interface {
	ListSigningKeys(ctx context.Context) ([]domain.SigningKey, error)
	DeleteExpired(ctx context.Context, now time.Time, keepRevoked time.Duration) (int64, error)
	RevokedFamilies(ctx context.Context, since time.Time) ([]domain.Family, error)
}

// Maintenance runs the server's background work until its context ends.
type Maintenance struct {
	Store MaintainStore
	Ring  *token.KeyRing
	Now   func() time.Time
	Log   *slog.Logger
	// KeyPoll is how often the ring reloads keys, so a `keys rotate` made
	// by another process is in force within this bound.
	KeyPoll time.Duration
	// Cleanup is how often expired rows are deleted (PRODUCT O6).
	Cleanup time.Duration
	// Revoked is the in-memory revocation set the protected API checks;
	// RevocationPoll is how often it learns of revocations made by other
	// processes, the bound on how long such a revocation takes to bite.
	Revoked        *token.Revocations
	RevocationPoll time.Duration

	polledUpTo time.Time // revocations up to here are in Revoked
}

// revocationOverlap re-reads this much before the last poll: another
// process stamps revocations with its own clock and may commit one a
// moment after a later-stamped one.
const revocationOverlap = time.Minute

// SyncRevocations adds every family revoked since the last sync to the
// revocation set and forgets those whose access tokens have all expired.
// The first sync reads one access-token lifetime back.
func (m *Maintenance) SyncRevocations(ctx context.Context) error {
	now := m.Now()
	horizon := now.Add(-(token.AccessTTL + token.Leeway))
	since := m.polledUpTo.Add(-revocationOverlap)
	if since.Before(horizon) {
		since = horizon
	}
	fams, err := m.Store.RevokedFamilies(ctx, since)
	if err != nil {
		return err
	}
	for _, f := range fams {
		m.Revoked.Add(f.ID, f.RevokedAt)
	}
	m.Revoked.Prune(horizon)
	m.polledUpTo = now
	return nil
}

// Run polls keys and cleans up on their intervals until ctx ends.
func (m *Maintenance) Run(ctx context.Context) {
	keys := time.NewTicker(m.KeyPoll)
	defer keys.Stop()
	cleanup := time.NewTicker(m.Cleanup)
	defer cleanup.Stop()
	revocations := time.NewTicker(m.RevocationPoll)
	defer revocations.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-revocations.C:
			if err := m.SyncRevocations(ctx); err != nil && ctx.Err() == nil {
				m.Log.ErrorContext(ctx, "sync revocations", "err", err)
			}
		case <-keys.C:
			m.ReloadKeys(ctx)
		case <-cleanup.C:
			m.CleanUp(ctx)
		}
	}
}

// ReloadKeys reads the stored keys into the ring; a failure keeps the old ring.
func (m *Maintenance) ReloadKeys(ctx context.Context) {
	keys, err := m.Store.ListSigningKeys(ctx)
	if err == nil {
		err = m.Ring.Update(keys, m.Now())
	}
	if err != nil && ctx.Err() == nil {
		m.Log.ErrorContext(ctx, "reload signing keys", "err", err)
	}
}

// CleanUp deletes expired rows. Revoked families stay for an access-token
// lifetime, so revocation checks can still see them.
func (m *Maintenance) CleanUp(ctx context.Context) {
	n, err := m.Store.DeleteExpired(ctx, m.Now(), token.AccessTTL+token.Leeway)
	if err != nil {
		if ctx.Err() == nil {
			m.Log.ErrorContext(ctx, "clean up expired rows", "err", err)
		}
		return
	}
	if n > 0 {
		m.Log.InfoContext(ctx, "cleaned up expired rows", "rows", n)
	}
}
