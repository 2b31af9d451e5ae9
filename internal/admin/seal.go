package admin

import (
	"context"
	"errors"
	"time"

	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/problem"
	"github.com/nomosauth/nomosauth/internal/seal"
	"github.com/nomosauth/nomosauth/internal/store"
)

// EnsureSealKey creates the first seal key (issue 17) when there is none,
// sealing at once, and returns every stored key, newest first. Replicas
// starting together create one: the loser of the race finds the winner's.
func (a *Admin) EnsureSealKey(ctx context.Context) ([]domain.SealKey, error) {
	keys, err := a.Keys.ListSealKeys(ctx)
	if err != nil || len(keys) > 0 {
		return keys, err
	}
	now := a.Now().UTC()
	k, err := seal.NewKey(a.IDs.Rand, now, now)
	if err != nil {
		return nil, err
	}
	if _, err := a.Keys.AddSealKey(ctx, k, time.Time{}, a.origin(now)); err != nil && !errors.Is(err, store.ErrConflict) {
		return nil, err
	}
	return a.Keys.ListSealKeys(ctx)
}

// RotateSealKey stores a new seal key (issue 17) that seals after delay,
// once every replica's key poll has loaded it, so no replica meets a
// token under a key it does not hold yet; the key it replaces keeps
// opening until overlap after that handover, the refresh idle time, so
// no unrefreshed token sealed before dies early (PRODUCT T5); behind a
// rotation still waiting, it queues (store.Keys). It returns the key (its
// secret never leaves the store) with when it really starts to seal.
func (a *Admin) RotateSealKey(ctx context.Context, delay, overlap time.Duration) (domain.SealKey, error) {
	if delay < 0 || overlap <= 0 {
		return domain.SealKey{}, problem.BadRequest("the handover delay must not be negative and the overlap must be positive")
	}
	now := a.Now().UTC()
	k, err := seal.NewKey(a.IDs.Rand, now, now.Add(delay))
	if err != nil {
		return domain.SealKey{}, err
	}
	if k.SealsFrom, err = a.Keys.AddSealKey(ctx, k, k.SealsFrom.Add(overlap), a.origin(now)); err != nil {
		return domain.SealKey{}, err
	}
	return k, nil
}
