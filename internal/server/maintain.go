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
}

// Run polls keys and cleans up on their intervals until ctx ends.
func (m *Maintenance) Run(ctx context.Context) {
	keys := time.NewTicker(m.KeyPoll)
	defer keys.Stop()
	cleanup := time.NewTicker(m.Cleanup)
	defer cleanup.Stop()
	for {
		select {
		case <-ctx.Done():
			return
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
