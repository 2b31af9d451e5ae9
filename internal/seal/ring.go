package seal

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nomosauth/nomosauth/internal/domain"
)

// Ring is the seal keys a server holds, reloaded from the store by the
// key poll (internal/maintain) so a rotation made anywhere reaches every
// replica: the newest key whose SealsFrom has come seals, and every key
// not yet retired opens. Safe for concurrent use.
type Ring struct {
	mu   sync.RWMutex
	keys []domain.SealKey // newest first
	// load reads the stored keys for Reload, at most once per gap; nil:
	// the ring is only ever updated by its owner. lastLoad is the Unix
	// nanoseconds of the last reload begun.
	load     func(context.Context) ([]domain.SealKey, error)
	gap      time.Duration
	lastLoad atomic.Int64
}

// ErrNoKey: the ring holds no key that may seal now.
var ErrNoKey = errors.New("seal: no seal key may seal now")

// NewRing returns a ring of keys, newest first as the store lists them.
func NewRing(keys []domain.SealKey) *Ring {
	r := &Ring{}
	r.Update(keys)
	return r
}

// Update replaces the ring's keys with keys, newest first.
func (r *Ring) Update(keys []domain.SealKey) {
	keys = append([]domain.SealKey(nil), keys...)
	r.mu.Lock()
	r.keys = keys
	r.mu.Unlock()
}

// SetLoader lets Reload read the stored keys with load, at most once per
// gap. Call it before the ring is shared.
func (r *Ring) SetLoader(load func(context.Context) ([]domain.SealKey, error), gap time.Duration) {
	r.load, r.gap = load, gap
}

// Reload reads the stored keys into the ring, unless a reload began less
// than the loader's gap before now or the ring has no loader, and says
// whether it did. A token under a key this process has not loaded yet
// (another replica's rotation, this one's key poll late or failing) is
// worth one read of the keys, and no more than one a gap however many
// such tokens come: a forged key id cannot make the store work harder.
func (r *Ring) Reload(ctx context.Context, now time.Time) bool {
	if r.load == nil {
		return false
	}
	last := r.lastLoad.Load()
	if last != 0 && now.UnixNano()-last < int64(r.gap) {
		return false
	}
	if !r.lastLoad.CompareAndSwap(last, now.UnixNano()) {
		return false
	}
	keys, err := r.load(ctx)
	if err != nil || len(keys) == 0 {
		return false
	}
	r.Update(keys)
	return true
}

// Sealer is the key that seals at now: of the keys whose SealsFrom has
// come and that are not retired, the one with the latest SealsFrom, and
// of equals the one no newer key replaces. A rotation's new key waits for
// its SealsFrom so every replica has loaded it before a token names it.
// The keys' order and creation times decide nothing: two keys may have
// been created in one clock tick.
func (r *Ring) Sealer(now time.Time) (domain.SealKey, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	var best *domain.SealKey
	for i, k := range r.keys {
		if now.Before(k.SealsFrom) || !opens(k, now) {
			continue
		}
		if best == nil || k.SealsFrom.After(best.SealsFrom) || (k.SealsFrom.Equal(best.SealsFrom) && k.RetiresAt.IsZero()) {
			best = &r.keys[i]
		}
	}
	if best == nil {
		return domain.SealKey{}, ErrNoKey
	}
	return *best, nil
}

// opens reports whether k still opens tokens at now.
func opens(k domain.SealKey, now time.Time) bool {
	return k.RetiresAt.IsZero() || now.Before(k.RetiresAt)
}

// Seal seals c under the key that seals at now, with a nonce from rand.
func (r *Ring) Seal(c Claims, now time.Time, rand io.Reader) (string, error) {
	k, err := r.Sealer(now)
	if err != nil {
		return "", err
	}
	return Seal(k, c, rand)
}

// Open opens raw with the keys not retired at now; a token under a
// retired key is ErrUnknownKey, as one under a key never held.
func (r *Ring) Open(raw string, now time.Time) (Claims, error) {
	return Open(r.live(now), raw)
}

// live is the ring's keys not retired at now.
func (r *Ring) live(now time.Time) []domain.SealKey {
	r.mu.RLock()
	defer r.mu.RUnlock()
	live := make([]domain.SealKey, 0, len(r.keys))
	for _, k := range r.keys {
		if opens(k, now) {
			live = append(live, k)
		}
	}
	return live
}

// NewKey draws a seal key from rand (crypto/rand in production): an
// 8-byte id and a 32-byte secret, sealing from sealsFrom.
func NewKey(rand io.Reader, now, sealsFrom time.Time) (domain.SealKey, error) {
	b := make([]byte, keyIDLen+32)
	if _, err := io.ReadFull(rand, b); err != nil {
		return domain.SealKey{}, fmt.Errorf("seal: draw key: %w", err)
	}
	return domain.SealKey{ID: hex.EncodeToString(b[:keyIDLen]), Secret: b[keyIDLen:], CreatedAt: now.UTC().Truncate(time.Microsecond), SealsFrom: sealsFrom.UTC().Truncate(time.Microsecond)}, nil
}
