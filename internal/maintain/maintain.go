package maintain

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/metrics"
	"github.com/nomosauth/nomosauth/internal/revoke"
	"github.com/nomosauth/nomosauth/internal/seal"
	"github.com/nomosauth/nomosauth/internal/store"
	"github.com/nomosauth/nomosauth/internal/token"
)

// Store is what background maintenance needs from storage.
type Store interface {
	ListSigningKeys(ctx context.Context) ([]domain.SigningKey, error)
	ListSealKeys(ctx context.Context) ([]domain.SealKey, error)
	DeleteExpired(ctx context.Context, now time.Time, keep store.Retention) (int64, error)
	RevokedFamilies(ctx context.Context, since time.Time) ([]domain.Family, error)
}

// Maintainer runs the server's background work until its context ends.
type Maintainer struct {
	Store Store
	Ring  *token.KeyRing
	// Seals is the seal keys of client-credentials refresh tokens (issue
	// 17), reloaded with the signing keys; nil reloads none.
	Seals *seal.Ring
	Now   func() time.Time
	Log   *slog.Logger
	// KeyPoll is how often the ring reloads keys, so a `keys rotate` made
	// by another process is in force within this bound.
	KeyPoll time.Duration
	// Cleanup is how often expired rows are deleted (PRODUCT O6).
	Cleanup time.Duration
	// Revoked is the in-memory revocation set the protected API checks;
	// RevocationPoll is how often it learns of revocations made by other
	// processes, the bound on how long such a revocation takes to bite
	// (PRODUCT A11).
	Revoked        *revoke.Set
	RevocationPoll time.Duration
	// Changes, polled with revocations, drops what this process holds in
	// memory of organizations other processes changed (issue 17), so
	// their changes are in force here within RevocationPoll too; nil
	// polls none.
	Changes *OrgChanges
	// AuditRetention is how long audit events are kept; zero keeps them
	// for ever (PRODUCT O8).
	AuditRetention time.Duration
	// Metrics learns when each poll last succeeded and how many
	// revocations it brought in (PRODUCT O7); nil records nothing.
	Metrics *metrics.Metrics
}

// Run reloads keys, syncs revocations and cleans up on their intervals
// until ctx ends. A failed round is logged and retried on the next tick:
// the serving process keeps what it knows, so Run returns only when ctx
// ends, with nil, which lets it run under an errgroup beside the HTTP
// server without stopping it.
func (m *Maintainer) Run(ctx context.Context) error {
	keys := time.NewTicker(m.KeyPoll)
	defer keys.Stop()
	cleanup := time.NewTicker(m.Cleanup)
	defer cleanup.Stop()
	revocations := time.NewTicker(m.RevocationPoll)
	defer revocations.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-revocations.C:
			m.SyncRevocations(ctx)
			m.SyncChanges(ctx)
		case <-keys.C:
			m.ReloadKeys(ctx)
		case <-cleanup.C:
			m.CleanUp(ctx)
		}
	}
}

// failed logs the failure of a background task. An outage is logged under
// the message every outage shares, which the log throttles to one line
// per interval with a count (PRODUCT S5): polls every second must not
// flood it while the database is down.
func (m *Maintainer) failed(ctx context.Context, task string, err error) {
	if ctx.Err() != nil {
		return
	}
	msg := task
	if errors.Is(err, store.ErrUnavailable) {
		msg = store.MsgUnavailable
	}
	m.Log.ErrorContext(ctx, msg, "task", task, "err", err)
}

// SyncRevocations brings in families revoked by other processes; a
// failure keeps the set as it was.
func (m *Maintainer) SyncRevocations(ctx context.Context) {
	learned, err := m.Revoked.Sync(ctx, m.Store, m.Now())
	if err != nil {
		m.failed(ctx, "sync revocations", err)
		return
	}
	m.Metrics.RevocationPolled(learned)
}

// ReloadKeys reads the stored signing and seal keys into their rings, so a
// rotation made by another process is in force within the key poll; a
// failure keeps the old rings.
func (m *Maintainer) ReloadKeys(ctx context.Context) {
	keys, err := m.Store.ListSigningKeys(ctx)
	if err == nil {
		err = m.Ring.Update(keys, m.Now())
	}
	if err == nil && m.Seals != nil {
		var seals []domain.SealKey
		if seals, err = m.Store.ListSealKeys(ctx); err == nil {
			m.Seals.Update(seals)
		}
	}
	if err != nil {
		m.failed(ctx, "reload signing keys", err)
		return
	}
	m.Metrics.KeysPolled()
}

// CleanUp deletes expired rows (PRODUCT O6). Revoked families stay for an
// access-token lifetime, so revocation syncs can still see them; audit
// events stay for their retention (PRODUCT O8).
func (m *Maintainer) CleanUp(ctx context.Context) {
	n, err := m.Store.DeleteExpired(ctx, m.Now(), store.Retention{Revoked: token.AccessTTL + token.Leeway, Audit: m.AuditRetention})
	if err != nil {
		m.failed(ctx, "clean up expired rows", err)
		return
	}
	if n > 0 {
		m.Log.InfoContext(ctx, "cleaned up expired rows", "rows", n)
	}
}
